"""What needs no kernel module: constants, tag state per thread and per task, `tagged`,
argument checks, error classes, stats parsing. Runs on the build host and in the VM."""
import asyncio
import errno
import os
import socket
import subprocess
import sys
import threading

import pytest

import qtag
from qtag_testutil import HEADER, child_env

pytestmark = pytest.mark.host


@pytest.fixture(autouse=True)
def clean_state():
    qtag.set_tag_state(None, None)
    yield
    qtag.set_tag_state(None, None)


def test_constants_keep_androids_values():
    assert qtag.UNSUPPORTED == -1
    assert qtag.TAG_SYSTEM_DOWNLOAD == 0xFFFFFF01
    assert qtag.TAG_SYSTEM_MEDIA == 0xFFFFFF02
    assert qtag.TAG_SYSTEM_BACKUP == 0xFFFFFF03
    assert qtag.TAG_SYSTEM_RESTORE == 0xFFFFFF04
    assert qtag.TAG_SYSTEM_APP == 0xFFFFFF05
    assert qtag.TAG_SYSTEM_DHCP == 0xFFFFFF40
    assert qtag.TAG_SYSTEM_NTP == 0xFFFFFF41
    assert qtag.TAG_SYSTEM_PROBE == 0xFFFFFF42
    assert qtag.TAG_SYSTEM_NEIGHBOR == 0xFFFFFF43
    assert qtag.TAG_SYSTEM_GPS == 0xFFFFFF44
    assert qtag.TAG_SYSTEM_PAC == 0xFFFFFF45
    assert (qtag.COUNTER_SET_DEFAULT, qtag.COUNTER_SET_FOREGROUND) == (0, 1)
    assert qtag.tag_name(qtag.TAG_SYSTEM_NTP) == "TAG_SYSTEM_NTP"
    assert qtag.tag_name(7) is None
    assert qtag.is_reserved_tag(0xFFFFFF00) and not qtag.is_reserved_tag(0x1234)
    for name in qtag.__all__:
        assert hasattr(qtag, name), name


def test_thread_stats_setters_and_getters():
    assert qtag.get_thread_stats_tag() is None and qtag.get_thread_stats_uid() is None
    qtag.set_thread_stats_tag(0x42)
    qtag.set_thread_stats_uid(1000)
    assert (qtag.get_thread_stats_tag(), qtag.get_thread_stats_uid()) == (0x42, 1000)
    assert qtag.get_tag_state() == qtag.TagState(0x42, 1000)
    assert qtag.get_and_set_thread_stats_tag(0x43) == 0x42
    qtag.clear_thread_stats_tag()
    assert qtag.get_thread_stats_tag() is None and qtag.get_thread_stats_uid() == 1000
    qtag.clear_thread_stats_uid()
    assert qtag.get_thread_stats_uid() is None
    # Java ints: -1 clears (Android's clear), other negatives are two's complement.
    qtag.set_thread_stats_tag(5)
    qtag.set_thread_stats_tag(-1)
    assert qtag.get_thread_stats_tag() is None
    qtag.set_thread_stats_tag(-255)
    assert qtag.get_thread_stats_tag() == qtag.TAG_SYSTEM_DOWNLOAD
    qtag.set_thread_stats_uid(7)
    qtag.set_thread_stats_uid(-1)
    assert qtag.get_thread_stats_uid() is None


@pytest.mark.parametrize("bad", [1 << 32, -(1 << 31) - 1, 1 << 64, 1 << 70, -(1 << 70)])
def test_tag_out_of_range(bad):
    with pytest.raises(qtag.InvalidArgumentError) as ei:
        qtag.set_thread_stats_tag(bad)
    e = ei.value
    assert isinstance(e, ValueError) and isinstance(e, OSError)
    assert e.errno == errno.EINVAL and e.argument == "tag" and str(bad) in str(e)
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.tagged(bad)
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.tag_socket_with(0, bad)
    assert qtag.get_thread_stats_tag() is None


@pytest.mark.parametrize("bad", [-2, 0xFFFFFFFF, 1 << 40, 1 << 80])
def test_uid_out_of_range(bad):
    with pytest.raises(qtag.InvalidArgumentError) as ei:
        qtag.set_thread_stats_uid(bad)
    assert ei.value.argument == "uid" and ei.value.errno == errno.EINVAL
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.tagged(1, uid=bad)


