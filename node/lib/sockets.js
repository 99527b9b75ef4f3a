'use strict';
// Socket tagging (explicit), and opt-in automatic tagging of sockets as they get their
// file descriptor.
//
// Where a Node socket's descriptor is: net.Socket / tls.TLSSocket: `socket._handle.fd`
// (a TLSWrap answers with its TCP parent's); dgram.Socket: its handle in the socket's
// internal state. libuv creates the descriptor late: a TCP socket at connect (or bind), a
// UDP socket at bind (explicit, or the implicit one of its first send()).
const net = require('node:net');
const dgram = require('node:dgram');
const native = require('./native');
const { current, NONE } = require('./context');
const { intArg, typeError, qtagError, describe } = require('./args');

function symbolNamed(obj, description) {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
}

let dgramState; // the symbol under which a dgram.Socket keeps its handle
function dgramHandle(sock) {
  if (dgramState === undefined) dgramState = symbolNamed(sock, 'state symbol') || null;
  const st = dgramState ? sock[dgramState] : undefined;
  return st ? st.handle : undefined;
}

function handleFd(h) {
  if (!h) return -1;
  const fd = h.fd;
  return typeof fd === 'number' ? fd : -1;
}

const NO_FD = -1;
const DESTROYED = -2;

/**
 * The descriptor of `sock`: a number ≥ 0, NO_FD (a socket that has none yet) or
 * DESTROYED. Numbers pass through. Anything else is a TypeError.
 */
function socketFd(sock) {
  if (typeof sock === 'number' || typeof sock === 'bigint') return intArg('fd', sock);
  if (sock instanceof net.Socket) {
    if (sock.destroyed) return DESTROYED;
    const fd = handleFd(sock._handle);
    return fd >= 0 ? fd : NO_FD;
  }
  if (sock instanceof dgram.Socket) {
    const h = dgramHandle(sock);
    if (h === undefined) throw typeError('qtag: cannot find the handle of this dgram.Socket');
    if (h === null) return DESTROYED; // closed
    const fd = handleFd(h);
    return fd >= 0 ? fd : NO_FD;
  }
  throw typeError(
    'The "socket" argument must be a net.Socket, tls.TLSSocket, dgram.Socket or a file ' +
      `descriptor number. Received ${describe(sock)}`,
  );
}

function destroyedError() {
  return qtagError('EBADF', 'qtag: the socket is destroyed (closed); it has no file descriptor');
}

// Tags waiting for a socket's descriptor: socket → { event, listener }.
const pending = new WeakMap();

function cancelPending(sock) {
  const p = pending.get(sock);
  if (!p) return false;
  sock.removeListener(p.event, p.listener);
  pending.delete(sock);
  return true;
}

/**
 * Tag `sock` with `state` now, or — a socket without a descriptor yet — as soon as it
 * has one: at its 'connect' (net, tls) or 'listening' (dgram) event, before anything
 * queued on it is written (the listener is prepended). A failure then destroys a
 * net.Socket with the error before anything is written; a dgram.Socket is closed and gets
 * the error as 'error' on the next tick (its queued datagrams have gone out by then).
 */
function tagWith(sock, tag, uid) {
  const fd = socketFd(sock);
  if (fd === DESTROYED) throw destroyedError();
  if (typeof sock === 'object') cancelPending(sock);
  if (fd !== NO_FD) {
    native.tagSocketWith(fd, tag, uid);
    return;
  }
  if (tag === null && uid === null) return; // nothing to tell the kernel, nothing to check
  const isNet = sock instanceof net.Socket;
  const event = isNet ? 'connect' : 'listening';
  const listener = () => {
    pending.delete(sock);
    try {
      const now = socketFd(sock);
      if (now < 0) throw qtagError('EBADF', 'qtag: the socket has no file descriptor');
      native.tagSocketWith(now, tag, uid);
    } catch (err) {
      if (isNet) {
        sock.destroy(err); // before its 'connect' listeners: nothing queued is written
      } else {
        // dgram flushes its queued datagrams right after this event and would throw on a
        // socket closed under it: report and close on the next tick.
        process.nextTick(() => {
          try { sock.close(); } catch { /* already closed */ }
          sock.emit('error', err);
        });
      }
    }
  };
  pending.set(sock, { event, listener });
  sock.prependOnceListener(event, listener);
}

/**
 * Tag `sock` with the current async context's tag and uid (Android's tagSocket). With
 * neither tag nor uid nothing is sent to the kernel (a descriptor is still checked).
 */
function tagSocket(sock) {
  const st = current();
  tagWith(sock, st.tag, st.uid);
}

/** Tag `sock` with an explicit tag, billed to `uid` (undefined, null or -1: yourself). */
function tagSocketWith(sock, tag, uid) {
  const t = intArg('tag', tag);
  const u = intArg('uid', uid, true);
  // Validate now (RangeError/EINVAL), also when the tag has to wait for the descriptor.
  const nt = native.normalizeTag(t);
  const nu = u === null ? null : native.normalizeUid(u);
  tagWith(sock, nt, nu);
}

