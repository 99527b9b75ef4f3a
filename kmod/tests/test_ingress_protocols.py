"""Which socket incoming traffic of protocols other than TCP and UDP is billed to.

UDP-Lite is looked up like UDP (its own table) and billed to the receiving socket. ICMP echo
replies to ping sockets and SCTP are not: no kernel interface lets a module find those
sockets at LOCAL_IN (see kmod/README.md), so their incoming traffic is uid 0's while what
the socket sends is billed to it. These tests pin both, exactly, over the veth pair (`b`
without early demux, `a` with it).
"""
import os
import socket
import subprocess

import pytest

import netns
from test_accounting import FAMS, IPH, MAXUDP, V4, counters, ends, fresh
from test_fragments import Window, echo_request

IPPROTO_UDPLITE = 136


@pytest.fixture(scope="module")
def pair():
    p = netns.VethPair(f"qi{os.getpid() % 10000}")
    try:
        p.set_offloads(False)
        p.quiesce()
        yield p
    finally:
        p.close()


def other_counts(family, sizes, direction, l4hdr=8):
    b = sum(p + l4hdr + IPH[family] for p in sizes)
    n = len(sizes)
    return counters(**{f"{direction}_bytes": b, f"{direction}_packets": n,
                       f"{direction}_other_bytes": b, f"{direction}_other_packets": n})


# ------------------------------------------------------------------ UDP-Lite

@pytest.mark.parametrize("family", FAMS)
@pytest.mark.parametrize("direction", ["ab", "ba"])
@pytest.mark.parametrize("coverage", ["full", "header"])
def test_udplite_rx_billed_to_receiving_socket(pair, family, direction, coverage):
    """UDP-Lite datagrams to an unconnected tagged socket: its rows get every byte and
    packet (as "other": qtag splits tcp/udp/other), both with full checksum coverage and
    with coverage of the header only; nothing goes to uid 0."""
    (sns, sif, _), (dns, dif, dside) = ends(pair, direction)
    tx = sns.socket(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
    rx = dns.socket(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
    if coverage == "header":
        tx.setsockopt(IPPROTO_UDPLITE, socket.UDPLITE_SEND_CSCOV, 8)
        rx.setsockopt(IPPROTO_UDPLITE, socket.UDPLITE_RECV_CSCOV, 8)
    rx.bind((pair.addr(dside, family), 0))
    ttag, tuid = fresh()
    rtag, ruid = fresh()
    sns.tag(tx, ttag, tuid)
    dns.tag(rx, rtag, ruid)
    sizes = [0, 1, 100, 1000, MAXUDP[family]] * 4
    pair.quiesce()
    s0, d0 = sns.stats(), dns.stats()
    for p in sizes:
        netns.udp_send_recv(tx, rx, rx.getsockname()[:2], p, 1)
    pair.quiesce()
    s1, d1 = sns.stats(), dns.stats()
    want_tx = other_counts(family, sizes, "tx")
    want_rx = other_counts(family, sizes, "rx")
    assert netns.delta(s0, s1, iface=sif, tag=ttag, uid=tuid) == want_tx
    assert netns.delta(d0, d1, iface=dif, tag=rtag, uid=ruid) == want_rx
    assert netns.delta(d0, d1, iface=dif, tag=0, uid=ruid) == want_rx, "uid total"
    assert netns.delta(d0, d1, iface=dif, uid=0) == counters(), "billed to uid 0"
    tx.close()
    rx.close()


@pytest.mark.parametrize("family", FAMS)
def test_udplite_fragments_rx_billed_to_receiving_socket(pair, family):
    """4,000-byte UDP-Lite datagrams travel as fragments; the receiver's rows equal its
    device (reassembled before LOCAL_IN, then found in the UDP-Lite table)."""
    tx = pair.a.socket(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
    rx = pair.b.socket(family, socket.SOCK_DGRAM, IPPROTO_UDPLITE)
    rx.bind((pair.addr("b", family), 0))
    rx.settimeout(5.0)
    t, u = fresh()
    rt, ru = fresh()
    pair.a.tag(tx, t, u)
    pair.b.tag(rx, rt, ru)
    with Window(pair, family) as w:
        netns.udp_send_recv(tx, rx, rx.getsockname()[:2], 4000, 5)
    assert w.wire("b", "rx")[1] == 15
    w.check("a", "tx", t, u)
    w.check("b", "rx", rt, ru)
    tx.close()
    rx.close()


# ------------------------------------------------------------------ ping sockets

@pytest.mark.parametrize("family", FAMS)
def test_ping_socket_echo_replies_are_uid0s(pair, family):
    """A tagged ping socket (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6) in a: its echo requests are
    billed to it, the echo replies it receives to uid 0 (documented: ping_lookup is
    private to the kernel)."""
    pair.a.sysctl("net/ipv4/ping_group_range", "0 2147483647")
    proto = socket.IPPROTO_ICMP if family == V4 else socket.IPPROTO_ICMPV6
    s = pair.a.socket(family, socket.SOCK_DGRAM, proto)
    s.settimeout(5.0)
    t, u = fresh()
    pair.a.tag(s, t, u)
    n, size = 10, 200
    with Window(pair, family) as w:
        for seq in range(n):
            s.sendto(echo_request(family, seq, size, False), (pair.addr("b", family), 0))
            assert len(s.recv(65536)) == 8 + size
    icmp = n * (IPH[family] + 8 + size)
    assert w.wire("a", "tx") == (icmp, n) and w.wire("a", "rx") == (icmp, n)
    w.check("a", "tx", t, u)
    assert w.rows("a", "rx", tag=t, uid=u) == (0, 0)
    assert w.rows("a", "rx", tag=0, uid=u) == (0, 0)
    assert w.rows("a", "rx", tag=0, uid=0) == (icmp, n)
    s.close()


# ------------------------------------------------------------------ SCTP

def _sctp_available():
    return subprocess.run(["modprobe", "sctp"], capture_output=True).returncode == 0


@pytest.mark.parametrize("family", FAMS)
def test_sctp_rx_is_uid0s(pair, family):
    """A tagged SCTP association: everything each end sends (DATA, SACKs) is billed to its
    socket, everything it receives to uid 0 (documented: SCTP's lookups are private to
    sctp.ko)."""
    if not _sctp_available():
        pytest.skip("no sctp module")
    lst = pair.b.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    lst.bind((pair.addr("b", family), 0))
    lst.listen(1)
    cli = pair.a.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    cli.connect(lst.getsockname()[:2])
    srv, _ = lst.accept()
    srv.settimeout(5.0)
    ct, cu = fresh()
    st, su = fresh()
    pair.a.tag(cli, ct, cu)
    pair.b.tag(srv, st, su)
    n, size = 20, 1000
    with Window(pair, family) as w:
        for _ in range(n):
            cli.sendall(b"\x5c" * size)
        got = 0
        while got < n * size:
            got += len(srv.recv(65536))
    for side, tag, uid in (("a", ct, cu), ("b", st, su)):
        w.check(side, "tx", tag, uid)
        assert w.rows(side, "rx", tag=tag, uid=uid) == (0, 0), side
        assert w.rows(side, "rx", tag=0, uid=0) == w.wire(side, "rx"), side
    assert w.wire("b", "rx")[0] >= n * size
    for s in (cli, srv, lst):
        s.close()