def test_getter_and_command_arguments():
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.get_uid_rx_bytes(-2)
    with pytest.raises(TypeError):
        qtag.get_uid_tx_bytes("0")
    for bad in (2, -1, 1 << 70):
        with pytest.raises(qtag.InvalidArgumentError) as ei:
            qtag.set_counter_set(bad)
        assert ei.value.argument == "set" and str(bad) in str(ei.value)
    with pytest.raises(TypeError):
        qtag.set_counter_set(1.0)
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.delete_tag_data(1 << 32)
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.reset_kernel_uid_stats(-7)


@pytest.mark.parametrize("bad", ["1", 1.0, b"1", True, None, [1]])
def test_wrong_types(bad):
    if bad is not None:
        with pytest.raises(TypeError):
            qtag.set_thread_stats_tag(bad)
        with pytest.raises(TypeError):
            qtag.set_thread_stats_uid(bad)
    with pytest.raises(TypeError):
        qtag.tag_socket(bad)
    with pytest.raises(TypeError):
        qtag.untag_socket(bad)
    with pytest.raises(TypeError):
        qtag.tag_socket_with(bad, 1)


def test_fd_checks_without_a_tag():
    """With no tag state nothing goes to the kernel, but the descriptor is checked."""
    s = socket.socket()
    qtag.tag_socket(s)                      # an open socket: fine
    qtag.tag_socket(s.fileno())
    s.close()
    with pytest.raises(qtag.BadFileDescriptorError) as ei:
        qtag.tag_socket(s)                  # closed socket.socket: fileno() is -1
    assert ei.value.errno == errno.EBADF and ei.value.fd == -1
    with pytest.raises(qtag.BadFileDescriptorError):
        qtag.tag_socket(-5)
    r, w = os.pipe()
    try:
        with pytest.raises(qtag.NotASocketError) as ei:
            qtag.tag_socket(r)
        assert ei.value.errno == errno.ENOTSOCK and ei.value.fd == r
        os.close(w)
        w = -1
        with pytest.raises(qtag.BadFileDescriptorError):
            qtag.tag_socket(w if w >= 0 else r + 1000)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)

    class WithFileno:
        def __init__(self, fd):
            self.fd = fd

        def fileno(self):
            return self.fd

    with pytest.raises(qtag.BadFileDescriptorError):
        qtag.tag_socket(WithFileno(-1))
    with pytest.raises(TypeError):
        qtag.tag_socket(WithFileno("3"))


def test_tagged_nests_and_restores():
    with qtag.tagged(1) as st:
        assert st == qtag.TagState(1, None) == qtag.get_tag_state()
        with qtag.tagged(2, uid=1000):
            assert qtag.get_tag_state() == (2, 1000)
            with qtag.tagged(3):            # uid=None keeps the outer uid
                assert qtag.get_tag_state() == (3, 1000)
                with qtag.tagged(None, uid=-1):   # tag=None keeps, uid=-1 = own uid
                    assert qtag.get_tag_state() == (3, None)
                assert qtag.get_tag_state() == (3, 1000)
            assert qtag.get_tag_state() == (2, 1000)
        assert qtag.get_tag_state() == (1, None)
        with pytest.raises(KeyError):
            with qtag.tagged(9):
                raise KeyError("x")
        assert qtag.get_tag_state() == (1, None)
    assert qtag.get_tag_state() == (None, None)
    # An outer state set with the setters comes back too.
    qtag.set_thread_stats_tag(77)
    with qtag.tagged(78):
        qtag.set_thread_stats_tag(79)       # changed inside: undone on exit
    assert qtag.get_thread_stats_tag() == 77
    # One object entered twice, nested.
    t = qtag.tagged(5)
    with t:
        with t:
            assert qtag.get_thread_stats_tag() == 5
        assert qtag.get_thread_stats_tag() == 5
    assert qtag.get_thread_stats_tag() == 77


def test_tagged_as_decorator():
    @qtag.tagged(0x10, uid=1000)
    def f(x):
        return x, qtag.get_tag_state()

    @qtag.tagged(0x11)
    async def g():
        await asyncio.sleep(0)
        return qtag.get_tag_state()

    assert f(1) == (1, (0x10, 1000))
    assert f.__name__ == "f"
    assert qtag.get_tag_state() == (None, None)
    assert asyncio.run(g()) == (0x11, None)

    @qtag.tagged(0x12)
    def boom():
        raise RuntimeError

    with pytest.raises(RuntimeError):
        boom()
    assert qtag.get_tag_state() == (None, None)


