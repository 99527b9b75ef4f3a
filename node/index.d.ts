// Types of the qtag package (CommonJS `require('qtag')` and ESM `import qtag from 'qtag'`).
/// <reference types="node" />
import type { Socket } from 'node:net';
import type { Socket as DgramSocket } from 'node:dgram';

/** A net.Socket (tls.TLSSocket is one), a dgram.Socket, or a file descriptor number. */
export type SocketLike = Socket | DgramSocket | number;

/** The tag and uid tagSocket applies in the current async context; null = none / own uid. */
export interface TagState {
  readonly tag: number | null;
  readonly uid: number | null;
}

/**
 * What withTag() runs under: a tag, or `{tag, uid}` where a missing field keeps the
 * current value and null (or -1) means none / the caller's own uid.
 */
export type TagSpec = number | { tag?: number | null; uid?: number | null };

// ------------------------------------------------------------------ tag context
/** Set this async context's tag (Android's setThreadStatsTag); -1 clears it. */
export function setThreadStatsTag(tag: number): void;
/** This async context's tag, -1 when none (as Android). */
export function getThreadStatsTag(): number;
/** Set the tag and return the previous one (-1 when none). */
export function getAndSetThreadStatsTag(tag: number): number;
export function clearThreadStatsTag(): void;
/** Bill sockets tagged later in this async context to `uid` (needs privilege for another uid); -1 clears. */
export function setThreadStatsUid(uid: number): void;
/** This async context's uid, -1 when none. */
export function getThreadStatsUid(): number;
export function clearThreadStatsUid(): void;
export function getTagState(): TagState;
/** Replace tag and uid at once for the rest of this async context; returns the previous state. */
export function setTagState(tag: number | null, uid?: number | null): TagState;
/**
 * Run `fn(...args)` with a tag (and optionally a uid) in force and return its result; a
 * returned promise, and everything it starts, stays in that context.
 */
export function withTag<A extends unknown[], R>(spec: TagSpec, fn: (...args: A) => R, ...args: A): R;
/** `fn` bound to a tag: each call runs under withTag(spec, ...). */
export function tagged<A extends unknown[], R>(spec: TagSpec, fn: (...args: A) => R): (...args: A) => R;

// ------------------------------------------------------------------ sockets
/**
 * Tag `socket` with the current async context's tag and uid (Android's tagSocket). A
 * socket without a descriptor yet (connecting, or a dgram socket not bound) is tagged
 * with this context the moment it gets one ('connect' / 'listening'), before anything
 * queued on it is written; a failure then destroys it with the error (a dgram socket is
 * closed and gets 'error' on the next tick).
 */
export function tagSocket(socket: SocketLike): void;
/** Tag `socket` with an explicit tag billed to `uid` (undefined, null or -1: yourself). */
export function tagSocketWith(socket: SocketLike, tag: number, uid?: number | null): void;
/** Remove the socket's tag (EINVAL if it has none). */
export function untagSocket(socket: SocketLike): void;

export interface InstallOptions {
  /** 'destroy' (default): the socket fails with the qtag error; 'warn': process warning; 'ignore'. */
  onError?: 'destroy' | 'warn' | 'ignore';
}
/**
 * Opt-in: tag every TCP socket that connects (net, http, https, tls, fetch) and every UDP
 * socket that binds while a tag context is active, before its first payload byte.
 */
export function install(options?: InstallOptions): void;
export function uninstall(): void;
export function isInstalled(): boolean;

// ------------------------------------------------------------------ accounting commands
/** Make `set` (COUNTER_SET_DEFAULT / COUNTER_SET_FOREGROUND) the active set of `uid` (default: yourself). Needs privilege. */
export function setCounterSet(set: number, uid?: number | null): void;
export const setKernelCounterSet: typeof setCounterSet;
/** Delete accounting data of `uid` (default: yourself): tag 0 = everything, else that tag's. */
export function deleteTagData(tag: number, uid?: number | null): void;
export function resetKernelUidStats(uid?: number | null): void;

// ------------------------------------------------------------------ stats
/** The stats file's 16 counters (IP-layer bytes, wire packets). */
export interface Counters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  rxTcpBytes: number;
  rxTcpPackets: number;
  rxUdpBytes: number;
  rxUdpPackets: number;
  rxOtherBytes: number;
  rxOtherPackets: number;
  txTcpBytes: number;
  txTcpPackets: number;
  txUdpBytes: number;
  txUdpPackets: number;
  txOtherBytes: number;
  txOtherPackets: number;
}

