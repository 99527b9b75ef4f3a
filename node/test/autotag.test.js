'use strict';
// install(): sockets created by net, http and fetch (undici) while a tag context is active
// are tagged before their first payload byte. Truth for TCP: the server's own byte counts
// of each connection; every tagged segment carries 52 header bytes on loopback (IPv4 +
// TCP with timestamps), so a tag's payload is bytes − 52 × packets, exactly.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const net = require('node:net');
const dgram = require('node:dgram');
const h = require('./fixtures/helpers');

const skip = h.vmOnly();
const qtag = skip ? null : require(h.PKG);
const TCP_HDR = 52;

function tagRow(tag) {
  return h.rawSum(h.rawStats(), { uid: 0, tag });
}

function payloadOf(c) {
  return { tx: c.txBytes - TCP_HDR * c.txPackets, rx: c.rxBytes - TCP_HDR * c.rxPackets };
}

/** An HTTP server that answers /t/<tag> with a body whose size depends on the tag, and
 * closes every connection; it records each connection's requests and byte counts. */
function httpServer() {
  const conns = [];
  const server = http.createServer((req, res) => {
    req.socket.qtagRec.paths.push(req.url);
    req.resume();
    req.on('end', () => {
      const tag = Number(req.url.split('/')[2]);
      res.writeHead(200, { Connection: 'close', 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.alloc(1000 + (tag % 7) * 3000, 0x62));
    });
  });
  server.on('connection', (c) => {
    const rec = { paths: [] };
    c.qtagRec = rec;
    conns.push(rec);
    rec.closed = new Promise((r) => c.on('close', () => {
      rec.read = c.bytesRead;
      rec.written = c.bytesWritten;
      r();
    }));
  });
  return { server, conns, listening: new Promise((r) => server.listen(0, '127.0.0.1', r)) };
}

async function checkPerTag(conns, tags) {
  await Promise.all(conns.map((c) => c.closed));
  for (const tag of tags) {
    const mine = conns.filter((c) => c.paths.some((p) => p === `/t/${tag}`));
    assert.equal(mine.length, 1, `one connection for tag ${tag}`);
    assert.deepEqual(mine[0].paths, [`/t/${tag}`], 'the connection carried only its request');
    const got = await h.waitQuiet(() => tagRow(tag));
    assert.ok(got.txPackets > 0 && got.rxPackets > 0, `tag ${tag.toString(16)} has traffic`);
    assert.deepEqual(payloadOf(got), { tx: mine[0].read, rx: mine[0].written }, `tag ${tag.toString(16)}`);
    assert.equal(got.txTcpBytes, got.txBytes);
  }
}

let srv;
before(async () => {
  if (skip) return;
  qtag.install();
  srv = httpServer();
  await srv.listening;
});
after(() => {
  if (skip) return;
  srv.server.close();
  qtag.uninstall();
});

test('http.request under concurrent withTag contexts: exact payload per tag', { skip }, async () => {
  const { port } = srv.server.address();
  const tags = [h.freshTag(), h.freshTag(), h.freshTag(), h.freshTag()];
  await Promise.all(tags.map((tag) => qtag.withTag(tag, () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/t/${tag}`, method: 'POST', agent: false },
      (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end('x'.repeat(100 + (tag % 5) * 2000));
  }))));
  await checkPerTag(srv.conns, tags);
});

test('fetch (undici) under concurrent withTag contexts: exact payload per tag', { skip }, async () => {
  const { port } = srv.server.address();
  const tags = [h.freshTag(), h.freshTag(), h.freshTag()];
  const bodies = await Promise.all(tags.map((tag) => qtag.withTag(tag, async () => {
    const r = await fetch(`http://127.0.0.1:${port}/t/${tag}`, { method: 'POST', body: 'y'.repeat(50 + (tag % 3) * 700) });
    const b = await r.arrayBuffer();
    assert.equal(qtag.getThreadStatsTag(), tag);
    return b.byteLength;
  })));
  tags.forEach((tag, i) => assert.equal(bodies[i], 1000 + (tag % 7) * 3000));
  await checkPerTag(srv.conns, tags);
});

test('net.connect: written before the connect completes, every payload byte is tagged', { skip }, async () => {
  const { port } = srv.server.address();
  const tag = h.freshTag();
  await qtag.withTag(tag, () => new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    c.write(`GET /t/${tag} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    c.on('data', () => {});
    c.on('error', reject);
    c.on('close', resolve);
  }));
  await checkPerTag(srv.conns, [tag]);
});

test('UDP: implicit binds in concurrent contexts are tagged; exact bytes', { skip }, async () => {
  const sink = await h.udpSink();
  try {
    const jobs = [[h.freshTag(), 4, 64], [h.freshTag(), 6, 500], [h.freshTag(), 2, 9]];
    await Promise.all(jobs.map(([tag, n, size]) => qtag.withTag(tag, async () => {
      const s = dgram.createSocket('udp4');
      for (let i = 0; i < n; i++) await h.send(s, Buffer.alloc(size), sink.port);
      await new Promise((r) => s.close(r));
    })));
    for (const [tag, n, size] of jobs) assert.deepEqual(await h.waitQuiet(() => tagRow(tag)), h.udpExpect(n, size));
  } finally {
    await sink.close();
  }
});

test('sockets outside any tag context, and after uninstall(), are not tagged', { skip }, async () => {
  const { port } = srv.server.address();
  const tag = h.freshTag();
  const get = () => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/t/${tag}`, agent: false }, (res) => { res.resume(); res.on('end', resolve); })
      .on('error', reject);
  });
  await get(); // no context: tag 0
  qtag.uninstall();
  assert.equal(qtag.isInstalled(), false);
  try {
    await qtag.withTag(tag, get);
  } finally {
    qtag.install();
  }
  await Promise.all(srv.conns.map((c) => c.closed));
  await h.sleep(300);
  assert.deepEqual(tagRow(tag), h.zero());
});

