"""ctrl commands: every success and error case of kmod/README.md's command table, the ctrl listing and
/dev/xt_qtaguid. Run as root (accounting privilege via CAP_NET_ADMIN).

After every rejected write the listing of tagged sockets must be unchanged and the module
must still accept good commands.
"""
import errno
import itertools
import os
import socket
import tempfile

import pytest

import qt
from qt import EBADF, EBUSY, EINVAL, EMFILE, ENOTSOCK

EVENT_FIELDS = [
    "sockets_tagged", "sockets_untagged", "counter_set_changes", "delete_cmds",
    "iface_events", "match_calls", "match_calls_prepost", "match_found_sk",
    "match_found_sk_in_ct", "match_found_no_sk_in_ct", "match_no_sk", "match_no_sk_gid",
    "stats_packets_lost",
]

_tags = itertools.count(0x5100)


def new_tag():
    """A tag value no other test uses, so its listing lines are ours."""
    return next(_tags)


def listing():
    """Tagged sockets as comparable tuples (f_count left out: it is not ours to fix)."""
    socks, _ = qt.read_ctrl()
    return sorted((s["sock"], s["tag"], s["uid"], s["pid"]) for s in socks)


def ours(tag):
    """Listing entries carrying acct_tag `tag` (as the full 64-bit value)."""
    socks, _ = qt.read_ctrl()
    return [s for s in socks if s["tag"] >> 32 == tag]


def udp():
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


@pytest.fixture
def tagged():
    """A UDP socket tagged with a fresh tag, so a wrongly applied command would show."""
    s = udp()
    t = new_tag()
    assert qt.write_ctrl(qt.tag_cmd(s.fileno(), t)) == 0
    yield s, t
    s.close()


def module_still_works():
    s = udp()
    try:
        t = new_tag()
        # Billed to a uid of its own, so that it works while uid 0 is at its tag limit.
        assert qt.write_ctrl(qt.tag_cmd(s.fileno(), t, 5999)) == 0, \
            "good t rejected after a bad write"
        assert len(ours(t)) == 1
        assert qt.write_ctrl(f"u {s.fileno()}") == 0, "good u rejected after a bad write"
        assert ours(t) == []
    finally:
        s.close()


def assert_rejected(cmd, expected, via=None):
    """Write cmd (through the open ctrl fd `via`, if given); its errno must be in
    `expected`; nothing may change."""
    expected = (expected,) if isinstance(expected, int) else tuple(expected)
    before = listing()
    err = qt.write_ctrl(cmd, fd=via)
    assert err in expected, (
        f"{cmd!r}: got {errno.errorcode.get(err, err) if err else 'success'}, "
        f"expected {' or '.join(errno.errorcode[e] for e in expected)}")
    assert listing() == before, f"{cmd!r} was rejected but changed the listing"
    module_still_works()


# ---------------------------------------------------------------- t: tag


def test_tag_success_forms(tagged):
    s = udp()
    fd = s.fileno()
    try:
        forms = [(f"t {fd}", 0, 0), (f"t {fd} 0", 0, 0)]
        for suffix, uid in (("", 0), (" -1", 0), (" 0", 0), ("\n", 0), (" -1\n", 0),
                            (" 5010", 5010), (" 5010\n", 5010)):
            t = new_tag()
            forms.append((f"t {fd} {t << 32}{suffix}", t, uid))
        form_tags = {t for _, t, _ in forms}
        for cmd, t, uid in forms:
            assert qt.write_ctrl(cmd) == 0, cmd
            socks, _ = qt.read_ctrl()
            mine = [(x["tag"] >> 32, x["uid"]) for x in socks
                    if x["pid"] == os.getpid() and x["tag"] >> 32 in form_tags]
            assert mine == [(t, uid)], (cmd, mine)
        assert qt.write_ctrl(f"u {fd}") == 0
    finally:
        s.close()


def test_tag_returns_byte_count():
    s = udp()
    fd = os.open(qt.CTRL, os.O_WRONLY)
    try:
        cmd = f"t {s.fileno()} {new_tag() << 32}".encode()
        assert os.write(fd, cmd) == len(cmd)
        cmd = f"u {s.fileno()}\n".encode()
        assert os.write(fd, cmd) == len(cmd)
    finally:
        os.close(fd)
        s.close()


