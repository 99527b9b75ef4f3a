"""Datagrams that leave or arrive as IP fragments, against every input the kernel uses to
size the fragments.

The kernel fragments a local datagram after POST_ROUTING (__ip_finish_output/ip_do_fragment,
__ip6_finish_output/ip6_fragment), so the module has to predict the fragments from the
datagram: the path MTU (route `mtu`, or the device's for the IP(V6)_MTU_DISCOVER modes PROBE,
INTERFACE and OMIT), the socket's IPV6_MTU, frag_max_size of a datagram the stack reassembled
on its way out, and the IPv4 header length with options. Each test sends through the veth
pair (offloads off) and checks that the sending socket's tag row and its uid's total equal
the device counters minus the 14-byte Ethernet headers, packet for packet and byte for byte,
and that the receiving socket's rows equal the receiving device's. The kernel's own
FragCreates / Ip6FragCreates counters confirm that the traffic really was fragmented.
"""
import contextlib
import errno
import os
import socket
import struct

import pytest

import netns
from netns import delta
from test_accounting import ETH, FAMS, IPH, V4, V6, fresh

IP_MTU_DISCOVER = 10
IP_OPTIONS = 4
IPV6_MTU_DISCOVER = 23
IPV6_MTU = 24
IPV6_DONTFRAG = 62
PMTUDISC = {"DONT": 0, "WANT": 1, "DO": 2, "PROBE": 3, "INTERFACE": 4, "OMIT": 5}
ROUTE_MTU = {V4: 1400, V6: 1404}     # (mtu - headers) % 8 == 4: the last fragment may be
                                     # up to 4 bytes longer than the others (v4 only)


@pytest.fixture(scope="module")
def pair():
    p = netns.VethPair(f"qf{os.getpid() % 10000}")
    try:
        p.set_offloads(False)
        p.quiesce()
        yield p
    finally:
        p.close()


def frag_creates(ns, family):
    """FragCreates (v4) or Ip6FragCreates (v6) of the namespace."""
    with ns.enter():
        if family == V4:
            with open("/proc/net/snmp") as f:
                ip = [line.split() for line in f if line.startswith("Ip:")]
            return int(ip[1][ip[0].index("FragCreates")])
        with open("/proc/net/snmp6") as f:
            for line in f:
                k, v = line.split()
                if k == "Ip6FragCreates":
                    return int(v)
    raise AssertionError("no FragCreates counter")


@contextlib.contextmanager
def route_mtu(pair, family, mtu):
    """a's route to b's prefix with `mtu` (the pair's own route again afterwards)."""
    if family == V4:
        base = ["route", "replace", "198.18.7.0/24", "dev", pair.ifa, "proto", "kernel",
                "scope", "link", "src", pair.V4[0], "rto_min", netns.RTO_MIN]
    else:
        base = ["-6", "route", "replace", "fd51:7a9:7::/64", "dev", pair.ifa, "proto",
                "kernel", "metric", "256", "rto_min", netns.RTO_MIN]
    pair.a.ip(*base, "mtu", str(mtu))
    try:
        yield
    finally:
        pair.a.ip(*base)


