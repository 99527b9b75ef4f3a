"""The hot calls are C functions of the native module (bindings/python/src/fast.rs) on
the package's two ContextVars (the tag's and the uid's): the same semantics, arguments and errors as the Python
functions they replaced, exact reference counts, no leaks. No kernel module needed."""
import asyncio
import contextvars
import gc
import inspect
import socket
import sys
import threading
import tracemalloc

import pytest

import qtag
from qtag import _context, _native

pytestmark = pytest.mark.host

FAST = ["set_thread_stats_tag", "get_thread_stats_tag", "get_and_set_thread_stats_tag",
        "clear_thread_stats_tag", "set_thread_stats_uid", "get_thread_stats_uid",
        "clear_thread_stats_uid", "tag_socket"]


@pytest.fixture(autouse=True)
def clean_state():
    qtag.set_tag_state(None, None)
    yield
    qtag.set_tag_state(None, None)
    qtag.uninstall()


def test_public_names_are_the_native_functions_on_the_packages_contextvars():
    for var, name in ((_native.tag_var, "qtag.tag"), (_native.uid_var, "qtag.uid")):
        assert isinstance(var, contextvars.ContextVar)
        assert var.name == name
    assert _context._tag_var is _native.tag_var and _context._uid_var is _native.uid_var
    assert not hasattr(_native, "tag_state")
    for name in FAST:
        f = getattr(qtag, name)
        assert f is getattr(_native, name), name
        assert inspect.isbuiltin(f), name           # no Python frame per call
        assert f.__doc__ and f.__name__ == name


def test_native_setters_python_blocks_and_the_contextvar_see_one_state():
    qtag.set_thread_stats_tag(5)
    qtag.set_thread_stats_uid(1000)
    assert (_native.tag_var.get(), _native.uid_var.get()) == (5, 1000)
    with qtag.tagged(6):
        assert qtag.get_thread_stats_tag() == 6 and qtag.get_thread_stats_uid() == 1000
        qtag.clear_thread_stats_uid()
        assert qtag.get_tag_state() == (6, None)
        assert _native.uid_var.get() is None
    assert qtag.get_tag_state() == (5, 1000)
    token = _native.tag_var.set(7)                  # the variables themselves, from Python
    utoken = _native.uid_var.set(None)
    assert qtag.get_thread_stats_tag() == 7 and qtag.get_thread_stats_uid() is None
    assert qtag.get_tag_state() == (7, None)
    _native.uid_var.reset(utoken)
    _native.tag_var.reset(token)
    assert qtag.get_tag_state() == (5, 1000)


def test_tagged_sets_and_restores_both_variables_also_on_exceptions():
    qtag.set_tag_state(5, 1000)
    block = qtag.tagged(6, uid=-1)
    with pytest.raises(RuntimeError):
        with block:
            assert (_native.tag_var.get(), _native.uid_var.get()) == (6, None)
            with block:                             # re-entered: a token pair per entry
                qtag.set_thread_stats_uid(2000)
                assert qtag.get_tag_state() == (6, 2000)
                raise RuntimeError
    assert (_native.tag_var.get(), _native.uid_var.get()) == (5, 1000)
    with qtag.tagged(None, uid=3000):
        assert qtag.get_tag_state() == (5, 3000)
        qtag.set_thread_stats_tag(7)
    assert qtag.get_tag_state() == (5, 1000)


def test_copied_contexts_are_isolated():
    qtag.set_thread_stats_tag(5)
    ctx = contextvars.copy_context()

    def inside():
        assert qtag.get_thread_stats_tag() == 5      # a copy starts with its creator's state
        qtag.set_thread_stats_tag(6)
        qtag.set_thread_stats_uid(1000)
        assert qtag.get_and_set_thread_stats_tag(8) == 6
        return qtag.get_tag_state()

    assert ctx.run(inside) == (8, 1000)
    assert qtag.get_tag_state() == (5, None)        # the change stayed in the copy
    assert (ctx[_native.tag_var], ctx[_native.uid_var]) == (8, 1000)
    assert ctx.run(qtag.get_thread_stats_uid) == 1000
    qtag.clear_thread_stats_tag()
    assert ctx.run(qtag.get_thread_stats_tag) == 8


