'use strict';
// The tag context: Android's per-thread tag and uid, kept per async context
// (AsyncLocalStorage). Every worker thread has its own storage (this module is loaded
// once per worker), concurrent requests on one event loop each see the state of the
// withTag() call they run under, and the native addon never sees this state: tagSocket
// passes tag and uid explicitly.
const { AsyncLocalStorage } = require('node:async_hooks');
const native = require('./native');
const { intArg, funcArg, typeError, describe } = require('./args');

/** @typedef {{ tag: number | null, uid: number | null }} TagState */
const NONE = Object.freeze({ tag: null, uid: null });
const storage = new AsyncLocalStorage();

function current() {
  return storage.getStore() || NONE;
}

// The states in the storage are never changed after creation and never handed out (see
// exposed), so they need no Object.freeze, which cost setThreadStatsTag about a third of
// its work besides the native call (bench/node/overhead.js).
function state(tag, uid) {
  return tag === null && uid === null ? NONE : { tag, uid };
}

/** A state for the caller: a frozen copy, so user code cannot change the storage's. */
function exposed(st) {
  return st === NONE ? NONE : Object.freeze({ tag: st.tag, uid: st.uid });
}

/** The tag and uid tagSocket applies here: `{tag, uid}`, null = none / own uid. */
function getTagState() {
  return exposed(current());
}

/** Replace tag and uid (null: none / own uid) for the rest of this async context. */
function setTagState(tag, uid) {
  const prev = exposed(current());
  const t = tag === null || tag === undefined ? null : native.normalizeTag(intArg('tag', tag));
  const u = uid === null || uid === undefined ? null : native.normalizeUid(intArg('uid', uid));
  storage.enterWith(state(t, u));
  return prev;
}

function setThreadStatsTag(tag) {
  const t = native.normalizeTag(intArg('tag', tag));
  storage.enterWith(state(t, current().uid));
}

function getAndSetThreadStatsTag(tag) {
  const prev = getThreadStatsTag();
  setThreadStatsTag(tag);
  return prev;
}

function getThreadStatsTag() {
  const t = current().tag;
  return t === null ? -1 : t;
}

function clearThreadStatsTag() {
  const cur = current();
  if (cur.tag !== null) storage.enterWith(state(null, cur.uid));
}

function setThreadStatsUid(uid) {
  const u = native.normalizeUid(intArg('uid', uid));
  storage.enterWith(state(current().tag, u));
}

function getThreadStatsUid() {
  const u = current().uid;
  return u === null ? -1 : u;
}

function clearThreadStatsUid() {
  const cur = current();
  if (cur.uid !== null) storage.enterWith(state(cur.tag, null));
}

/** The state withTag(spec) runs fn under, from the current one. */
function derive(spec) {
  const cur = current();
  let tag = cur.tag;
  let uid = cur.uid;
  if (typeof spec === 'number' || typeof spec === 'bigint') {
    tag = native.normalizeTag(intArg('tag', spec));
  } else if (spec !== null && typeof spec === 'object') {
    if (spec.tag !== undefined) {
      tag = spec.tag === null ? null : native.normalizeTag(intArg('tag', spec.tag));
    }
    if (spec.uid !== undefined) {
      uid = spec.uid === null ? null : native.normalizeUid(intArg('uid', spec.uid));
    }
  } else {
    throw typeError(
      `The "tag" argument must be a number or an object {tag, uid}. Received ${describe(spec)}`,
    );
  }
  return state(tag, uid);
}

/**
 * Run fn(...args) with a tag (and optionally uid) in force, and return its result (a
 * promise stays in the context until it settles, and so does everything it starts).
 * `spec` is a tag, or `{tag, uid}`: a missing field keeps the current value, null (or -1)
 * means none / the caller's own uid.
 */
function withTag(spec, fn, ...args) {
  const s = derive(spec);
  funcArg('fn', fn);
  return storage.run(s, fn, ...args);
}

/**
 * `fn` bound to a tag: calling the result runs fn under withTag(spec, ...). Useful for
 * callbacks and request handlers.
 */
function tagged(spec, fn) {
  derive(spec); // validate now
  funcArg('fn', fn);
  return function taggedFn(...args) {
    return storage.run(derive(spec), fn.bind(this), ...args);
  };
}

module.exports = {
  NONE,
  current,
  getTagState,
  setTagState,
  setThreadStatsTag,
  getAndSetThreadStatsTag,
  getThreadStatsTag,
  clearThreadStatsTag,
  setThreadStatsUid,
  getThreadStatsUid,
  clearThreadStatsUid,
  withTag,
  tagged,
};
