"""Exact per-(iface, tag, uid, counter set) accounting of the real module.

Two network namespaces `a` and `b` joined by a veth pair (see netns.VethPair: no stray
traffic, `b` without early demux). Every test measures deltas over a window in which only
its own traffic crosses the link, and compares them with an independent truth: the payload
it sent, the kernel's own TCP_INFO segment/byte counts, the device counters, or a qdisc's
counters. Bytes are IP bytes (IP header included); packets are wire packets.
"""
import itertools
import os
import socket
import tempfile

import pytest

import netns
import qt
from netns import delta

V4, V6 = socket.AF_INET, socket.AF_INET6
FAMS = [pytest.param(V4, id="v4"), pytest.param(V6, id="v6")]
IPH = {V4: 20, V6: 40}               # IP header
TCPH = {V4: 40, V6: 60}              # IP + TCP header, no options (timestamps are off)
MAXUDP = {V4: 1472, V6: 1452}        # largest datagram that fits a 1500 MTU
LOOP = {V4: "127.0.0.1", V6: "::1"}
WILDCARD = {V4: "0.0.0.0", V6: "::"}
ETH = 14
UDP_SEGMENT = 103

_ids = itertools.count(1)


def fresh():
    """A tag and a uid no other test uses."""
    n = next(_ids)
    return 0x5100 + n, 31000 + n


def counters(**kw):
    d = dict.fromkeys(qt.COUNTERS, 0)
    d.update(kw)
    return d


def add(*ds):
    return {k: sum(d[k] for d in ds) for k in qt.COUNTERS}


def udp_counts(family, sizes, direction):
    b = sum(p + 8 + IPH[family] for p in sizes)
    n = len(sizes)
    return counters(**{f"{direction}_bytes": b, f"{direction}_packets": n,
                       f"{direction}_udp_bytes": b, f"{direction}_udp_packets": n})


def sock_as(ns, uid, family, kind):
    """A socket created in ns by `uid` (so its sk_uid is uid), untagged."""
    with ns.enter(), netns.as_euid(uid):
        return socket.socket(family, kind)


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        assert chunk, "peer closed"
        got += chunk
    return got


@pytest.fixture(scope="module")
def pair():
    # conftest.py has loaded the module for this file; stats are per namespace and every
    # test reads them as deltas around its own traffic.
    p = netns.VethPair(f"qa{os.getpid() % 10000}")
    try:
        p.quiesce()
        yield p
    finally:
        p.close()


def ends(pair, direction):
    a = (pair.a, pair.ifa, "a")
    b = (pair.b, pair.ifb, "b")
    return (a, b) if direction == "ab" else (b, a)


# ------------------------------------------------------------------ (1) UDP exactness

@pytest.mark.parametrize("family", FAMS)
@pytest.mark.parametrize("direction", ["ab", "ba"])
def test_udp_exact(pair, family, direction):
    (sns, sif, _), (dns, dif, dside) = ends(pair, direction)
    tx = sns.socket(family, socket.SOCK_DGRAM)
    rx = dns.socket(family, socket.SOCK_DGRAM)
    rx.bind((pair.addr(dside, family), 0))          # unconnected receiver
    ttag, tuid = fresh()
    rtag, ruid = fresh()
    sns.tag(tx, ttag, tuid)
    dns.tag(rx, rtag, ruid)
    sizes = [0, 1, 100, 1000, MAXUDP[family]] * 8
    pair.quiesce()
    s0, d0 = sns.stats(), dns.stats()
    for p in sizes:
        netns.udp_send_recv(tx, rx, rx.getsockname()[:2], p, 1)
    s1, d1 = sns.stats(), dns.stats()

    want_tx = udp_counts(family, sizes, "tx")
    want_rx = udp_counts(family, sizes, "rx")
    assert delta(s0, s1, iface=sif, tag=ttag, uid=tuid) == want_tx
    assert delta(s0, s1, iface=sif, tag=0, uid=tuid) == want_tx, "uid total"
    assert delta(d0, d1, iface=dif, tag=rtag, uid=ruid) == want_rx
    assert delta(d0, d1, iface=dif, tag=0, uid=ruid) == want_rx, "uid total"
    # The sender's uid has nothing on the receiving side and the other way round.
    assert delta(d0, d1, uid=tuid) == counters()
    assert delta(s0, s1, uid=ruid) == counters()
    tx.close()
    rx.close()


# ------------------------------------------------------------------ (2) TCP exactness

