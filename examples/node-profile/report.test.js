'use strict';
// Host tests of the table and the chart (no kernel module: stats text parsed by qtag).
// Run: node --test examples/node-profile (with qtag resolvable, e.g. after npm install).
const test = require('node:test');
const assert = require('node:assert');
const qtag = require('qtag');
const { makeReport, text, json } = require('./report');
const { chart, human } = require('./chart');
const { CATEGORIES } = require('./work');

const HEADER = 'idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets ' +
  'rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes rx_other_packets ' +
  'tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes tx_other_packets';
const stats = (rows) => qtag.Stats.parse([HEADER, ...rows.map(([iface, tag, uid, set, c], i) =>
  `${i + 2} ${iface} 0x${(BigInt(tag) << 32n).toString(16)} ${uid} ${set} ${c.join(' ')}` + ' 0'.repeat(12))].join('\n') + '\n');

const BEFORE = stats([['lo', 0, 1000, 0, [100, 1, 100, 1]], ['lo', 0x1002, 1000, 0, [50, 1, 0, 0]]]);
const AFTER = stats([
  ['lo', 0, 1000, 0, [1100, 11, 700, 9]], ['lo', 0, 1000, 1, [1000, 10, 400, 2]],
  ['lo', 0x1002, 1000, 0, [950, 7, 100, 3]], ['lo', 0x1002, 1000, 1, [100, 1, 0, 0]],
  ['lo', 0x1003, 1000, 0, [50, 1, 700, 5]],
  ['eth0', 0x1001, 1000, 0, [5000, 5, 5000, 5]], ['lo', 0x1001, 1001, 0, [5000, 5, 5000, 5]],
]);

test('the delta sums counter sets and stays on the iface and uid', () => {
  const r = makeReport(AFTER.deltaSince(BEFORE), 1000, 'lo', 'now', CATEGORIES);
  assert.deepStrictEqual(r.total, { rxBytes: 2000, rxPackets: 20, txBytes: 1000, txPackets: 10 });
  assert.deepStrictEqual(r.categories[0].traffic, { rxBytes: 0, rxPackets: 0, txBytes: 0, txPackets: 0 });
  assert.deepStrictEqual(r.categories[1].traffic, { rxBytes: 1000, rxPackets: 7, txBytes: 100, txPackets: 3 });
  assert.deepStrictEqual(r.untagged.traffic, { rxBytes: 950, rxPackets: 12, txBytes: 200, txPackets: 2 });
  const shares = r.categories.reduce((s, l) => s + l.share, r.untagged.share);
  assert.ok(Math.abs(shares - 100) < 1e-9, String(shares));
});

test('json, text and chart', () => {
  const r = makeReport(AFTER.deltaSince(BEFORE), 1000, 'lo', 'now', CATEGORIES);
  const j = json(r, '/tmp/a.svg');
  assert.strictEqual(j.split('\n').length, 2);
  assert.deepStrictEqual(JSON.parse(j).categories[1],
    { name: 'images', tag: 0x1002, rx_bytes: 1000, rx_packets: 7, tx_bytes: 100, tx_packets: 3, share: 1100 / 30 });
  assert.match(text(r), /\nimages {17}0x1002 {9}1000 /);
  assert.strictEqual((chart(r).match(/<rect/g) || []).length, 4 * 2 + 3);
  assert.strictEqual(human(1536), '1.5 KiB');
});
