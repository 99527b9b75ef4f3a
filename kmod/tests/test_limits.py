"""Resource bounds (kmod/README, "Security"): what one user can make the kernel keep.

- Tagged stats entries are budgeted per billed uid over every namespace
  (max_uid_stats_entries) and per namespace (max_stats_entries). A uid that spends its
  budget loses only its own new tag rows, counted in the events line as
  stats_packets_lost; its total row and every other uid's rows keep counting.
- A user's namespaces share its budget: creating more of them buys nothing.
- Stats entries are charged to the memory cgroup of the socket whose packet made them, and
  interface entries (which outlive their devices) to whoever created the device.
"""
import os
import socket
import subprocess
import time

import pytest

import qt

APP, OTHER = 1000, 1001
STATS_ENTRY_BYTES = 80      # the slab object; per-CPU counters come on top
IFACE_ENTRY_BYTES = 400     # struct qt_iface; per-CPU counters come on top
MEMCG_FLUSH = 2.2           # memory.stat may lag charges by up to 2 s


def lost():
    return qt.read_ctrl()[1]["stats_packets_lost"]


def tagged_entries(rows, uid=None):
    """(iface, tag, uid) entries with a tag, from parsed stats rows."""
    return {(r["iface"], r["tag"], r["uid"]) for r in rows
            if r["tag"] and (uid is None or r["uid"] == uid)}


def totals(rows, uid):
    return qt.sum_rows(rows, uid=uid, tag=0)


def send_tagged(tags, port, size=100):
    """One datagram to 127.0.0.1:port per tag, from one socket re-tagged each time."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    errs = []
    for t in tags:
        errs.append(qt.write_ctrl(f"t {s.fileno()} {t << 32}"))
        s.sendto(b"q" * size, ("127.0.0.1", port))
    s.close()
    return errs


@pytest.fixture
def sink():
    """A root UDP socket on loopback that takes (and drops) whatever is sent to it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    yield s.getsockname()[1]
    s.close()


def test_a_uid_over_its_budget_loses_only_its_own_new_tag_rows(reload_module, sink):
    reload_module(max_uid_stats_entries=20)
    lost0 = lost()
    before = qt.read_stats()
    errs = qt.call_as(APP, send_tagged, range(0x7100, 0x7100 + 30), sink)
    assert errs == [0] * 30, "tagging itself is not limited by stats entries"
    assert qt.call_as(OTHER, send_tagged, range(0x7200, 0x7205), sink) == [0] * 5
    after = qt.read_stats()

    app = tagged_entries(after, APP) - tagged_entries(before, APP)
    assert {t for _, t, _ in app} == set(range(0x7100, 0x7100 + 20)), "the first 20 tags"
    other = tagged_entries(after, OTHER) - tagged_entries(before, OTHER)
    assert {t for _, t, _ in other} == set(range(0x7200, 0x7205)), "another uid's rows"
    wire = 100 + 8 + 20
    for uid, n in ((APP, 30), (OTHER, 5)):
        got = totals(after, uid)["tx_bytes"] - totals(before, uid)["tx_bytes"]
        assert got == n * wire, f"uid {uid}'s total row missed packets"
    for t in range(0x7200, 0x7205):
        assert qt.sum_rows(after, uid=OTHER, tag=t)["tx_bytes"] == wire
    assert lost() - lost0 == 10, "the 10 refused tag rows' packets are counted as lost"

    # Deleting rows gives the budget back.
    assert qt.write_ctrl(f"d 0 {APP}") == 0
    assert qt.call_as(APP, send_tagged, [0x7180], sink) == [0]
    assert qt.sum_rows(qt.read_stats(), uid=APP, tag=0x7180)["tx_bytes"] == wire


def test_namespace_limit_counts_tagged_entries_only(reload_module, sink):
    reload_module(max_stats_entries=10)
    before = qt.read_stats()
    qt.call_as(APP, send_tagged, range(0x7300, 0x7300 + 15), sink)
    after = qt.read_stats()
    assert len(tagged_entries(after, APP) - tagged_entries(before, APP)) == 10
    assert totals(after, APP)["tx_packets"] - totals(before, APP)["tx_packets"] == 15


# ---------------------------------------------------------------- namespaces and memcg


