"""qtag.install(): sockets that connect inside a tag context are tagged before their first
byte, for http.client (blocking) and asyncio streams, measured exactly.

The client runs as a uid of its own (setpriv) and the HTTP server (http.server, in a thread
of this root process) as root, so the client uid's tag-0 row on lo is exactly the client
connections' traffic, SYN to FIN. Each window runs one or two requests; a tag's delta must
equal the uid's whole delta for its connection, which only holds if the tag was set before
the SYN left, and must cover at least the request and response bytes."""
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

import qtag
from qtag_testutil import COUNTERS, as_dict, child_env, fresh_tag, setpriv, wait_quiet

CLIENT_UID = 4101

CHILD = r"""
import asyncio, http.client, json, os, socket, struct, sys, threading, time
import qtag

port = int(sys.argv[1])
qtag.install()

def http_get(tag, size, body):
    with qtag.tagged(tag):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", f"/{size}", body=b"b" * body)
        sent = len(b"b" * body)
        r = conn.getresponse()
        data = r.read()
        conn.close()
    return {"status": r.status, "received": len(data), "sent": sent}

def tcp_info(s):
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    f = {"state": (0, "B"), "options": (5, "B"), "unacked": (24, "I"),
         "total_retrans": (100, "I"), "bytes_received": (128, "Q"), "segs_out": (136, "I"),
         "segs_in": (140, "I"), "bytes_sent": (200, "Q")}
    return {k: struct.unpack_from("=" + t, raw, o)[0] for k, (o, t) in f.items()}

def http_get_exact(tag, size, body):
    # http_get, keeping a duplicate of the socket's descriptor so that its TCP_INFO can
    # be read once the exchange is over (server FIN received, every ACK sent) and before
    # our own FIN leaves.
    with qtag.tagged(tag):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        dup = os.dup(conn.sock.fileno())
        conn.request("POST", f"/{size}", body=b"b" * body)
        r = conn.getresponse()
        data = r.read()
        conn.close()
    s = socket.socket(fileno=dup)
    last, since = None, time.monotonic()
    while True:
        info = tcp_info(s)
        if info != last or info["state"] != 8 or info["unacked"]:   # 8: CLOSE_WAIT
            last, since = info, time.monotonic()
        elif time.monotonic() - since >= 0.3:
            break
        time.sleep(0.05)
    s.close()                                   # our FIN; the server's ACK answers it
    return {"status": r.status, "received": len(data), "sent": body, "tcp_info": info}

async def aio_get(tag, size, body):
    with qtag.tagged(tag):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # The block has ended: the socket keeps the tag it got when it connected.
    req = (f"POST /{size} HTTP/1.0\r\nHost: x\r\nContent-Length: {body}\r\n\r\n").encode()
    writer.write(req + b"b" * body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, payload = data.partition(b"\r\n\r\n")
    return {"status": int(head.split()[1]), "received": len(payload), "sent": body}

async def aio_both(reqs):
    return await asyncio.gather(*(aio_get(*r) for r in reqs))

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "http":
        out = [http_get(*r) for r in cmd["reqs"]]
    elif cmd["op"] == "http-exact":
        out = [http_get_exact(*r) for r in cmd["reqs"]]
    elif cmd["op"] == "http-threads":
        out = [None] * len(cmd["reqs"])
        def run(i, r):
            out[i] = http_get(*r)
        ts = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(cmd["reqs"])]
        for t in ts: t.start()
        for t in ts: t.join()
    elif cmd["op"] == "asyncio":
        out = asyncio.run(aio_both(cmd["reqs"]))
    print(json.dumps(out), flush=True)
"""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        size = int(self.path.strip("/"))
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(b"r" * size)

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def client(server):
    p = subprocess.Popen(setpriv(CLIENT_UID) + [sys.executable, "-c", CHILD, str(server)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=child_env(), cwd="/tmp")

    def call(op, reqs):
        p.stdin.write(json.dumps({"op": op, "reqs": reqs}) + "\n")
        p.stdin.flush()
        line = p.stdout.readline()
        assert line, f"client died: {p.stderr.read()}"
        return json.loads(line)

    yield call
    p.stdin.close()
    p.wait(timeout=30)


def snapshot():
    s = qtag.Stats.read()
    return {"total": as_dict(s.sum(uid=CLIENT_UID, tag=0, iface="lo")),
            "tags": {t: as_dict(c) for t, c in s.uid_tags(CLIENT_UID).items()}}


def window(client, op, reqs):
    """Run one command of the client; return its answer and the stats deltas."""
    before = wait_quiet(snapshot)
    answer = client(op, reqs)
    after = wait_quiet(snapshot)

    def d(a, b):
        return {k: b[k] - a.get(k, 0) for k in COUNTERS}

    zero = dict.fromkeys(COUNTERS, 0)
    total = d(before["total"], after["total"])
    tags = {t: d(before["tags"].get(t, zero), c) for t, c in after["tags"].items()}
    return answer, total, {t: c for t, c in tags.items() if any(c.values())}


def check_covers(c, sent, received):
    """A connection's counters cover its payload plus at least 40 header bytes a packet,
    all of it TCP, and at least a handshake and a FIN each way."""
    assert c["tx_packets"] >= 3 and c["rx_packets"] >= 3, c
    assert c["tx_bytes"] >= sent + 40 * c["tx_packets"], c
    assert c["rx_bytes"] >= received + 40 * c["rx_packets"], c
    assert (c["tx_tcp_bytes"], c["tx_tcp_packets"]) == (c["tx_bytes"], c["tx_packets"])
    assert (c["rx_tcp_bytes"], c["rx_tcp_packets"]) == (c["rx_bytes"], c["rx_packets"])


def test_http_client_requests_under_two_tags(client):
    ta, tb = fresh_tag(), fresh_tag()
    for tag, size, body in [(ta, 20_000, 300), (tb, 3_000, 5_000), (ta, 100, 0)]:
        (ans,), total, tags = window(client, "http", [[tag, size, body]])
        assert ans == {"status": 200, "received": size, "sent": body}
        # Exact: the tag holds the whole connection, handshake included.
        assert tags == {tag: total}, (tag, total, tags)
        check_covers(total, body, size)


def expect_from_tcp_info(ti):
    """The IPv4 counters of a client connection from its TCP_INFO, read after the server's
    FIN and before ours: every segment so far plus our FIN and the ACK that answers it.
    Headers: IP 20 + TCP 20, + 12 with timestamps on every segment; the SYN and SYN-ACK
    also carry MSS (4), SACK-permitted (in the timestamp block, else 4 with NOPs) and
    window scale (4 with a NOP). bytes_received counts the peer's FIN as one byte."""
    ts, sack, wscale = ti["options"] & 1, ti["options"] & 2, ti["options"] & 4
    per_seg = 40 + (12 if ts else 0)
    syn_opts = 4 + (12 if ts else (4 if sack else 0)) + (4 if wscale else 0)
    syn_extra = syn_opts - (12 if ts else 0)
    tx_p, rx_p = ti["segs_out"] + 1, ti["segs_in"] + 1
    tx_b = ti["bytes_sent"] + per_seg * tx_p + syn_extra
    rx_b = ti["bytes_received"] - 1 + per_seg * rx_p + syn_extra
    want = dict.fromkeys(COUNTERS, 0)
    want.update(tx_bytes=tx_b, tx_packets=tx_p, tx_tcp_bytes=tx_b, tx_tcp_packets=tx_p,
                rx_bytes=rx_b, rx_packets=rx_p, rx_tcp_bytes=rx_b, rx_tcp_packets=rx_p)
    return want


def test_http_client_tag_equals_tcp_info(client):
    """An independent truth: the tag's rows equal what TCP_INFO says the connection sent
    and received, SYN to FIN, byte for byte."""
    ta, tb = fresh_tag(), fresh_tag()
    for tag, size, body in [(ta, 40_000, 2_000), (tb, 500, 12_345)]:
        (ans,), total, tags = window(client, "http-exact", [[tag, size, body]])
        assert ans["status"] == 200 and ans["received"] == size
        ti = ans["tcp_info"]
        assert ti["total_retrans"] == 0, ti
        assert tags == {tag: total}
        assert tags[tag] == expect_from_tcp_info(ti), ti


def test_http_client_concurrent_threads_two_tags(client):
    ta, tb = fresh_tag(), fresh_tag()
    reqs = [[ta, 50_000, 1_000], [tb, 7_000, 20_000]]
    ans, total, tags = window(client, "http-threads", reqs)
    assert [a["status"] for a in ans] == [200, 200]
    assert set(tags) == {ta, tb}
    assert {k: tags[ta][k] + tags[tb][k] for k in COUNTERS} == total   # nothing untagged
    check_covers(tags[ta], 1_000, 50_000)
    check_covers(tags[tb], 20_000, 7_000)


def test_asyncio_streams_two_tasks_two_tags(client):
    ta, tb = fresh_tag(), fresh_tag()
    ans, total, tags = window(client, "asyncio", [[ta, 30_000, 10], [tb, 10, 30_000]])
    assert [a["status"] for a in ans] == [200, 200]
    assert set(tags) == {ta, tb}
    assert {k: tags[ta][k] + tags[tb][k] for k in COUNTERS} == total
    check_covers(tags[ta], 10, 30_000)
    check_covers(tags[tb], 30_000, 10)
    # And one task alone: its tag is the uid's whole window.
    tc = fresh_tag()
    ans, total, tags = window(client, "asyncio", [[tc, 4_000, 4_000]])
    assert tags == {tc: total}


def test_without_context_nothing_is_tagged(client):
    """install() leaves sockets alone when no tag context is active (tag None)."""
    ans, total, tags = window(client, "http", [[-1, 1_000, 10]])   # tag -1 = no tag
    assert ans[0]["status"] == 200 and total["tx_packets"] >= 3
    assert tags == {}


def test_uninstall_stops_auto_tagging():
    import socket
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    tag = fresh_tag()
    qtag.install()
    qtag.uninstall()
    with qtag.tagged(tag):
        c = socket.create_connection(lst.getsockname())
    assert all(t.tag != tag for t in qtag.read_ctrl())
    qtag.install()
    try:
        with qtag.tagged(tag):
            d = socket.create_connection(lst.getsockname())
        assert any(t.tag == tag for t in qtag.read_ctrl())
    finally:
        qtag.uninstall()
    for s in (c, d, lst):
        s.close()