def _tcp_expect(family, i0, i1):
    so = i1["segs_out"] - i0["segs_out"]
    si = i1["segs_in"] - i0["segs_in"]
    bo = i1["bytes_sent"] - i0["bytes_sent"] + TCPH[family] * so
    bi = i1["bytes_received"] - i0["bytes_received"] + TCPH[family] * si
    return counters(tx_packets=so, tx_bytes=bo, tx_tcp_packets=so, tx_tcp_bytes=bo,
                    rx_packets=si, rx_bytes=bi, rx_tcp_packets=si, rx_tcp_bytes=bi)


@pytest.mark.parametrize("family", FAMS)
@pytest.mark.parametrize("link", ["veth-offload", "veth-nooffload", "lo"])
def test_tcp_exact(pair, family, link):
    """Per tagged socket, rows equal TCP_INFO: segments, and payload + 40 (v4) / 60 (v6)
    bytes of headers per segment, both directions. Sides: client in a (early demux on),
    server in b (early demux off); for lo both in b."""
    if link == "lo":
        cns = sns = pair.b
        cif = sif = "lo"
        saddr = LOOP[family]
    else:
        pair.set_offloads(link == "veth-offload")
        cns, sns, cif, sif = pair.a, pair.b, pair.ifa, pair.ifb
        saddr = pair.addr("b", family)
    retrans = []
    for _ in range(3):
        cli, srv = netns.tcp_connect(cns, sns, family, saddr)
        ctag, cuid = fresh()
        stag, suid = fresh()
        cns.tag(cli, ctag, cuid)       # tagged after connect
        sns.tag(srv, stag, suid)
        i0 = netns.tcp_settle([cli, srv])
        c0, s0 = cns.stats(), sns.stats()
        netns.pump(cli, srv, 1_500_000)
        netns.pump(srv, cli, 400_000)
        for _ in range(20):             # small request/response: pure ACKs and pushes
            cli.sendall(b"q" * 100)
            recv_exact(srv, 100)
            srv.sendall(b"r" * 37)
            recv_exact(cli, 37)
        i1 = netns.tcp_settle([cli, srv])
        c1, s1 = cns.stats(), sns.stats()
        r = sum(b["total_retrans"] - a["total_retrans"] for a, b in zip(i0, i1))
        if r == 0:
            break
        retrans.append(r)               # a retransmitted segment is not in bytes_received
        cli.close()
        srv.close()
    else:
        pytest.fail(f"retransmissions on every attempt ({retrans}); exact TCP check impossible")

    want_c = _tcp_expect(family, i0[0], i1[0])
    want_s = _tcp_expect(family, i0[1], i1[1])
    assert want_c["tx_bytes"] > 1_500_000 and want_s["rx_bytes"] > 1_500_000
    assert delta(c0, c1, iface=cif, tag=ctag, uid=cuid) == want_c, ("client", i0[0], i1[0])
    assert delta(s0, s1, iface=sif, tag=stag, uid=suid) == want_s, ("server", i0[1], i1[1])
    assert delta(c0, c1, iface=cif, tag=0, uid=cuid) == want_c, "client uid total"
    assert delta(s0, s1, iface=sif, tag=0, uid=suid) == want_s, "server uid total"
    cli.close()
    srv.close()


# ------------------------------------------------------------------ (3) whole interface

def _mixed_traffic(pair, uid_a, uid_b):
    """TCP and UDP, v4 and v6, both directions, tagged and untagged, sockets of several
    uids, an ICMP error, and connection teardown; returns when everything is acked."""
    socks = []
    # untagged TCP from a socket that uid_a created, to an untagged root server in b
    lst = pair.b.socket(V4, socket.SOCK_STREAM)
    lst.bind((pair.addr("b", V4), 0))
    lst.listen(4)
    cli = sock_as(pair.a, uid_a, V4, socket.SOCK_STREAM)
    cli.connect(lst.getsockname())
    srv, _ = lst.accept()
    netns.pump(cli, srv, 300_000)
    netns.pump(srv, cli, 100_000)
    socks += [lst, cli, srv]
    # tagged TCP over v6, client in b
    c6, s6 = netns.tcp_connect(pair.b, pair.a, V6, pair.addr("a", V6))
    t1, u1 = fresh()
    pair.b.tag(c6, t1, uid_b)
    pair.a.tag(s6, t1, u1)
    netns.pump(c6, s6, 200_000)
    netns.pump(s6, c6, 200_000)
    socks += [c6, s6]
    # UDP both ways, both families, one side untagged (uid_b's own socket)
    for fam in (V4, V6):
        ua = pair.a.socket(fam, socket.SOCK_DGRAM)
        ua.bind((pair.addr("a", fam), 0))
        pair.a.tag(ua, t1 + 1, uid_a)
        ub = sock_as(pair.b, uid_b, fam, socket.SOCK_DGRAM)
        ub.bind((pair.addr("b", fam), 0))
        netns.udp_send_recv(ua, ub, ub.getsockname()[:2], 700, 30)
        netns.udp_send_recv(ub, ua, ua.getsockname()[:2], 33, 30)
        # to a closed port: b answers with ICMP port unreachable
        ua.sendto(b"x" * 50, (pair.addr("b", fam), 9))
        socks += [ua, ub]
    netns.tcp_settle([cli, srv, c6, s6])
    for s in socks:
        s.close()