class Window:
    """Device counters, stats and FragCreates of both ends around some traffic."""

    def __init__(self, pair, family):
        self.pair, self.family = pair, family

    def __enter__(self):
        p = self.pair
        p.quiesce()
        self.dev0, self.a0, self.b0 = p.counters(), p.a.stats(), p.b.stats()
        self.fc0 = frag_creates(p.a, self.family), frag_creates(p.b, self.family)
        return self

    def __exit__(self, *exc):
        if exc[0]:
            return False
        p = self.pair
        p.quiesce()
        self.dev1, self.a1, self.b1 = p.counters(), p.a.stats(), p.b.stats()
        fc1 = frag_creates(p.a, self.family), frag_creates(p.b, self.family)
        self.frags = {"a": fc1[0] - self.fc0[0], "b": fc1[1] - self.fc0[1]}
        return False

    def wire(self, side, d):
        """(IP bytes, packets) the device of `side` counted in direction d ("rx"/"tx")."""
        pk = self.dev1[side][f"{d}_packets"] - self.dev0[side][f"{d}_packets"]
        by = self.dev1[side][f"{d}_bytes"] - self.dev0[side][f"{d}_bytes"] - ETH * pk
        return by, pk

    def rows(self, side, d, **match):
        s0, s1, ifn = ((self.a0, self.a1, self.pair.ifa) if side == "a"
                       else (self.b0, self.b1, self.pair.ifb))
        r = delta(s0, s1, iface=ifn, **match)
        return r[f"{d}_bytes"], r[f"{d}_packets"]

    def check(self, side, d, tag, uid):
        """The socket's tag row and its uid's total both equal the device in direction d."""
        want = self.wire(side, d)
        assert want[1] > 0, f"no {d} traffic on {side}"
        assert self.rows(side, d, tag=tag, uid=uid) == want, f"{side} {d} tag row vs device"
        assert self.rows(side, d, tag=0, uid=uid) == want, f"{side} {d} uid total vs device"


def udp_through(pair, family, sizes, setup=(), count=1):
    """Send each size `count` times from a tagged UDP socket in a (after setsockopt(*o)
    for o in setup) to a tagged receiver in b; check both ends against their devices.
    Returns the Window."""
    tx = pair.a.socket(family, socket.SOCK_DGRAM)
    for opt in setup:
        tx.setsockopt(*opt)
    rx = pair.b.socket(family, socket.SOCK_DGRAM)
    rx.bind((pair.addr("b", family), 0))
    rx.settimeout(5.0)
    tt, tu = fresh()
    rt, ru = fresh()
    pair.a.tag(tx, tt, tu)
    pair.b.tag(rx, rt, ru)
    with Window(pair, family) as w:
        for size in sizes:
            for _ in range(count):
                assert tx.sendto(b"\xa5" * size, rx.getsockname()[:2]) == size
                assert len(rx.recv(65536)) == size
    w.check("a", "tx", tt, tu)
    w.check("b", "rx", rt, ru)
    assert w.wire("a", "tx") == w.wire("b", "rx")
    tx.close()
    rx.close()
    return w


# ------------------------------------------------------------------ IPV6_MTU

def test_ipv6_mtu_sockopt_sets_the_fragment_size(pair):
    """IPV6_MTU 1280: ten 2,500-byte datagrams leave as 30 fragments of at most 1,280
    bytes (ip6_fragment takes np->frag_size below the path MTU), 26,520 IP bytes."""
    w = udp_through(pair, V6, [2500], setup=[(socket.IPPROTO_IPV6, IPV6_MTU, 1280)],
                    count=10)
    assert w.wire("a", "tx") == (26520, 30)
    assert w.frags["a"] == 30


def test_ipv6_mtu_sockopt_mixed_sizes(pair):
    """IPV6_MTU only sizes fragments: a datagram that fits the path MTU (1,300 bytes:
    1,348 on the wire) leaves whole although it is larger than IPV6_MTU."""
    sizes = [1300, 2500, 2700, 5000, 9000]
    w = udp_through(pair, V6, sizes, setup=[(socket.IPPROTO_IPV6, IPV6_MTU, 1280)])
    assert w.wire("a", "tx")[1] == 1 + 3 + 3 + 5 + 8
    assert w.frags["a"] == 3 + 3 + 5 + 8


# ------------------------------------------------------------------ MTU discovery modes

SIZES = {V4: [1450, 2500, 2746, 4000], V6: [1450, 2500, 2700, 4000]}