def test_tag_full_32bit_tag_values():
    s = udp()
    try:
        for t in (1, 0x7FFFFFFF, 0x80000000, 0xFFFFFF00, 0xFFFFFFFF):
            assert qt.write_ctrl(f"t {s.fileno()} {t << 32}") == 0, hex(t)
            socks, _ = qt.read_ctrl()
            mine = [x for x in socks if x["pid"] == os.getpid() and x["tag"] >> 32 == t]
            assert len(mine) == 1, (hex(t), socks)
            assert mine[0]["tag"] == t << 32 | 0, mine[0]
    finally:
        qt.write_ctrl(f"u {s.fileno()}")
        s.close()


@pytest.mark.parametrize("cmd", [
    "t", "t ", "t x", "t x 0", "t 3 x", "t 3 0 x", "t 3 0 0 x", "t 3 0 0 0",
    "tt 3 0", "t3 0", "T 3 0", "t 3 0x100000000", "t 3 1e9", "t 3 +-1",
    "t 3 4294967297", "t 3 1", "t 3 4294967295",
])
def test_tag_syntax_errors(cmd, tagged):
    s, _ = tagged
    assert_rejected(cmd.replace(" 3 ", f" {s.fileno()} ", 1)
                    if cmd.startswith("t 3") else cmd, EINVAL)


def test_tag_low_32_bits_must_be_zero(tagged):
    s, _ = tagged
    for low in (1, 0x80000000, 0xFFFFFFFF):
        assert_rejected(f"t {s.fileno()} {(5 << 32) | low}", EINVAL)
        assert_rejected(f"t {s.fileno()} {(5 << 32) | low} 0", EINVAL)


def test_tag_negative_and_huge_numbers(tagged):
    s, _ = tagged
    fd = s.fileno()
    assert_rejected(f"t {fd} {2**64}", EINVAL)
    assert_rejected(f"t {fd} {2**64 + (1 << 32)}", EINVAL)
    assert_rejected(f"t {fd} 99999999999999999999999999", EINVAL)
    assert_rejected(f"t {fd} -{1 << 32}", EINVAL)
    assert_rejected(f"t {fd} 0 99999999999", EINVAL)
    assert_rejected(f"t {fd} 0 -99999999999", EINVAL)
    # An fd that does not fit an int is either not a number for the parser or no fd at all.
    assert_rejected("t 99999999999 0", (EINVAL, EBADF))
    assert_rejected(f"t {2**64} 0", (EINVAL, EBADF))
    assert_rejected("t -1 0", (EINVAL, EBADF))
    assert_rejected("t -5 0", (EINVAL, EBADF))


def test_tag_bad_fd(tagged):
    assert_rejected("t 9999 0", EBADF)
    assert_rejected(f"t 9999 {7 << 32} 0", EBADF)
    # A closed socket's number: ctrl is opened first so that it does not take that number.
    ctl = os.open(qt.CTRL, os.O_WRONLY)
    try:
        s = udp()
        fd = s.fileno()
        s.close()
        assert_rejected(f"t {fd} 0", EBADF, via=ctl)
        assert_rejected(f"t {fd} {7 << 32}", EBADF, via=ctl)
    finally:
        os.close(ctl)


def test_tag_not_a_socket(tagged):
    r, w = os.pipe()
    try:
        assert_rejected(f"t {r} 0", ENOTSOCK)
        assert_rejected(f"t {w} {3 << 32}", ENOTSOCK)
    finally:
        os.close(r)
        os.close(w)
    with tempfile.TemporaryFile() as f:
        assert_rejected(f"t {f.fileno()} 0", ENOTSOCK)
    fd = os.open(qt.CTRL, os.O_RDONLY)
    try:
        assert_rejected(f"t {fd} 0", ENOTSOCK)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- u: untag


def test_untag_success_and_listing():
    s = udp()
    t = new_tag()
    try:
        assert qt.write_ctrl(f"t {s.fileno()} {t << 32}") == 0
        assert len(ours(t)) == 1
        assert qt.write_ctrl(f"u {s.fileno()}") == 0
        assert ours(t) == []
        # A second untag: the socket is no longer tagged.
        assert_rejected(f"u {s.fileno()}", EINVAL)
        # Trailing newline form.
        assert qt.write_ctrl(f"t {s.fileno()} {t << 32}") == 0
        assert qt.write_ctrl(f"u {s.fileno()}\n") == 0
        assert ours(t) == []
    finally:
        s.close()