export interface StatsRow {
  iface: string;
  tag: number;
  uid: number;
  set: number;
  counters: Counters;
}

/** Which rows a query takes; a missing field matches any. */
export interface StatsFilter {
  uid?: number;
  tag?: number;
  iface?: string;
  set?: number;
}

/** A snapshot of /proc/net/xt_qtaguid/stats, parsed by the core; queries give plain objects. */
export declare class Stats {
  private constructor();
  static read(): Stats;
  static readFrom(path: string): Stats;
  static parse(text: string | Buffer): Stats;
  readonly length: number;
  rows(): StatsRow[];
  matching(filter?: StatsFilter | null): StatsRow[];
  /** The matching rows added up (tag 0 gives totals; no tag counts tagged traffic twice). */
  sum(filter?: StatsFilter | null): Counters;
  ifaces(): string[];
  /** Everything billed to `uid` (its tag-0 rows). */
  uidTotal(uid: number): Counters;
  /** `uid`'s traffic per tag (tags other than 0), sorted by tag. */
  uidTags(uid: number): Array<{ tag: number; counters: Counters }>;
  byIface(uid?: number | null): Array<{ iface: string; counters: Counters }>;
  bySet(uid?: number | null): Array<{ set: number; counters: Counters }>;
  byUid(): Array<{ uid: number; counters: Counters }>;
  total(): Counters;
  /** The traffic between `earlier` and this snapshot. */
  deltaSince(earlier: Stats): Stats;
}

export interface TaggedSocket {
  /** The kernel's opaque socket id (64-bit, as a decimal string). */
  sock: string;
  tag: number;
  uid: number;
  pid: number;
  fCount: number;
}
export function readCtrl(): { sockets: TaggedSocket[]; events: Record<string, number> };

export interface IfaceStat {
  name: string;
  active: boolean;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  devRxBytes: number;
  devRxPackets: number;
  devTxBytes: number;
  devTxPackets: number;
}
export function ifaceStatAll(): IfaceStat[];
export function ifaceStatFmt(): Array<{ name: string; counters: Counters }>;

/** TrafficStats getters: UNSUPPORTED (-1) when not available. `uid` defaults to yours. */
export function getUidRxBytes(uid?: number): number;
export function getUidRxPackets(uid?: number): number;
export function getUidTxBytes(uid?: number): number;
export function getUidTxPackets(uid?: number): number;
export function getTotalRxBytes(): number;
export function getTotalRxPackets(): number;
export function getTotalTxBytes(): number;
export function getTotalTxPackets(): number;
export function getRxBytes(iface: string): number;
export function getRxPackets(iface: string): number;
export function getTxBytes(iface: string): number;
export function getTxPackets(iface: string): number;

// ------------------------------------------------------------------ constants
export const UNSUPPORTED: -1;
export const COUNTER_SET_DEFAULT: 0;
export const COUNTER_SET_FOREGROUND: 1;
export const TAG_SYSTEM_RESERVED_START: number;
export const TAG_SYSTEM_DOWNLOAD: number;
export const TAG_SYSTEM_MEDIA: number;
export const TAG_SYSTEM_BACKUP: number;
export const TAG_SYSTEM_RESTORE: number;
export const TAG_SYSTEM_APP: number;
export const TAG_SYSTEM_DHCP: number;
export const TAG_SYSTEM_NTP: number;
export const TAG_SYSTEM_PROBE: number;
export const TAG_SYSTEM_NEIGHBOR: number;
export const TAG_SYSTEM_GPS: number;
export const TAG_SYSTEM_PAC: number;
/** The stats file's counter column names, in order (snake case, as in the file). */
export const COUNTER_NAMES: readonly string[];
/** Android's constant name of a reserved tag, or null. */
export function tagName(tag: number): string | null;
export function isReservedTag(tag: number): boolean;

/**
 * Errors thrown by qtag: an Error with `code` — the core's POSIX name ('EPERM', 'EBADF',
 * 'ENOTSOCK', 'EMFILE', 'EINVAL', 'EIO', ...) or 'QTAG_NO_MODULE' (module not loaded) —
 * and the core's message saying what to do. Arguments out of range are RangeErrors with
 * code 'EINVAL'; wrong types are TypeErrors with code 'ERR_INVALID_ARG_TYPE'.
 */
export interface QtagError extends Error {
  code: 'EPERM' | 'EBADF' | 'ENOTSOCK' | 'EMFILE' | 'EINVAL' | 'EIO' | 'QTAG_NO_MODULE' | string;
}
