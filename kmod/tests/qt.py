"""Small helpers for talking to the xt_qtaguid module from tests.

Everything here goes through the real /proc and /dev files; nothing is faked.
"""
import errno
import os
import subprocess
import time

PROC = "/proc/net/xt_qtaguid"
CTRL = PROC + "/ctrl"
STATS = PROC + "/stats"

STATS_HEADER = (
    "idx iface acct_tag_hex uid_tag_int cnt_set rx_bytes rx_packets tx_bytes tx_packets "
    "rx_tcp_bytes rx_tcp_packets rx_udp_bytes rx_udp_packets rx_other_bytes rx_other_packets "
    "tx_tcp_bytes tx_tcp_packets tx_udp_bytes tx_udp_packets tx_other_bytes tx_other_packets"
)
COUNTERS = STATS_HEADER.split()[5:]


def ko_path():
    """Path of the xt_qtaguid.ko built for the running kernel (set by the VM harness)."""
    return os.environ["QTAG_KO"]


def load(**params):
    """(Re)load the module with the given module parameters."""
    unload()
    for dep in ("nf_socket_ipv4", "nf_socket_ipv6"):
        subprocess.run(["modprobe", dep], check=True)
    args = [f"{k}={v}" for k, v in params.items()]
    subprocess.run(["insmod", ko_path(), *args], check=True)


def unload():
    if os.path.exists("/sys/module/xt_qtaguid"):
        subprocess.run(["rmmod", "xt_qtaguid"], check=True)


def write_ctrl(cmd, fd=None):
    """Write one command to ctrl; return 0 on success or the errno of the failure.

    `fd` may be an already open ctrl file descriptor (e.g. one opened by another uid).
    """
    data = cmd if isinstance(cmd, bytes) else cmd.encode()
    own = fd is None
    if own:
        fd = os.open(CTRL, os.O_WRONLY)
    try:
        n = os.write(fd, data)
        assert n == len(data), (n, len(data))
        return 0
    except OSError as e:
        return e.errno
    finally:
        if own:
            os.close(fd)


def tag_cmd(fd, tag=0, uid=None):
    """The command string libcutils would write: the tag goes in the high 32 bits."""
    if uid is None:
        return f"t {fd} {tag << 32}"
    return f"t {fd} {tag << 32} {uid}"


def tag(sock_or_fd, tag=0, uid=None):
    fd = sock_or_fd if isinstance(sock_or_fd, int) else sock_or_fd.fileno()
    err = write_ctrl(tag_cmd(fd, tag, uid))
    if err:
        raise OSError(err, os.strerror(err), f"tag fd={fd} tag={tag} uid={uid}")


def untag(sock_or_fd):
    fd = sock_or_fd if isinstance(sock_or_fd, int) else sock_or_fd.fileno()
    err = write_ctrl(f"u {fd}")
    if err:
        raise OSError(err, os.strerror(err), f"untag fd={fd}")


def read_ctrl():
    """Return (tagged sockets as dicts, events as a dict) from reading ctrl."""
    with open(CTRL) as f:
        lines = f.read().splitlines()
    assert lines and lines[-1].startswith("events: "), lines[-1:]
    socks = []
    for line in lines[:-1]:
        # sock=<id> tag=0x<hex> (uid=<uid>) pid=<pid> f_count=<n>
        fields = line.replace("(", "").replace(")", "").split()
        d = dict(f.split("=", 1) for f in fields)
        socks.append({
            "sock": d["sock"],
            "tag": int(d["tag"], 16),
            "uid": int(d["uid"]),
            "pid": int(d["pid"]),
            "f_count": int(d["f_count"]),
        })
    events = dict((k, int(v)) for k, v in (f.split("=") for f in lines[-1].split()[1:]))
    return socks, events


def read_stats(path=STATS, fd=None):
    """Parse stats with Android's rules: exact header, idx consecutive from 2.

    Returns a list of dicts with iface, tag (the 32-bit tag: the file shows it as the 64-bit
    0x<tag << 32>, like Android), uid, set and the 16 counters.
    """
    if fd is None:
        with open(path) as f:
            text = f.read()
    else:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        text = b"".join(chunks).decode()
    lines = text.splitlines()
    assert lines[0] == STATS_HEADER, lines[0]
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        f = line.split()
        assert len(f) == 21, line
        assert int(f[0]) == n, f"idx {f[0]} where {n} expected: {line}"
        assert f[2].startswith("0x"), line
        acct_tag = int(f[2], 16)
        assert acct_tag & 0xFFFFFFFF == 0, f"low 32 bits of acct_tag set: {line}"
        row = {"iface": f[1], "tag": acct_tag >> 32, "uid": int(f[3]), "set": int(f[4])}
        row.update(zip(COUNTERS, map(int, f[5:])))
        rows.append(row)
    return rows


