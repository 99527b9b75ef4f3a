"""Privilege rules (kmod/README.md: Semantics, Security): who may tag for whom, change counter
sets, delete data and read whose rows; privilege is judged on the opener of the file *and*
its user; default file modes.

Unprivileged code runs as uid 1000/1001 with no capabilities and chosen supplementary
groups: in a forked child that dropped its ids (qt.call_as, fast), and for a few checks in
a new program started with setpriv (qt.run_as).
"""
import os
import signal
import socket
import stat
import sys

import qt
from qt import EINVAL, EPERM

ACCT_GID = 3007
STATS_GID = 3008
QTAG_PARAMS = {"acct_gid": ACCT_GID, "stats_gid": STATS_GID}

APP, OTHER = 1000, 1001


def udp():
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def listed():
    """(acct_tag, uid, pid) of every socket the caller sees in ctrl."""
    return [(x["tag"] >> 32, x["uid"], x["pid"]) for x in qt.read_ctrl()[0]]


def stats_keys(fd=None):
    rows = qt.read_stats(fd=fd)
    return sorted({(r["uid"], r["tag"]) for r in rows})


def send_udp(port, n=3, size=100, tag=None):
    s = udp()
    try:
        if tag is not None:
            assert qt.write_ctrl(f"t {s.fileno()} {tag << 32}") == 0
        qt.udp_send(n, size, ("127.0.0.1", port), sock=s)
    finally:
        s.close()
    return True


def traffic_as(uid, n=3, size=100, groups=()):
    """Make uid own some counted traffic: UDP datagrams over loopback to a root socket."""
    rx = udp()
    rx.bind(("127.0.0.1", 0))
    try:
        assert qt.call_as(uid, send_udp, rx.getsockname()[1], n, size, groups=groups)
        rx.settimeout(5)
        for _ in range(n):
            rx.recv(65536)
    finally:
        rx.close()


# ---------------------------------------------------------------- tagging own sockets


def test_unprivileged_tags_own_socket():
    def body():
        s = udp()
        fd = s.fileno()
        res = {
            "omitted": qt.write_ctrl(f"t {fd} {0x61 << 32}"),
            "minus1": qt.write_ctrl(f"t {fd} {0x62 << 32} -1"),
            "own": qt.write_ctrl(f"t {fd} {0x63 << 32} {APP}"),
            "notag": qt.write_ctrl(f"t {fd}"),
            "retag": qt.write_ctrl(f"t {fd} {0x64 << 32}"),
        }
        res["listed"] = listed()
        res["pid"] = os.getpid()
        res["untag"] = qt.write_ctrl(f"u {fd}")
        res["retag2"] = qt.write_ctrl(f"t {fd} {0x64 << 32} -1")
        res["delete_own_tag"] = qt.write_ctrl(f"d {0x64 << 32} -1")
        res["delete_default_uid"] = qt.write_ctrl(f"d {0x64 << 32}")
        res["delete_own"] = qt.write_ctrl(f"d 0 {APP}")
        res["delete_own_minus1"] = qt.write_ctrl("d 0 -1")
        s.close()
        return res

    out = qt.call_as(APP, body)
    for k in ("omitted", "minus1", "own", "notag", "retag", "untag", "retag2",
              "delete_own_tag", "delete_default_uid", "delete_own", "delete_own_minus1"):
        assert out[k] == 0, (k, os.strerror(out[k]))
    assert [0x64, APP, out["pid"]] in out["listed"], out["listed"]


