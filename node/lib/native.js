'use strict';
// Loads the napi addon (bindings/node) that `npm install` built into this package's
// folder as qtag.node. QTAG_NODE_ADDON may point at another build of it.
const path = require('node:path');

function load() {
  const file = process.env.QTAG_NODE_ADDON || path.join(__dirname, '..', 'qtag.node');
  try {
    return require(file);
  } catch (e) {
    const err = new Error(
      `qtag: cannot load the native addon ${file} (${e.message}); build it with ` +
        '`npm install` or `npm run build` in the package folder (needs a Rust toolchain)',
    );
    err.code = 'QTAG_NO_ADDON';
    err.cause = e;
    throw err;
  }
}

module.exports = load();
