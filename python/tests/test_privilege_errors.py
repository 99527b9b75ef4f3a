"""Errors from the real module: unprivileged impersonation, bad descriptors with a tag in
force (the kernel answers), the per-uid tag limit; all as qtag's OSError subclasses."""
import errno
import os
import socket
import threading

import pytest

import qtag
from qtag_testutil import fresh_tag, py_as

UNPRIV = 1000

CHILD = r"""
import errno, json, os, socket, qtag
out = {"uid": os.getuid()}
me = os.getuid()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

def err(f):
    try:
        f()
        return None
    except qtag.QtagError as e:
        return [type(e).__name__, e.errno, isinstance(e, PermissionError),
                getattr(e, "privilege", None), str(e)]

# Impersonation: billing uid 0 needs MODIFY_NETWORK_ACCOUNTING.
out["with_uid"] = err(lambda: qtag.tag_socket_with(s, TAG, uid=0))
def ctx():
    with qtag.tagged(TAG, uid=0):
        qtag.tag_socket(s)
out["tagged_uid"] = err(ctx)
qtag.set_thread_stats_uid(0)
out["thread_uid"] = err(lambda: qtag.tag_socket(s))
qtag.clear_thread_stats_uid()
out["counter_set"] = err(lambda: qtag.set_counter_set(1))
out["delete_other"] = err(lambda: qtag.delete_tag_data(0, 0))

# Own uid: works, with and without an explicit uid.
with qtag.tagged(TAG):
    qtag.tag_socket(s)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
qtag.tag_socket_with(s2, TAG2, uid=me)
s.sendto(b"x" * 72, ("127.0.0.1", PORT))
s2.sendto(b"y" * 10, ("127.0.0.1", PORT))
out["listed"] = sorted((t.tag, t.uid) for t in qtag.read_ctrl())
st = qtag.Stats.read()
out["visible_uids"] = sorted({r.uid for r in st})
out["mine"] = st.sum(uid=me, tag=TAG, iface="lo").tx_bytes
out["mine2"] = st.sum(uid=me, tag=TAG2, iface="lo").tx_bytes
out["getter"] = qtag.get_uid_tx_bytes()
out["other_getter"] = qtag.get_uid_tx_bytes(0)
qtag.delete_tag_data(TAG2)             # own data: allowed
out["after_delete"] = sorted(t.tag for t in qtag.read_ctrl())
print(json.dumps(out))
"""


@pytest.fixture(autouse=True)
def clean_state():
    qtag.set_tag_state(None, None)
    yield
    qtag.set_tag_state(None, None)


def test_unprivileged_impersonation_refused_own_uid_works():
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    tag, tag2 = fresh_tag(), fresh_tag()
    code = (CHILD.replace("TAG2", str(tag2)).replace("TAG", str(tag))
            .replace("PORT", str(sink.getsockname()[1])))
    out = py_as(UNPRIV, code)
    sink.close()
    assert out["uid"] == UNPRIV
    for k in ("with_uid", "tagged_uid", "thread_uid", "counter_set", "delete_other"):
        name, eno, is_perm, priv, msg = out[k]
        assert (name, eno, is_perm, priv) == (
            "PermissionDeniedError", errno.EPERM, True, "MODIFY_NETWORK_ACCOUNTING"), k
        assert "CAP_NET_ADMIN" in msg, msg
    assert out["listed"] == sorted([[tag, UNPRIV], [tag2, UNPRIV]])
    assert out["visible_uids"] == [UNPRIV]             # an unprivileged reader sees itself
    assert out["mine"] == 72 + 28 and out["mine2"] == 10 + 28
    assert out["getter"] >= 100
    assert out["other_getter"] == qtag.UNSUPPORTED
    assert out["after_delete"] == [tag]


def test_bad_descriptors_with_a_tag_in_force():
    """With a tag set, the command reaches the kernel, which answers EBADF / ENOTSOCK."""
    tag = fresh_tag()
    with qtag.tagged(tag):
        s = socket.socket()
        fd = s.fileno()
        s.close()
        with pytest.raises(qtag.BadFileDescriptorError) as ei:
            qtag.tag_socket(fd)                 # a closed descriptor, as an int
        assert ei.value.errno == errno.EBADF and ei.value.fd == fd
        with pytest.raises(qtag.BadFileDescriptorError):
            qtag.tag_socket(s)                  # the closed socket object
        with pytest.raises(qtag.BadFileDescriptorError):
            qtag.tag_socket(-1)
        r, w = os.pipe()
        try:
            with pytest.raises(qtag.NotASocketError) as ei:
                qtag.tag_socket(r)
            assert ei.value.errno == errno.ENOTSOCK
            with open("/proc/self/status") as f:
                with pytest.raises(qtag.NotASocketError):
                    qtag.tag_socket(f)          # anything with fileno()
            with pytest.raises(qtag.NotASocketError):
                qtag.untag_socket(w)
        finally:
            os.close(r)
            os.close(w)
        with pytest.raises(qtag.BadFileDescriptorError):
            qtag.untag_socket(fd)
        with pytest.raises(TypeError):
            qtag.tag_socket("3")
        with pytest.raises(TypeError):
            qtag.tag_socket(3.0)
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.tag_socket_with(socket.socket(), 1 << 32)
    with pytest.raises(qtag.InvalidArgumentError):
        qtag.delete_tag_data(-(1 << 40))
    assert all(t.tag != tag for t in qtag.read_ctrl())


def test_tag_limit_error():
    p = "/sys/module/xt_qtaguid/parameters/max_sock_tags"
    with open(p) as f:
        old = f.read().strip()
    socks = []
    try:
        with open(p, "w") as f:
            f.write("3")
        tag = fresh_tag()
        with qtag.tagged(tag, uid=4200):       # a uid with no other tags
            for _ in range(3):
                socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                qtag.tag_socket(socks[-1])
            extra = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(extra)
            with pytest.raises(qtag.TagLimitError) as ei:
                qtag.tag_socket(extra)
        assert ei.value.errno == errno.EMFILE and "max_sock_tags" in str(ei.value)
    finally:
        with open(p, "w") as f:
            f.write(old)
        for s in socks:
            s.close()


def test_many_threads_tag_and_untag_concurrently():
    """Nothing is shared unsafely: 8 threads tagging and untagging their own sockets
    under their own tags."""
    tags = [fresh_tag() for _ in range(8)]
    errors = []
    rounds = 200

    def worker(tag):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            with qtag.tagged(tag):
                for _ in range(rounds):
                    qtag.tag_socket(s)
                    qtag.untag_socket(s)
                qtag.tag_socket(s)
            socks.append(s)
        except Exception as e:
            errors.append(e)

    socks = []
    ts = [threading.Thread(target=worker, args=(t,)) for t in tags]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]
    listed = {t.tag for t in qtag.read_ctrl() if t.pid == os.getpid()}
    assert set(tags) <= listed
    for s in socks:
        s.close()