def test_interface_reconciliation(pair):
    """Sum of tag-0 rows of every uid (both sets) == device counters minus Ethernet header."""
    pair.set_offloads(False)
    uid_a = fresh()[1]
    uid_b = fresh()[1]
    pair.quiesce()
    dev0, a0, b0 = pair.counters(), pair.a.stats(), pair.b.stats()
    _mixed_traffic(pair, uid_a, uid_b)
    pair.quiesce()                       # FIN/ACK exchanges finished
    dev1, a1, b1 = pair.counters(), pair.a.stats(), pair.b.stats()
    for side, ifn, s0, s1 in (("a", pair.ifa, a0, a1), ("b", pair.ifb, b0, b1)):
        dev = {k: dev1[side][k] - dev0[side][k] for k in dev0[side]}
        rows = delta(s0, s1, iface=ifn, tag=0)
        want = {"rx_bytes": dev["rx_bytes"] - ETH * dev["rx_packets"],
                "rx_packets": dev["rx_packets"],
                "tx_bytes": dev["tx_bytes"] - ETH * dev["tx_packets"],
                "tx_packets": dev["tx_packets"]}
        assert netns.traffic(rows) == want, (side, dev)
        # the protocol split adds up to the totals
        for d in ("rx", "tx"):
            for u in ("bytes", "packets"):
                assert sum(rows[f"{d}_{p}_{u}"] for p in ("tcp", "udp", "other")) == \
                    rows[f"{d}_{u}"], (side, d, u, rows)


@pytest.mark.parametrize("family", FAMS)
def test_fragmented_udp_is_the_sockets_wire_traffic(pair, family):
    """Datagrams larger than the MTU leave as IP fragments. Each fragment is a wire packet
    of the sending socket and of the receiving one (DESIGN 4: packets are wire packets,
    bytes are IP bytes), so both rows equal the device counters minus Ethernet headers, and
    none of it goes to uid 0 (non-first fragments carry no port to look a socket up by)."""
    pair.set_offloads(False)
    tx = pair.a.socket(family, socket.SOCK_DGRAM)
    rx = pair.b.socket(family, socket.SOCK_DGRAM)
    rx.bind((pair.addr("b", family), 0))
    tt, tu = fresh()
    rt, ru = fresh()
    pair.a.tag(tx, tt, tu)
    pair.b.tag(rx, rt, ru)
    pair.quiesce()
    dev0, a0, b0 = pair.counters(), pair.a.stats(), pair.b.stats()
    netns.udp_send_recv(tx, rx, rx.getsockname()[:2], 4000, 5)     # 3 fragments each
    pair.quiesce()
    dev1, a1, b1 = pair.counters(), pair.a.stats(), pair.b.stats()
    pkts = dev1["a"]["tx_packets"] - dev0["a"]["tx_packets"]
    wire = dev1["a"]["tx_bytes"] - dev0["a"]["tx_bytes"] - ETH * pkts
    assert pkts == 15, "expected 3 fragments per datagram on the wire"
    assert delta(b0, b1, iface=pair.ifb, uid=0) == counters(), "fragments billed to uid 0"
    sent = delta(a0, a1, iface=pair.ifa, tag=tt, uid=tu)
    got = delta(b0, b1, iface=pair.ifb, tag=rt, uid=ru)
    assert (sent["tx_bytes"], sent["tx_packets"]) == (wire, pkts), "sender vs wire"
    assert (got["rx_bytes"], got["rx_packets"]) == (wire, pkts), "receiver vs wire"
    tx.close()
    rx.close()


