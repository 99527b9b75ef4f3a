'use strict';
// The app's two local servers on 127.0.0.1 (node:http, keep-alive): a content server (a
// JSON API and "images") and a telemetry sink. Their sockets are not tagged: their traffic
// is billed to the uid only (the untagged remainder).
const http = require('node:http');
const crypto = require('node:crypto');

/** Image n is 512 KiB + (n mod 6) x 256 KiB of noise (incompressible, like JPEG). */
const imageSize = (n) => (512 + 256 * (n % 6)) * 1024;
const NOISE = crypto.randomBytes(imageSize(5));

function answer(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
}

function content(req, res) {
  const item = /^\/api\/items\/(\d+)$/.exec(req.url);
  if (item) {
    const id = item[1];
    return answer(res, 200, Buffer.from(JSON.stringify({
      id: Number(id), name: `item ${id}`, price: id.length * 7 + 0.99, tags: ['new', 'sale'],
      stock: id.length * 13, updated: '2026-01-01T00:00:00Z',
    })));
  }
  const image = /^\/images\/(\d+)\.jpg$/.exec(req.url);
  if (image) return answer(res, 200, NOISE.subarray(0, imageSize(Number(image[1]))), 'image/jpeg');
  answer(res, 404, Buffer.from('{"error":"not found"}'));
}

function telemetry(req, res) {
  if (req.method !== 'POST' || req.url !== '/v1/events') {
    req.resume();
    return answer(res, 404, Buffer.from('{"error":"not found"}'));
  }
  let events = 0;
  req.on('data', (chunk) => { for (const b of chunk) if (b === 10) events++; });
  req.on('end', () => answer(res, 202, Buffer.from(JSON.stringify({ accepted: events }))));
}

/**
 * Start a server; resolves to {port, stop}. stop() resolves once every connection it
 * accepted is closed, so that no packet is still on its way when the stats are read.
 */
function start(handler) {
  const server = http.createServer({ keepAlive: true }, handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      stop: () => new Promise((done) => server.close(done)),
    }));
  });
}

module.exports = {
  imageSize,
  startContent: () => start(content),
  startTelemetry: () => start(telemetry),
};
