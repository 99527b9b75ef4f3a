"""Exact byte counts of sockets tagged through the Python package, per thread and per
asyncio task, read back through qtag's own stats API and cross-checked with a raw parse
of /proc/net/xt_qtaguid/stats. UDP over loopback: a tag's row holds exactly
n * (payload + IP and UDP headers) sent bytes and n packets, nothing received."""
import asyncio
import os
import socket
import threading

import pytest

import qtag
from qtag_testutil import (LOOP, UdpSink, as_dict, fresh_tag, raw_stats, raw_sum, send_udp,
                           udp_expect)

V4, V6 = socket.AF_INET, socket.AF_INET6


def _has_v6_loopback():
    try:
        with socket.socket(V6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


FAMS = [pytest.param(V4, id="v4"),
        pytest.param(V6, id="v6", marks=pytest.mark.skipif(not _has_v6_loopback(),
                                                           reason="no ::1 in this VM"))]


@pytest.fixture(autouse=True)
def clean_state():
    qtag.set_tag_state(None, None)
    yield
    qtag.set_tag_state(None, None)
    qtag.uninstall()


def check_tag(tag, want, uid=0, iface="lo"):
    """The tag's rows, via qtag.Stats and via the raw parse, equal `want` exactly."""
    stats = qtag.Stats.read()
    got_api = as_dict(stats.sum(uid=uid, tag=tag, iface=iface))
    got_raw = raw_sum(raw_stats(), uid=uid, tag=tag, iface=iface)
    assert got_api == want, f"tag {tag:#x} via qtag.Stats"
    assert got_raw == want, f"tag {tag:#x} via a raw parse"
    # The same numbers through the other queries.
    assert as_dict(stats.uid_tags(uid)[tag]) == want
    rows = stats.matching(uid=uid, tag=tag, iface=iface)
    assert {r.set for r in rows} == {0, 1}       # a row per counter set, zero or not
    assert all(isinstance(r, qtag.StatsRow) and r.iface == iface for r in rows)


@pytest.mark.parametrize("family", FAMS)
def test_per_thread_tags_exact(family):
    """Four threads, each with its own thread tag set at the same time, tag and use their
    own sockets; each tag gets exactly its thread's datagrams."""
    sink = UdpSink(family)
    n_threads = 4
    tags = [fresh_tag() for _ in range(n_threads)]
    plan = [(3 + i, 100 + 37 * i) for i in range(n_threads)]     # (datagrams, payload)
    barrier = threading.Barrier(n_threads)
    errors = []
    seen = {}

    def worker(i):
        try:
            qtag.set_thread_stats_tag(tags[i])
            barrier.wait()                      # all threads hold their tags now
            s = socket.socket(family, socket.SOCK_DGRAM)
            qtag.tag_socket(s)
            seen[i] = qtag.get_thread_stats_tag()
            barrier.wait()
            n, size = plan[i]
            send_udp(s, n, size, sink.addr)
            s.close()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    assert not errors, errors
    assert seen == {i: tags[i] for i in range(n_threads)}
    assert qtag.get_thread_stats_tag() is None   # the main thread never had one
    for i in range(n_threads):
        check_tag(tags[i], udp_expect(family, *plan[i]))


def test_per_task_tags_exact():
    """Tasks on one event loop, interleaving at every await, each under its own tag."""
    sink = UdpSink(V4)
    tags = [fresh_tag() for _ in range(3)]
    plan = [(4, 60), (7, 333), (2, 1000)]

    async def task(i, go):
        with qtag.tagged(tags[i]):
            s = socket.socket(V4, socket.SOCK_DGRAM)
            s.setblocking(False)
            await go.wait()                     # every task is inside its block now
            qtag.tag_socket(s)
            n, size = plan[i]
            for _ in range(n):
                await asyncio.sleep(0)          # let the other tasks run in between
                s.sendto(b"x" * size, sink.addr)
            s.close()
            return qtag.get_thread_stats_tag()

    async def main():
        go = asyncio.Event()
        ts = [asyncio.create_task(task(i, go)) for i in range(3)]
        await asyncio.sleep(0)
        go.set()
        return await asyncio.gather(*ts)

    assert asyncio.run(main()) == tags
    sink.close()
    for i in range(3):
        check_tag(tags[i], udp_expect(V4, *plan[i]))


def test_tasks_auto_tagged_datagram_endpoints():
    """After install(), asyncio datagram endpoints connected in tasks under different
    tags are tagged before their first datagram."""
    sink = UdpSink(V4)
    tags = [fresh_tag() for _ in range(2)]
    plan = [(5, 200), (3, 900)]
    qtag.install()

    async def task(i):
        loop = asyncio.get_running_loop()
        with qtag.tagged(tags[i]):
            tr, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                        remote_addr=sink.addr)
        # Outside the block now: the socket keeps the tag it got when it connected.
        n, size = plan[i]
        for _ in range(n):
            tr.sendto(b"d" * size)
            await asyncio.sleep(0)
        tr.close()

    async def main():
        await asyncio.gather(task(0), task(1))

    asyncio.run(main())
    sink.close()
    for i in range(2):
        check_tag(tags[i], udp_expect(V4, *plan[i]))