@pytest.mark.parametrize("family", FAMS)
@pytest.mark.parametrize("mode", ["default", "DONT", "WANT", "OMIT"])
def test_route_mtu_and_pmtudisc_modes_that_fragment(pair, family, mode):
    """With a route mtu below the device's (1400 v4, 1404 v6), DONT, WANT and the default
    fragment at the route mtu, OMIT at the device's 1500. The sizes include one whose last
    IPv4 fragment is 4 bytes longer than the others (2,746: 1,376 + 1,378 data bytes) and
    its IPv6 twin, which the IPv6 cork cuts into three (2,700)."""
    level, opt = ((socket.IPPROTO_IP, IP_MTU_DISCOVER) if family == V4
                  else (socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER))
    setup = [] if mode == "default" else [(level, opt, PMTUDISC[mode])]
    with route_mtu(pair, family, ROUTE_MTU[family]):
        w = udp_through(pair, family, SIZES[family], setup=setup)
    pkts = w.wire("a", "tx")[1]
    if mode == "OMIT":
        assert pkts == 1 + 2 + 2 + 3
    elif family == V4:
        assert pkts == 2 + 2 + 2 + 3
    else:
        assert pkts == 2 + 2 + 3 + 3
    assert w.frags["a"] == pkts - (1 if mode == "OMIT" else 0)


@pytest.mark.parametrize("family,mode", [
    pytest.param(f, m, id=f"{m}-{n}") for f, n in ((V4, "v4"), (V6, "v6"))
    for m in ("DO", "PROBE", "INTERFACE") + (("DONTFRAG",) if f == V6 else ())])
def test_pmtudisc_modes_that_do_not_fragment(pair, family, mode):
    """DO, PROBE, INTERFACE (and IPV6_DONTFRAG) never fragment locally: a datagram over the
    MTU fails with EMSGSIZE. PROBE and INTERFACE ignore the route mtu, so a 1,450-byte
    datagram leaves whole through a route of mtu 1400; DO refuses it."""
    if mode == "DONTFRAG":
        setup = [(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1)]
    elif family == V4:
        setup = [(socket.IPPROTO_IP, IP_MTU_DISCOVER, PMTUDISC[mode])]
    else:
        setup = [(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, PMTUDISC[mode])]
    tx = pair.a.socket(family, socket.SOCK_DGRAM)
    for opt in setup:
        tx.setsockopt(*opt)
    dest = (pair.addr("b", family), 9)
    with route_mtu(pair, family, ROUTE_MTU[family]):
        with pytest.raises(OSError) as e:
            tx.sendto(b"x" * 2500, dest)
        assert e.value.errno == errno.EMSGSIZE
        if mode in ("PROBE", "INTERFACE"):
            w = udp_through(pair, family, [1450], setup=setup, count=3)
            assert w.wire("a", "tx") == (3 * (1450 + 8 + IPH[family]), 3)
            assert w.frags["a"] == 0
    tx.close()


# ------------------------------------------------------------------ IPv4 options

def test_ipv4_options_are_in_every_fragment(pair):
    """IP_OPTIONS with Record Route (not copied into later fragments, so NOPed there):
    every fragment carries the 28-byte header. Through a route of mtu 1400 (1,372 data
    bytes, not a multiple of 8) the 2,732-byte datagram's last fragment is the longest."""
    rr = bytes([7, 7, 4, 0, 0, 0, 0])       # one slot; the kernel pads to 8 bytes
    setup = [(socket.IPPROTO_IP, IP_OPTIONS, rr),
             (socket.IPPROTO_IP, IP_MTU_DISCOVER, PMTUDISC["DONT"])]
    with route_mtu(pair, V4, 1400):
        w = udp_through(pair, V4, [2500, 2732, 4000], setup=setup)
    assert w.wire("a", "tx")[1] == 2 + 2 + 3
    assert w.wire("a", "tx")[0] == 2508 + 2740 + 4008 + 28 * 7
    assert w.frags["a"] == 7


# ------------------------------------------------------------------ ICMP: raw and ping

def inet_csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo_request(family, seq, size, with_csum):
    typ = 8 if family == V4 else 128
    hdr = struct.pack("!BBHHH", typ, 0, 0, 0x5151, seq)
    body = hdr + b"\x5a" * size
    if with_csum:
        body = body[:2] + struct.pack("!H", inet_csum(body)) + body[4:]
    return body


