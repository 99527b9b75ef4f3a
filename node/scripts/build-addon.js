#!/usr/bin/env node
'use strict';
// `npm install` hook: build the native addon (Rust crate ../bindings/node, napi-rs) into
// ./qtag.node, in release mode. Uses @napi-rs/cli (a devDependency, from the npm registry)
// when it is installed, as it is for `npm install` / `npm ci` inside this folder; when
// this package is installed as a dependency (`npm install ./node` from another project),
// npm does not install its devDependencies, so the same crate is built with cargo
// directly. Nothing prebuilt is downloaded: the Rust toolchain and crates.io do the work.
//
// Environment: QTAG_SKIP_BUILD=1 skips the build (an addon is provided otherwise, e.g. via
// QTAG_NODE_ADDON); CARGO_TARGET_DIR is honoured; QTAG_DEBUG_BUILD=1 builds unoptimised.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const manifest = path.resolve(pkgDir, '..', 'bindings', 'node', 'Cargo.toml');
const out = path.join(pkgDir, 'qtag.node');
const release = process.env.QTAG_DEBUG_BUILD !== '1';

function fail(msg) {
  console.error(`qtag: ${msg}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  console.error(`qtag: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'], cwd: pkgDir, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) fail(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} failed (exit ${r.status})`);
  return r.stdout;
}

function napiCli() {
  try {
    const pj = require.resolve('@napi-rs/cli/package.json', { paths: [pkgDir] });
    const bin = require(pj).bin;
    const rel = typeof bin === 'string' ? bin : bin.napi;
    return path.join(path.dirname(pj), rel);
  } catch {
    return null;
  }
}

function buildWithNapi(cli) {
  const args = [cli, 'build', '--manifest-path', manifest, '--output-dir', pkgDir, '--dts', 'native.d.ts'];
  if (release) args.push('--release');
  run(process.execPath, args);
}

function buildWithCargo() {
  const args = ['build', '--manifest-path', manifest, '--lib', '--message-format=json-render-diagnostics'];
  if (release) args.push('--release');
  const stdout = run('cargo', args, { capture: true });
  let lib = null;
  for (const line of stdout.split('\n')) {
    let m;
    try { m = JSON.parse(line); } catch { continue; }
    if (m.reason === 'compiler-artifact' && m.target && m.target.name === 'qtag_node') {
      lib = (m.filenames || []).find((f) => f.endsWith('.so')) || lib;
    }
  }
  if (!lib) fail('cargo built no libqtag_node.so');
  const tmp = `${out}.tmp${process.pid}`;
  fs.copyFileSync(lib, tmp);
  fs.renameSync(tmp, out); // atomic: a process loading the old addon keeps its copy
}

if (process.env.QTAG_SKIP_BUILD === '1') process.exit(0);
if (process.platform !== 'linux') fail('qtag needs Linux (the xt_qtaguid kernel module)');
if (!fs.existsSync(manifest)) {
  if (fs.existsSync(out)) process.exit(0); // a packed copy that ships its addon
  fail(`the Rust crate ${manifest} is missing: install qtag from its source tree`);
}
const cli = napiCli();
if (cli) buildWithNapi(cli);
else buildWithCargo();
if (!fs.existsSync(out)) fail(`the build produced no ${out}`);
console.error(`qtag: built ${out}`);