def fill_namespaces(n_ns, tags_per_ns, stats_fds):
    """In n_ns network namespaces of a user namespace of its own, send one datagram for each
    of tags_per_ns new tags; keep each namespace's stats file open (stats_fds)."""
    keep = []
    for i in range(n_ns):
        qt.unshare_user_and_net(new_user=(i == 0))
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("127.0.0.1", 0))
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for t in range(tags_per_ns):
            qt.tag(s, 0x7400 + t)
            s.sendto(b"m", rx.getsockname())
            if t % 64 == 63:
                while True:
                    try:
                        rx.recv(16, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
        stats_fds.append(os.open(qt.STATS, os.O_RDONLY))
        keep += [rx, s]
    return keep


def budget_over_namespaces(n_ns, tags_per_ns):
    fds = []
    keep = fill_namespaces(n_ns, tags_per_ns, fds)
    entries = sum(len(tagged_entries(qt.read_stats(fd=fd))) for fd in fds)
    for x in keep:
        x.close()
    return entries


def test_namespaces_of_one_user_share_its_budget(reload_module):
    reload_module(max_uid_stats_entries=50)
    assert qt.call_as(APP, budget_over_namespaces, 3, 40) == 50


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            dev, path, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return path
    path = "/tmp/qtag-cgroup2"
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "cgroup2", "none", path], check=True)
    return path


@pytest.fixture
def memcg():
    root = cgroup2_root()
    with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
        f.write("+memory")
    path = os.path.join(root, f"qtag-test-{os.getpid()}")
    os.mkdir(path)
    with open(os.path.join(path, "memory.max"), "w") as f:
        f.write(str(256 << 20))
    yield path
    os.rmdir(path)


def kernel_bytes(cg):
    """Slab and per-CPU memory charged to the cgroup."""
    with open(os.path.join(cg, "memory.stat")) as f:
        stat = dict(line.split() for line in f)
    return int(stat["slab"]) + int(stat["percpu"])


def _charged_child(memcg, setup, work, ready, go):
    with open(os.path.join(memcg, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    os.setgroups([])
    os.setresgid(APP, APP, APP)
    os.setresuid(APP, APP, APP)
    qt.unshare_user_and_net()
    state = setup()
    os.write(ready, b"r")
    os.read(go, 1)
    work(state)
    os.write(ready, b"d")
    os.read(go, 1)


def charged_by(memcg, setup, work):
    """Kernel memory charged to memcg while a child in it, as APP in a user and network
    namespace of its own, runs work(setup()); setup's own allocations are not counted."""
    go_r, go_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(go_w)
            os.close(ready_r)
            _charged_child(memcg, setup, work, ready_w, go_r)
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"r", "the child failed before its work"
        time.sleep(MEMCG_FLUSH)
        before = kernel_bytes(memcg)
        os.write(go_w, b"g")
        assert os.read(ready_r, 1) == b"d", "the child failed during its work"
        time.sleep(MEMCG_FLUSH)
        charged = kernel_bytes(memcg) - before
        os.write(go_w, b"g")
    finally:
        os.close(go_w)
        os.close(ready_r)
        _, status = os.waitpid(pid, 0)
    assert status == 0, "the child failed"
    return charged


def udp_pair():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"w", rx.getsockname())            # the uid's total row
    rx.recv(16)
    return s, rx


def make_tag_rows(n):
    def work(pair):
        s, rx = pair
        for t in range(n):
            qt.tag(s, 0x7500 + t)
            s.sendto(b"m", rx.getsockname())
            rx.recv(16)
    return work


def test_stats_entries_are_charged_to_the_sockets_memory_cgroup(memcg):
    """Each entry a user's traffic creates (here 3,000 in a namespace of its own) is
    charged to the memory cgroup its socket was made in."""
    n = 3000
    charged = charged_by(memcg, udp_pair, make_tag_rows(n))
    assert charged >= n * STATS_ENTRY_BYTES, f"{charged} bytes charged for {n} stats entries"


def churn_dummies(n):
    def work(_):
        for i in range(n):
            subprocess.run(["ip", "link", "add", f"qd{i}", "type", "dummy"], check=True)
            subprocess.run(["ip", "link", "del", f"qd{i}"], check=True)
    return work


def test_interface_entries_are_charged_to_whoever_creates_the_device(memcg):
    """An interface entry outlives its device (its counters are kept by name). A user who
    creates and deletes devices in a namespace of its own pays for the entries it leaves."""
    subprocess.run(["modprobe", "dummy"], check=True)
    n = 100
    charged = charged_by(memcg, lambda: None, churn_dummies(n))
    assert charged >= n * IFACE_ENTRY_BYTES, f"{charged} bytes charged for {n} interface entries"
