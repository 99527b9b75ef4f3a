"""Network-namespace helpers for the accounting, lifecycle and stress tests.

Two namespaces joined by a veth pair, configured so that nothing but the test's own traffic
crosses the link while it measures: no link-local addresses (addrgenmode none), static
neighbour entries (no ARP/ND), IPv6 addresses without DAD, no router solicitations, no
accepted RAs, and ICMP rate limits off. The test process enters a namespace with setns(2)
on its own thread (`with ns.enter(): ...`); sockets created inside stay in that namespace
after leaving it, and /proc/net inside shows that namespace's xt_qtaguid files.

Everything here runs real commands against the real kernel; nothing is faked.
"""
import contextlib
import ctypes
import json
import os
import select
import socket
import struct
import subprocess
import time

import qt

CLONE_NEWNET = 0x40000000
RTO_MIN = "3s"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), "setns")


def sh(*cmd, check=True):
    """Run a command, return its stdout; raise with its stderr on failure."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {p.returncode}: {p.stderr.strip()}")
    return p.stdout


class Netns:
    """A named network namespace (`ip netns add`), deleted by close()."""

    def __init__(self, name):
        self.name = name
        if os.path.exists(f"/run/netns/{name}"):
            sh("ip", "netns", "del", name, check=False)
        sh("ip", "netns", "add", name)
        self.path = f"/run/netns/{name}"
        # Quiet defaults first, so devices created or moved here later inherit them.
        for conf in ("all", "default"):
            for key, val in (("accept_ra", 0), ("router_solicitations", 0), ("accept_dad", 0),
                             ("dad_transmits", 0), ("addr_gen_mode", 1)):
                self.sysctl(f"net/ipv6/conf/{conf}/{key}", val, missing_ok=True)
        self.sysctl("net/ipv4/tcp_timestamps", 0)
        # No tail loss probes, and (below) a long minimum RTO: a TCG vCPU stalled for a few
        # ms must not make TCP retransmit, which would spoil TCP_INFO-exact checks.
        self.sysctl("net/ipv4/tcp_early_retrans", 0)
        self.sysctl("net/ipv4/icmp_ratelimit", 0)
        self.sysctl("net/ipv4/icmp_ratemask", 0)
        self.sysctl("net/ipv6/icmp/ratelimit", 0)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        for dst in ("127.0.0.0/8", "127.0.0.1"):
            self.ip("route", "replace", "table", "local", "local", dst, "dev", "lo",
                    "proto", "kernel", "scope", "host", "src", "127.0.0.1", "rto_min", RTO_MIN)
        # The kernel's ::1 route has metric 0, which netlink requests cannot name: swap it.
        self.ip("-6", "route", "del", "table", "local", "local", "::1", "dev", "lo")
        self.ip("-6", "route", "add", "table", "local", "local", "::1", "dev", "lo",
                "proto", "kernel", "rto_min", RTO_MIN)

    @contextlib.contextmanager
    def enter(self):
        """Run the body with this thread in the namespace (sockets made here stay here)."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(self.path, os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield self
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def sysctl(self, key, value, missing_ok=False):
        """Write /proc/sys/<key> (slashes) as seen from inside the namespace."""
        with self.enter():
            try:
                with open(f"/proc/sys/{key}", "w") as f:
                    f.write(f"{value}\n")
            except FileNotFoundError:
                if not missing_ok:
                    raise

    def ip(self, *args, check=True):
        return sh("ip", "-n", self.name, *args, check=check)

    def exec(self, *cmd, check=True):
        return sh("ip", "netns", "exec", self.name, *cmd, check=check)

    def socket(self, *args, **kw):
        with self.enter():
            return socket.socket(*args, **kw)

    def stats(self):
        """Parsed xt_qtaguid stats of this namespace (qt.read_stats checks header and idx).

        The tag column is normalised to the 32-bit tag whether the module prints it as
        Android does (the 64-bit acct_tag, tag << 32) or already shifted down.
        """
        with self.enter():
            rows = qt.read_stats()
        for r in rows:
            r["tag"] = norm_tag(r["tag"])
        return rows

    def ctrl_list(self):
        with self.enter():
            return qt.read_ctrl()

    def ctrl(self, cmd):
        """Write one ctrl command from inside the namespace; 0 or the errno."""
        with self.enter():
            return qt.write_ctrl(cmd)

    def tag(self, sock, tag=0, uid=None):
        with self.enter():
            qt.tag(sock, tag, uid)

    def untag(self, sock):
        with self.enter():
            qt.untag(sock)

    def dev_counters(self, ifname):
        """The device's own counters: {rx_bytes, rx_packets, tx_bytes, tx_packets}."""
        with self.enter():
            with open("/proc/net/dev") as f:
                lines = f.read().splitlines()[2:]
        for line in lines:
            name, rest = line.split(":", 1)
            if name.strip() == ifname:
                v = [int(x) for x in rest.split()]
                return {"rx_bytes": v[0], "rx_packets": v[1],
                        "tx_bytes": v[8], "tx_packets": v[9]}
        raise KeyError(ifname)

    def close(self):
        sh("ip", "netns", "del", self.name, check=False)