def test_unprivileged_cannot_impersonate_set_or_delete_others():
    s = udp()
    try:
        # Data of OTHER that must survive the attempts.
        assert qt.write_ctrl(f"t {s.fileno()} {0x66 << 32} {OTHER}") == 0

        def body():
            c = udp()
            fd = c.fileno()
            res = {
                "tag_other": qt.write_ctrl(f"t {fd} {0x65 << 32} {OTHER}"),
                "tag_root": qt.write_ctrl(f"t {fd} {0x65 << 32} 0"),
                "set_own": qt.write_ctrl(f"s 1 {APP}"),
                "set_minus1": qt.write_ctrl("s 1 -1"),
                "set_other": qt.write_ctrl(f"s 1 {OTHER}"),
                "set_0": qt.write_ctrl(f"s 0 {APP}"),
                "delete_other": qt.write_ctrl(f"d 0 {OTHER}"),
                "delete_other_tag": qt.write_ctrl(f"d {0x66 << 32} {OTHER}"),
                "delete_root": qt.write_ctrl("d 0 0"),
            }
            res["listed"] = listed()
            c.close()
            return res

        out = qt.call_as(APP, body)
        for k, v in out.items():
            if k != "listed":
                assert v == EPERM, (k, v and os.strerror(v))
        assert all(t != 0x65 for t, _, _ in out["listed"]), out["listed"]
        assert [uid for t, uid, _ in listed() if t == 0x66] == [OTHER], \
            "an unprivileged d removed another uid's socket tag"
    finally:
        s.close()


def test_syntax_checked_before_privilege():
    """kmod/README: syntax and range are checked before privilege (EINVAL before EPERM)."""
    out = qt.call_as(APP, lambda: [qt.write_ctrl(c) for c in
                                   ("s 2 1001", "s x 1001", "s -1 1001", "t x",
                                    "d 1 1001", "d x 1001", "x")])
    assert out == [EINVAL] * 7, out


def test_acct_gid_members_may_impersonate():
    def body():
        c = udp()
        fd = c.fileno()
        res = {"tag_other": qt.write_ctrl(f"t {fd} {0x67 << 32} {OTHER}")}
        res["set_other"] = qt.write_ctrl(f"s 1 {OTHER}")
        res["set_back"] = qt.write_ctrl(f"s 0 {OTHER}")
        res["tag_root"] = qt.write_ctrl(f"t {fd} {0x68 << 32} 0")
        res["delete_other_tag"] = qt.write_ctrl(f"d {0x67 << 32} {OTHER}")
        res["delete_other"] = qt.write_ctrl(f"d 0 {OTHER}")
        res["untag"] = qt.write_ctrl(f"u {fd}")
        c.close()
        return res

    out = qt.call_as(APP, body, groups=(ACCT_GID,))
    for k in ("tag_other", "set_other", "set_back", "tag_root", "delete_other_tag",
              "delete_other", "untag"):
        assert out[k] == 0, (k, os.strerror(out[k]))
    # Impersonation is billed to the given uid: check it from root's side while it lasts.
    s = udp()
    try:
        def tag_for_other(fd):
            return qt.write_ctrl(f"t {fd} {0x69 << 32} {OTHER}")
        assert qt.call_as(APP, tag_for_other, s.fileno(), groups=(ACCT_GID,)) == 0
        assert [uid for t, uid, _ in listed() if t == 0x69] == [OTHER]
    finally:
        s.close()


def test_acct_gid_as_primary_group_counts_too():
    out = qt.call_as(APP, lambda: qt.write_ctrl(f"s 1 {OTHER}"), gid=ACCT_GID)
    assert out == 0, os.strerror(out)
    assert qt.write_ctrl(f"s 0 {OTHER}") == 0


def test_stats_gid_alone_gives_no_accounting_privilege():
    def body():
        c = udp()
        res = [qt.write_ctrl(f"t {c.fileno()} 0 {OTHER}"), qt.write_ctrl(f"s 1 {OTHER}"),
               qt.write_ctrl(f"d 0 {OTHER}")]
        c.close()
        return res

    out = qt.call_as(APP, body, groups=(STATS_GID,))
    assert out == [EPERM, EPERM, EPERM]


# ---------------------------------------------------------------- reading stats


def test_stats_visibility():
    traffic_as(APP)
    traffic_as(OTHER)
    root_uids = {uid for uid, _ in stats_keys()}
    assert {APP, OTHER} <= root_uids, root_uids

    # Unprivileged: only its own rows, idx still consecutive from 2 (read_stats checks).
    own = qt.call_as(APP, stats_keys)
    assert own, "uid 1000 sees no rows of its own traffic"
    assert {uid for uid, _ in own} == {APP}, own
    other = qt.call_as(OTHER, stats_keys)
    assert {uid for uid, _ in other} == {OTHER}, other
    # A member of stats_gid sees everyone's rows.
    everyone = qt.call_as(APP, stats_keys, groups=(STATS_GID,))
    assert {APP, OTHER} <= {uid for uid, _ in everyone}, everyone
    # acct_gid alone is not stats privilege.
    acct = qt.call_as(APP, stats_keys, groups=(ACCT_GID,))
    assert {uid for uid, _ in acct} == {APP}, acct