def test_state_is_per_thread():
    qtag.set_thread_stats_tag(1)
    seen = {}
    barrier = threading.Barrier(3)

    def worker(i):
        seen[i, "start"] = qtag.get_tag_state()      # a new thread starts with none
        qtag.set_thread_stats_tag(100 + i)
        barrier.wait()
        with qtag.tagged(200 + i):
            barrier.wait()
            seen[i, "inner"] = qtag.get_thread_stats_tag()
        seen[i, "end"] = qtag.get_thread_stats_tag()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i in range(3):
        assert seen[i, "start"] == (None, None)
        assert seen[i, "inner"] == 200 + i
        assert seen[i, "end"] == 100 + i
    assert qtag.get_thread_stats_tag() == 1


def test_state_is_per_asyncio_task():
    async def task(i, ev):
        inherited = qtag.get_thread_stats_tag()
        qtag.set_thread_stats_tag(300 + i)
        await ev.wait()                     # every task has set its tag by now
        mine = qtag.get_thread_stats_tag()
        with qtag.tagged(400 + i):
            await asyncio.sleep(0)
            inner = qtag.get_thread_stats_tag()
        return inherited, mine, inner, qtag.get_thread_stats_tag()

    async def main():
        qtag.set_thread_stats_tag(9)
        ev = asyncio.Event()
        tasks = [asyncio.create_task(task(i, ev)) for i in range(4)]
        await asyncio.sleep(0)
        ev.set()
        res = await asyncio.gather(*tasks)
        return res, qtag.get_thread_stats_tag()

    res, after = asyncio.run(main())
    assert after == 9
    for i, (inherited, mine, inner, end) in enumerate(res):
        assert (inherited, mine, inner, end) == (9, 300 + i, 400 + i, 300 + i)
    assert qtag.get_thread_stats_tag() is None   # asyncio.run ran in a copied context


def test_errors_are_oserrors_with_errno():
    for name, base, eno in [
        ("ModuleNotLoadedError", FileNotFoundError, errno.ENOENT),
        ("PermissionDeniedError", PermissionError, errno.EPERM),
        ("InvalidArgumentError", ValueError, errno.EINVAL),
    ]:
        cls = getattr(qtag, name)
        assert issubclass(cls, qtag.QtagError) and issubclass(cls, base)
        e = cls(eno, "x")
        assert e.errno == eno and isinstance(e, OSError)
    for name in ["NotASocketError", "BadFileDescriptorError", "NotTaggedError",
                 "TagLimitError", "FormatError", "QtagIOError"]:
        assert issubclass(getattr(qtag, name), qtag.QtagError)
    assert issubclass(qtag.QtagError, OSError)


def _stats_text(rows):
    lines = [HEADER]
    for i, (iface, tag, uid, cset, vals) in enumerate(rows, start=2):
        lines.append(f"{i} {iface} {hex(tag << 32)} {uid} {cset} " + " ".join(map(str, vals)))
    return "\n".join(lines) + "\n"


def test_stats_parse_and_queries(tmp_path):
    def c(rx, tx):
        v = [0] * 16
        v[0], v[1], v[2], v[3] = rx, 1, tx, 2
        return v

    text = _stats_text([
        ("lo", 0, 1000, 0, c(100, 200)),
        ("lo", 0, 1000, 1, c(10, 20)),
        ("lo", 0x1001, 1000, 0, c(60, 70)),
        ("lo", 0x1001, 1000, 1, c(0, 0)),
        ("eth0", 0, 1000, 0, c(5, 6)),
        ("eth0", 0, 0, 0, c(1, 1)),
        ("eth0", 0x2002, 1000, 0, c(4, 4)),
    ])
    s = qtag.Stats.parse(text)
    assert len(s) == 7 and len(list(s)) == 7
    assert s.ifaces() == ["lo", "eth0"]
    r = s.rows()[2]
    assert isinstance(r, qtag.StatsRow) and (r.iface, r.tag, r.uid, r.set) == ("lo", 0x1001, 1000, 0)
    assert (r.counters.rx_bytes, r.counters.tx_bytes, r.counters.total_bytes) == (60, 70, 130)
    assert s.uid_total(1000).rx_bytes == 115
    assert {t: v.tx_bytes for t, v in s.uid_tags(1000).items()} == {0x1001: 70, 0x2002: 4}
    assert s.by_iface(1000)["lo"].rx_bytes == 110
    assert s.by_set(1000)[1].tx_bytes == 20
    assert s.by_uid()[0].rx_bytes == 1
    assert s.total().rx_bytes == 116
    assert s.sum(uid=1000, tag=0x1001).tx_bytes == 70
    assert [x.set for x in s.matching(tag=0x1001)] == [0, 1]
    assert (s.uid_total(1000) - s.uid_tags(1000)[0x1001]).rx_bytes == 55
    assert (s.uid_total(1000) + s.uid_total(0)).rx_bytes == 116
    p = tmp_path / "stats"
    p.write_text(text)
    assert qtag.Stats.read_from(p).rows() == s.rows()

    later = qtag.Stats.parse(_stats_text([
        ("lo", 0, 1000, 0, c(150, 260)),       # grew
        ("lo", 0x1001, 1000, 0, c(60, 70)),    # unchanged
        ("lo", 0x3003, 1000, 0, c(7, 8)),      # new since
    ]))
    d = later.delta_since(s)
    assert isinstance(d, qtag.Stats)
    assert {(r.tag, r.set): (r.counters.rx_bytes, r.counters.tx_bytes) for r in d} == {
        (0, 0): (50, 60), (0x1001, 0): (0, 0), (0x3003, 0): (7, 8)}
    assert d.uid_tags(1000)[0x3003].tx_bytes == 8
    with pytest.raises(TypeError):
        later.delta_since(text)

    bad = text.replace("\n3 lo", "\n4 lo", 1)
    with pytest.raises(qtag.FormatError) as ei:
        qtag.Stats.parse(bad)
    assert ei.value.errno == errno.EIO and ei.value.line == 3 and ei.value.file == "stats"
    with pytest.raises(qtag.ModuleNotLoadedError):
        qtag.Stats.read_from(tmp_path / "missing")


