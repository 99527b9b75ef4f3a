"""Helpers of the qtag Python tests: an independent raw parse of the stats file, fresh
tags, UDP traffic, and running Python snippets as another uid."""
import itertools
import json
import os
import socket
import subprocess
import sys
import time

STATS = "/proc/net/xt_qtaguid/stats"
HEADER = (
    "idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets "
    "rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes rx_other_packets "
    "tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes tx_other_packets"
)
COUNTERS = HEADER.split()[5:]
UDP_HDR = {socket.AF_INET: 28, socket.AF_INET6: 48}   # IP + UDP headers
LOOP = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}

_tags = itertools.count(0x5A000001 + (os.getpid() % 97) * 0x1000)


def fresh_tag():
    """A tag no other test of this run uses."""
    return next(_tags)


def raw_stats():
    """The stats file parsed without qtag: list of dicts (tag is the 32-bit tag; the
    file shows Android's 64-bit ``tag << 32``)."""
    with open(STATS) as f:
        lines = f.read().splitlines()
    assert lines[0] == HEADER, lines[0]
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        f = line.split()
        assert len(f) == 21 and int(f[0]) == n, line
        acct = int(f[2], 16)
        tag = acct >> 32 if acct >> 32 else acct
        row = {"iface": f[1], "tag": tag, "uid": int(f[3]), "set": int(f[4])}
        row.update(zip(COUNTERS, map(int, f[5:])))
        rows.append(row)
    return rows


def raw_sum(rows, **match):
    """The counters of the rows whose fields equal ``match``, added up (a dict)."""
    out = dict.fromkeys(COUNTERS, 0)
    for r in rows:
        if all(r[k] == v for k, v in match.items()):
            for c in COUNTERS:
                out[c] += r[c]
    return out


def as_dict(counters):
    """A qtag.Counters as a dict keyed like raw_sum's."""
    return {c: getattr(counters, c) for c in COUNTERS}


class UdpSink:
    """A bound UDP socket that receives (and so keeps ICMP out of the picture)."""

    def __init__(self, family=socket.AF_INET):
        self.family = family
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((LOOP[family], 0))
        self.addr = self.sock.getsockname()[:2]

    def close(self):
        self.sock.close()


def send_udp(sock, n, size, addr):
    payload = b"p" * size
    for _ in range(n):
        sock.sendto(payload, addr)


def udp_expect(family, n, size):
    """Counters a socket that sent n datagrams of `size` bytes has on its tag row."""
    b = n * (size + UDP_HDR[family])
    want = dict.fromkeys(COUNTERS, 0)
    want.update(tx_bytes=b, tx_packets=n, tx_udp_bytes=b, tx_udp_packets=n)
    return want


def setpriv(uid, gid=None):
    gid = uid if gid is None else gid
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]


def child_env():
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def py_as(uid, code, timeout=60, env=None):
    """Run a Python snippet as `uid` (no capabilities); it prints JSON as its last line,
    which is returned. A non-zero exit fails with the child's stderr."""
    argv = ([] if uid is None else setpriv(uid)) + [sys.executable, "-c", code]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env=env or child_env(), cwd="/tmp")
    assert p.returncode == 0, f"child (uid {uid}) failed: rc={p.returncode}\n{p.stderr}"
    lines = p.stdout.strip().splitlines()
    assert lines, f"child printed nothing; stderr: {p.stderr}"
    return json.loads(lines[-1])


def wait_quiet(read, quiet=0.3, timeout=10.0):
    """Poll read() until its value stays the same for `quiet` seconds; return it."""
    end = time.monotonic() + timeout
    last = read()
    since = time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"counters never settled: {last}")