def test_unprivileged_sees_rows_of_its_tags():
    rx = udp()
    rx.bind(("127.0.0.1", 0))
    port = rx.getsockname()[1]

    def body():
        send_udp(port, n=4, size=50, tag=0x6a)
        mine = [r for r in qt.read_stats() if r["tag"] == 0x6a and r["iface"] == "lo"]
        return sorted((r["uid"], r["set"], r["tx_packets"], r["tx_bytes"]) for r in mine)

    try:
        out = qt.call_as(APP, body)
    finally:
        rx.close()
    assert out == [[APP, 0, 4, 4 * (50 + 28)], [APP, 1, 0, 0]], out


# ---------------------------------------------------------------- reading ctrl


def test_ctrl_listing_of_unprivileged_reader_shows_only_its_sockets():
    s = udp()
    try:
        assert qt.write_ctrl(f"t {s.fileno()} {0x6b << 32}") == 0

        def body():
            c = udp()
            assert qt.write_ctrl(f"t {c.fileno()} {0x6c << 32}") == 0
            socks, events = qt.read_ctrl()
            c.close()
            return {"socks": [(x["tag"] >> 32, x["uid"]) for x in socks],
                    "events": sorted(events)}

        out = qt.call_as(APP, body)
        assert [0x6c, APP] in out["socks"]
        assert all(uid == APP for _, uid in out["socks"]), out["socks"]
        assert len(out["events"]) == 13
        assert (0x6b, 0) in [(t, u) for t, u, _ in listed()]
        # A member of stats_gid sees every socket.
        seen = qt.call_as(APP, lambda: [(t, u) for t, u, _ in listed()], groups=(STATS_GID,))
        assert [0x6b, 0] in seen, seen
    finally:
        s.close()


# ---------------------------------------------------------------- f_cred rules


def fd_opened_by(uid, path, flags):
    """An fd for `path` opened by a process running as uid, passed back with SCM_RIGHTS."""
    parent, kid = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def body():
        fd = os.open(path, flags)
        socket.send_fds(kid, [b"x"], [fd])
        return True

    try:
        assert qt.call_as(uid, body) is True
        _, fds, _, _ = socket.recv_fds(parent, 16, 1)
        assert len(fds) == 1
        return fds[0]
    finally:
        parent.close()
        kid.close()


def test_root_writing_through_unprivileged_opened_fd_gets_no_privilege():
    cfd = fd_opened_by(APP, qt.CTRL, os.O_WRONLY)
    s = udp()
    try:
        assert qt.write_ctrl(f"t {s.fileno()} {0x6d << 32} 1234", fd=cfd) == EPERM
        assert qt.write_ctrl("s 1 1234", fd=cfd) == EPERM
        assert qt.write_ctrl("d 0 1234", fd=cfd) == EPERM
        assert all(t != 0x6d for t, _, _ in listed())
        # Through its own fd root may.
        assert qt.write_ctrl(f"t {s.fileno()} {0x6d << 32} 1234") == 0
        assert qt.write_ctrl("s 0 1234") == 0
    finally:
        os.close(cfd)
        s.close()


def test_root_reading_stats_through_unprivileged_opened_fd_sees_no_other_uid():
    traffic_as(APP)
    traffic_as(OTHER)
    sfd = fd_opened_by(APP, qt.STATS, os.O_RDONLY)
    try:
        uids = {uid for uid, _ in stats_keys(fd=sfd)}
        assert OTHER not in uids, f"an fd opened by uid {APP} showed uid {OTHER}: {uids}"
    finally:
        os.close(sfd)