test('an explicit tag replaces the automatic one', { skip }, async () => {
  const { port } = srv.server.address();
  const [auto, mine] = [h.freshTag(), h.freshTag()];
  await qtag.withTag(auto, () => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/t/${mine}`, agent: false },
      (res) => { res.resume(); res.on('end', resolve); });
    req.on('socket', (s) => qtag.tagSocketWith(s, mine)); // no fd yet: applied at 'connect'
    req.on('error', reject);
    req.end();
  }));
  await checkPerTag(srv.conns, [mine]);
  const a = tagRow(auto);
  assert.equal(a.txBytes - TCP_HDR * a.txPackets, 0, 'no payload under the automatic tag');
});

/** A self-signed certificate made now with openssl (null when openssl is missing). */
function selfSigned() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtag-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '2', '-subj', '/CN=localhost'],
    { stdio: 'ignore' });
    return { key: fs.readFileSync(`${dir}/key.pem`), cert: fs.readFileSync(`${dir}/cert.pem`) };
  } catch {
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The client TCP handle's own byte counts of `sock` (a TLS socket), at its close. */
function wireCounts(sock) {
  return new Promise((resolve) => sock.once('connect', () => {
    const tcp = sock._handle._parent || sock._handle;
    sock.prependOnceListener('close', () => resolve({ tx: tcp.bytesWritten, rx: tcp.bytesRead }));
  }));
}

test('tls.connect under concurrent contexts: exact TLS payload per tag (clean shutdown)', { skip }, async (t) => {
  const creds = selfSigned();
  if (!creds) return t.skip('openssl not available');
  const tls = require('node:tls');
  // The server answers once it has the whole request and closes after the client did: no
  // segment crosses a closed socket, so the client's own counts are the exact truth.
  const server = tls.createServer(creds, (s) => {
    let n = 0;
    s.on('data', (d) => { n += d.length; if (n === 4000) s.write(Buffer.alloc(6000, 0x63)); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const tags = [h.freshTag(), h.freshTag(), h.freshTag()];
    const wire = await Promise.all(tags.map((tag) => qtag.withTag(tag, () => {
      const c = tls.connect({ host: '127.0.0.1', port: server.address().port, rejectUnauthorized: false });
      const counts = wireCounts(c);
      let got = 0;
      c.on('data', (d) => { got += d.length; if (got === 6000) c.end(); });
      c.write(Buffer.alloc(4000, 0x64));
      return counts;
    })));
    for (const [i, tag] of tags.entries()) {
      const got = await h.waitQuiet(() => tagRow(tag));
      assert.ok(wire[i].tx > 4000 && wire[i].rx > 6000, JSON.stringify(wire[i]));
      assert.deepEqual(payloadOf(got), wire[i], `tag ${tag.toString(16)}`);
    }
  } finally {
    server.close();
  }
});

test('https.request under concurrent contexts: each tag carries its own connection', { skip }, async (t) => {
  const creds = selfSigned();
  if (!creds) return t.skip('openssl not available');
  const server = https.createServer(creds, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { Connection: 'close' });
      res.end(Buffer.alloc(2000 + (Number(req.url.split('/')[2]) % 5) * 1500));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const tags = [h.freshTag(), h.freshTag(), h.freshTag()];
    const wire = await Promise.all(tags.map((tag) => qtag.withTag(tag, () => new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: server.address().port, path: `/t/${tag}`, method: 'POST',
        agent: false, rejectUnauthorized: false }, (res) => res.resume());
      req.on('socket', (s) => wireCounts(s).then(resolve));
      req.on('error', reject);
      req.end('s'.repeat(300 + (tag % 4) * 900));
    }))));
    // Bounds, not equality: with "Connection: close" the server closes first, so the
    // client's close_notify (24 bytes) meets a closed socket and a bare RST (40 bytes, no
    // timestamps) comes back, billed to the tag.
    for (const [i, tag] of tags.entries()) {
      const got = payloadOf(await h.waitQuiet(() => tagRow(tag)));
      assert.ok(wire[i].tx > 300 && wire[i].rx > 2000, JSON.stringify(wire[i]));
      assert.ok(Math.abs(got.tx - wire[i].tx) <= 64 && Math.abs(got.rx - wire[i].rx) <= 64,
        `tag ${tag.toString(16)}: ${JSON.stringify(got)} vs client ${JSON.stringify(wire[i])}`);
    }
  } finally {
    server.close();
  }
});