# ------------------------------------------------------------------ (4) uid totals

def test_uid_total_is_sum_of_its_traffic(pair):
    """uid U (in a) has tagged and untagged traffic: tag-0 row == tagged rows + untagged.
    uid V (in b) has only tagged traffic: tag-0 row == sum of its tagged rows. A socket
    tagged with tag 0 for uid W bills W's tag-0 row."""
    pair.set_offloads(True)
    _, U = fresh()
    _, V = fresh()
    _, W = fresh()
    tu1, tu2, tv1, tv2 = (fresh()[0] for _ in range(4))
    # a: uid U — UDP tagged tu1, TCP tagged tu2, UDP untagged (owned by U)
    u_udp = pair.a.socket(V4, socket.SOCK_DGRAM)
    pair.a.tag(u_udp, tu1, U)
    u_own = sock_as(pair.a, U, V6, socket.SOCK_DGRAM)
    w_udp = pair.a.socket(V4, socket.SOCK_DGRAM)
    pair.a.tag(w_udp, 0, W)
    cli, srv = netns.tcp_connect(pair.a, pair.b, V4, pair.addr("b", V4))
    pair.a.tag(cli, tu2, U)
    pair.b.tag(srv, tv2, V)
    # b: uid V — receivers tagged tv1
    rv4 = pair.b.socket(V4, socket.SOCK_DGRAM)
    rv4.bind((pair.addr("b", V4), 0))
    rv6 = pair.b.socket(V6, socket.SOCK_DGRAM)
    rv6.bind((pair.addr("b", V6), 0))
    pair.b.tag(rv4, tv1, V)
    pair.b.tag(rv6, tv1, V)
    netns.tcp_settle([cli, srv])
    pair.quiesce()
    a0, b0 = pair.a.stats(), pair.b.stats()
    netns.udp_send_recv(u_udp, rv4, rv4.getsockname(), 300, 25)
    netns.udp_send_recv(u_own, rv6, rv6.getsockname()[:2], 500, 15)
    netns.udp_send_recv(w_udp, rv4, rv4.getsockname(), 10, 5)
    netns.pump(cli, srv, 200_000)
    netns.pump(srv, cli, 50_000)
    netns.tcp_settle([cli, srv])
    a1, b1 = pair.a.stats(), pair.b.stats()

    untagged = udp_counts(V6, [500] * 15, "tx")
    tagged_u = [delta(a0, a1, iface=pair.ifa, tag=t, uid=U) for t in (tu1, tu2)]
    total_u = delta(a0, a1, iface=pair.ifa, tag=0, uid=U)
    assert tagged_u[0] == udp_counts(V4, [300] * 25, "tx")
    assert tagged_u[1]["tx_bytes"] > 200_000
    for c in qt.COUNTERS:
        assert total_u[c] == tagged_u[0][c] + tagged_u[1][c] + untagged[c], (c, total_u)
        assert total_u[c] >= tagged_u[0][c] + tagged_u[1][c]
    # U's untagged traffic went to U, not to root (the sockets' creators are root and U)
    assert delta(a0, a1, iface=pair.ifa, uid=0) == counters()
    assert delta(a0, a1, iface=pair.ifa, tag=0, uid=W) == udp_counts(V4, [10] * 5, "tx")

    tagged_v = [delta(b0, b1, iface=pair.ifb, tag=t, uid=V) for t in (tv1, tv2)]
    total_v = delta(b0, b1, iface=pair.ifb, tag=0, uid=V)
    assert tagged_v[0] == add(udp_counts(V4, [300] * 25 + [10] * 5, "rx"),
                              udp_counts(V6, [500] * 15, "rx"))
    for c in qt.COUNTERS:
        assert total_v[c] == tagged_v[0][c] + tagged_v[1][c], (c, total_v)
    for s in (u_udp, u_own, w_udp, cli, srv, rv4, rv6):
        s.close()


# ------------------------------------------------------------------ (5) GSO vs a qdisc