def sum_rows(rows, **match):
    """Sum the counters of the rows whose fields equal `match` (e.g. iface=, uid=, tag=)."""
    total = dict.fromkeys(COUNTERS, 0)
    for r in rows:
        if all(r[k] == v for k, v in match.items()):
            for c in COUNTERS:
                total[c] += r[c]
    return total


def dmesg():
    return subprocess.run(["dmesg"], capture_output=True, text=True).stdout


def wait_for(pred, timeout=1.0, step=0.02):
    """Poll pred() until true or timeout; return the last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


EBADF, EINVAL, EPERM, ENOTSOCK, EMFILE, EBUSY = (
    errno.EBADF, errno.EINVAL, errno.EPERM, errno.ENOTSOCK, errno.EMFILE, errno.EBUSY)


# ---- running code as another user (added for the privilege and compatibility tests) ----

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def setpriv_argv(uid, gid=None, groups=()):
    """argv prefix that runs a command as uid/gid with exactly `groups` as supplementary
    groups (none by default) and, for a non-zero uid, no capabilities."""
    gid = uid if gid is None else gid
    argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}"]
    if groups:
        argv.append("--groups=" + ",".join(str(g) for g in groups))
    else:
        argv.append("--clear-groups")
    return argv + ["--"]


def run_as(uid, argv, gid=None, groups=(), pass_fds=(), timeout=60, input=None):
    """Run argv as another user; return the CompletedProcess (text, output captured)."""
    return subprocess.run(setpriv_argv(uid, gid, groups) + list(argv), capture_output=True,
                          text=True, pass_fds=tuple(pass_fds), timeout=timeout, input=input,
                          cwd="/tmp")


def py_as(uid, code, gid=None, groups=(), pass_fds=(), timeout=60):
    """Run a Python snippet as another user and return what it printed last, as JSON.

    The snippet runs with `qt` importable and should end with `print(json.dumps(...))`;
    a non-zero exit raises AssertionError with the child's stderr.
    """
    import json
    import sys
    prog = f"import sys; sys.path.insert(0, {TESTS_DIR!r})\n" + code
    p = run_as(uid, [sys.executable, "-c", prog], gid=gid, groups=groups,
               pass_fds=pass_fds, timeout=timeout)
    assert p.returncode == 0, f"child (uid {uid}) failed: rc={p.returncode}\n{p.stderr}"
    lines = p.stdout.strip().splitlines()
    assert lines, f"child (uid {uid}) printed nothing; stderr: {p.stderr}"
    return json.loads(lines[-1])


def ctrl_lines():
    """The tagged-socket lines of ctrl (without the events line), as raw text."""
    with open(CTRL) as f:
        lines = f.read().splitlines()
    return [l for l in lines if not l.startswith("events:")]


def udp_send(n, size, dst=("127.0.0.1", 9), sock=None, family=None):
    """Send n datagrams of size bytes to dst from sock (a new UDP socket if None).
    Returns the socket used (caller closes it)."""
    import socket
    if sock is None:
        fam = family or (socket.AF_INET6 if ":" in dst[0] else socket.AF_INET)
        sock = socket.socket(fam, socket.SOCK_DGRAM)
    payload = b"q" * size
    for _ in range(n):
        sock.sendto(payload, dst)
    return sock


def call_as(uid, fn, *args, gid=None, groups=(), timeout=60, **kwargs):
    """Run fn(*args, **kwargs) in a forked child that dropped to uid/gid with exactly
    `groups` as supplementary groups (a non-zero uid has no capabilities left); return its
    JSON-able result. Much faster than starting a new interpreter (setpriv) under TCG.
    An exception in the child is raised here as AssertionError with its traceback.
    """
    import json
    import select
    import traceback
    gid = uid if gid is None else gid
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        try:
            os.close(r)
            try:
                os.setgroups(list(groups))
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
                data = json.dumps({"ok": fn(*args, **kwargs)})
            except BaseException:
                data = json.dumps({"error": traceback.format_exc()})
            b = data.encode()
            while b:
                b = b[os.write(w, b):]
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    end = time.monotonic() + timeout
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                os.kill(pid, 9)
                raise AssertionError(f"child as uid {uid} timed out after {timeout} s")
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    res = json.loads(b"".join(chunks) or b'{"error": "child died without a result"}')
    if "error" in res:
        raise AssertionError(f"child as uid {uid} (groups {list(groups)}) failed:\n"
                             + res["error"])
    return res["ok"]


# ---- namespaces of an unprivileged user ----

CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
PR_SET_DUMPABLE = 4


def unshare_user_and_net(new_user=True):
    """`unshare -Urn` from an unprivileged process: root of a new user namespace that maps
    only the caller's uid, in a new network namespace with lo up. new_user=False: only a
    new network namespace (for a process that already administers its user namespace)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    # A process that dropped root is not dumpable, so its /proc/self files are root's.
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    if libc.unshare((CLONE_NEWUSER if new_user else 0) | CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), "unshare")
    if new_user:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                           ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