class VethPair:
    """Namespaces `a` and `b` joined by veth `ifa` <-> `ifb`, IPv4 and IPv6, no stray traffic.

    `b` has early demux disabled, so on its side the module has to find every receiving
    socket itself; `a` keeps the kernel default.
    """

    V4 = ("198.18.7.1", "198.18.7.2")          # RFC 2544 benchmarking range, private to the pair
    V6 = ("fd51:7a9:7::1", "fd51:7a9:7::2")
    MAC = ("02:51:7a:00:00:0a", "02:51:7a:00:00:0b")

    def __init__(self, prefix):
        self.a = Netns(prefix + "a")
        self.b = Netns(prefix + "b")
        self.ifa, self.ifb = prefix + "va", prefix + "vb"
        sh("ip", "link", "add", self.ifa, "address", self.MAC[0], "netns", self.a.name,
           "type", "veth", "peer", "name", self.ifb, "address", self.MAC[1],
           "netns", self.b.name)
        for key in ("ip_early_demux", "tcp_early_demux", "udp_early_demux"):
            self.b.sysctl(f"net/ipv4/{key}", 0, missing_ok=True)
        sides = ((self.a, self.ifa, 0, 1), (self.b, self.ifb, 1, 0))
        for ns, ifn, me, peer in sides:
            for key, val in (("accept_ra", 0), ("router_solicitations", 0), ("accept_dad", 0),
                             ("dad_transmits", 0)):
                ns.sysctl(f"net/ipv6/conf/{ifn}/{key}", val, missing_ok=True)
            ns.ip("link", "set", ifn, "addrgenmode", "none")
            ns.ip("addr", "add", f"{self.V4[me]}/24", "dev", ifn)
            ns.ip("-6", "addr", "add", f"{self.V6[me]}/64", "dev", ifn, "nodad")
            ns.ip("neigh", "add", self.V4[peer], "lladdr", self.MAC[peer], "dev", ifn,
                  "nud", "permanent")
            ns.ip("-6", "neigh", "add", self.V6[peer], "lladdr", self.MAC[peer], "dev", ifn,
                  "nud", "permanent")
        for ns, ifn, me, _ in sides:
            ns.ip("link", "set", ifn, "up")
            ns.ip("route", "replace", "198.18.7.0/24", "dev", ifn, "proto", "kernel",
                  "scope", "link", "src", self.V4[me], "rto_min", RTO_MIN)
            ns.ip("-6", "route", "replace", "fd51:7a9:7::/64", "dev", ifn, "proto", "kernel",
                  "metric", "256", "rto_min", RTO_MIN)
        self.offloads_on = True

    def addr(self, side, family):
        i = 0 if side == "a" else 1
        return self.V4[i] if family == socket.AF_INET else self.V6[i]

    def set_offloads(self, on):
        """tso/gso/gro/tx/rx checksum offloads on both ends on (True) or off (False)."""
        state = "on" if on else "off"
        for ns, ifn in ((self.a, self.ifa), (self.b, self.ifb)):
            ns.exec("ethtool", "-K", ifn, "tso", state, "gso", state, "gro", state,
                    "tx", state, "rx", state)
        self.offloads_on = on

    def counters(self):
        return {"a": self.a.dev_counters(self.ifa), "b": self.b.dev_counters(self.ifb)}

    def quiesce(self, quiet=0.6, timeout=15.0):
        """Wait until neither end's device counters move for `quiet` seconds."""
        end = time.monotonic() + timeout
        last = self.counters()
        since = time.monotonic()
        while time.monotonic() < end:
            time.sleep(0.1)
            now = self.counters()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise AssertionError(f"veth never went quiet: {last}")

    def close(self):
        self.a.close()
        self.b.close()


@contextlib.contextmanager
def as_euid(uid):
    """Create sockets inside the body owned by `uid` (effective and fs uid; root stays real)."""
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)


# ---------------------------------------------------------------- stats arithmetic

def norm_tag(v):
    """acct_tag column -> 32-bit tag (Android prints tag << 32; low 32 bits are zero)."""
    return v >> 32 if v >= 1 << 32 else v


def delta(before, after, **match):
    """Counter deltas of the rows matching `match`, summed (rows absent before count 0)."""
    b = qt.sum_rows(before, **match)
    a = qt.sum_rows(after, **match)
    return {k: a[k] - b[k] for k in qt.COUNTERS}


def traffic(d):
    """The four headline counters of a delta dict, for readable assertion messages."""
    return {k: d[k] for k in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")}


# ---------------------------------------------------------------- TCP_INFO

TCP_INFO_LEN = 232
# Offsets checked against include/uapi/linux/tcp.h of 6.1 and 6.12 (struct tcp_info).
_TI = {"unacked": (24, "I"), "total_retrans": (100, "I"), "bytes_received": (128, "Q"),
       "segs_out": (136, "I"), "segs_in": (140, "I"), "bytes_sent": (200, "Q"),
       "bytes_retrans": (208, "Q")}


def tcp_info(sock):
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LEN)
    assert len(raw) >= TCP_INFO_LEN, f"short tcp_info ({len(raw)} bytes)"
    return {k: struct.unpack_from("=" + t, raw, off)[0] for k, (off, t) in _TI.items()}


