'use strict';
// Tests that need no kernel module (they run on the build host too, and in the VM):
// exports, the async tag context, argument checking, errors, stats parsing, ESM, workers.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const dgram = require('node:dgram');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { runWorker } = require('./fixtures/helpers');
const { setTimeout: sleep } = require('node:timers/promises');
const qtag = require('..');

const PKG = path.join(__dirname, '..');

test('Android names and constants are exported', () => {
  for (const name of [
    'setThreadStatsTag', 'getThreadStatsTag', 'clearThreadStatsTag', 'getAndSetThreadStatsTag',
    'setThreadStatsUid', 'getThreadStatsUid', 'clearThreadStatsUid', 'tagSocket', 'untagSocket',
    'setCounterSet', 'setKernelCounterSet', 'deleteTagData', 'resetKernelUidStats',
    'getUidRxBytes', 'getUidTxBytes', 'getUidRxPackets', 'getUidTxPackets', 'getTotalRxBytes',
    'getTotalTxBytes', 'getRxBytes', 'getTxBytes', 'withTag', 'tagged', 'install', 'uninstall',
  ]) assert.equal(typeof qtag[name], 'function', name);
  assert.equal(qtag.UNSUPPORTED, -1);
  assert.equal(qtag.TAG_SYSTEM_DOWNLOAD, 0xffffff01);
  assert.equal(qtag.TAG_SYSTEM_PAC, 0xffffff45);
  assert.equal(qtag.TAG_SYSTEM_RESERVED_START, 0xffffff00);
  assert.equal(qtag.COUNTER_SET_FOREGROUND, 1);
  assert.equal(qtag.tagName(qtag.TAG_SYSTEM_NTP), 'TAG_SYSTEM_NTP');
  assert.equal(qtag.tagName(5), null);
  assert.equal(qtag.isReservedTag(-255), true);
  assert.equal(qtag.COUNTER_NAMES.length, 16);
});

