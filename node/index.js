'use strict';
/**
 * qtag — Android-style per-socket traffic tagging for Linux (the xt_qtaguid module).
 *
 *   const qtag = require('qtag');
 *   qtag.install();                                  // tag sockets as they connect
 *   await qtag.withTag(0x1001, () => fetch('http://127.0.0.1:8080/'));
 *   const stats = qtag.Stats.read();
 *   for (const { tag, counters } of stats.uidTags(process.getuid())) console.log(tag, counters.txBytes);
 *
 * Android's TrafficStats names in camelCase; the "thread" tag lives in the async context
 * (AsyncLocalStorage), per worker thread. Errors are Error (RangeError for arguments out
 * of range, TypeError for wrong types) with `code`: EPERM, EBADF, ENOTSOCK, EMFILE,
 * EINVAL, QTAG_NO_MODULE, ...
 */
const native = require('./lib/native');
const context = require('./lib/context');
const sockets = require('./lib/sockets');
const stats = require('./lib/stats');
const { intArg } = require('./lib/args');

const C = native.constants();

/** Make `set` (0 default, 1 foreground) the active counter set of `uid` (default: yourself). */
function setCounterSet(set, uid) {
  native.setCounterSet(intArg('set', set), intArg('uid', uid, true));
}

/** Delete accounting data of `uid` (default: yourself); tag 0 = everything. */
function deleteTagData(tag, uid) {
  native.deleteTagData(intArg('tag', tag), intArg('uid', uid, true));
}

/** All accounting data of `uid` (deleteTagData(0, uid)). */
function resetKernelUidStats(uid) {
  native.deleteTagData(0, intArg('uid', uid, true));
}

function tagName(tag) {
  return native.tagName(intArg('tag', tag));
}

function isReservedTag(tag) {
  return native.isReservedTag(intArg('tag', tag));
}

module.exports = {
  // tag context (per async context, per worker)
  setThreadStatsTag: context.setThreadStatsTag,
  getThreadStatsTag: context.getThreadStatsTag,
  getAndSetThreadStatsTag: context.getAndSetThreadStatsTag,
  clearThreadStatsTag: context.clearThreadStatsTag,
  setThreadStatsUid: context.setThreadStatsUid,
  getThreadStatsUid: context.getThreadStatsUid,
  clearThreadStatsUid: context.clearThreadStatsUid,
  getTagState: context.getTagState,
  setTagState: context.setTagState,
  withTag: context.withTag,
  tagged: context.tagged,
  // sockets
  tagSocket: sockets.tagSocket,
  tagSocketWith: sockets.tagSocketWith,
  untagSocket: sockets.untagSocket,
  install: sockets.install,
  uninstall: sockets.uninstall,
  isInstalled: sockets.isInstalled,
  // accounting commands
  setCounterSet,
  setKernelCounterSet: setCounterSet,
  deleteTagData,
  resetKernelUidStats,
  // stats
  ...stats,
  // constants
  UNSUPPORTED: C.UNSUPPORTED,
  COUNTER_SET_DEFAULT: C.COUNTER_SET_DEFAULT,
  COUNTER_SET_FOREGROUND: C.COUNTER_SET_FOREGROUND,
  TAG_SYSTEM_RESERVED_START: C.TAG_SYSTEM_RESERVED_START,
  TAG_SYSTEM_DOWNLOAD: C.TAG_SYSTEM_DOWNLOAD,
  TAG_SYSTEM_MEDIA: C.TAG_SYSTEM_MEDIA,
  TAG_SYSTEM_BACKUP: C.TAG_SYSTEM_BACKUP,
  TAG_SYSTEM_RESTORE: C.TAG_SYSTEM_RESTORE,
  TAG_SYSTEM_APP: C.TAG_SYSTEM_APP,
  TAG_SYSTEM_DHCP: C.TAG_SYSTEM_DHCP,
  TAG_SYSTEM_NTP: C.TAG_SYSTEM_NTP,
  TAG_SYSTEM_PROBE: C.TAG_SYSTEM_PROBE,
  TAG_SYSTEM_NEIGHBOR: C.TAG_SYSTEM_NEIGHBOR,
  TAG_SYSTEM_GPS: C.TAG_SYSTEM_GPS,
  TAG_SYSTEM_PAC: C.TAG_SYSTEM_PAC,
  COUNTER_NAMES: Object.freeze(native.counterNames()),
  tagName,
  isReservedTag,
};
