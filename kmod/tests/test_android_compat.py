"""Android userspace compatibility: a libcutils-style C client (android_client.c) tags,
sends, reads stats with Android's parser rules, changes counter sets and deletes tag data.
"""
import errno
import itertools

import pytest

import qt

_tags = itertools.count(0x7100)
APP = 1000


def run_client(testbin, *args, uid=0, groups=()):
    argv = [testbin("android_client"), *map(str, args)]
    if uid == 0:
        p = qt.run_as(0, argv)
    else:
        p = qt.run_as(uid, argv, groups=groups)
    out = {}
    checks = []
    for line in p.stdout.splitlines():
        k, _, v = line.partition("=")
        if k == "check_failed":
            checks.append(v)
        else:
            out[k] = v
    out["_rc"] = p.returncode
    out["_checks"] = checks
    out["_text"] = p.stdout + p.stderr
    return out


def row(out, s):
    """row_setN=rx_bytes:1 rx_packets:2 ... -> dict of ints."""
    v = out[f"row_set{s}"]
    assert v != "missing", out["_text"]
    return {k: int(n) for k, n in (f.split(":") for f in v.split())}


@pytest.mark.parametrize("family,hdr", [(4, 28), (6, 48)])
@pytest.mark.parametrize("uid", [0, APP])
def test_tag_send_and_parse(testbin, family, hdr, uid):
    tag, n, size = next(_tags), 17, 333
    out = run_client(testbin, "send", hex(tag), n, size, family, uid=uid)
    assert out["dev_open"] == "0", out["_text"]
    assert out["tag_socket"] == "0", out["_text"]
    assert out["_checks"] == [], out["_text"]
    assert int(out["rows"]) >= 2, out["_text"]
    r0, r1 = row(out, 0), row(out, 1)
    assert r0["tx_bytes"] == n * (size + hdr), out["_text"]
    assert r0["tx_packets"] == n
    assert r0["tx_udp_bytes"] == n * (size + hdr)
    assert r0["tx_udp_packets"] == n
    assert r0["rx_bytes"] == 0 and r0["rx_packets"] == 0
    assert r1["tx_bytes"] == 0 and r1["tx_packets"] == 0
    assert out["untag_socket"] == "0"
    assert out["_rc"] == 0 and out["result"] == "ok", out["_text"]
    # The same numbers through the Python parser, seen by root.
    rows = [r for r in qt.read_stats()
            if r["tag"] == tag and r["uid"] == uid and r["iface"] == "lo" and r["set"] == 0]
    assert len(rows) == 1 and rows[0]["tx_bytes"] == n * (size + hdr), rows


def test_counter_set_foreground(testbin):
    """setCounterSet(1, uid) then traffic: it lands in set 1, set 0 stays empty."""
    tag, n, size = next(_tags), 5, 100
    out = run_client(testbin, "send", hex(tag), n, size, 4, 1)
    assert out["set_counter_set"] == "0", out["_text"]
    assert out["_checks"] == [], out["_text"]
    assert row(out, 1)["tx_bytes"] == n * (size + 28)
    assert row(out, 1)["tx_packets"] == n
    assert row(out, 0)["tx_bytes"] == 0
    assert out["result"] == "ok"


def test_counter_set_needs_privilege(testbin):
    out = run_client(testbin, "send", hex(next(_tags)), 1, 10, 4, 1, uid=APP)
    assert out["set_counter_set"] == str(-errno.EPERM), out["_text"]
    out = run_client(testbin, "send", hex(next(_tags)), 3, 10, 4, 1, uid=APP, groups=(3007,))
    # Without acct_gid configured the group means nothing.
    assert out["set_counter_set"] == str(-errno.EPERM), out["_text"]


def test_delete_tag_data(testbin):
    tag = next(_tags)
    out = run_client(testbin, "send", hex(tag), 3, 64, 4)
    assert out["result"] == "ok", out["_text"]
    assert any(r["tag"] == tag and r["uid"] == 0 for r in qt.read_stats())
    out = run_client(testbin, "delete", hex(tag), 0)
    assert out["delete_tag_data"] == "0", out["_text"]
    assert out["rows_left"] == "0", out["_text"]
    assert not any(r["tag"] == tag and r["uid"] == 0 for r in qt.read_stats())
    # Other rows of the uid stay.
    assert any(r["tag"] == 0 and r["uid"] == 0 for r in qt.read_stats())


def test_delete_all_data_of_app(testbin):
    tag = next(_tags)
    out = run_client(testbin, "send", hex(tag), 2, 64, 4, uid=APP)
    assert out["result"] == "ok", out["_text"]
    assert any(r["uid"] == APP for r in qt.read_stats())
    # deleteTagData(0, -1) by the app itself: everything of its uid.
    out = run_client(testbin, "delete", 0, uid=APP)
    assert out["delete_tag_data"] == "0", out["_text"]
    assert out["rows_left"] == "0", out["_text"]
    assert not any(r["uid"] == APP for r in qt.read_stats())


def test_delete_other_uid_needs_privilege(testbin):
    out = run_client(testbin, "delete", 0, 4321, uid=APP)
    assert out["delete_tag_data"] == str(-errno.EPERM), out["_text"]


def test_untag(testbin):
    out = run_client(testbin, "untag", uid=APP)
    assert (out["tag"], out["untag"], out["untag_again"]) == ("0", "0", str(-errno.EINVAL))


@pytest.mark.parametrize("uid", [0, APP])
def test_error_codes(testbin, uid):
    out = run_client(testbin, "errors", uid=uid)
    assert out["tag_bad_fd"] == str(-errno.EBADF), out["_text"]
    assert out["tag_pipe"] == str(-errno.ENOTSOCK)
    assert out["untag_pipe"] == str(-errno.ENOTSOCK)
    assert out["untag_untagged"] == str(-errno.EINVAL)
    assert out["set_counter_set_2"] == str(-errno.EINVAL)
    want = "0" if uid == 0 else str(-errno.EPERM)
    assert out["tag_other_uid"] == want, out["_text"]
    assert out["set_counter_set_1"] == want, out["_text"]


def test_two_clients_hold_the_device_at_once(testbin):
    """Each Android process keeps /dev/xt_qtaguid open: two at once must both work."""
    import subprocess
    argv = [testbin("android_client"), "send", hex(next(_tags)), "50", "200"]
    a = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    b = subprocess.Popen(argv[:2] + [hex(next(_tags))] + argv[3:], stdout=subprocess.PIPE,
                         text=True)
    outa, _ = a.communicate(timeout=60)
    outb, _ = b.communicate(timeout=60)
    assert a.returncode == 0 and "dev_open=0" in outa, outa
    assert b.returncode == 0 and "dev_open=0" in outb, outb
