#!/usr/bin/env python3
"""A client of delegated-service: asks the service to download files, then shows what the
kernel billed to this client's uid for them (its own rows of /proc/net/xt_qtaguid/stats,
which any uid may read), although the service's sockets did the work.

    client.py --socket PATH [--json] NAME...      (names: small.bin medium.bin large.bin)
"""

import argparse
import json
import os
import socket
import sys

import qtag

DOWNLOAD_TAG = 0x2001
KEYS = ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")


def download(path, name):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(f"GET {name}\n".encode())
        f = s.makefile("rb")
        status = f.readline().decode().strip()
        if not status.startswith("OK "):
            raise OSError(f"service: {status or 'no answer'}")
        size = int(status[3:])
        data = f.read(size)
        if len(data) != size:
            raise OSError(f"{name}: got {len(data)} of {size} bytes")
        return size


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--socket", required=True, help="the service's unix socket")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("names", nargs="+", metavar="NAME")
    args = p.parse_args()
    uid = os.getuid()
    try:
        before = qtag.Stats.read()
        sizes = {name: download(args.socket, name) for name in args.names}
        after = qtag.Stats.read()
    except qtag.ModuleNotLoadedError as e:
        print(f"client: {e.strerror}", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"client: {e}", file=sys.stderr)
        return 1

    def billed(tag):  # this run's growth of our rows of tag on lo
        c = after.sum(uid=uid, tag=tag, iface="lo").delta_since(before.sum(uid=uid, tag=tag, iface="lo"))
        return {k: getattr(c, k) for k in KEYS}

    downloads, total = billed(DOWNLOAD_TAG), billed(0)
    if args.json:
        print(json.dumps({"uid": uid, "files": sizes, "tag": DOWNLOAD_TAG,
                          "downloads": downloads, "total": total}))
        return 0
    print(f"uid {uid} downloaded through the service: "
          + ", ".join(f"{n} ({s} bytes)" for n, s in sizes.items()))
    print(f"The kernel billed to uid {uid}, tag {DOWNLOAD_TAG:#x} (downloads) on lo: "
          f"received {downloads['rx_bytes']} bytes in {downloads['rx_packets']} packets, "
          f"sent {downloads['tx_bytes']} bytes in {downloads['tx_packets']} packets "
          f"(uid total: {total['rx_bytes']} / {total['tx_bytes']} bytes).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
