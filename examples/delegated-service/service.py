#!/usr/bin/env python3
"""delegated-service: a download service that fetches files for local clients and bills
each fetch to the client's uid (qtag.set_thread_stats_uid), as Android's DownloadManager
does for apps.

    service.py --socket PATH

Clients connect to the unix socket PATH and send one line, `GET <name>`; the service
learns who asks from the kernel (SO_PEERCRED), never from the client's words, fetches
<name> from its origin server over TCP with the socket tagged DOWNLOAD_TAG for the client's
uid, and sends back `OK <size>` and the bytes (or `ERR <why>`). The origin (a stand-in
for the internet) is an HTTP server the service starts on 127.0.0.1; its sockets are the
service's own.

Billing another uid needs accounting privilege: CAP_NET_ADMIN, or membership of the group
the module's acct_gid parameter names. Without it the service refuses to start (exit 4).
"""

import argparse
import os
import random
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import qtag

DOWNLOAD_TAG = 0x2001
FILES = {"small.bin": 64 * 1024, "medium.bin": 512 * 1024, "large.bin": 2 * 1024 * 1024}
DATA = random.Random(1).randbytes(max(FILES.values()))
TCP_CLOSE = 7  # tcpi_state of a connection that is over


def log(msg):
    print(f"delegated-service: {msg}", file=sys.stderr, flush=True)


class Origin(BaseHTTPRequestHandler):
    """GET /files/<name>, HTTP/1.0: the server closes the connection after answering."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        size = FILES.get(self.path.removeprefix("/files/"))
        if size is None:
            return self.send_error(404)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(DATA[:size])


def fetch(origin, name):
    """GET name from the origin on a socket tagged with the thread's tag and uid (set by
    the caller) before connecting, so every packet of the fetch is billed to them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        qtag.tag_socket(sock)
        sock.connect(origin)
        sock.sendall(f"GET /files/{name} HTTP/1.0\r\nHost: origin\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):  # the origin closes after the body
            chunks.append(chunk)
        # Close our side and wait until the origin has acknowledged it: after that no
        # packet of this fetch is left to bill, and the client may read its numbers.
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 5
        while (sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_CLOSE
               and time.monotonic() < deadline):
            time.sleep(0.002)
    finally:
        sock.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200"):
        raise OSError(f"origin: {head.splitlines()[0].decode() if head else 'no answer'}")
    return body


class Client(socketserver.StreamRequestHandler):
    def handle(self):
        # Who is asking, from the kernel: the uid of the process that connected.
        _pid, uid, _gid = struct.unpack("3i", self.request.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        line = self.rfile.readline(200).decode(errors="replace").strip()
        verb, _, name = line.partition(" ")
        if verb != "GET" or name not in FILES:
            self.wfile.write(f"ERR unknown request {line!r}; files: {' '.join(FILES)}\n".encode())
            return
        # This thread works for `uid` now: its sockets are billed to it (Android's
        # TrafficStats.setThreadStatsUid + setThreadStatsTag), until cleared.
        qtag.set_thread_stats_tag(DOWNLOAD_TAG)
        qtag.set_thread_stats_uid(uid)
        try:
            body = fetch(self.server.origin, name)
        except OSError as e:
            log(f"fetch of {name} for uid {uid} failed: {e}")
            self.wfile.write(f"ERR {e}\n".encode())
            return
        finally:
            qtag.clear_thread_stats_uid()
            qtag.clear_thread_stats_tag()
        log(f"fetched {name} ({len(body)} bytes) for uid {uid}, billed to uid {uid} tag {DOWNLOAD_TAG:#x}")
        self.wfile.write(f"OK {len(body)}\n".encode() + body)


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def check_privilege():
    """Ask the kernel whether we may bill another uid: tag a throwaway socket for one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        qtag.tag_socket_with(probe, DOWNLOAD_TAG, uid=os.getuid() ^ 1)
    finally:
        probe.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--socket", required=True, help="the unix socket clients connect to")
    args = p.parse_args()
    try:
        check_privilege()
    except qtag.ModuleNotLoadedError as e:
        log(e.strerror)
        return 3
    except qtag.PermissionDeniedError:
        try:
            with open("/sys/module/xt_qtaguid/parameters/acct_gid") as f:
                gid = f.read().strip()
        except OSError:
            gid = "?"
        hint = ("no group is set: load the module with acct_gid=GID" if gid == "4294967295"
                else f"it is now {gid}")
        log(f"refusing to start: uid {os.getuid()} may not bill traffic to other uids. The service "
            "needs accounting privilege (MODIFY_NETWORK_ACCOUNTING): CAP_NET_ADMIN, or membership "
            f"of the group the module's acct_gid parameter names ({hint}).")
        return 4

    origin = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server = Server(args.socket, Client)
    server.origin = origin.server_address
    os.chmod(args.socket, 0o666)  # any local user may ask
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log(f"ready on {args.socket} (uid {os.getuid()}); origin on "
        f"{origin.server_address[0]}:{origin.server_address[1]}; files: {', '.join(FILES)}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    os.unlink(args.socket)
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