def test_privileged_fd_lends_no_privilege_to_unprivileged_user():
    traffic_as(OTHER)
    cfd = os.open(qt.CTRL, os.O_WRONLY)
    sfd = os.open(qt.STATS, os.O_RDONLY)

    def body():
        c = udp()
        fd = c.fileno()
        res = {
            "tag_other": qt.write_ctrl(f"t {fd} {0x6e << 32} {OTHER}", fd=cfd),
            "set_other": qt.write_ctrl(f"s 1 {OTHER}", fd=cfd),
            "delete_other": qt.write_ctrl(f"d 0 {OTHER}", fd=cfd),
            "tag_own": qt.write_ctrl(f"t {fd} {0x6e << 32}", fd=cfd),
        }
        res["stats_uids"] = sorted({uid for uid, _ in stats_keys(fd=sfd)})
        c.close()
        return res

    try:
        out = qt.call_as(APP, body)
    finally:
        os.close(cfd)
        os.close(sfd)
    assert out["tag_other"] == EPERM
    assert out["set_other"] == EPERM
    assert out["delete_other"] == EPERM
    assert out["tag_own"] == 0, os.strerror(out["tag_own"])
    assert OTHER not in out["stats_uids"], out["stats_uids"]


# ---------------------------------------------------------------- user namespaces
#
# Any user can own a user namespace and administer a network namespace of its own
# (unshare -Urn). That must never let it bill, limit or delete another uid: a uid other
# than the writer's own needs privilege over the namespace the command acts on (for `t`,
# the socket's) and must be mapped in the user namespace that owns it (kmod/README).

def in_own_namespace(send):
    """Child body: enter a namespace of its own, hand its ctrl fd and a socket made there
    to the parent (over the unix socket `send`), then wait to be killed."""
    qt.unshare_user_and_net()
    ctrl = os.open(qt.CTRL, os.O_WRONLY)
    inner = udp()
    socket.send_fds(send, [b"x"], [ctrl, inner.fileno()])
    while True:
        signal.pause()