def test_tagged_blocks_nest_and_restore_on_sockets():
    """Sockets tagged at each level of nested `tagged` blocks carry that level's tag;
    after the blocks, tag_socket applies the restored state."""
    sink = UdpSink(V4)
    outer, inner = fresh_tag(), fresh_tag()
    socks = {}
    with qtag.tagged(outer):
        socks["outer1"] = socket.socket(V4, socket.SOCK_DGRAM)
        qtag.tag_socket(socks["outer1"])
        with qtag.tagged(inner):
            socks["inner"] = socket.socket(V4, socket.SOCK_DGRAM)
            qtag.tag_socket(socks["inner"])
        socks["outer2"] = socket.socket(V4, socket.SOCK_DGRAM)
        qtag.tag_socket(socks["outer2"])
    socks["none"] = socket.socket(V4, socket.SOCK_DGRAM)
    qtag.tag_socket(socks["none"])            # no state: not tagged at all
    sizes = {"outer1": 11, "inner": 222, "outer2": 33, "none": 44}
    for k, s in socks.items():
        send_udp(s, 2, sizes[k], sink.addr)
    listed = {(t.tag, t.uid) for t in qtag.read_ctrl()}
    assert (outer, 0) in listed and (inner, 0) in listed
    for s in socks.values():
        s.close()
    sink.close()
    check_tag(inner, udp_expect(V4, 2, sizes["inner"]))
    want = udp_expect(V4, 2, sizes["outer1"])
    more = udp_expect(V4, 2, sizes["outer2"])
    check_tag(outer, {k: want[k] + more[k] for k in want})


def test_explicit_tag_socket_with_and_untag():
    sink = UdpSink(V4)
    t1, t2 = fresh_tag(), fresh_tag()
    s = socket.socket(V4, socket.SOCK_DGRAM)
    qtag.tag_socket_with(s, t1)
    send_udp(s, 3, 10, sink.addr)
    qtag.tag_socket_with(s.fileno(), t2, uid=-1)      # re-tag replaces, int fd works
    send_udp(s, 1, 20, sink.addr)
    qtag.untag_socket(s)
    send_udp(s, 5, 30, sink.addr)                      # untagged: only tag 0
    with pytest.raises(qtag.NotTaggedError) as ei:
        qtag.untag_socket(s)
    assert ei.value.errno == 22 and ei.value.fd == s.fileno()
    s.close()
    sink.close()
    check_tag(t1, udp_expect(V4, 3, 10))
    check_tag(t2, udp_expect(V4, 1, 20))


def test_traffic_stats_getters():
    me = os.getuid()
    sink = UdpSink(V4)
    s = socket.socket(V4, socket.SOCK_DGRAM)
    qtag.tag_socket_with(s, fresh_tag())      # this test's own traffic and tag event
    send_udp(s, 2, 64, sink.addr)
    s.close()
    sink.close()
    s = qtag.Stats.read()
    assert qtag.get_uid_tx_bytes(me) >= s.uid_total(me).tx_bytes > 0
    assert qtag.get_uid_rx_packets() >= s.uid_total(me).rx_packets
    assert qtag.get_total_tx_bytes() > 0 and qtag.get_total_rx_packets() > 0
    assert qtag.get_tx_bytes("lo") > 0 and qtag.get_rx_packets("lo") > 0
    assert qtag.get_rx_bytes("no-such-if0") == qtag.UNSUPPORTED
    assert qtag.get_uid_rx_bytes(4_000_000) == qtag.UNSUPPORTED    # no rows of that uid
    fmt = {i.name: i for i in qtag.iface_stat_fmt()}
    assert isinstance(fmt["lo"].counters, qtag.Counters) and fmt["lo"].counters.tx_bytes > 0
    alls = {i.name: i for i in qtag.iface_stat_all()}
    assert alls["lo"].active is True
    ctrl = qtag.read_ctrl()
    assert "sockets_tagged" in ctrl.events and ctrl.events["sockets_tagged"] > 0


