'use strict';
// Privilege and bad inputs against the real module: impersonation refused (EPERM) for an
// unprivileged uid and allowed for root, own-uid tagging unprivileged, bad descriptors.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const dgram = require('node:dgram');
const h = require('./fixtures/helpers');

const skip = h.vmOnly();
const qtag = skip ? null : require(h.PKG);

const CHILD_PRELUDE = `
const q = require(process.env.QTAG);
const dgram = require('node:dgram');
const out = {};
function attempt(name, f) { try { f(); out[name] = 'ok'; } catch (e) { out[name] = [e.constructor.name, e.code, e.message]; } }
`;

test('unprivileged: impersonating another uid is EPERM (explicit and under withTag); own uid works', { skip }, async () => {
  const tag = h.freshTag();
  const sink = await h.udpSink();
  try {
    const r = await h.nodeAs(1000, `${CHILD_PRELUDE}
      (async () => {
        const s = dgram.createSocket('udp4');
        await new Promise((r) => s.bind(0, '127.0.0.1', r));
        attempt('explicit', () => q.tagSocketWith(s, ${tag}, 0));
        attempt('context', () => q.withTag({ tag: ${tag}, uid: 0 }, () => q.tagSocket(s)));
        attempt('counterSet', () => q.setCounterSet(1));
        attempt('deleteOther', () => q.deleteTagData(0, 0));
        attempt('own', () => q.withTag({ tag: ${tag}, uid: 1000 }, () => q.tagSocket(s)));
        await new Promise((r, j) => s.send(Buffer.alloc(40), ${sink.port}, '127.0.0.1', (e) => (e ? j(e) : r())));
        s.close();
        out.uid = process.getuid();
        out.listed = q.readCtrl().sockets.length;
        console.log(JSON.stringify(out));
      })();`);
    assert.equal(r.uid, 1000);
    for (const k of ['explicit', 'context', 'counterSet', 'deleteOther']) {
      assert.equal(r[k][0], 'Error', k);
      assert.equal(r[k][1], 'EPERM', k);
      assert.match(r[k][2], /MODIFY_NETWORK_ACCOUNTING/, k);
    }
    assert.equal(r.own, 'ok');
    const rows = h.rawStats();
    assert.deepEqual(await h.waitQuiet(() => h.rawSum(h.rawStats(), { uid: 1000, tag })), h.udpExpect(1, 40));
    assert.deepEqual(h.rawSum(rows, { uid: 0, tag }), h.zero(), 'nothing billed to root');
  } finally {
    await sink.close();
  }
});

test('unprivileged install(): a connection that would bill another uid fails with EPERM', { skip }, async () => {
  const server = net.createServer((c) => c.resume()).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const r = await h.nodeAs(1000, `${CHILD_PRELUDE}
      const net = require('node:net');
      q.install();
      q.withTag({ tag: 5, uid: 0 }, () => {
        const c = net.connect(${server.address().port}, '127.0.0.1');
        c.write('payload');
        c.on('error', (e) => { out.err = [e.code, e.message]; });
        c.on('close', () => { out.written = c.bytesWritten; console.log(JSON.stringify(out)); });
      });`);
    assert.equal(r.err[0], 'EPERM');
    assert.match(r.err[1], /MODIFY_NETWORK_ACCOUNTING/);
  } finally {
    server.close();
  }
});

test('root may bill another uid, set counter sets and delete tag data', { skip }, async () => {
  const sink = await h.udpSink();
  try {
    const tag = h.freshTag();
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    qtag.withTag({ tag, uid: 4321 }, () => qtag.tagSocket(s));
    const listed = qtag.readCtrl().sockets.filter((x) => x.tag === tag);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].uid, 4321);
    assert.equal(listed[0].pid, process.pid);
    await h.send(s, Buffer.alloc(11), sink.port);
    assert.deepEqual(await h.waitQuiet(() => h.rawSum(h.rawStats(), { uid: 4321, tag })), h.udpExpect(1, 11));
    qtag.untagSocket(s);
    assert.throws(() => qtag.untagSocket(s), { code: 'EINVAL' });
    s.close();
    qtag.setCounterSet(qtag.COUNTER_SET_FOREGROUND, 4321);
    qtag.setCounterSet(qtag.COUNTER_SET_DEFAULT, 4321);
    qtag.deleteTagData(tag, 4321);
    assert.deepEqual(h.rawStats().filter((r) => r.uid === 4321 && r.tag === tag), []);
    qtag.resetKernelUidStats(4321);
    assert.deepEqual(h.rawStats().filter((r) => r.uid === 4321), []);
  } finally {
    await sink.close();
  }
});