@pytest.mark.parametrize("family", FAMS)
@pytest.mark.parametrize("kind", ["raw", "ping"])
def test_icmp_echo_fragments(pair, family, kind):
    """3,000-byte echo requests from a tagged raw ICMP socket or ping socket leave as
    fragments and are billed to it; the kernel's fragmented echo replies from b are billed
    to uid 0 there (no socket sends them), and on a to uid 0 as well (the module finds no
    ICMP socket for an echo reply, see README)."""
    proto = socket.IPPROTO_ICMP if family == V4 else socket.IPPROTO_ICMPV6
    if kind == "ping":
        pair.a.sysctl("net/ipv4/ping_group_range", "0 2147483647")
        s = pair.a.socket(family, socket.SOCK_DGRAM, proto)
    else:
        s = pair.a.socket(family, socket.SOCK_RAW, proto)
    s.settimeout(5.0)
    t, u = fresh()
    pair.a.tag(s, t, u)
    n = 5
    with Window(pair, family) as w:
        for seq in range(n):
            s.sendto(echo_request(family, seq, 3000, kind == "raw" and family == V4),
                     (pair.addr("b", family), 0))
        got = 0
        while got < n:          # raw sockets also see other ICMP; count echo replies
            data = s.recv(65536)
            typ = data[20 if kind == "raw" and family == V4 else 0]
            got += typ == (0 if family == V4 else 129)
    assert w.wire("a", "tx")[1] == 3 * n
    assert w.frags["a"] == 3 * n and w.frags["b"] == 3 * n
    w.check("a", "tx", t, u)
    assert w.rows("a", "rx", tag=t, uid=u) == (0, 0)
    assert w.rows("a", "rx", tag=0, uid=0) == w.wire("a", "rx")
    assert w.rows("b", "tx", tag=0, uid=0) == w.wire("b", "tx")
    assert w.rows("b", "rx", tag=0, uid=0) == w.wire("b", "rx")
    s.close()


# ------------------------------------------------------------------ frag_max_size

def udp_datagram(family, src, dst, sport, dport, payload):
    """A UDP datagram (header and payload) with its checksum."""
    length = 8 + len(payload)
    if family == V4:
        pseudo = (socket.inet_pton(V4, src) + socket.inet_pton(V4, dst)
                  + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length))
    else:
        pseudo = (socket.inet_pton(V6, src) + socket.inet_pton(V6, dst)
                  + struct.pack("!IxxxB", length, socket.IPPROTO_UDP))
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    csum = inet_csum(pseudo + hdr + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + payload


def handmade_fragments(family, src, dst, datagram, data_per_frag, ident):
    """IP packets carrying `datagram` (a UDP datagram) in fragments of data_per_frag."""
    out = []
    for off in range(0, len(datagram), data_per_frag):
        chunk = datagram[off:off + data_per_frag]
        more = off + data_per_frag < len(datagram)
        if family == V4:
            hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident,
                              (off >> 3) | (0x2000 if more else 0), 64, socket.IPPROTO_UDP,
                              0, socket.inet_pton(V4, src), socket.inet_pton(V4, dst))
        else:
            hdr = (struct.pack("!IHBB", 6 << 28, 8 + len(chunk), 44, 64)
                   + socket.inet_pton(V6, src) + socket.inet_pton(V6, dst)
                   + struct.pack("!BBHI", socket.IPPROTO_UDP, 0, off | more, ident))
        out.append(hdr + chunk)
    return out


@contextlib.contextmanager
def conntrack_on_output(ns):
    """Conntrack (and so IPv4 defragmentation at LOCAL_OUT) in ns, through an nft rule."""
    ns.exec("nft", "add table ip qfct")
    try:
        ns.exec("nft", "add chain ip qfct out { type filter hook output priority 0 ; }")
        ns.exec("nft", "add rule ip qfct out ct state new counter")
        yield
    finally:
        ns.exec("nft", "delete table ip qfct", check=False)


