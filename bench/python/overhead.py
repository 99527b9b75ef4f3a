"""Python binding overhead: qtag's calls vs the interpreter's cheapest native call and a
raw write of the same ctrl command.  overhead.py ROUNDS CALLS -> one JSON object of
nanoseconds per call, one number per round (the variants interleaved)."""
import json
import os
import socket
import sys
import time

import qtag
from qtag import _native

rounds, calls = int(sys.argv[1]), int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fd = sock.fileno()
# QTAG_PROC_DIR (which the core honours too) lets a host run point both at a stand-in.
ctrl = os.open(os.path.join(os.environ.get("QTAG_PROC_DIR", "/proc/net/xt_qtaguid"), "ctrl"), os.O_WRONLY)
cmd = b"t %d %d -1" % (fd, 0x1001 << 32)  # what tag_socket writes, uid field included
loop = range(calls)


def native_call():   # a builtin C function with one argument: CPython's cheapest native call
    f = abs
    for _ in loop:
        f(-1)


def binding_call():  # the binding's cheapest call into Rust (one argument, no work)
    f = _native.is_reserved_tag
    for _ in loop:
        f(5)


def set_tag():        # alternating values: setting the value already in force is skipped
    f = qtag.set_thread_stats_tag
    a, b = 0x1001, 0x1002
    for _ in loop:
        f(a)
        a, b = b, a      # a real change every call (the swap's ~1 ns is counted against set)


def contextvar_set():  # the floor of set under the contract: ContextVar.set of the tag
    f = _native.tag_var.set
    a, b = 0x1001, 0x1002
    for _ in loop:
        f(a)
        a, b = b, a


def get_tag():
    f = qtag.get_thread_stats_tag
    for _ in loop:
        f()


def tag_socket():
    f = qtag.tag_socket
    qtag.set_thread_stats_tag(0x1001)
    for _ in loop:
        f(sock)


def raw_write():
    w = os.write
    for _ in loop:
        w(ctrl, cmd)


def empty():
    for _ in loop:
        pass


variants = [native_call, binding_call, set_tag, contextvar_set, get_tag, tag_socket, raw_write, empty]
res = {v.__name__ + "_ns": [] for v in variants}
for _ in range(rounds):
    for v in variants:
        t = time.perf_counter_ns()
        v()
        res[v.__name__ + "_ns"].append((time.perf_counter_ns() - t) / calls)
print(json.dumps(res))
