'use strict';
// Concurrent requests in one event loop under different withTag contexts bill their own
// sockets: exact per-tag bytes against an independent parse of the stats file.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const net = require('node:net');
const { setImmediate: tick } = require('node:timers/promises');
const h = require('./fixtures/helpers');

const skip = h.vmOnly();
const qtag = skip ? null : require(h.PKG);

function tagRow(tag) {
  return h.rawSum(h.rawStats(), { uid: 0, tag });
}

function newUdp() {
  const s = dgram.createSocket('udp4');
  return { s, bound: new Promise((r) => s.bind(0, '127.0.0.1', r)) };
}

test('UDP: concurrent withTag contexts, explicit tagSocket, exact bytes per tag', { skip }, async () => {
  const sink = await h.udpSink();
  try {
    const jobs = [[h.freshTag(), 7, 100], [h.freshTag(), 5, 333], [h.freshTag(), 9, 20], [h.freshTag(), 3, 1200]];
    const seen = await Promise.all(jobs.map(([tag, n, size]) => qtag.withTag(tag, async () => {
      const { s, bound } = newUdp();
      await bound;
      qtag.tagSocket(s);
      const got = [];
      for (let i = 0; i < n; i++) {
        await h.send(s, Buffer.alloc(size, 0x61), sink.port);
        await tick(); // let the other contexts run in between
        got.push(qtag.getThreadStatsTag());
      }
      s.close();
      return got;
    })));
    jobs.forEach(([tag, n], i) => assert.deepEqual(seen[i], Array(n).fill(tag)));
    assert.equal(qtag.getThreadStatsTag(), -1, 'no tag leaks out of withTag');
    for (const [tag, n, size] of jobs) {
      const got = await h.waitQuiet(() => tagRow(tag));
      assert.deepEqual(got, h.udpExpect(n, size), `tag ${tag.toString(16)}`);
    }
    // The package's own Stats (the core's parser and queries) agree with the raw parse.
    const mine = new Map(qtag.Stats.read().uidTags(0).map(({ tag, counters }) => [tag, counters]));
    for (const [tag, n, size] of jobs) assert.deepEqual(mine.get(tag), h.udpExpect(n, size));
  } finally {
    await sink.close();
  }
});

test('UDP: tagSocket on a socket without a descriptor yet tags it at its implicit bind', { skip }, async () => {
  const sink = await h.udpSink();
  try {
    const tag = h.freshTag();
    const s = dgram.createSocket('udp4');
    // No fd yet (the first send binds); tagged before the queued datagrams go out.
    qtag.withTag(tag, () => qtag.tagSocket(s));
    await Promise.all([0, 1, 2, 3].map(() => h.send(s, Buffer.alloc(77), sink.port)));
    s.close();
    assert.deepEqual(await h.waitQuiet(() => tagRow(tag)), h.udpExpect(4, 77));
  } finally {
    await sink.close();
  }
});

test('UDP: setThreadStatsTag inside withTag, nested withTag, uid kept, getters', { skip }, async () => {
  const sink = await h.udpSink();
  try {
    const [a, b] = [h.freshTag(), h.freshTag()];
    await qtag.withTag({ tag: a, uid: 0 }, async () => {
      assert.deepEqual(qtag.getTagState(), { tag: a, uid: 0 });
      await qtag.withTag(b, async () => {
        assert.deepEqual(qtag.getTagState(), { tag: b, uid: 0 });
        const { s, bound } = newUdp();
        await bound;
        qtag.tagSocket(s);
        await h.send(s, Buffer.alloc(10), sink.port);
        s.close();
      });
      assert.equal(qtag.getThreadStatsTag(), a);
      qtag.clearThreadStatsTag();
      assert.equal(qtag.getThreadStatsTag(), -1);
      assert.equal(qtag.getThreadStatsUid(), 0);
    });
    assert.deepEqual(qtag.getTagState(), { tag: null, uid: null });
    assert.deepEqual(await h.waitQuiet(() => tagRow(b)), h.udpExpect(1, 10));
    assert.deepEqual(tagRow(a), h.zero());
    const rx = qtag.getUidRxBytes(0);
    assert.ok(rx > 0, `getUidRxBytes(0) = ${rx}`);
    assert.ok(qtag.getTotalTxBytes() > 0);
    assert.ok(qtag.getTxBytes('lo') > 0);
    assert.equal(qtag.getTxBytes('nope0'), qtag.UNSUPPORTED);
  } finally {
    await sink.close();
  }
});

// TCP over loopback with timestamps: every data/ACK/FIN segment carries 20 + 32 header
// bytes, so a tag's payload is bytes − 52 × packets; the server's own byte counts of each
// connection are the independent truth.
const TCP_HDR = 52;

function tcpServer(reply) {
  const conns = [];
  const server = net.createServer((c) => {
    const rec = { path: '', closed: null };
    conns.push(rec);
    let first = true;
    c.on('data', (d) => {
      if (first) {
        first = false;
        rec.path = d.toString('latin1').split('\n')[0];
        c.end(Buffer.alloc(reply(rec.path), 0x62));
      }
    });
    rec.closed = new Promise((r) => c.on('close', () => {
      rec.read = c.bytesRead;
      rec.written = c.bytesWritten;
      r();
    }));
  });
  return { server, conns, listening: new Promise((r) => server.listen(0, '127.0.0.1', r)) };
}

function payloadOf(c) {
  return { tx: c.txBytes - TCP_HDR * c.txPackets, rx: c.rxBytes - TCP_HDR * c.rxPackets };
}

test('TCP: concurrent connections, each tagged in its own context, exact payload per tag', { skip }, async () => {
  const { server, conns, listening } = tcpServer((line) => 1000 + 7 * line.length);
  await listening;
  const { port } = server.address();
  try {
    const tags = [h.freshTag(), h.freshTag(), h.freshTag()];
    await Promise.all(tags.map((tag, i) => qtag.withTag(tag, () => new Promise((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1');
      qtag.tagSocket(c); // no fd yet: tagged at 'connect', before the write below
      c.write(`${tag}\n${'x'.repeat(5000 * (i + 1))}`);
      c.on('data', () => {});
      c.on('error', reject);
      c.on('close', resolve);
    }))));
    await Promise.all(conns.map((c) => c.closed));
    for (const tag of tags) {
      const rec = conns.find((c) => c.path === String(tag));
      const got = await h.waitQuiet(() => tagRow(tag));
      assert.deepEqual(payloadOf(got), { tx: rec.read, rx: rec.written }, `tag ${tag.toString(16)}`);
      assert.equal(got.txTcpBytes, got.txBytes);
      assert.equal(got.rxUdpBytes + got.txUdpBytes, 0);
    }
  } finally {
    server.close();
  }
});

test('untagSocket before the connect cancels the waiting tag', { skip }, async () => {
  const { server, conns, listening } = tcpServer(() => 100);
  await listening;
  try {
    const tag = h.freshTag();
    await qtag.withTag(tag, () => new Promise((resolve, reject) => {
      const c = net.connect(server.address().port, '127.0.0.1');
      qtag.tagSocket(c);
      qtag.untagSocket(c);
      c.write(`${tag}\n`);
      c.on('data', () => {});
      c.on('error', reject);
      c.on('close', resolve);
    }));
    await Promise.all(conns.map((c) => c.closed));
    await h.sleep(300);
    assert.deepEqual(tagRow(tag), h.zero());
  } finally {
    server.close();
  }
});
