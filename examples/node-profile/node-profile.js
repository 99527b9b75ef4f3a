#!/usr/bin/env node
'use strict';
// node-profile: an app that profiles its own network traffic per category with qtag
// (api 0x1001, images 0x1002, telemetry 0x1003) and prints a table from the kernel's
// counters. Needs the qtag package (npm install here) and the xt_qtaguid module loaded.
const fs = require('node:fs');
const qtag = require('qtag');
const servers = require('./servers');
const work = require('./work');
const { makeReport, text, json } = require('./report');
const { chart } = require('./chart');

const USAGE = `usage: node-profile [--json] [--svg PATH] [--cumulative]

Profiles this program's own traffic per category (api 0x1001, images 0x1002,
telemetry 0x1003) with the xt_qtaguid kernel module and prints a table.

  --json        print the table as JSON (for scripts and tests)
  --svg PATH    where to write the bar chart (a file, or a folder to put profile.svg
                in; default: profile.svg in the current folder)
  --cumulative  show the counters since the module was loaded, not just this run's

exit codes: 0 ok, 1 error, 2 usage, 3 kernel module not loaded, 4 permission denied`;

function parseArgs(argv) {
  const a = { json: false, svg: 'profile.svg', cumulative: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') a.json = true;
    else if (arg === '--cumulative') a.cumulative = true;
    else if (arg === '--svg') {
      if (i + 1 >= argv.length) throw new Error('--svg needs a PATH');
      a.svg = argv[++i];
    } else if (arg.startsWith('--svg=')) a.svg = arg.slice('--svg='.length);
    else if (arg === '-h' || arg === '--help') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown argument \`${arg}\``);
  }
  try {
    if (fs.statSync(a.svg).isDirectory()) a.svg = `${a.svg}/profile.svg`;
  } catch { /* a file to create */ }
  return a;
}

const log = (msg) => process.stderr.write(`node-profile: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The counters once the uid's traffic has been quiet for 200 ms (at most 3 s): the last
// ACK of a closed connection on lo can wait in a softirq for a moment on a busy machine.
async function settledStats(uid) {
  const start = Date.now();
  let last = qtag.Stats.read();
  let since = Date.now();
  while (Date.now() - since < 200 && Date.now() - start < 3000) {
    await sleep(50);
    const now = qtag.Stats.read();
    if (JSON.stringify(now.uidTotal(uid)) !== JSON.stringify(last.uidTotal(uid))) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

async function profile(cumulative) {
  // The counters before the work (fails first, with the core's message, when the module
  // is not loaded): the table shows what changed since, i.e. this run's traffic.
  const before = qtag.Stats.read();
  qtag.install();
  const [content, sink] = await Promise.all([servers.startContent(), servers.startTelemetry()]);
  log(`servers on 127.0.0.1:${content.port} (content) and 127.0.0.1:${sink.port} (telemetry); ` +
    'running api, images and telemetry work concurrently...');
  const t0 = Date.now();
  try {
    await work.run(content.port, sink.port);
  } finally {
    await Promise.all([content.stop(), sink.stop()]); // every connection closed
  }
  log(`work done in ${((Date.now() - t0) / 1000).toFixed(1)} s; reading the kernel's counters`);
  const uid = process.getuid();
  const after = await settledStats(uid);
  return cumulative
    ? makeReport(after, uid, 'lo', 'since the module was loaded', work.CATEGORIES)
    : makeReport(after.deltaSince(before), uid, 'lo', 'during this run', work.CATEGORIES);
}

const EXIT = { QTAG_NO_MODULE: 3, EPERM: 4 };

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    log(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  let report;
  try {
    report = await profile(args.cumulative);
  } catch (e) {
    log(e.message);
    return EXIT[e.code] || 1;
  }
  let svg = args.svg;
  try {
    fs.writeFileSync(svg, chart(report));
  } catch (e) {
    log(`cannot write the chart to ${svg}: ${e.message} (choose another place with --svg)`);
    svg = null;
  }
  if (args.json) process.stdout.write(json(report, svg));
  else process.stdout.write(text(report) + (svg ? `\nBar chart: ${svg}\n` : ''));
  return svg ? 0 : 1;
}

main().then((code) => { process.exitCode = code; });