def test_gso_segments_match_qdisc(pair):
    """With offloads on, TCP (TSO) and UDP_SEGMENT skbs are counted as their segments, each
    with its headers: the sender's rows == its root pfifo's counters minus 14 bytes a packet,
    and so are the receiver's rx rows."""
    pair.set_offloads(True)
    for ns, ifn in ((pair.a, pair.ifa), (pair.b, pair.ifb)):
        netns.sh("tc", "-n", ns.name, "qdisc", "replace", "dev", ifn, "root", "pfifo")
    try:
        cli, srv = netns.tcp_connect(pair.a, pair.b, V4, pair.addr("b", V4))
        c6, s6 = netns.tcp_connect(pair.b, pair.a, V6, pair.addr("a", V6))
        t, u = fresh()
        for ns, s in ((pair.a, cli), (pair.b, srv), (pair.b, c6), (pair.a, s6)):
            ns.tag(s, t, u)
        gso = {}
        for fam in (V4, V6):
            g = pair.a.socket(fam, socket.SOCK_DGRAM)
            g.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, 1000)
            r = pair.b.socket(fam, socket.SOCK_DGRAM)
            r.bind((pair.addr("b", fam), 0))
            gso[fam] = (g, r)
        netns.tcp_settle([cli, srv, c6, s6])
        pair.quiesce()
        q0 = {"a": netns.qdisc_root_stats(pair.a, pair.ifa),
              "b": netns.qdisc_root_stats(pair.b, pair.ifb)}
        dev0, a0, b0 = pair.counters(), pair.a.stats(), pair.b.stats()
        netns.pump(cli, srv, 2_000_000)
        netns.pump(c6, s6, 1_000_000)
        netns.pump(srv, cli, 300_000)
        for fam, (g, r) in gso.items():
            r.settimeout(5)
            for _ in range(10):
                g.sendto(b"g" * 7500, r.getsockname()[:2])      # 8 segments: 7 x 1000 + 500
                for _ in range(8):
                    r.recv(2000)
        netns.tcp_settle([cli, srv, c6, s6])
        pair.quiesce()
        q1 = {"a": netns.qdisc_root_stats(pair.a, pair.ifa),
              "b": netns.qdisc_root_stats(pair.b, pair.ifb)}
        dev1, a1, b1 = pair.counters(), pair.a.stats(), pair.b.stats()
    finally:
        for ns, ifn in ((pair.a, pair.ifa), (pair.b, pair.ifb)):
            netns.sh("tc", "-n", ns.name, "qdisc", "del", "dev", ifn, "root", check=False)
    for txs, rxs, txif, rxif, tx0, tx1, rx0, rx1 in (
            ("a", "b", pair.ifa, pair.ifb, a0, a1, b0, b1),
            ("b", "a", pair.ifb, pair.ifa, b0, b1, a0, a1)):
        qb = q1[txs][0] - q0[txs][0]
        qp = q1[txs][1] - q0[txs][1]
        dev_tx_pkts = dev1[txs]["tx_packets"] - dev0[txs]["tx_packets"]
        assert dev_tx_pkts < qp, f"no GSO skb left {txs} (device {dev_tx_pkts}, qdisc {qp})"
        want = {"bytes": qb - ETH * qp, "packets": qp}
        tx = delta(tx0, tx1, iface=txif, tag=0)
        rx = delta(rx0, rx1, iface=rxif, tag=0)
        assert {"bytes": tx["tx_bytes"], "packets": tx["tx_packets"]} == want, f"tx of {txs}"
        assert {"bytes": rx["rx_bytes"], "packets": rx["rx_packets"]} == want, f"rx of {rxs}"
    for s in (cli, srv, c6, s6, *[x for p in gso.values() for x in p]):
        s.close()


# ------------------------------------------------------------------ (6) counter sets

def test_counter_sets(pair):
    t, u = fresh()
    rt = fresh()[0]
    tx = pair.a.socket(V4, socket.SOCK_DGRAM)
    rx = pair.b.socket(V4, socket.SOCK_DGRAM)
    rx.bind((pair.addr("b", V4), 0))
    pair.a.tag(tx, t, u)
    pair.b.tag(rx, rt, u)
    dest = rx.getsockname()
    try:
        assert pair.a.ctrl(f"s 1 {u}") == 0
        a0, b0 = pair.a.stats(), pair.b.stats()
        netns.udp_send_recv(tx, rx, dest, 200, 12)
        a1, b1 = pair.a.stats(), pair.b.stats()
        assert pair.a.ctrl(f"s 0 {u}") == 0
        netns.udp_send_recv(tx, rx, dest, 200, 5)
        a2, b2 = pair.a.stats(), pair.b.stats()
    finally:
        pair.a.ctrl(f"s 0 {u}")
    for tag in (t, 0):
        m = dict(iface=pair.ifa, tag=tag, uid=u)
        assert delta(a0, a1, set=1, **m) == udp_counts(V4, [200] * 12, "tx"), tag
        assert delta(a0, a1, set=0, **m) == counters(), tag
        assert delta(a1, a2, set=0, **m) == udp_counts(V4, [200] * 5, "tx"), tag
        assert delta(a1, a2, set=1, **m) == counters(), tag
    # counter sets belong to a namespace: u's active set in b stayed 0 all along
    m = dict(iface=pair.ifb, tag=rt, uid=u)
    assert delta(b0, b2, set=0, **m) == udp_counts(V4, [200] * 17, "rx")
    assert delta(b0, b2, set=1, **m) == counters()
    # every (iface, tag, uid) prints one row per counter set, zero or not, exactly once
    for rows in (a2, b2):
        seen = {}
        for r in rows:
            seen.setdefault((r["iface"], r["tag"], r["uid"]), []).append(r["set"])
        for key, sets in seen.items():
            assert sorted(sets) == [0, 1], (key, sets)
    tx.close()
    rx.close()