def tcp_settle(socks, quiet=0.5, timeout=10.0):
    """Wait until every socket has nothing unacked and its segment counters are still for
    `quiet` seconds (delayed ACKs have gone out); return their final tcp_info dicts."""
    end = time.monotonic() + timeout
    last = [tcp_info(s) for s in socks]
    since = time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        now = [tcp_info(s) for s in socks]
        if now != last or any(i["unacked"] for i in now):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"TCP never settled: {last}")


def tcp_connect(client_ns, server_ns, family, server_addr, port=0):
    """A connected TCP pair: (client socket in client_ns, accepted socket in server_ns)."""
    lst = server_ns.socket(family, socket.SOCK_STREAM)
    lst.bind((server_addr, port))
    lst.listen(4)
    cli = client_ns.socket(family, socket.SOCK_STREAM)
    cli.connect(lst.getsockname()[:2])
    srv, _ = lst.accept()
    lst.close()
    return cli, srv


def pump(src, dst, nbytes, chunk=65536):
    """Send nbytes from src to dst (both connected TCP sockets) and read them all."""
    src.setblocking(False)
    dst.setblocking(False)
    buf = b"\x5a" * chunk
    sent = got = 0
    try:
        while got < nbytes:
            want_w = [src] if sent < nbytes else []
            r, w, _ = select.select([dst], want_w, [], 10.0)
            if not r and not w:
                raise AssertionError(f"TCP transfer stalled at sent={sent} got={got}")
            if w:
                sent += src.send(buf[:min(chunk, nbytes - sent)])
            if r:
                data = dst.recv(1 << 20)
                assert data, "peer closed during transfer"
                got += len(data)
    finally:
        src.setblocking(True)
        dst.setblocking(True)
    assert got == nbytes


def udp_send_recv(tx, rx, dest, payload, count, batch=16):
    """Send `count` datagrams of `payload` bytes from tx to dest and receive them all on rx."""
    data = b"\xa5" * payload
    rx.settimeout(5.0)
    done = 0
    while done < count:
        n = min(batch, count - done)
        for _ in range(n):
            assert tx.sendto(data, dest) == payload
        for _ in range(n):
            got = rx.recv(65536)
            assert len(got) == payload
        done += n


# ---------------------------------------------------------------- qdisc truth

def qdisc_root_stats(ns, ifname):
    """(bytes, packets) of the root qdisc of ifname, as `tc -s -j` reports them."""
    out = json.loads(sh("tc", "-n", ns.name, "-s", "-j", "qdisc", "show", "dev", ifname))
    for q in out:
        if q.get("root"):
            return q["bytes"], q["packets"]
    raise AssertionError(f"no root qdisc on {ifname}: {out}")


# ---------------------------------------------------------------- kernel memory probes

def sockets_used():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("sockets:"):
                return int(line.split()[2])
    raise AssertionError("no sockets: line in /proc/net/sockstat")


def meminfo_kb(*keys):
    vals = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            vals[k] = int(v.split()[0])
    return sum(vals[k] for k in keys)


def slab_objects(name):
    """Active objects of one slab cache from /proc/slabinfo (None if it is merged away)."""
    with open("/proc/slabinfo") as f:
        for line in f:
            f_ = line.split()
            if f_ and f_[0] == name:
                return int(f_[1])
    return None


def drop_caches():
    subprocess.run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def dmesg_problems(text):
    """Lines of kernel log text that look like a kernel bug report."""
    bad = ("WARNING:", "BUG:", "BUG ", "Oops", "refcount_t", "refcount:", "leak",
           "general protection", "KASAN", "UBSAN", "list_add corruption",
           "list_del corruption", "kernel BUG", "Call Trace", "RCU stall", "rcu_sched",
           "soft lockup", "hung_task", "blocked for more than")
    return [l for l in text.splitlines() if any(b in l for b in bad)]


# ---------------------------------------------------------------- test programs

def testbin(name):
    """Path of the compiled kmod/tests/<name>.c: from $QTAG_TESTBIN (the harness builds every
    one there), else compiled now with the harness's flags into a temporary folder."""
    d = os.environ.get("QTAG_TESTBIN")
    if d and os.path.exists(os.path.join(d, name)):
        return os.path.join(d, name)
    import tempfile
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".c")
    out = os.path.join(tempfile.gettempdir(), f"qtag-testbin-{os.getpid()}-{name}")
    if not os.path.exists(out):
        sh("gcc", "-O2", "-Wall", "-Werror", "-pthread", "-o", out, src)
    return out


def kmsg_mark(text):
    """Write a marker line into the kernel log; returns it for dmesg_since()."""
    line = f"qtag-test: {text} {time.monotonic_ns()}"
    with open("/dev/kmsg", "w") as f:
        f.write(line + "\n")
    return line


def dmesg_since(marker):
    text = qt.dmesg()
    i = text.rfind(marker)
    return text[i:] if i >= 0 else text
