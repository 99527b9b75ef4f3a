'use strict';
// The per-category table from the kernel's stats: each category's tag rows and the uid's
// total (tag 0) on one interface, summed over counter sets.

const KEYS = ['rxBytes', 'rxPackets', 'txBytes', 'txPackets'];
const SNAKE = { rxBytes: 'rx_bytes', rxPackets: 'rx_packets', txBytes: 'tx_bytes', txPackets: 'tx_packets' };

const bytes = (t) => t.rxBytes + t.txBytes;
const pick = (c) => Object.fromEntries(KEYS.map((k) => [k, c[k]]));

/** `stats`: a qtag.Stats (already the delta of two snapshots, or cumulative). */
function makeReport(stats, uid, iface, period, categories) {
  const traffic = (tag) => pick(stats.sum({ uid, tag, iface }));
  const total = traffic(0);
  const share = (t) => (bytes(total) ? (100 * bytes(t)) / bytes(total) : 0);
  const lines = categories.map((c) => ({ name: c.name, tag: c.tag, traffic: traffic(c.tag) }));
  const rest = Object.fromEntries(
    KEYS.map((k) => [k, total[k] - lines.reduce((sum, l) => sum + l.traffic[k], 0)]));
  for (const l of lines) l.share = share(l.traffic);
  const untagged = { name: 'untagged', tag: null, traffic: rest, share: share(rest) };
  return { uid, iface, period, total, categories: lines, untagged };
}

function text(r) {
  const row = (name, tag, t, share) =>
    `${name.padEnd(20)} ${tag.padStart(8)} ${String(t.rxBytes).padStart(12)} ` +
    `${String(t.rxPackets).padStart(9)} ${String(t.txBytes).padStart(12)} ` +
    `${String(t.txPackets).padStart(9)} ${share.toFixed(1).padStart(6)}%`;
  return [
    `Traffic of uid ${r.uid} on ${r.iface} ${r.period}, per category (kernel counters from ` +
      '/proc/net/xt_qtaguid/stats)',
    '',
    `${'category'.padEnd(20)} ${'tag'.padStart(8)} ${'rx bytes'.padStart(12)} ${'rx pkts'.padStart(9)} ` +
      `${'tx bytes'.padStart(12)} ${'tx pkts'.padStart(9)} ${'share'.padStart(7)}`,
    ...r.categories.map((l) => row(l.name, `0x${l.tag.toString(16)}`, l.traffic, l.share)),
    row('untagged remainder', '-', r.untagged.traffic, r.untagged.share),
    row('uid total', '0x0', r.total, 100),
    '',
    "The untagged remainder is the uid's traffic on sockets it did not tag: here the",
    "app's own local servers (each byte on lo is sent by one socket and received by",
    'another), plus anything else this uid did on lo meanwhile.',
    '',
  ].join('\n');
}

/** The same table as JSON, in the schema every profiling example shares (snake case). */
function json(r, svg) {
  const snake = (t) => Object.fromEntries(KEYS.map((k) => [SNAKE[k], t[k]]));
  return JSON.stringify({
    uid: r.uid,
    iface: r.iface,
    period: r.period,
    total: snake(r.total),
    categories: r.categories.map((l) => ({ name: l.name, tag: l.tag, ...snake(l.traffic), share: l.share })),
    untagged: { ...snake(r.untagged.traffic), share: r.untagged.share },
    svg,
  }) + '\n';
}

module.exports = { makeReport, text, json };