# ------------------------------------------------------------------ (7) loopback

@pytest.mark.parametrize("family", FAMS)
@pytest.mark.parametrize("side", ["a", "b"])
def test_loopback(pair, family, side):
    ns = pair.a if side == "a" else pair.b
    tx = ns.socket(family, socket.SOCK_DGRAM)
    rx = ns.socket(family, socket.SOCK_DGRAM)
    rx.bind((LOOP[family], 0))
    tt, tu = fresh()
    rt, ru = fresh()
    ns.tag(tx, tt, tu)
    ns.tag(rx, rt, ru)
    sizes = [0, 5, 1200, 8000, 30000] * 4
    dev0, s0 = ns.dev_counters("lo"), ns.stats()
    for p in sizes:
        netns.udp_send_recv(tx, rx, rx.getsockname()[:2], p, 1)
    dev1, s1 = ns.dev_counters("lo"), ns.stats()
    assert delta(s0, s1, iface="lo", tag=tt, uid=tu) == udp_counts(family, sizes, "tx")
    assert delta(s0, s1, iface="lo", tag=rt, uid=ru) == udp_counts(family, sizes, "rx")
    # lo's own counters take skb->len after eth_type_trans() pulled the Ethernet header
    # (loopback_xmit), so on lo they are IP bytes already: no 14 bytes to subtract.
    total = delta(s0, s1, iface="lo", tag=0)
    dev = {k: dev1[k] - dev0[k] for k in dev0}
    assert netns.traffic(total) == dev
    tx.close()
    rx.close()


# ------------------------------------------------------------------ (8) ingress lookups

@pytest.mark.parametrize("family", FAMS)
@pytest.mark.parametrize("receiver", ["wildcard-a", "wildcard-b", "connected-b"])
def test_ingress_finds_receiver(pair, family, receiver):
    """Unconnected (wildcard-bound) and connected UDP receivers get their rx, with early
    demux (a) and without it (b)."""
    kind, side = receiver.split("-")
    rns, rif = (pair.a, pair.ifa) if side == "a" else (pair.b, pair.ifb)
    sns = pair.b if side == "a" else pair.a
    peer = "b" if side == "a" else "a"
    rx = rns.socket(family, socket.SOCK_DGRAM)
    rx.bind((WILDCARD[family], 0))
    tx = sns.socket(family, socket.SOCK_DGRAM)
    tx.bind((pair.addr(peer, family), 0))
    if kind == "connected":
        rx.connect(tx.getsockname()[:2])
    t, u = fresh()
    rns.tag(rx, t, u)
    dest = (pair.addr(side, family), rx.getsockname()[1])
    pair.quiesce()
    r0 = rns.stats()
    netns.udp_send_recv(tx, rx, dest, 400, 20)
    r1 = rns.stats()
    assert delta(r0, r1, iface=rif, tag=t, uid=u) == udp_counts(family, [400] * 20, "rx")
    tx.close()
    rx.close()