/** Remove `sock`'s tag (EINVAL if it has none); a tag still waiting is cancelled. */
function untagSocket(sock) {
  const fd = socketFd(sock);
  if (typeof sock === 'object' && cancelPending(sock)) {
    // The waiting tag never reached the kernel; an automatic one may have (install()).
    if (fd >= 0) {
      try {
        native.untagSocket(fd);
      } catch (e) {
        if (e.code !== 'EINVAL') throw e;
      }
    }
    return;
  }
  if (fd === DESTROYED) throw destroyedError();
  if (fd === NO_FD) throw qtagError('EBADF', 'qtag: the socket has no file descriptor (not connected or bound)');
  native.untagSocket(fd);
}

// ---------------------------------------------------------------- automatic tagging

let installed = null; // { restore: [[proto, name, original]], onError }

function handlePrototypes() {
  // A TCP handle exists from Socket#connect on; its descriptor only once the connect
  // runs, a tick later, which destroy() cancels: no system call is made here.
  const s = new net.Socket();
  s.on('error', () => {});
  s.connect({ port: 9, host: '127.0.0.1' });
  const tcp = Object.getPrototypeOf(s._handle);
  s.destroy();
  const d = dgram.createSocket('udp4');
  const udp = Object.getPrototypeOf(dgramHandle(d));
  d.close();
  return { tcp, udp };
}

const ERRNO = require('node:os').constants.errno;

function autoTagFailed(handle, err, kind) {
  const mode = installed ? installed.onError : 'destroy';
  if (mode === 'ignore') return 0;
  if (mode === 'warn') {
    process.emitWarning(`qtag: could not tag a socket: ${err.message}`, { code: 'QTAG_AUTOTAG' });
    return 0;
  }
  if (kind === 'tcp') {
    // The connect is under way but its 'connect' event (and so any payload) comes later
    // than this tick: the socket is destroyed with the qtag error first.
    const ownerSym = symbolNamed(handle, 'owner_symbol');
    const owner = ownerSym && handle[ownerSym];
    if (owner && typeof owner.destroy === 'function') {
      process.nextTick(() => owner.destroy(err));
      return 0;
    }
  }
  // A UDP bind (dgram flushes queued datagrams right after it): fail the bind with the
  // errno, so nothing is sent; dgram emits its 'error'. The qtag message goes to a warning.
  process.emitWarning(`qtag: could not tag a socket: ${err.message}`, { code: 'QTAG_AUTOTAG' });
  const errno = ERRNO[err.code] || ERRNO.EINVAL;
  return -errno;
}

function wrapHandleMethod(proto, name, kind) {
  const orig = proto[name];
  const wrapped = function qtagAutoTag(...args) {
    const ret = orig.apply(this, args);
    if (ret === 0) {
      const st = current();
      if (st !== NONE) {
        const fd = handleFd(this);
        if (fd >= 0) {
          try {
            native.tagSocketWith(fd, st.tag, st.uid);
          } catch (err) {
            return autoTagFailed(this, err, kind);
          }
        }
      }
    }
    return ret;
  };
  Object.defineProperty(wrapped, 'name', { value: name });
  proto[name] = wrapped;
  return [proto, name, orig];
}

/**
 * Tag every TCP socket that connects (net, http, https, tls, fetch/undici) and every UDP
 * socket that binds (explicitly or by its first send) while a tag context is active,
 * with that context, the moment its descriptor exists — before any payload byte.
 * The TCP handshake's SYN leaves before that (the descriptor is created by the connect
 * call itself), so it is billed to tag 0 of the uid.
 *
 * options.onError: 'destroy' (default: the socket fails with the qtag error; a UDP bind
 * fails with its errno), 'warn' (process warning, traffic goes on untagged) or 'ignore'.
 * Calling install() again only changes onError; uninstall() undoes it.
 */
function install(options = {}) {
  const onError = (options && options.onError) || 'destroy';
  if (!['destroy', 'warn', 'ignore'].includes(onError)) {
    const e = new RangeError(`onError must be 'destroy', 'warn' or 'ignore', not ${describe(onError)}`);
    e.code = 'ERR_INVALID_ARG_VALUE';
    throw e;
  }
  if (installed) {
    installed.onError = onError;
    return;
  }
  const { tcp, udp } = handlePrototypes();
  const restore = [
    wrapHandleMethod(tcp, 'connect', 'tcp'),
    wrapHandleMethod(tcp, 'connect6', 'tcp'),
    wrapHandleMethod(udp, 'bind', 'udp'),
    wrapHandleMethod(udp, 'bind6', 'udp'),
  ];
  installed = { restore, onError };
}

/** Undo install(): sockets connected later are not tagged automatically. */
function uninstall() {
  if (!installed) return;
  for (const [proto, name, orig] of installed.restore.reverse()) proto[name] = orig;
  installed = null;
}

function isInstalled() {
  return installed !== null;
}

module.exports = {
  socketFd,
  tagSocket,
  tagSocketWith,
  untagSocket,
  install,
  uninstall,
  isInstalled,
};
