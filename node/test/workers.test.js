'use strict';
// Worker threads against the real module: each worker has its own tag state and tags its
// own sockets; the addon loads in several workers at once and they exit cleanly.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./fixtures/helpers');

const skip = h.vmOnly();
const qtag = skip ? null : require(h.PKG);

test('two workers at once, each with its own tag: exact UDP bytes per worker tag', { skip }, async () => {
  const sink = await h.udpSink();
  try {
    const jobs = [[h.freshTag(), 5, 300, false], [h.freshTag(), 3, 70, true]];
    const res = await Promise.all(jobs.map(([tag, n, size, auto]) => h.runWorker({ tag, udp: { port: sink.port, n, size, auto } })));
    res.forEach((r, i) => assert.deepEqual(r.tags, [jobs[i][0], jobs[i][0]]));
    for (const [tag, n, size] of jobs) {
      assert.deepEqual(await h.waitQuiet(() => h.rawSum(h.rawStats(), { uid: 0, tag })), h.udpExpect(n, size));
    }
    // The main thread kept no tag and its addon still works after the workers unloaded.
    assert.equal(qtag.getThreadStatsTag(), -1);
    assert.equal(qtag.isInstalled(), false, 'install() in a worker does not patch this thread');
    assert.ok(qtag.Stats.read().length > 0);
  } finally {
    await sink.close();
  }
});
