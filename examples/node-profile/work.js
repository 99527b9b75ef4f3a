'use strict';
// The app's work: three categories of traffic against the two local servers, all running
// at once on the event loop, each request under its category's async tag context
// (qtag.withTag). qtag.install() (called by the app) tags every socket as it connects
// with the context of the connect.
const http = require('node:http');
const qtag = require('qtag');
const { imageSize } = require('./servers');

const API = { name: 'api', tag: 0x1001 };            // small JSON calls on keep-alive connections
const IMAGES = { name: 'images', tag: 0x1002 };      // a few large downloads
const TELEMETRY = { name: 'telemetry', tag: 0x1003 }; // event batches POSTed to the sink
const CATEGORIES = [API, IMAGES, TELEMETRY];

const API_CLIENTS = 4;
const API_CONNECTIONS = 3; // per client, one after the other
const API_CALLS = 20; // per connection
const IMAGE_WORKERS = 2;
const IMAGES_PER_WORKER = 3;
const TELEMETRY_WORKERS = 2;
const UPLOADS_PER_WORKER = 12;
const EVENTS_PER_UPLOAD = 200;

/** One request; resolves to the response body. */
function request(port, method, path, { agent = false, body } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { 'User-Agent': 'qtag-node-profile' };
    if (body) Object.assign(headers, { 'Content-Type': 'application/x-ndjson', 'Content-Length': body.length });
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode >= 300) reject(new Error(`${method} ${path}: ${res.statusCode}`));
        else resolve(Buffer.concat(chunks));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function apiClient(port, client) {
  for (let c = 0; c < API_CONNECTIONS; c++) {
    // One keep-alive connection for 20 calls; a socket stays billed to the context that
    // opened it, so an agent is never shared between categories.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < API_CALLS; i++) {
        await request(port, 'GET', `/api/items/${client * 1000 + c * 100 + i}`, { agent });
      }
    } finally {
      agent.destroy();
    }
  }
}

async function imageWorker(port, worker) {
  for (let i = 0; i < IMAGES_PER_WORKER; i++) {
    const n = worker * IMAGES_PER_WORKER + i;
    const img = await request(port, 'GET', `/images/${n}.jpg`);
    if (img.length !== imageSize(n)) throw new Error(`image ${n}: got ${img.length} bytes`);
  }
}

async function telemetryWorker(port, worker) {
  for (let u = 0; u < UPLOADS_PER_WORKER; u++) {
    let batch = '';
    for (let e = 0; e < EVENTS_PER_UPLOAD; e++) {
      batch += JSON.stringify({
        worker, upload: u, event: e, kind: 'screen_view', duration_ms: (e * 37) % 1000,
        session: `5f2b8c1e-${String(worker).padStart(4, '0')}-${String(u).padStart(4, '0')}`,
      }) + '\n';
    }
    await request(port, 'POST', '/v1/events', { body: Buffer.from(batch) });
  }
}

/** Run every category at once, each chain of requests in its category's tag context. */
async function run(contentPort, sinkPort) {
  const jobs = [];
  const times = (n, fn) => { for (let i = 0; i < n; i++) jobs.push(fn(i)); };
  times(API_CLIENTS, (i) => qtag.withTag(API.tag, apiClient, contentPort, i));
  times(IMAGE_WORKERS, (i) => qtag.withTag(IMAGES.tag, imageWorker, contentPort, i));
  times(TELEMETRY_WORKERS, (i) => qtag.withTag(TELEMETRY.tag, telemetryWorker, sinkPort, i));
  // Every job settles before the first error (if any) is thrown: nothing keeps running.
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

module.exports = { CATEGORIES, run };