test('ESM entry exports the same module (one state)', () => {
  const code = `import q, { withTag, getThreadStatsTag } from ${JSON.stringify(path.join(PKG, 'index.mjs'))};
    import { createRequire } from 'node:module';
    const cjs = createRequire(import.meta.url)(${JSON.stringify(PKG)});
    console.log(JSON.stringify([q === cjs, withTag(7, () => cjs.getThreadStatsTag()), getThreadStatsTag()]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), [true, 7, -1]);
});

test('withTag returns the function result, sync and async, and restores the state', async () => {
  assert.equal(qtag.getThreadStatsTag(), -1);
  assert.equal(qtag.withTag(0x10, (a, b) => a + b + qtag.getThreadStatsTag(), 1, 2), 0x13);
  const v = await qtag.withTag({ tag: 0x20, uid: 1234 }, async () => {
    await sleep(5);
    return [qtag.getThreadStatsTag(), qtag.getThreadStatsUid()];
  });
  assert.deepEqual(v, [0x20, 1234]);
  assert.throws(() => qtag.withTag(1, () => { throw new Error('boom'); }), /boom/);
  await assert.rejects(qtag.withTag(1, async () => { throw new Error('later'); }), /later/);
  assert.deepEqual(qtag.getTagState(), { tag: null, uid: null });
});

test('withTag: nesting, partial specs, null clears, -1 means none', () => {
  qtag.withTag({ tag: 1, uid: 1000 }, () => {
    qtag.withTag({ uid: 2000 }, () => assert.deepEqual(qtag.getTagState(), { tag: 1, uid: 2000 }));
    qtag.withTag(2, () => assert.deepEqual(qtag.getTagState(), { tag: 2, uid: 1000 }));
    qtag.withTag({ uid: null }, () => assert.deepEqual(qtag.getTagState(), { tag: 1, uid: null }));
    qtag.withTag({ uid: -1, tag: -1 }, () => assert.deepEqual(qtag.getTagState(), { tag: null, uid: null }));
    qtag.withTag(-255, () => assert.equal(qtag.getThreadStatsTag(), qtag.TAG_SYSTEM_DOWNLOAD));
    assert.deepEqual(qtag.getTagState(), { tag: 1, uid: 1000 });
  });
});

test('getTagState and setTagState hand out frozen copies: changing them changes nothing', () => {
  qtag.withTag({ tag: 3, uid: 1000 }, () => {
    const st = qtag.getTagState();
    assert.ok(Object.isFrozen(st));
    assert.throws(() => { st.tag = 4; }, TypeError);
    const prev = qtag.setTagState(5, 1001);
    assert.ok(Object.isFrozen(prev));
    assert.deepEqual(prev, { tag: 3, uid: 1000 });
    assert.deepEqual(qtag.getTagState(), { tag: 5, uid: 1001 });
    assert.ok(Object.isFrozen(qtag.setTagState(null, null)));
    assert.ok(Object.isFrozen(qtag.getTagState()));
  });
});

test('concurrent async contexts on one event loop keep their own tags', async () => {
  const seen = await Promise.all([1, 2, 3, 4, 5].map((t) => qtag.withTag(t, async () => {
    const got = [];
    for (let i = 0; i < 5; i++) {
      await sleep(Math.random() * 5);
      got.push(qtag.getThreadStatsTag());
      if (i === 2) qtag.setThreadStatsUid(100 + t); // later awaits of this context see it
    }
    return [got, qtag.getThreadStatsUid()];
  })));
  seen.forEach(([got, uid], i) => {
    assert.deepEqual(got, Array(5).fill(i + 1));
    assert.equal(uid, 101 + i);
  });
  assert.equal(qtag.getThreadStatsUid(), -1);
});

test('setThreadStatsTag / getAndSet / clear within a context', async () => {
  await qtag.withTag({}, async () => {
    qtag.setThreadStatsTag(0x42);
    assert.equal(qtag.getThreadStatsTag(), 0x42);
    assert.equal(qtag.getAndSetThreadStatsTag(0x43), 0x42);
    await sleep(1);
    assert.equal(qtag.getThreadStatsTag(), 0x43);
    qtag.setThreadStatsTag(-1); // Android: -1 clears
    assert.equal(qtag.getThreadStatsTag(), -1);
    qtag.setThreadStatsUid(5);
    qtag.clearThreadStatsUid();
    assert.equal(qtag.getThreadStatsUid(), -1);
    qtag.setThreadStatsTag(0xffffff05);
    qtag.clearThreadStatsTag();
    assert.equal(qtag.getThreadStatsTag(), -1);
  });
});

test('tagged() binds a function to a tag', async () => {
  const f = qtag.tagged(9, async (x) => [x, qtag.getThreadStatsTag()]);
  assert.deepEqual(await f('a'), ['a', 9]);
  assert.equal(qtag.getThreadStatsTag(), -1);
});

function isTypeError(e) {
  return e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE';
}

function isRange(e) {
  return e instanceof RangeError && e.code === 'EINVAL' && /invalid argument/.test(e.message);
}

test('wrong types are TypeErrors', () => {
  assert.throws(() => qtag.setThreadStatsTag('1'), isTypeError);
  assert.throws(() => qtag.setThreadStatsUid({}), isTypeError);
  assert.throws(() => qtag.withTag('x', () => {}), isTypeError);
  assert.throws(() => qtag.withTag({ tag: '1' }, () => {}), isTypeError);
  assert.throws(() => qtag.withTag(1, 'not a function'), isTypeError);
  assert.throws(() => qtag.tagSocket({}), isTypeError);
  assert.throws(() => qtag.tagSocket('3'), isTypeError);
  assert.throws(() => qtag.tagSocket(null), isTypeError);
  assert.throws(() => qtag.untagSocket(undefined), isTypeError);
  assert.throws(() => qtag.tagSocketWith(3, 'x'), isTypeError);
  assert.throws(() => qtag.setCounterSet('1'), isTypeError);
  assert.throws(() => qtag.getRxBytes(1), isTypeError);
  assert.throws(() => qtag.install({ onError: 'explode' }), RangeError);
});

test('out-of-range tags, uids, sets are RangeErrors with code EINVAL (the core\'s checks)', () => {
  assert.throws(() => qtag.setThreadStatsTag(2 ** 32), isRange);
  assert.throws(() => qtag.setThreadStatsTag(-(2 ** 31) - 1), isRange);
  assert.throws(() => qtag.setThreadStatsTag(1.5), isRange);
  assert.throws(() => qtag.setThreadStatsTag(NaN), isRange);
  assert.throws(() => qtag.setThreadStatsUid(-2), isRange);
  assert.throws(() => qtag.setThreadStatsUid(2 ** 32 - 1), isRange);
  assert.throws(() => qtag.withTag(2 ** 40, () => {}), isRange);
  assert.throws(() => qtag.tagSocketWith(3, 2 ** 33), isRange);
  assert.throws(() => qtag.setCounterSet(2), isRange);
  assert.throws(() => qtag.deleteTagData(-(2 ** 40)), isRange);
  assert.equal(qtag.getThreadStatsTag(), -1, 'a failed setter changes nothing');
});

test('destroyed sockets are EBADF; a socket without a descriptor cannot be untagged', async () => {
  const s = new net.Socket();
  s.destroy();
  assert.throws(() => qtag.tagSocket(s), { code: 'EBADF' });
  assert.throws(() => qtag.withTag(1, () => qtag.tagSocket(s)), { code: 'EBADF' });
  const d = dgram.createSocket('udp4');
  await new Promise((r) => d.close(r));
  assert.throws(() => qtag.withTag(1, () => qtag.tagSocket(d)), { code: 'EBADF' });
  const fresh = new net.Socket();
  assert.throws(() => qtag.untagSocket(fresh), { code: 'EBADF' });
  // Without a tag context nothing waits and nothing is checked for a socket without fd.
  qtag.tagSocket(fresh);
  fresh.destroy();
});

const STATS_TEXT = [
  'idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes rx_other_packets tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes tx_other_packets',
  '2 lo 0x0 1000 0 500 5 300 3 0 0 500 5 0 0 0 0 300 3 0 0',
  '3 lo 0x0 1000 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
  '4 lo 0x100100000000 1000 0 100 1 60 1 0 0 100 1 0 0 0 0 60 1 0 0',
  '5 eth0 0x0 1001 0 7 1 0 0 7 1 0 0 0 0 0 0 0 0 0 0',
  '',
].join('\n');

test('Stats.parse and the core\'s queries give plain objects', () => {
  const s = qtag.Stats.parse(STATS_TEXT);
  assert.equal(s.length, 4);
  assert.deepEqual(s.ifaces(), ['lo', 'eth0']);
  const rows = s.rows();
  assert.equal(rows[2].tag, 0x1001);
  assert.equal(rows[2].iface, 'lo');
  assert.equal(rows[2].counters.rxUdpBytes, 100);
  assert.equal(s.uidTotal(1000).rxBytes, 500);
  assert.deepEqual(s.uidTags(1000).map((t) => [t.tag, t.counters.txBytes]), [[0x1001, 60]]);
  assert.deepEqual(s.byUid().map((u) => [u.uid, u.counters.rxBytes]), [[1000, 500], [1001, 7]]);
  assert.equal(s.sum({ tag: 0 }).rxBytes, 507);
  assert.equal(s.matching({ iface: 'eth0' }).length, 1);
  assert.equal(s.total().rxPackets, 6);
  assert.deepEqual(Object.keys(s.total()), qtag.COUNTER_NAMES.map((n) => n.replace(/_([a-z])/g, (_, c) => c.toUpperCase())));
  const later = qtag.Stats.parse(Buffer.from(STATS_TEXT.replace('2 lo 0x0 1000 0 500', '2 lo 0x0 1000 0 900')));
  assert.equal(later.deltaSince(s).uidTotal(1000).rxBytes, 400);
});

test('a malformed stats file is an Error with code EIO naming the line', () => {
  assert.throws(() => qtag.Stats.parse('nonsense\n'), (e) => e.code === 'EIO' && /line 1/.test(e.message));
  assert.throws(() => qtag.Stats.parse(STATS_TEXT.replace('\n3 lo', '\n9 lo')), { code: 'EIO' });
});

test('module not loaded: code QTAG_NO_MODULE and a message that says how to load it', () => {
  const code = `const q = require(${JSON.stringify(PKG)}); const out = [];
    for (const f of [() => q.withTag(5, () => q.tagSocketWith(0, 5)), () => q.Stats.read(), () => q.setCounterSet(1, 0)]) {
      try { f(); out.push(null); } catch (e) { out.push([e.code, e.message]); } }
    out.push(q.getUidRxBytes(0), q.getTotalTxBytes());
    console.log(JSON.stringify(out));`;
  const out = execFileSync(process.execPath, ['-e', code], {
    encoding: 'utf8', env: { ...process.env, QTAG_PROC_DIR: '/nonexistent/xt_qtaguid' },
  });
  const r = JSON.parse(out);
  for (const e of r.slice(0, 3)) {
    assert.equal(e[0], 'QTAG_NO_MODULE');
    assert.match(e[1], /modprobe xt_qtaguid/);
  }
  assert.deepEqual(r.slice(3), [-1, -1]);
});

test('the addon loads in several workers at once; each has its own tag state; they unload', async () => {
  qtag.setTagState(null, null);
  const results = await Promise.all([0x111, 0x222, 0x333].map((tag) => runWorker({ tag, udp: false })));
  assert.deepEqual(results.map((r) => r.tags), [[0x111, 0x111], [0x222, 0x222], [0x333, 0x333]]);
  for (const r of results) assert.equal(r.before, -1, 'a worker starts with no tag');
  // Workers gone: the main thread's state is untouched and the addon still works here.
  assert.equal(qtag.getThreadStatsTag(), -1);
  assert.equal(qtag.tagName(qtag.TAG_SYSTEM_GPS), 'TAG_SYSTEM_GPS');
  // Again, after the first ones unloaded.
  const again = await runWorker({ tag: 0x444, udp: false });
  assert.deepEqual(again.tags, [0x444, 0x444]);
});

test('index.d.ts declares exactly the exported names', () => {
  const dts = require('node:fs').readFileSync(path.join(PKG, 'index.d.ts'), 'utf8');
  const declared = new Set();
  for (const m of dts.matchAll(/^export (?:declare )?(?:function|const|class) (\w+)/gm)) declared.add(m[1]);
  assert.deepEqual([...declared].sort(), Object.keys(qtag).sort());
});