def attack_through_own_namespace():
    """Run as an unprivileged user: every way its namespace could lend it power over OTHER
    and root. Returns the errno of each attempt."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        try:
            in_own_namespace(theirs)
        finally:
            os._exit(1)
    try:
        _, (ns_ctrl, ns_sock), _, _ = socket.recv_fds(mine, 16, 2)
        outside = os.open(f"/proc/{pid}/net/xt_qtaguid/ctrl", os.O_WRONLY)
        init_sock = udp()
        res = {}
        for via_name, via in (("opened_outside", outside), ("passed_out", ns_ctrl)):
            for sock_name, fd in (("init_socket", init_sock.fileno()), ("ns_socket", ns_sock)):
                for uid in (OTHER, 0):
                    res[f"t {via_name} {sock_name} uid {uid}"] = qt.write_ctrl(
                        f"t {fd} {0x71 << 32} {uid}", fd=via)
            res[f"s {via_name}"] = qt.write_ctrl(f"s 1 {OTHER}", fd=via)
            res[f"d {via_name}"] = qt.write_ctrl(f"d 0 {OTHER}", fd=via)
            res[f"d tag {via_name}"] = qt.write_ctrl(f"d {0x72 << 32} {OTHER}", fd=via)
        # Billing itself stays allowed, whichever namespace the socket is in.
        res["own init_socket"] = qt.write_ctrl(f"t {init_sock.fileno()} {0x73 << 32}",
                                               fd=outside)
        res["own ns_socket"] = qt.write_ctrl(f"t {ns_sock} {0x73 << 32}", fd=ns_ctrl)
        init_sock.close()
        for fd in (outside, ns_ctrl, ns_sock):
            os.close(fd)
        return res
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        mine.close()
        theirs.close()


def test_owner_of_a_namespace_cannot_bill_or_touch_other_uids(reload_module):
    reload_module(acct_gid=ACCT_GID, stats_gid=STATS_GID, max_sock_tags=2)
    s = udp()
    try:
        # OTHER's data that the attempts must leave alone: a tag and foreground set 1.
        assert qt.write_ctrl(f"t {s.fileno()} {0x72 << 32} {OTHER}") == 0
        out = qt.call_as(APP, attack_through_own_namespace)
        own = {k: out.pop(k) for k in ("own init_socket", "own ns_socket")}
        assert own == {"own init_socket": 0, "own ns_socket": 0}, own
        assert out == dict.fromkeys(out, EPERM), \
            {k: os.strerror(v) if v else "succeeded" for k, v in out.items() if v != EPERM}
        assert [u for t, u, _ in listed() if t == 0x71] == [], "billed to another uid"
        assert [u for t, u, _ in listed() if t == 0x72] == [OTHER], "OTHER's tag deleted"

        # OTHER's max_sock_tags (2) is still its own: one used above, one left.
        def tag_two():
            a, b = udp(), udp()
            res = [qt.write_ctrl(f"t {x.fileno()} {0x74 << 32}") for x in (a, b)]
            a.close()
            b.close()
            return res
        assert qt.call_as(OTHER, tag_two) == [0, qt.EMFILE]
    finally:
        s.close()


def test_setpriv_program_as_unprivileged_user():
    """A separate program (not a fork of root's) started by setpriv: same rules."""
    code = (
        "import os, socket, sys\n"
        f"sys.path.insert(0, {qt.TESTS_DIR!r})\n"
        "import qt\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "print(qt.write_ctrl(f't {s.fileno()} {0x6f << 32}'),"
        f" qt.write_ctrl(f't {{s.fileno()}} {{0x6f << 32}} {OTHER}'),"
        f" qt.write_ctrl('s 1 {APP}'))\n"
    )
    p = qt.run_as(APP, [sys.executable, "-c", code])
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", str(EPERM), str(EPERM)], p.stdout
    p = qt.run_as(APP, [sys.executable, "-c", code], groups=(ACCT_GID,))
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "0", "0"], p.stdout
    assert qt.write_ctrl(f"s 0 {APP}") == 0


# ---------------------------------------------------------------- file modes


DEFAULT_MODES = {
    "/proc/net/xt_qtaguid/ctrl": 0o666,
    "/proc/net/xt_qtaguid/stats": 0o444,
    "/proc/net/xt_qtaguid/iface_stat_all": 0o444,
    "/proc/net/xt_qtaguid/iface_stat_fmt": 0o444,
    "/dev/xt_qtaguid": 0o644,
}


def test_default_modes_and_access(reload_module):
    reload_module()  # defaults, not this file's group parameters
    for path, mode in DEFAULT_MODES.items():
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == mode, f"{path}: {oct(stat.S_IMODE(st.st_mode))}"
    assert stat.S_ISCHR(os.stat("/dev/xt_qtaguid").st_mode)

    def body():
        res = {}
        for p, flags in ((qt.CTRL, os.O_RDWR), (qt.STATS, os.O_RDONLY),
                         ("/dev/xt_qtaguid", os.O_RDONLY), (qt.STATS, os.O_WRONLY),
                         ("/dev/xt_qtaguid", os.O_RDWR)):
            try:
                os.close(os.open(p, flags))
                res[f"{p}:{flags}"] = 0
            except OSError as e:
                res[f"{p}:{flags}"] = e.errno
        return res

    out = qt.call_as(APP, body)
    assert out[f"{qt.CTRL}:{os.O_RDWR}"] == 0
    assert out[f"{qt.STATS}:{os.O_RDONLY}"] == 0
    assert out[f"/dev/xt_qtaguid:{os.O_RDONLY}"] == 0
    assert out[f"{qt.STATS}:{os.O_WRONLY}"] != 0
    assert out[f"/dev/xt_qtaguid:{os.O_RDWR}"] != 0


def test_mode_parameters(reload_module):
    reload_module(ctrl_mode=0o600, stats_mode=0o400, iface_mode=0o400, dev_mode=0o600)
    assert stat.S_IMODE(os.stat(qt.CTRL).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(qt.STATS).st_mode) == 0o400
    assert stat.S_IMODE(os.stat(qt.PROC + "/iface_stat_fmt").st_mode) == 0o400
    assert stat.S_IMODE(os.stat("/dev/xt_qtaguid").st_mode) == 0o600

    def body():
        try:
            os.close(os.open(qt.CTRL, os.O_WRONLY))
            return 0
        except OSError as e:
            return e.errno

    assert qt.call_as(APP, body) == 13  # EACCES