def test_untag_errors(tagged):
    s, _ = tagged
    for cmd in ("u", "u ", "u x", f"u {s.fileno()} x", f"u {s.fileno()} 0", "uu 3",
                "u -1x", "U 3"):
        assert_rejected(cmd, EINVAL if cmd not in ("u -1x",) else (EINVAL, EBADF))
    assert_rejected("u 9999", EBADF)
    assert_rejected("u -1", (EINVAL, EBADF))
    assert_rejected("u 99999999999", (EINVAL, EBADF))
    r, w = os.pipe()
    try:
        assert_rejected(f"u {r}", ENOTSOCK)
    finally:
        os.close(r)
        os.close(w)
    with tempfile.TemporaryFile() as f:
        assert_rejected(f"u {f.fileno()}", ENOTSOCK)
    plain = udp()
    try:
        assert_rejected(f"u {plain.fileno()}", EINVAL)
    finally:
        plain.close()
    ctl = os.open(qt.CTRL, os.O_WRONLY)
    try:
        closed = udp()
        fd = closed.fileno()
        closed.close()
        assert_rejected(f"u {fd}", EBADF, via=ctl)
    finally:
        os.close(ctl)


# ---------------------------------------------------------------- s: counter set


def test_counter_set_success():
    for cmd in ("s 1 0", "s 0 0", "s 1 5000", "s 0 5000", "s 1 5000\n", "s 0 5000\n",
                "s 1 -1", "s 0 -1"):
        assert qt.write_ctrl(cmd) == 0, cmd


def test_counter_set_counts_event():
    _, before = qt.read_ctrl()
    assert qt.write_ctrl("s 1 5001") == 0
    assert qt.write_ctrl("s 0 5001") == 0
    _, after = qt.read_ctrl()
    assert after["counter_set_changes"] >= before["counter_set_changes"] + 2


@pytest.mark.parametrize("cmd", [
    "s", "s ", "s 1", "s x 0", "s 1 x", "s 2 0", "s 3 0", "s -1 0", "s 99999999999 0",
    "s 1 0 x", "s 1 0 0", "s 1 99999999999", "ss 1 0", "S 1 0",
])
def test_counter_set_errors(cmd, tagged):
    if cmd == "s 1":
        # uid omitted: not a libcutils form; either accepted as "the caller" or EINVAL.
        err = qt.write_ctrl(cmd)
        assert err in (0, EINVAL), errno.errorcode.get(err, err)
        qt.write_ctrl("s 0 0")
        return
    assert_rejected(cmd, EINVAL)


# ---------------------------------------------------------------- d: delete


def test_delete_tag_of_caller_removes_only_that_tag():
    a, b = udp(), udp()
    ta, tb = new_tag(), new_tag()
    try:
        assert qt.write_ctrl(f"t {a.fileno()} {ta << 32}") == 0
        assert qt.write_ctrl(f"t {b.fileno()} {tb << 32}") == 0
        _, ev0 = qt.read_ctrl()
        assert qt.write_ctrl(f"d {ta << 32}") == 0
        assert ours(ta) == []
        assert len(ours(tb)) == 1
        _, ev1 = qt.read_ctrl()
        assert ev1["delete_cmds"] == ev0["delete_cmds"] + 1
        assert qt.write_ctrl(f"d {tb << 32} -1\n") == 0
        assert ours(tb) == []
        # The socket is untagged now: untag says so.
        assert qt.write_ctrl(f"u {b.fileno()}") == EINVAL
    finally:
        a.close()
        b.close()


def test_delete_all_of_other_uid():
    a, b = udp(), udp()
    ta, tb = new_tag(), new_tag()
    try:
        assert qt.write_ctrl(f"t {a.fileno()} {ta << 32} 5002") == 0
        assert qt.write_ctrl(f"t {b.fileno()} {tb << 32} 5003") == 0
        assert [s["uid"] for s in ours(ta)] == [5002]
        assert qt.write_ctrl("d 0 5002") == 0
        assert ours(ta) == []
        assert [s["uid"] for s in ours(tb)] == [5003], "d 0 5002 touched uid 5003"
        assert qt.write_ctrl(f"d {tb << 32} 5003") == 0
        assert ours(tb) == []
        # Deleting what does not exist is not an error.
        assert qt.write_ctrl("d 0 5004") == 0
        assert qt.write_ctrl(f"d {new_tag() << 32} 5004") == 0
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("cmd", [
    "d", "d ", "d x", "d 0 x", "d 0 5000 x", "d 0 5000 0", "d 1 5000", "d 4294967295 5000",
    f"d {(3 << 32) | 1} 5000", f"d {2**64} 5000", "d -4294967296 5000", "d 0 99999999999",
    "dd 0 5000", "D 0 5000",
])
def test_delete_errors(cmd, tagged):
    assert_rejected(cmd, EINVAL)