def test_asyncio_tasks_and_threads_each_have_their_own_state():
    async def task(i, started, go):
        inherited = qtag.get_tag_state()
        qtag.set_thread_stats_tag(100 + i)
        qtag.set_thread_stats_uid(2000 + i)
        started.release()
        await go.wait()
        mine = qtag.get_tag_state()
        qtag.clear_thread_stats_tag()
        qtag.clear_thread_stats_uid()
        return inherited, mine, qtag.get_tag_state()

    async def main():
        qtag.set_thread_stats_tag(9)
        started, go = asyncio.Semaphore(0), asyncio.Event()
        ts = [asyncio.create_task(task(i, started, go)) for i in range(5)]
        for _ in ts:
            await started.acquire()               # every task has set its own state
        go.set()
        return await asyncio.gather(*ts), qtag.get_tag_state()

    res, after = asyncio.run(main())
    assert after == (9, None)
    for i, (inherited, mine, cleared) in enumerate(res):
        assert inherited == (9, None)
        assert mine == (100 + i, 2000 + i)
        assert cleared == (None, None)

    seen = []
    qtag.set_thread_stats_tag(1)
    t = threading.Thread(target=lambda: (seen.append(qtag.get_tag_state()),
                                         qtag.set_thread_stats_tag(2),
                                         seen.append(qtag.get_thread_stats_tag())))
    t.start()
    t.join()
    assert seen == [(None, None), 2] and qtag.get_thread_stats_tag() == 1


def test_an_unchanged_value_is_not_set_again_and_blocks_still_restore():
    qtag.set_thread_stats_tag(7)
    with qtag.tagged(8):
        qtag.set_thread_stats_tag(8)                # unchanged: nothing set
        qtag.set_thread_stats_uid(None)             # unchanged
        assert qtag.get_tag_state() == (8, None)
    assert qtag.get_tag_state() == (7, None)
    big = 0x12345678
    qtag.set_thread_stats_tag(big)
    qtag.set_thread_stats_tag(int(str(big)))        # equal value, another object
    assert qtag.get_thread_stats_tag() == big
    qtag.set_thread_stats_tag(-255)                 # Java int: two's complement
    qtag.set_thread_stats_tag(qtag.TAG_SYSTEM_DOWNLOAD)
    assert qtag.get_and_set_thread_stats_tag(0xFFFFFF01) == qtag.TAG_SYSTEM_DOWNLOAD
    qtag.set_thread_stats_tag(0xFFFFFFFF)           # clears, as -1 does
    assert qtag.get_thread_stats_tag() is None
    assert qtag.get_and_set_thread_stats_tag(-1) is None

    class Tag(int):
        pass

    qtag.set_thread_stats_tag(Tag(9))               # int subclasses: stored as plain ints
    qtag.set_thread_stats_uid(Tag(1000))
    assert qtag.get_tag_state() == (9, 1000)
    assert type(qtag.get_thread_stats_tag()) is int and type(qtag.get_thread_stats_uid()) is int


