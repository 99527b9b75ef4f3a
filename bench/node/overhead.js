'use strict';
// Node binding overhead: qtag's calls vs an N-API call of the addon that does no work
// (Node's cheapest native call) and a raw fs.writeSync of the same ctrl command.
//   node overhead.js ROUNDS CALLS -> one JSON object of nanoseconds per call, one number
//   per round (the variants interleaved).
const dgram = require('node:dgram');
const fs = require('node:fs');
const path = require('node:path');
const qtag = require(path.join(__dirname, '..', '..', 'node'));
const native = require(path.join(__dirname, '..', '..', 'node', 'lib', 'native.js'));

const rounds = Number(process.argv[2]);
const calls = Number(process.argv[3]);

function timed(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / calls;
}

async function main() {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const fd = sock._handle.fd;
  const ctrl = fs.openSync('/proc/net/xt_qtaguid/ctrl', 'w');
  // Exactly what tagSocket sends (libcutils' "t <fd> <tag<<32> <uid>", uid -1: the
  // caller's own): the kernel parses the uid field too.
  const cmd = Buffer.from(`t ${fd} ${BigInt(0x1001) << 32n} -1`);
  let sink = 0;
  const variants = {
    native_call() {
      for (let i = 0; i < calls; i++) sink += native.normalizeTag(5);
    },
    set_tag() {
      for (let i = 0; i < calls; i++) qtag.setThreadStatsTag(0x1001);
    },
    get_tag() {
      for (let i = 0; i < calls; i++) sink += qtag.getThreadStatsTag();
    },
    tag_socket() {
      qtag.setThreadStatsTag(0x1001);
      for (let i = 0; i < calls; i++) qtag.tagSocket(fd);
    },
    raw_write() {
      for (let i = 0; i < calls; i++) fs.writeSync(ctrl, cmd);
    },
    empty() {
      for (let i = 0; i < calls; i++) sink += i;
    },
  };
  const res = {};
  for (const name of Object.keys(variants)) res[`${name}_ns`] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) res[`${name}_ns`].push(timed(fn));
  }
  sock.close();
  fs.closeSync(ctrl);
  if (sink === 0.5) console.error(sink); // keep the loops' results alive
  console.log(JSON.stringify(res));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