# ---------------------------------------------------------------- anything else


@pytest.mark.parametrize("data", [
    b"", b"\n", b" ", b"   \n", b"x", b"x 1 2", b"\x00", b"\xff\xfe", b"q 1", b"tag 3 0",
    b"t\n3 0", b"\n\n",
])
def test_garbage(data, tagged):
    assert_rejected(data, EINVAL)


def test_long_writes(tagged):
    s, _ = tagged
    fd = s.fileno()
    base = f"t {fd} "
    # A valid command padded with leading zeros of the tag to exactly 255 bytes and more.
    for size in (255, 256, 300, 4096, 65536):
        cmd = base + "0" * (size - len(base))
        assert len(cmd) == size
        assert_rejected(cmd, EINVAL)
    assert_rejected(f"t {fd} 0" + " " * 300, EINVAL)
    assert_rejected(b"u " + b"1" * 300, EINVAL)
    assert_rejected(b"d 0 0" + b"\n" * 300, EINVAL)


def test_libcutils_exact_formats():
    """The exact strings libcutils writes (uid printed with %d, so -1 stays -1)."""
    s = udp()
    fd = s.fileno()
    t = new_tag()
    try:
        assert qt.write_ctrl("t %d %d %d" % (fd, t << 32, -1)) == 0
        assert [x["uid"] for x in ours(t)] == [0]
        assert qt.write_ctrl("u %d" % fd) == 0
        assert qt.write_ctrl("t %d %d %d" % (fd, t << 32, 5005)) == 0
        assert [x["uid"] for x in ours(t)] == [5005]
        assert qt.write_ctrl("s %d %d" % (1, 5005)) == 0
        assert qt.write_ctrl("s %d %d" % (0, 5005)) == 0
        assert qt.write_ctrl("d %d %d" % (t << 32, 5005)) == 0
        assert ours(t) == []
        assert qt.write_ctrl("t %d %d %d" % (fd, 0, os.getuid())) == 0
        assert qt.write_ctrl("u %d" % fd) == 0
        assert qt.write_ctrl("d %d %d" % (0, 5005)) == 0
    finally:
        s.close()


# ---------------------------------------------------------------- reading ctrl


def test_listing_fields_and_events_line():
    s = udp()
    t = new_tag()
    try:
        assert qt.write_ctrl(f"t {s.fileno()} {t << 32} 5006") == 0
        with open(qt.CTRL) as f:
            text = f.read()
        lines = text.splitlines()
        assert text.endswith("\n")
        ev = lines[-1].split()
        assert ev[0] == "events:"
        assert [f.split("=")[0] for f in ev[1:]] == EVENT_FIELDS
        assert all(f.split("=")[1].isdigit() for f in ev[1:]), lines[-1]
        mine = [l for l in lines[:-1] if f"tag=0x{t << 32 | 5006:x} " in l or
                f"tag=0x{t << 32:x} " in l]
        assert len(mine) == 1, lines
        f = mine[0].split()
        assert f[0].startswith("sock=") and f[1].startswith("tag=0x")
        assert f[2] == "(uid=5006)", mine[0]
        assert f[3] == f"pid={os.getpid()}", mine[0]
        assert f[4].startswith("f_count=") and int(f[4].split("=")[1]) >= 1
        sock_id = f[0].split("=", 1)[1]
        # An opaque hex id, never a kernel address (those look like ffff8880xxxxxxxx).
        assert int(sock_id, 16) < 0xFFFF800000000000, sock_id
        assert len(lines) - 1 == len(qt.read_ctrl()[0])
    finally:
        s.close()


def test_listing_tag_is_full_64bit_value():
    s = udp()
    try:
        t = 0xFFFFFF05
        assert qt.write_ctrl(f"t {s.fileno()} {t << 32}") == 0
        socks, _ = qt.read_ctrl()
        mine = [x for x in socks if x["tag"] >> 32 == t and x["pid"] == os.getpid()]
        assert len(mine) == 1
        # Android shows the whole tag_t: acct_tag in the high half, the uid in the low half.
        assert mine[0]["tag"] & 0xFFFFFFFF in (0, mine[0]["uid"]), hex(mine[0]["tag"])
    finally:
        qt.write_ctrl(f"u {s.fileno()}")
        s.close()