def test_arguments_by_position_or_keyword_like_the_python_functions():
    qtag.set_thread_stats_tag(tag=3)
    qtag.set_thread_stats_uid(uid=1000)
    assert qtag.get_and_set_thread_stats_tag(tag=4) == 3
    s = socket.socket()
    qtag.set_tag_state(None, None)
    qtag.tag_socket(sock=s)
    s.close()
    qtag.set_tag_state(4, 1000)
    set_tag = qtag.set_thread_stats_tag
    for call in [lambda: set_tag(), lambda: set_tag(1, 2), lambda: set_tag(1, tag=2),
                 lambda: set_tag(tg=1), lambda: set_tag(tag=1, uid=2),
                 lambda: qtag.set_thread_stats_uid(), lambda: qtag.tag_socket(),
                 lambda: qtag.tag_socket(s, s), lambda: qtag.get_thread_stats_tag(1),
                 lambda: qtag.get_thread_stats_uid(uid=1), lambda: qtag.clear_thread_stats_tag(None),
                 lambda: qtag.clear_thread_stats_uid(1)]:
        with pytest.raises(TypeError):
            call()
    assert qtag.get_tag_state() == (4, 1000)        # failed calls changed nothing
    with pytest.raises(TypeError, match="unexpected keyword argument 'tg'"):
        set_tag(tg=1)
    with pytest.raises(TypeError, match="multiple values for argument 'tag'"):
        set_tag(1, tag=2)
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'sock'"):
        qtag.tag_socket()
    sig = {n: str(inspect.signature(getattr(qtag, n))) for n in FAST}
    assert sig == {"set_thread_stats_tag": "(tag)", "get_thread_stats_tag": "()",
                   "get_and_set_thread_stats_tag": "(tag)", "clear_thread_stats_tag": "()",
                   "set_thread_stats_uid": "(uid)", "get_thread_stats_uid": "()",
                   "clear_thread_stats_uid": "()", "tag_socket": "(sock)"}


@pytest.mark.parametrize("bad", ["1", 1.0, True, None, [1], 1 << 32, 1 << 70, -(1 << 31) - 1])
def test_bad_tags_leave_the_state_alone(bad):
    qtag.set_tag_state(5, 1000)
    err = TypeError if not isinstance(bad, int) or isinstance(bad, bool) else qtag.InvalidArgumentError
    with pytest.raises(err) as ei:
        qtag.set_thread_stats_tag(bad)
    with pytest.raises(err):
        qtag.get_and_set_thread_stats_tag(bad)
    if err is TypeError:
        assert str(ei.value) == f"tag must be an int, not {type(bad).__name__}"
    else:
        assert ei.value.argument == "tag" and str(bad) in str(ei.value)
    assert qtag.get_tag_state() == (5, 1000)


@pytest.mark.parametrize("bad", ["1", 1.0, True, -2, 0xFFFFFFFF, 1 << 70])
def test_bad_uids_leave_the_state_alone(bad):
    qtag.set_tag_state(5, 1000)
    err = TypeError if not isinstance(bad, int) or isinstance(bad, bool) else qtag.InvalidArgumentError
    with pytest.raises(err) as ei:
        qtag.set_thread_stats_uid(bad)
    if err is qtag.InvalidArgumentError:
        assert ei.value.argument == "uid"
    assert qtag.get_tag_state() == (5, 1000)


def test_a_foreign_value_in_a_contextvar_is_a_type_error_not_a_crash():
    for var, setter, what in ((_native.tag_var, qtag.set_thread_stats_tag, "tag"),
                              (_native.uid_var, qtag.set_thread_stats_uid, "uid")):
        for junk in ("junk", (1, None), 1.5):
            token = var.set(junk)
            try:
                # The getters return the variable's value, as ContextVar.get does.
                assert var.get() is junk
                with pytest.raises(TypeError, match=f"{what} must be an int"):
                    qtag.tag_socket(socket.socket())
                with pytest.raises(TypeError, match=f"{what} must be an int"):
                    qtag.tag_socket(0)
                setter(1000)                            # a setter replaces it
                assert var.get() == 1000
            finally:
                var.reset(token)
    for var, clear in ((_native.tag_var, qtag.clear_thread_stats_tag),
                       (_native.uid_var, qtag.clear_thread_stats_uid)):
        token = var.set("junk")
        try:
            clear()
            assert var.get() is None
        finally:
            var.reset(token)
    token = _native.tag_var.set("junk")
    try:
        assert qtag.get_and_set_thread_stats_tag(5) == "junk"
        assert qtag.get_thread_stats_tag() == 5
    finally:
        _native.tag_var.reset(token)
    java = -255                                     # not normalised, set from outside
    token = _native.tag_var.set(java)
    try:
        qtag.set_thread_stats_tag(java)             # the same object, but not the same tag
        assert qtag.get_thread_stats_tag() == qtag.TAG_SYSTEM_DOWNLOAD
    finally:
        _native.tag_var.reset(token)
    uid = -1                                        # not normalised (means None)
    token = _native.uid_var.set(uid)
    try:
        qtag.set_thread_stats_uid(uid)
        assert qtag.get_thread_stats_uid() is None
    finally:
        _native.uid_var.reset(token)