@pytest.mark.parametrize("family", FAMS)
def test_reassembled_on_output_leaves_as_it_came(pair, family):
    """A raw socket sends a UDP datagram as hand-made fragments of 1,396 (v4) / 1,400 (v6)
    bytes. Defragmentation at LOCAL_OUT (nf_defrag_ipv6, which the module enables; for
    IPv4 conntrack's) reassembles them, and the stack fragments the datagram again after
    POST_ROUTING no larger than it came (frag_max_size), not at the 1,500 MTU."""
    data = {V4: 1376, V6: 1352}[family]
    rx = pair.b.socket(family, socket.SOCK_DGRAM)
    rx.bind((pair.addr("b", family), 0))
    rx.settimeout(5.0)
    rt, ru = fresh()
    pair.b.tag(rx, rt, ru)
    raw = pair.a.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t, u = fresh()
    pair.a.tag(raw, t, u)
    src, dst = pair.addr("a", family), pair.addr("b", family)
    n, size = 4, 4000
    ctx = conntrack_on_output(pair.a) if family == V4 else contextlib.nullcontext()
    with ctx:
        with Window(pair, family) as w:
            for i in range(n):
                dgram = udp_datagram(family, src, dst, 40000, rx.getsockname()[1],
                                     b"\x33" * size)
                for frag in handmade_fragments(family, src, dst, dgram, data, 0x4100 + i):
                    raw.sendto(frag, (dst, 0))
                assert len(rx.recv(65536)) == size
    by, pk = w.wire("a", "tx")
    assert pk == 3 * n
    assert by == n * (size + 8 + 3 * IPH[family] + (24 if family == V6 else 0))
    assert w.frags["a"] == 3 * n, "not fragmented again by the stack"
    # The reassembled datagram keeps the raw socket as its owner where the kernel moves the
    # last fragment's socket to it (6.12); 6.1 orphans it, and then it is uid 0's.
    mine = w.rows("a", "tx", tag=0, uid=u)
    assert mine in ((by, pk), (0, 0)), mine
    assert w.rows("a", "tx", tag=t, uid=u) == mine
    assert w.rows("a", "tx", tag=0) == (by, pk), "all uids' totals vs device"
    w.check("b", "rx", rt, ru)
    raw.close()
    rx.close()



def ip_packet(family, src, dst, payload, df):
    """One IP packet (no extension headers or options) carrying a UDP datagram."""
    if family == V4:
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x4242,
                           0x4000 if df else 0, 64, socket.IPPROTO_UDP, 0,
                           socket.inet_pton(V4, src), socket.inet_pton(V4, dst)) + payload
    return (struct.pack("!IHBB", 6 << 28, len(payload), socket.IPPROTO_UDP, 64)
            + socket.inet_pton(V6, src) + socket.inet_pton(V6, dst) + payload)


@pytest.mark.parametrize("family,df", [(V4, False), (V4, True), (V6, None)],
                         ids=["v4-nodf", "v4-df", "v6"])