def test_retag_replaces_tag():
    s = udp()
    t1, t2 = new_tag(), new_tag()
    try:
        _, ev0 = qt.read_ctrl()
        assert qt.write_ctrl(f"t {s.fileno()} {t1 << 32}") == 0
        assert len(ours(t1)) == 1
        assert qt.write_ctrl(f"t {s.fileno()} {t2 << 32} 5007") == 0
        assert ours(t1) == [], "re-tagging left the old tag listed"
        new = ours(t2)
        assert len(new) == 1 and new[0]["uid"] == 5007
        _, ev1 = qt.read_ctrl()
        assert ev1["sockets_tagged"] >= ev0["sockets_tagged"] + 2
        assert qt.write_ctrl(f"u {s.fileno()}") == 0
        assert ours(t2) == []
        _, ev2 = qt.read_ctrl()
        assert ev2["sockets_untagged"] == ev1["sockets_untagged"] + 1
    finally:
        s.close()


def test_listing_survives_many_sockets():
    """More lines than one seq_file page: every tagged socket is listed exactly once."""
    t = new_tag()
    socks = [udp() for _ in range(300)]
    try:
        for s in socks:
            assert qt.write_ctrl(f"t {s.fileno()} {t << 32}") == 0
        assert len(ours(t)) == 300
        assert len({x["sock"] for x in ours(t)}) == 300, "sock ids are not unique"
    finally:
        for s in socks:
            s.close()


def test_tagged_socket_of_other_families():
    t = new_tag()
    kinds = [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM),
             (socket.AF_INET6, socket.SOCK_STREAM)]
    socks = [socket.socket(f, k) for f, k in kinds]
    try:
        for s in socks:
            assert qt.write_ctrl(f"t {s.fileno()} {t << 32}") == 0
        assert len(ours(t)) == 3
    finally:
        for s in socks:
            s.close()


def other_family_sockets():
    """One socket of each non-IP family an unprivileged user can open, and AF_PACKET."""
    return [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM),
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM),
            socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET),
            socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0),
            socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)]


def test_only_ip_sockets_can_be_tagged():
    """kmod/README (security): only AF_INET and AF_INET6 sockets are tagged; others get
    EAFNOSUPPORT. An AF_ALG socket is never orphaned on close, so a tag on it was never
    reaped and the listing followed its freed struct socket."""
    t = new_tag()
    socks = other_family_sockets()
    try:
        for s in socks:
            assert_rejected(f"t {s.fileno()} {t << 32}", errno.EAFNOSUPPORT)
            assert_rejected(f"t {s.fileno()} {t << 32} 5008", errno.EAFNOSUPPORT)
            assert_rejected(f"u {s.fileno()}", EINVAL)
        assert ours(t) == []
    finally:
        for s in socks:
            s.close()

    def as_user():
        alg = socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET)
        err = qt.write_ctrl(f"t {alg.fileno()} {t << 32}")
        alg.close()
        return err

    assert qt.call_as(1000, as_user) == errno.EAFNOSUPPORT


# ---------------------------------------------------------------- EMFILE


def test_emfile_per_uid_limit(reload_module):
    reload_module(max_sock_tags=8)
    t = new_tag()
    socks = [udp() for _ in range(10)]
    try:
        for s in socks[:8]:
            assert qt.write_ctrl(f"t {s.fileno()} {t << 32}") == 0
        assert_rejected(f"t {socks[8].fileno()} {t << 32}", EMFILE)
        assert_rejected(f"t {socks[8].fileno()} {t << 32} -1", EMFILE)
        # The limit is per billed uid: another uid still has room.
        assert qt.write_ctrl(f"t {socks[8].fileno()} {t << 32} 5008") == 0
        # Re-tagging a socket already counted for uid 0 is not a new tag.
        err = qt.write_ctrl(f"t {socks[0].fileno()} {(t + 1) << 32}")
        assert err in (0, EMFILE), err
        # Untagging frees a slot.
        assert qt.write_ctrl(f"u {socks[1].fileno()}") == 0
        assert qt.write_ctrl(f"t {socks[9].fileno()} {t << 32}") == 0
        assert_rejected(f"t {socks[1].fileno()} {t << 32}", EMFILE)
        # Closing a socket frees its slot too (the reaper runs within ~250 ms).
        socks[2].close()
        ok = qt.wait_for(lambda: qt.write_ctrl(f"t {socks[1].fileno()} {t << 32}") == 0,
                         timeout=3.0, step=0.05)
        assert ok, "closing a tagged socket did not free its slot in 3 s"
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- /dev/xt_qtaguid


