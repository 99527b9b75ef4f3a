#!/usr/bin/env python3
"""setd: the system's side of foreground/background. Apps tell it over a unix socket when
they come to the foreground or go to the background; it makes counter set 1 (foreground)
or 0 (background, the default) the active set of the app's uid, as Android's
ActivityManager does through NetworkManagementService.

    setd.py --socket PATH

Requests are one line, `foreground` or `background`; the answer is `ok <set>` or
`ERR <why>`. The uid comes from the kernel (SO_PEERCRED), so an app can only move itself.
Changing counter sets needs accounting privilege: CAP_NET_ADMIN, or membership of the
group the module's acct_gid parameter names. Without it setd refuses to start (exit 4).
"""

import argparse
import os
import signal
import socket
import socketserver
import struct
import sys
import threading

import qtag

SETS = {"foreground": qtag.COUNTER_SET_FOREGROUND, "background": qtag.COUNTER_SET_DEFAULT}


def log(msg):
    print(f"setd: {msg}", file=sys.stderr, flush=True)


class App(socketserver.StreamRequestHandler):
    def handle(self):
        _pid, uid, _gid = struct.unpack("3i", self.request.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        for line in self.rfile:
            state = line.decode(errors="replace").strip()
            if state not in SETS:
                self.wfile.write(f"ERR say foreground or background, not {state!r}\n".encode())
                continue
            try:
                qtag.set_counter_set(SETS[state], uid)
            except OSError as e:
                self.wfile.write(f"ERR {e}\n".encode())
                continue
            log(f"uid {uid} is in the {state}: counter set {SETS[state]}")
            self.wfile.write(f"ok {SETS[state]}\n".encode())


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--socket", required=True, help="the unix socket apps connect to")
    args = p.parse_args()
    try:
        # Our own uid's set, to the default it has anyway: the kernel says whether we may.
        qtag.set_counter_set(qtag.COUNTER_SET_DEFAULT, os.getuid())
    except qtag.ModuleNotLoadedError as e:
        log(e.strerror)
        return 3
    except qtag.PermissionDeniedError:
        log(f"refusing to start: uid {os.getuid()} may not change counter sets. setd needs "
            "accounting privilege (MODIFY_NETWORK_ACCOUNTING): CAP_NET_ADMIN, or membership "
            "of the group the module's acct_gid parameter names.")
        return 4
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server = Server(args.socket, App)
    os.chmod(args.socket, 0o666)  # any app may report its state
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log(f"ready on {args.socket} (uid {os.getuid()})")
    server.serve_forever()
    server.server_close()
    os.unlink(args.socket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
