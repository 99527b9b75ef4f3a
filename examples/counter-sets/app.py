#!/usr/bin/env python3
"""An app that moves between the foreground and the background, and shows how the kernel
split its traffic between counter set 1 (foreground) and 0 (background).

    app.py --socket SETD_SOCKET [--json]

In the foreground the user browses (image downloads, tag 0x3001); in the background the
app syncs (uploads, tag 0x3002). At each move it tells setd (the system's side, which
holds the privilege) and waits for its answer, so every packet afterwards lands in the
new set. Its servers run on 127.0.0.1 inside the app (untagged: in the uid totals only).
"""

import argparse
import json
import os
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import qtag

BROWSE, SYNC = 0x3001, 0x3002
# (state, activity, tag, requests): what the app does, in order.
PHASES = [("foreground", "browse", BROWSE, 4), ("background", "sync", SYNC, 3),
          ("foreground", "browse", BROWSE, 2), ("background", "sync", SYNC, 2)]
IMAGE = random.Random(3).randbytes(300 * 1024)
BATCH = b"".join(b'{"event":%d,"kind":"sync","payload":"%s"}\n' % (i, b"x" * 80)
                 for i in range(1500))
SET_NAMES = {1: "1 (foreground)", 0: "0 (background)"}
KEYS = ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")
TCP_CLOSE = 7


class Server(BaseHTTPRequestHandler):
    """GET /image and POST /sync, HTTP/1.0 (the server closes after answering)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(IMAGE)))
        self.end_headers()
        self.wfile.write(IMAGE)

    def do_POST(self):
        got = len(self.rfile.read(int(self.headers["Content-Length"])))
        body = f'{{"stored":{got}}}'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def request(addr, tag, activity):
    """One request on a socket tagged before connecting; returns once the connection is
    over (the peer acknowledged our close), so none of its packets can land in a later
    phase's counter set."""
    req = (b"GET /image HTTP/1.0\r\n\r\n" if activity == "browse" else
           b"POST /sync HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(BATCH), BATCH))
    with socket.socket() as s:
        qtag.tag_socket_with(s, tag)
        s.connect(addr)
        s.sendall(req)
        while s.recv(65536):
            pass
        s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 5
        while (s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_CLOSE
               and time.monotonic() < deadline):
            time.sleep(0.002)


def move(setd, state):
    setd.sendall(f"{state}\n".encode())
    answer = setd.makefile("rb").readline().decode().strip()
    if not answer.startswith("ok "):
        raise OSError(f"setd: {answer or 'no answer'}")


def table(before, after, uid):
    def c(tag, cset):
        d = after.sum(uid=uid, tag=tag, iface="lo", set=cset).delta_since(
            before.sum(uid=uid, tag=tag, iface="lo", set=cset))
        return {k: getattr(d, k) for k in KEYS}
    return {cset: {"browse": c(BROWSE, cset), "sync": c(SYNC, cset), "total": c(0, cset)}
            for cset in (1, 0)}


def text(uid, sets):
    out = [f"Traffic of uid {uid} on lo during this run, per counter set (kernel counters "
           "from /proc/net/xt_qtaguid/stats)", "",
           f"{'counter set':<16} {'traffic':<18} {'rx bytes':>10} {'rx pkts':>8} "
           f"{'tx bytes':>10} {'tx pkts':>8}"]
    for cset, rows in sets.items():
        for i, (what, label) in enumerate((("browse", f"browse ({BROWSE:#x})"),
                                           ("sync", f"sync ({SYNC:#x})"), ("total", "uid total"))):
            t = rows[what]
            out.append(f"{SET_NAMES[cset] if i == 0 else '':<16} {label:<18} {t['rx_bytes']:>10} "
                       f"{t['rx_packets']:>8} {t['tx_bytes']:>10} {t['tx_packets']:>8}")
    out += ["", "The uid totals include the app's own local servers (each byte on lo is sent",
            "by one socket and received by another)."]
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--socket", required=True, help="setd's unix socket")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    args = p.parse_args()
    uid = os.getuid()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        before = qtag.Stats.read()
        with socket.socket(socket.AF_UNIX) as setd:
            setd.connect(args.socket)
            for state, activity, tag, n in PHASES:
                move(setd, state)
                print(f"app: {state}: {activity}, {n} requests", file=sys.stderr)
                for _ in range(n):
                    request(httpd.server_address, tag, activity)
        after = qtag.Stats.read()
    except qtag.ModuleNotLoadedError as e:
        print(f"app: {e.strerror}", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"app: {e}", file=sys.stderr)
        return 1
    sets = table(before, after, uid)
    if args.json:
        print(json.dumps({"uid": uid, "sets": sets}))
    else:
        sys.stdout.write(text(uid, sets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