def test_raw_header_included_over_route_mtu(pair, family, df):
    """A raw socket's own 1,450-byte header-included packet through a route of mtu 1400
    (1404 for v6; the device's 1500 lets it past the raw socket's check): IPv4 without DF
    leaves as two fragments; IPv4 with DF and IPv6 (where only the sender fragments) are
    dropped after POST_ROUTING (the send fails with EMSGSIZE), and nothing is billed for
    them."""
    rx = pair.b.socket(family, socket.SOCK_DGRAM)
    rx.bind((pair.addr("b", family), 0))
    rx.settimeout(5.0)
    rt, ru = fresh()
    pair.b.tag(rx, rt, ru)
    raw = pair.a.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t, u = fresh()
    pair.a.tag(raw, t, u)
    src, dst = pair.addr("a", family), pair.addr("b", family)
    size = 1450 - IPH[family] - 8
    leaves = family == V4 and not df
    with route_mtu(pair, family, ROUTE_MTU[family]):
        with Window(pair, family) as w:
            for _ in range(3):
                dgram = udp_datagram(family, src, dst, 40001, rx.getsockname()[1],
                                     b"\x44" * size)
                packet = ip_packet(family, src, dst, dgram, df)
                if leaves:
                    raw.sendto(packet, (dst, 0))
                    assert len(rx.recv(65536)) == size
                else:           # ip(6)_fragment's verdict comes back to the sender
                    with pytest.raises(OSError) as e:
                        raw.sendto(packet, (dst, 0))
                    assert e.value.errno == errno.EMSGSIZE
    if leaves:
        assert w.wire("a", "tx") == (3 * (1450 + 20), 6) and w.frags["a"] == 6
        w.check("a", "tx", t, u)
        w.check("b", "rx", rt, ru)
    else:
        assert w.wire("a", "tx") == (0, 0) and w.frags["a"] == 0
    assert w.rows("a", "tx", tag=t, uid=u) == w.wire("a", "tx")
    assert w.rows("a", "tx", tag=0) == w.wire("a", "tx"), "all uids' totals vs device"
    raw.close()
    rx.close()


# ------------------------------------------------------------------ RTAX_FEATURE_ALLFRAG

def _rtattr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * (-n % 4)


def route6_allfrag(ns, prefix, plen, ifname):
    """Replace ns's IPv6 route to prefix/plen via ifname with one whose RTAX_FEATURES metric
    has RTAX_FEATURE_ALLFRAG (iproute2 cannot name that feature, so raw rtnetlink)."""
    RTM_NEWROUTE, RTA_DST, RTA_OIF, RTA_PRIORITY, RTA_METRICS, RTAX_FEATURES = 24, 1, 4, 6, 8, 12
    flags = 0x1 | 0x4 | 0x100 | 0x400          # REQUEST, ACK, REPLACE, CREATE
    with ns.enter():
        ifindex = socket.if_nametoindex(ifname)
        nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)   # NETLINK_ROUTE
    try:
        body = struct.pack("=BBBBBBBBI", socket.AF_INET6, plen, 0, 0, 254, 2, 0, 1, 0)
        body += _rtattr(RTA_DST, socket.inet_pton(V6, prefix))
        body += _rtattr(RTA_OIF, struct.pack("=I", ifindex))
        body += _rtattr(RTA_PRIORITY, struct.pack("=I", 256))
        body += _rtattr(RTA_METRICS, _rtattr(RTAX_FEATURES, struct.pack("=I", 1 << 3)))
        nl.send(struct.pack("=IHHII", 16 + len(body), RTM_NEWROUTE, flags, 1, 0) + body)
        ack = nl.recv(4096)
        err = struct.unpack_from("=i", ack, 16)[0]
        if err:
            raise OSError(-err, os.strerror(-err), "RTM_NEWROUTE allfrag")
    finally:
        nl.close()


def test_ipv6_route_allfrag(pair):
    """A route with RTAX_FEATURE_ALLFRAG: 6.1 (dst_allfrag) sends every datagram as
    fragments, even one that fits, each with a fragment header; from 6.7 the feature is
    ignored. Either way the rows equal the wire."""
    route6_allfrag(pair.a, "fd51:7a9:7::", 64, pair.ifa)
    try:
        w = udp_through(pair, V6, [100, 1000, 2500], count=2)
    finally:
        pair.a.ip("-6", "route", "replace", "fd51:7a9:7::/64", "dev", pair.ifa, "proto",
                  "kernel", "metric", "256", "rto_min", netns.RTO_MIN)
    by, pk = w.wire("a", "tx")
    plain = 2 * (148 + 1048 + 2548 + 2 * 8 + 40)     # 2,500 bytes leave as 2 fragments
    if w.frags["a"] == 2 * 4:
        assert (by, pk) == (plain + 2 * 2 * 8, 2 * 4), "allfrag: every packet a fragment"
    else:
        assert w.frags["a"] == 2 * 2 and (by, pk) == (plain, 2 * 4)