def test_tag_socket_reports_fileno_errors_as_before():
    class Raises:
        def fileno(self):
            raise OSError(9, "gone")

    class AttributeErrorInside:
        def fileno(self):
            raise AttributeError("inside fileno")

    class ViaGetattr:
        def __getattr__(self, name):
            if name == "fileno":
                return lambda: -1
            raise AttributeError(name)

    class Huge:
        def fileno(self):
            return 1 << 70

    for f in (qtag.tag_socket, qtag.untag_socket):
        with pytest.raises(OSError) as ei:
            f(Raises())
        assert not isinstance(ei.value, qtag.QtagError) and ei.value.errno == 9
        with pytest.raises(AttributeError, match="inside fileno"):
            f(AttributeErrorInside())               # fileno's own error, not "no fileno"
        with pytest.raises(qtag.BadFileDescriptorError):
            f(ViaGetattr())
        with pytest.raises(qtag.BadFileDescriptorError):
            f(Huge())
        with pytest.raises(qtag.BadFileDescriptorError):
            f(1 << 70)
        with pytest.raises(TypeError, match="expected a socket, an object with fileno"):
            f(object())


def test_reference_counts_stay_exact():
    s = socket.socket()
    fd = s.fileno()
    tag, uid = int("305419896"), int("100000")       # not cached small ints
    qtag.set_thread_stats_tag(tag)
    qtag.set_thread_stats_uid(uid)
    objs = [s, tag, uid]
    before = [sys.getrefcount(o) for o in objs]
    for _ in range(5000):
        qtag.set_thread_stats_tag(tag)              # unchanged: the same object stays
        qtag.set_thread_stats_uid(uid)
        assert qtag.get_thread_stats_tag() is tag
        assert qtag.get_thread_stats_uid() is uid
        qtag.get_and_set_thread_stats_tag(tag)
        for sock in (s, fd):
            try:
                qtag.tag_socket(sock)               # tags in the VM, fails on the host
            except qtag.ModuleNotLoadedError:
                pass
    assert [sys.getrefcount(o) for o in objs] == before
    s.close()


def _churn(n, s):
    for i in range(n):
        qtag.set_thread_stats_tag(0x1001 + (i & 1))
        qtag.set_thread_stats_uid(1000 + (i & 1))
        qtag.get_and_set_thread_stats_tag(0x77777777)
        qtag.get_thread_stats_tag()
        qtag.get_thread_stats_uid()
        qtag.clear_thread_stats_tag()
        qtag.clear_thread_stats_uid()
        qtag.tag_socket(s)                          # no state: only the fd is checked
        for bad in ("x", 1 << 40):
            try:
                qtag.set_thread_stats_tag(bad)
            except (TypeError, qtag.InvalidArgumentError):
                pass
        try:
            qtag.tag_socket(-5)
        except qtag.BadFileDescriptorError:
            pass
        try:
            qtag.set_thread_stats_tag(tg=1)
        except TypeError:
            pass


def test_no_memory_grows_over_many_calls():
    s = socket.socket()
    _churn(2000, s)                                 # warm caches and free lists
    gc.collect()
    tracemalloc.start()
    try:
        _churn(100, s)
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        _churn(20000, s)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
        s.close()
    assert grown < 64 * 1024, f"{grown} bytes more after 20000 rounds of calls"