def test_dev_open_once_per_process():
    fd = os.open("/dev/xt_qtaguid", os.O_RDONLY)
    try:
        with pytest.raises(OSError) as e:
            os.open("/dev/xt_qtaguid", os.O_RDONLY)
        assert e.value.errno == EBUSY
    finally:
        os.close(fd)
    fd = os.open("/dev/xt_qtaguid", os.O_RDONLY)
    os.close(fd)


def test_dev_other_process_can_open_concurrently():
    fd = os.open("/dev/xt_qtaguid", os.O_RDONLY)
    try:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                code = b"ok"
                try:
                    # A forked child is another process: its own open must work, even
                    # though it inherited the parent's descriptor.
                    cfd = os.open("/dev/xt_qtaguid", os.O_RDONLY)
                    os.close(cfd)
                except OSError as e:
                    code = errno.errorcode.get(e.errno, str(e.errno)).encode()
                os.write(w, code)
            finally:
                os._exit(0)
        os.close(w)
        got = os.read(r, 100)
        os.close(r)
        os.waitpid(pid, 0)
        assert got == b"ok", got
        # A separate program, too.
        p = qt.run_as(0, ["python3", "-c",
                          "import os; os.close(os.open('/dev/xt_qtaguid', os.O_RDONLY))"])
        assert p.returncode == 0, p.stderr
    finally:
        os.close(fd)


def test_dev_reopen_repeatedly():
    """The once-per-process rule follows the open file: close really releases it."""
    for _ in range(5):
        fd = os.open("/dev/xt_qtaguid", os.O_RDONLY)
        os.close(fd)


# ---------------------------------------------------------------- more edges


def test_two_commands_in_one_write_are_rejected(tagged):
    s, _ = tagged
    other = udp()
    try:
        fd = other.fileno()
        assert_rejected(f"t {fd} {new_tag() << 32}\nu {fd}", EINVAL)
        assert_rejected(f"t {fd} 0\nt {fd} 0", EINVAL)
        assert_rejected(f"u {fd}\nu {s.fileno()}", EINVAL)
    finally:
        other.close()


def test_254_bytes_is_still_a_command():
    """Only input of 255 bytes or more is too long (leading zeros keep the value 0)."""
    s = udp()
    try:
        base = f"t {s.fileno()} "
        cmd = base + "0" * (254 - len(base))
        assert len(cmd) == 254
        assert qt.write_ctrl(cmd) == 0
        assert qt.write_ctrl(f"u {s.fileno()}") == 0
    finally:
        s.close()


def test_uid_4294967295_is_not_a_real_uid():
    """(uid_t)-1 spelled unsigned: either "the caller" or invalid, never billed as is."""
    s = udp()
    t = new_tag()
    try:
        err = qt.write_ctrl(f"t {s.fileno()} {t << 32} 4294967295")
        assert err in (0, EINVAL), errno.errorcode.get(err, err)
        if err == 0:
            assert [x["uid"] for x in ours(t)] == [0]
        else:
            assert ours(t) == []
    finally:
        s.close()


def test_pid_is_the_taggers_thread_group():
    import threading
    s = udp()
    t = new_tag()
    res = {}
    th = threading.Thread(target=lambda: res.setdefault(
        "err", qt.write_ctrl(f"t {s.fileno()} {t << 32}")))
    th.start()
    th.join()
    try:
        assert res["err"] == 0
        assert [x["pid"] for x in ours(t)] == [os.getpid()]
    finally:
        s.close()


def test_events_count_commands_and_packets():
    s = udp()
    rx = udp()
    rx.bind(("127.0.0.1", 0))
    try:
        _, e0 = qt.read_ctrl()
        assert qt.write_ctrl(f"t {s.fileno()} {new_tag() << 32}") == 0
        qt.udp_send(5, 10, rx.getsockname(), sock=s)
        assert qt.write_ctrl(f"u {s.fileno()}") == 0
        _, e1 = qt.read_ctrl()
        assert e1["sockets_tagged"] == e0["sockets_tagged"] + 1
        assert e1["sockets_untagged"] == e0["sockets_untagged"] + 1
        assert e1["match_calls"] >= e0["match_calls"] + 5, (e0, e1)
        # Rejected commands are not counted as done.
        assert qt.write_ctrl("u 9999") == EBADF
        assert qt.write_ctrl(f"u {s.fileno()}") == EINVAL
        _, e2 = qt.read_ctrl()
        assert e2["sockets_untagged"] == e1["sockets_untagged"]
    finally:
        s.close()
        rx.close()