test('bad descriptors: closed fd EBADF, a file ENOTSOCK, destroyed socket EBADF', { skip }, async () => {
  const fd = fs.openSync('/proc/self/stat', 'r');
  assert.throws(() => qtag.withTag(1, () => qtag.tagSocket(fd)), (e) => e.code === 'ENOTSOCK' && /not a socket/.test(e.message));
  assert.throws(() => qtag.tagSocket(fd), { code: 'ENOTSOCK' }, 'checked without a tag too');
  fs.closeSync(fd);
  assert.throws(() => qtag.withTag(1, () => qtag.tagSocket(fd)), (e) => e.code === 'EBADF' && /not open/.test(e.message));
  assert.throws(() => qtag.tagSocket(fd), { code: 'EBADF' });
  assert.throws(() => qtag.tagSocketWith(-5, 1), { code: 'EBADF' });
  assert.throws(() => qtag.untagSocket(fd), { code: 'EBADF' });
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  await new Promise((r) => s.close(r));
  assert.throws(() => qtag.withTag(1, () => qtag.tagSocket(s)), { code: 'EBADF' });
  const c = net.connect(9, '127.0.0.1');
  c.on('error', () => {});
  c.destroy();
  assert.throws(() => qtag.withTag(1, () => qtag.tagSocket(c)), { code: 'EBADF' });
});

test('tagSocket accepts an fd number of a live socket', { skip }, async () => {
  const sink = await h.udpSink();
  try {
    const tag = h.freshTag();
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    const fd = require('../lib/sockets').socketFd(s);
    assert.ok(fd > 2);
    qtag.withTag(tag, () => qtag.tagSocket(fd));
    await h.send(s, Buffer.alloc(5), sink.port);
    s.close();
    assert.deepEqual(await h.waitQuiet(() => tagRow0(tag)), h.udpExpect(1, 5));
  } finally {
    await sink.close();
  }
});

function tagRow0(tag) {
  return h.rawSum(h.rawStats(), { uid: 0, tag });
}

const MAX_TAGS = '/sys/module/xt_qtaguid/parameters/max_sock_tags';

test('the per-uid tag limit is EMFILE; install({onError: "warn"}) warns and goes on', { skip }, async () => {
  const saved = fs.readFileSync(MAX_TAGS, 'utf8').trim();
  fs.writeFileSync(MAX_TAGS, '4');
  const uid = 4246;
  const socks = [];
  const bound = () => new Promise((r) => {
    const s = dgram.createSocket('udp4');
    socks.push(s);
    s.bind(0, '127.0.0.1', () => r(s));
  });
  try {
    const tag = h.freshTag();
    for (let i = 0; i < 4; i++) qtag.tagSocketWith(await bound(), tag, uid);
    const extra = await bound();
    assert.throws(() => qtag.tagSocketWith(extra, tag, uid), (e) => e.code === 'EMFILE' && /max_sock_tags/.test(e.message));
    qtag.untagSocket(socks[0]);
    qtag.tagSocketWith(extra, tag, uid); // a place was freed

    // Automatic tagging over the limit: a warning, and the datagram still goes out.
    const sink = await h.udpSink();
    const warnings = [];
    const onWarning = (w) => { if (w.code === 'QTAG_AUTOTAG') warnings.push(w.message); };
    process.on('warning', onWarning);
    qtag.install({ onError: 'warn' });
    try {
      await qtag.withTag({ tag, uid }, async () => {
        const s = dgram.createSocket('udp4');
        socks.push(s);
        await h.send(s, Buffer.alloc(3), sink.port);
      });
      await h.sleep(50);
    } finally {
      qtag.uninstall();
      process.off('warning', onWarning);
      await sink.close();
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /too many tagged sockets/);
  } finally {
    for (const s of socks) s.close();
    fs.writeFileSync(MAX_TAGS, saved);
    qtag.resetKernelUidStats(uid);
  }
});

test('a waiting tag that the kernel refuses: the net socket is destroyed before writing, the dgram socket errors', { skip }, async () => {
  let received = 0;
  const server = net.createServer((c) => c.on('data', (d) => { received += d.length; })).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const sink = await h.udpSink();
  try {
    const r = await h.nodeAs(1000, `${CHILD_PRELUDE}
      const net = require('node:net');
      let pending = 2;
      const done = () => { if (--pending === 0) console.log(JSON.stringify(out)); };
      q.withTag({ tag: 9, uid: 0 }, () => {
        const c = net.connect(${server.address().port}, '127.0.0.1');
        q.tagSocket(c);                       // no fd yet: waits for 'connect'
        c.write('must not be sent');
        c.on('error', (e) => { out.net = [e.code, c.bytesWritten]; });
        c.on('close', done);
        const d = dgram.createSocket('udp4');
        q.tagSocket(d);                       // not bound yet: waits for 'listening'
        d.on('error', (e) => { out.dgram = e.code; });
        d.on('close', () => setTimeout(done, 20));
        d.send('x', ${sink.port}, '127.0.0.1');
      });`);
    assert.deepEqual(r.net, ['EPERM', 0]);
    assert.equal(r.dgram, 'EPERM');
    await h.sleep(200);
    assert.equal(received, 0, 'the TCP payload never left');
  } finally {
    server.close();
    await sink.close();
  }
});