def test_counter_set_and_delete():
    """Root holds the accounting privilege: counter sets and deletes of another uid."""
    uid = 4321
    tag = fresh_tag()
    sink = UdpSink(V4)
    s = socket.socket(V4, socket.SOCK_DGRAM)
    qtag.set_counter_set(qtag.COUNTER_SET_FOREGROUND, uid)
    with qtag.tagged(tag, uid=uid):
        qtag.tag_socket(s)
    send_udp(s, 2, 50, sink.addr)
    st = qtag.Stats.read()
    fg = st.matching(uid=uid, tag=tag, set=1)
    assert len(fg) == 1 and fg[0].counters.tx_packets == 2
    assert st.by_set(uid)[1].tx_packets == 2
    qtag.set_counter_set(qtag.COUNTER_SET_DEFAULT, uid)
    send_udp(s, 1, 50, sink.addr)
    assert qtag.Stats.read().sum(uid=uid, tag=tag, set=0).tx_packets == 1
    qtag.delete_tag_data(tag, uid)             # that tag's rows and socket tags go
    st = qtag.Stats.read()
    assert st.matching(uid=uid, tag=tag) == [] and st.uid_total(uid).tx_packets == 3
    qtag.reset_kernel_uid_stats(uid)           # everything of the uid
    assert qtag.Stats.read().matching(uid=uid) == []
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.set_counter_set(2, uid)
    s.close()
    sink.close()


def test_install_tags_unconnected_udp_at_first_sendto():
    """After install(), a UDP socket that never connects is tagged by its first sendto /
    sendmsg inside a tag context; one used outside any context stays untagged; a socket
    keeps the tag of its first send."""
    sink = UdpSink(V4)
    t1, t2, t3 = fresh_tag(), fresh_tag(), fresh_tag()
    qtag.install()
    a = socket.socket(V4, socket.SOCK_DGRAM)
    b = socket.socket(V4, socket.SOCK_DGRAM)
    c = socket.socket(V4, socket.SOCK_DGRAM)
    c.sendto(b"z" * 5, sink.addr)                 # no context: c stays untagged
    with qtag.tagged(t1):
        send_udp(a, 3, 150, sink.addr)
        b.sendmsg([b"m" * 40, b"n" * 60], [], 0, sink.addr)
    with qtag.tagged(t2):
        send_udp(a, 2, 150, sink.addr)            # a keeps t1
    # tag_socket with a cleared state tags nothing, so auto-tagging still applies later.
    qtag.set_thread_stats_tag(t3)
    qtag.clear_thread_stats_tag()
    late = socket.socket(V4, socket.SOCK_DGRAM)
    qtag.tag_socket(late)
    with qtag.tagged(t1):
        late.sendto(b"l" * 100, sink.addr)
    explicit = socket.socket(V4, socket.SOCK_DGRAM)
    qtag.tag_socket_with(explicit, t3)
    with qtag.tagged(t2):
        send_udp(explicit, 1, 10, sink.addr)      # explicit tags are left alone
    qtag.uninstall()
    mine = {(t.tag, t.uid) for t in qtag.read_ctrl() if t.pid == os.getpid()}
    assert (t1, 0) in mine and (t3, 0) in mine and (t2, 0) not in mine
    for s in (a, b, c, late, explicit):
        s.close()
    sink.close()
    want = udp_expect(V4, 5, 150)
    two = udp_expect(V4, 2, 100)               # b's sendmsg and late's sendto
    check_tag(t1, {k: want[k] + two[k] for k in want})
    check_tag(t3, udp_expect(V4, 1, 10))


def test_install_leaves_sockets_tagged_by_tag_socket_alone():
    """While install() is in effect, the native tag_socket reports each socket object it
    tags to the auto-tagger, which then leaves that socket's tag alone; after uninstall()
    tag_socket reports nothing."""
    sink = UdpSink(V4)
    t1, t2, t3 = fresh_tag(), fresh_tag(), fresh_tag()
    qtag.install()
    s = socket.socket(V4, socket.SOCK_DGRAM)
    with qtag.tagged(t1):
        qtag.tag_socket(s)
    with qtag.tagged(t2):
        send_udp(s, 2, 70, sink.addr)             # s keeps t1
    qtag.uninstall()
    later = socket.socket(V4, socket.SOCK_DGRAM)
    with qtag.tagged(t3):
        qtag.tag_socket(later)                    # not installed: nothing remembered
    qtag.install()
    with qtag.tagged(t2):
        send_udp(later, 1, 30, sink.addr)         # so auto-tagging applies: t2
    qtag.uninstall()
    for x in (s, later):
        x.close()
    sink.close()
    check_tag(t1, udp_expect(V4, 2, 70))
    check_tag(t2, udp_expect(V4, 1, 30))
    assert t3 not in qtag.Stats.read().uid_tags(0)