@pytest.mark.parametrize("family", FAMS)
def test_ingress_reuseport_group_bills_the_socket_that_receives(pair, family):
    """Two SO_REUSEPORT receivers share a port; the stack hands each datagram to one of
    them by its flow. Each socket's tag gets exactly the datagrams that socket received
    (the module must pick the same socket as the stack)."""
    rxs = []
    for _ in range(2):
        s = pair.b.socket(family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((pair.addr("b", family), rxs[0].getsockname()[1] if rxs else 0))
        s.setblocking(False)
        rxs.append(s)
    tags = [fresh() for _ in rxs]
    for s, (t, u) in zip(rxs, tags):
        pair.b.tag(s, t, u)
    txs = [pair.a.socket(family, socket.SOCK_DGRAM) for _ in range(16)]  # 16 flows
    dest = rxs[0].getsockname()[:2]
    pair.quiesce()
    b0 = pair.b.stats()
    for tx in txs:
        for _ in range(3):
            assert tx.sendto(b"\x5a" * 200, dest) == 200
    got = [0, 0]
    for _ in range(200):
        for i, s in enumerate(rxs):
            try:
                while True:
                    assert len(s.recv(4096)) == 200
                    got[i] += 1
            except BlockingIOError:
                pass
        if sum(got) == 3 * len(txs):
            break
        pair.quiesce()
    b1 = pair.b.stats()
    assert sum(got) == 3 * len(txs)
    for n, (t, u) in zip(got, tags):
        assert delta(b0, b1, iface=pair.ifb, tag=t, uid=u) == udp_counts(family, [200] * n, "rx")
    for s in rxs + txs:
        s.close()


@pytest.mark.parametrize("family", FAMS)
def test_syn_billed_to_listener(pair, family):
    """The SYN reaches no connected socket: the module must find the tagged listener.
    The client (tagged before connect) sends SYN + ACK; the listener's row gets the SYN,
    and possibly the handshake's ACK, which otherwise goes to the new socket."""
    lst = pair.b.socket(family, socket.SOCK_STREAM)
    lst.bind((pair.addr("b", family), 0))
    lst.listen(4)
    lt, lu = fresh()
    ct, cu = fresh()
    pair.b.tag(lst, lt, lu)
    cli = pair.a.socket(family, socket.SOCK_STREAM)
    pair.a.tag(cli, ct, cu)
    pair.quiesce()
    a0, b0 = pair.a.stats(), pair.b.stats()
    cli.connect(lst.getsockname()[:2])
    srv, _ = lst.accept()
    netns.tcp_settle([cli, srv])
    a1, b1 = pair.a.stats(), pair.b.stats()
    c = delta(a0, a1, iface=pair.ifa, tag=ct, uid=cu)
    assert c["tx_packets"] == 2, c                       # SYN, then the handshake's ACK
    syn = c["tx_bytes"] - TCPH[family]
    assert syn > TCPH[family], c                         # the SYN carries options
    assert c["rx_packets"] == 1 and c["rx_bytes"] > TCPH[family], c   # the SYN-ACK
    lrow = delta(b0, b1, iface=pair.ifb, tag=lt, uid=lu)
    assert 1 <= lrow["rx_packets"] <= 2, lrow
    assert lrow["rx_bytes"] == syn + TCPH[family] * (lrow["rx_packets"] - 1), (syn, lrow)
    total = delta(b0, b1, iface=pair.ifb, tag=0)
    assert (total["rx_packets"], total["rx_bytes"]) == (2, syn + TCPH[family])
    for s in (cli, srv, lst):
        s.close()


# ------------------------------------------------------------------ (9) no local socket

@pytest.mark.parametrize("family", FAMS)
def test_no_socket_billed_to_uid0(pair, family):
    """UDP to a closed port in b: b's rx and its ICMP port-unreachable replies go to uid 0
    tag 0; a's sender is billed for its datagrams; a receives the ICMP errors."""
    probe = pair.b.socket(family, socket.SOCK_DGRAM)
    probe.bind((pair.addr("b", family), 0))
    dest = probe.getsockname()[:2]
    probe.close()                                        # now a closed port
    tx = pair.a.socket(family, socket.SOCK_DGRAM)
    t, u = fresh()
    pair.a.tag(tx, t, u)
    n, p = 10, 100
    pair.quiesce()
    a0, b0 = pair.a.stats(), pair.b.stats()
    for _ in range(n):
        tx.sendto(b"c" * p, dest)
    pair.quiesce()
    a1, b1 = pair.a.stats(), pair.b.stats()
    udp = n * (p + 8 + IPH[family])
    icmp = n * (IPH[family] + 8 + IPH[family] + 8 + p)   # ICMP quotes the whole datagram
    want_b = counters(rx_bytes=udp, rx_packets=n, rx_udp_bytes=udp, rx_udp_packets=n,
                      tx_bytes=icmp, tx_packets=n, tx_other_bytes=icmp, tx_other_packets=n)
    assert delta(b0, b1, iface=pair.ifb, tag=0, uid=0) == want_b
    assert delta(b0, b1, iface=pair.ifb, tag=0) == want_b, "billed to someone else too"
    assert delta(a0, a1, iface=pair.ifa, tag=t, uid=u)["tx_bytes"] == udp
    tot_a = delta(a0, a1, iface=pair.ifa, tag=0)
    assert (tot_a["rx_bytes"], tot_a["rx_packets"]) == (icmp, n)
    tx.close()


# ------------------------------------------------------------------ (10) stats format

def test_stats_read_in_small_chunks_is_consistent(pair):
    """Hundreds of rows read with tiny and large read() sizes give the same text, with the
    exact header and consecutive idx (qt.read_stats checks both)."""
    ns = pair.a
    rx = ns.socket(V4, socket.SOCK_DGRAM)
    rx.bind((LOOP[V4], 0))
    socks = []
    base_tag, uid = fresh()
    for i in range(150):
        s = ns.socket(V4, socket.SOCK_DGRAM)
        ns.tag(s, base_tag + 0x10000 + i, uid)
        s.sendto(b"z", rx.getsockname())
        rx.recv(10)
        socks.append(s)
    texts = []
    with ns.enter():
        for chunk in (1, 7, 100, 4096, 1 << 20):
            fd = os.open(qt.STATS, os.O_RDONLY)
            parts = []
            while True:
                b = os.read(fd, chunk)
                if not b:
                    break
                parts.append(b)
            os.close(fd)
            texts.append(b"".join(parts))
    assert len(texts[0]) > 3 * 4096
    for t in texts[1:]:
        assert t == texts[0]
    with tempfile.NamedTemporaryFile() as f:
        f.write(texts[0])
        f.flush()
        rows = qt.read_stats(f.name)
    mine = [r for r in rows if r["uid"] == uid and netns.norm_tag(r["tag"]) != 0]
    assert len(mine) == 2 * 150
    for s in socks + [rx]:
        s.close()


def test_stats_idx_stays_consecutive_when_the_next_row_goes_between_reads(pair):
    """A read() ends at the row that no longer fit its buffer; the next read() starts with
    that row. If `d` deleted it in between, the row after it must take its idx (Android's
    parser rejects a gap)."""
    ns = pair.a
    rx = ns.socket(V4, socket.SOCK_DGRAM)
    rx.bind((LOOP[V4], 0))
    s = ns.socket(V4, socket.SOCK_DGRAM)
    base_tag, uid = fresh()
    tags = [base_tag + 0x20000 + i for i in range(80)]
    for t in tags:      # rows in creation order: the uid's total, then each tag, sets 0 and 1
        ns.tag(s, t, uid)
        s.sendto(b"z", rx.getsockname())
        rx.recv(10)
    with ns.enter():
        with netns.as_euid(uid):        # an unprivileged reader: only this uid's rows
            fd = os.open(qt.STATS, os.O_RDONLY)
            first = os.read(fd, 1 << 20).decode()
        try:
            assert first.endswith("\n")
            last = first.splitlines()[-1].split()
            last_tag, last_set = netns.norm_tag(int(last[2], 16)), int(last[4])
            assert last_tag in tags, f"the first read() should end inside the tag rows: {first!r}"
            pending = last_tag if last_set == 0 else tags[tags.index(last_tag) + 1]
            assert qt.write_ctrl(f"d {pending << 32} {uid}") == 0
            rest = b""
            with netns.as_euid(uid):
                while chunk := os.read(fd, 1 << 20):
                    rest += chunk
        finally:
            os.close(fd)
    with tempfile.NamedTemporaryFile("w") as f:
        f.write(first + rest.decode())
        f.flush()
        rows = qt.read_stats(f.name)       # asserts idx consecutive from 2
    shown = [netns.norm_tag(r["tag"]) for r in rows]
    assert pending not in shown[len(first.splitlines()) - 1:]
    assert set(shown) == {0, *tags} - ({pending} if last_set == 1 else set())
    s.close()
    rx.close()


def test_unprivileged_reader_sees_own_rows(pair):
    ns = pair.a
    t, u = fresh()
    s = ns.socket(V4, socket.SOCK_DGRAM)
    ns.tag(s, t, u)
    s.sendto(b"hi", (LOOP[V4], 9))
    with ns.enter(), netns.as_euid(u):
        rows = qt.read_stats()
    assert rows, "no rows for the reader's own uid"
    assert {r["uid"] for r in rows} == {u}
    s.close()