_NOT_LOADED = r"""
import json, socket, warnings, qtag
out = {}
try:
    qtag.tag_socket_with(socket.socket(), 5)
except qtag.ModuleNotLoadedError as e:
    out["err"] = [type(e).__name__, e.errno, isinstance(e, FileNotFoundError), e.path, str(e)]
out["getter"] = qtag.get_uid_rx_bytes()
out["total"] = qtag.get_total_tx_bytes()
try:
    qtag.Stats.read()
except qtag.ModuleNotLoadedError as e:
    out["stats"] = e.errno
lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen(4)
qtag.install()
c = socket.socket()
c.connect(lst.getsockname())            # no tag context: untouched
c.close()
with qtag.tagged(5):
    try:
        socket.create_connection(lst.getsockname())
    except qtag.ModuleNotLoadedError:
        out["auto_raise"] = True
    qtag.install(on_error="warn")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        socket.create_connection(lst.getsockname()).close()
        out["auto_warn"] = [str(x.message)[:30] for x in w]
    qtag.install(on_error="ignore")
    socket.create_connection(lst.getsockname()).close()
qtag.uninstall()
print(json.dumps(out))
"""


def test_module_not_loaded_says_how_to_load(tmp_path):
    env = child_env()
    env["QTAG_PROC_DIR"] = str(tmp_path / "no-such-dir")
    p = subprocess.run([sys.executable, "-c", _NOT_LOADED], capture_output=True, text=True,
                       env=env, timeout=60, cwd="/tmp")
    assert p.returncode == 0, p.stderr
    import json
    out = json.loads(p.stdout.strip().splitlines()[-1])
    name, eno, is_fnf, path, msg = out["err"]
    assert (name, eno, is_fnf) == ("ModuleNotLoadedError", errno.ENOENT, True)
    assert path.endswith("no-such-dir/ctrl") and "modprobe xt_qtaguid" in msg
    assert out["getter"] == qtag.UNSUPPORTED and out["total"] == qtag.UNSUPPORTED
    assert out["stats"] == errno.ENOENT
    assert out["auto_raise"] is True
    assert out["auto_warn"] == ["qtag: could not tag socket: [E"]


def test_install_and_uninstall_patch_socket():
    orig = {n: socket.socket.__dict__.get(n) for n in ("connect", "connect_ex", "sendto", "sendmsg")}
    assert not qtag.is_installed()
    qtag.install()
    try:
        assert qtag.is_installed()
        assert getattr(socket.socket.connect, "_qtag_auto", False)
        qtag.install()                      # idempotent
        with pytest.raises(ValueError):
            qtag.install(on_error="explode")
    finally:
        qtag.uninstall()
    assert not qtag.is_installed()
    assert {n: socket.socket.__dict__.get(n) for n in orig} == orig
    qtag.uninstall()                        # harmless when not installed


def test_native_stub_matches_the_module():
    """qtag/_native.pyi (shipped with py.typed) names exactly what the native module has."""
    import ast
    from qtag import _native
    stub = os.path.join(os.path.dirname(qtag.__file__), "_native.pyi")
    tree = ast.parse(open(stub).read())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    names -= {"_Counters", "_Row"}
    public = {n for n in dir(_native) if not n.startswith("__")}
    assert names == public
    assert os.path.exists(os.path.join(os.path.dirname(qtag.__file__), "py.typed"))
