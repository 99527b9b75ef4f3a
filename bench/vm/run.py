#!/usr/bin/env python3
"""The benchmarks, inside the VM (as root): started by scripts/bench through vng.

    run.py OUT.json          environment: QTAG_KO, QTAG_BUILD, BENCH_REPS, BENCH_SECONDS,
                             BENCH_SMOKE (1: tiny sizes, to check the harness works),
                             BENCH_UDP (the UDP load: udp, a flood, or udp-rr, round trips)

Variants of one figure are interleaved round by round (and their order rotated) so that
drift of the emulated machine hits them alike. Every number lands in OUT.json;
bench/report.py turns it into the table.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kmod", "tests"))
import qt  # noqa: E402  (the kmod tests' stats parser, Android's rules)

BUILD = os.environ["QTAG_BUILD"]
KO = os.environ["QTAG_KO"]
BIN = os.path.join(BUILD, "bench")
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
REPS = int(os.environ.get("BENCH_REPS", "1" if SMOKE else "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "0.3" if SMOKE else "2"))
# The scale figure: other tagged sockets and the uids they bill (each socket its own tag).
MANY_SOCKETS, MANY_UIDS = (2000, 200) if SMOKE else (100_000, 10_000)
# Memory: also a burst of new stats entries large enough to drain the per-CPU
# allocator's atomic reserve (then every packet must still be counted).
MEMORY_SOCKETS, MEMORY_UIDS = (30_000, 3_000) if SMOKE else (MANY_SOCKETS, MANY_UIDS)
STATS_SOCKETS, STATS_UIDS = (1000, 100) if SMOKE else (45_000, 5_000)  # ~100k stats rows
FIRST_UID = 200_000
PROC = "/proc/net/xt_qtaguid"
BENCH_TAG = 7
UDP = os.environ.get("BENCH_UDP", "udp")  # netload's UDP mode; results keep the key "udp"


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def sh(*cmd, check=True, **kw):
    p = subprocess.run(cmd, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {(p.stderr or '').strip()[-500:]}")
    return p


def loaded():
    return os.path.isdir("/sys/module/xt_qtaguid")


def unload():
    if loaded():
        sh("rmmod", "xt_qtaguid")


def load(**params):
    unload()
    sh("modprobe", "-a", "nf_socket_ipv4", "nf_socket_ipv6")
    sh("insmod", KO, *[f"{k}={v}" for k, v in params.items()])


NFT_RULES = """
table inet qtag_bench {
    chain out { type filter hook postrouting priority 0; meta skuid 0 counter; }
    chain in { type filter hook input priority 0; meta skuid 0 counter; }
}
"""


def nft(on):
    sh("nft", "delete", "table", "inet", "qtag_bench", check=False, stderr=subprocess.DEVNULL)
    if on:
        sh("nft", "-f", "-", input=NFT_RULES)


def netload(mode, tag=0):
    out = sh(os.path.join(BIN, "netload"), mode, str(SECONDS), str(tag), capture_output=True).stdout
    return json.loads(out)["per_second"]


# ---- per-packet cost: module absent / loaded / socket tagged / nftables skuid counter
def per_packet():
    variants = ["absent", "loaded", "tagged", "nft"]
    res = {v: {"udp": [], "tcp": []} for v in variants}
    for rep in range(REPS):
        for v in variants[rep % len(variants):] + variants[:rep % len(variants)]:
            unload()
            nft(v == "nft")
            if v in ("loaded", "tagged"):
                load()
            tag = BENCH_TAG if v == "tagged" else 0
            for mode in ("udp", "tcp"):
                res[v][mode].append(netload(UDP if mode == "udp" else mode, tag))
            log("per-packet", rep, v, res[v]["udp"][-1], res[v]["tcp"][-1])
    nft(False)
    unload()
    return res


def kernel_memory():
    """Bytes the kernel has allocated for itself, as /proc/meminfo counts them: slab that
    cannot be reclaimed + per-CPU + vmalloc. Read after the caches were dropped and
    deferred frees (RCU, the module's reaper) had a second to finish."""
    time.sleep(1.0)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
    fields = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            fields[k] = int(v.split()[0]) * 1024
    return fields["SUnreclaim"] + fields["Percpu"] + fields["VmallocUsed"]


def stats_entries():
    return sum(1 for r in qt.read_stats() if r["set"] == 0)  # one set-0 row per entry


def holder_rows_exact(sockets):
    """Whether each holder socket's one datagram was counted: a row per (tag, uid) with
    tx_packets 1 (no packet lost to a failed allocation)."""
    exact = sum(1 for r in qt.read_stats()
                if r["uid"] >= FIRST_UID and r["tag"] and r["set"] == 0 and r["tx_packets"] == 1)
    return exact == sockets, exact


class Holder:
    """holdtags: SOCKETS open sockets, to be tagged (billed to UIDS uids) by do("tag [N]"),
    kept open until close()."""

    def __init__(self, sockets, uids):
        self.p = subprocess.Popen([os.path.join(BIN, "holdtags"), str(sockets), str(uids), str(FIRST_UID)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.expect("opened")

    def expect(self, word):
        line = self.p.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"holdtags said {line!r}, expected {word!r}")

    def do(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        self.expect({"tag": "tagged", "send": "sent"}[cmd.split()[0]])

    def close(self):
        self.p.stdin.close()
        self.p.wait()


# ---- scale: a tagged socket's speed with 10 vs 100,000 other tagged sockets open
def scale():
    """Traffic of one tagged socket while MANY_SOCKETS other sockets are open: all of
    them tagged (for MANY_UIDS uids, each having sent a datagram: that many stats
    entries), or only 10. The same open sockets in both, so the kernel's own socket
    tables weigh alike and only qtag's tables differ."""
    tagged = {"few": 10, "many": MANY_SOCKETS}
    res = {v: {"udp": [], "tcp": []} for v in tagged}
    for rep in range(REPS):
        for v in (["few", "many"] if rep % 2 == 0 else ["many", "few"]):
            load(max_stats_entries=4 * MANY_SOCKETS)
            h = Holder(MANY_SOCKETS, MANY_UIDS)
            h.do(f"tag {tagged[v]}")
            h.do("send")
            for mode in ("udp", "tcp"):
                res[v][mode].append(netload(UDP if mode == "udp" else mode, BENCH_TAG))
            log("scale", rep, v, res[v]["udp"][-1], res[v]["tcp"][-1])
            h.close()
    unload()
    return {**res, "sockets": MANY_SOCKETS, "uids": MANY_UIDS}


# ---- kernel memory per tagged socket and per stats entry
def memory():
    """What the kernel allocates when MEMORY_SOCKETS open sockets get tagged, and when each
    then sends one datagram (one new stats entry per socket and per uid), less what the
    same sends allocate without the module."""
    unload()
    h = Holder(MEMORY_SOCKETS, MEMORY_UIDS)
    m0 = kernel_memory()
    h.do("send")
    sends_alone = kernel_memory() - m0
    h.close()
    load(max_stats_entries=4 * MEMORY_SOCKETS)
    h = Holder(MEMORY_SOCKETS, MEMORY_UIDS)
    e0, m0 = stats_entries(), kernel_memory()
    h.do("tag")
    m1 = kernel_memory()
    h.do("send")
    m2, e2 = kernel_memory(), stats_entries()
    exact = holder_rows_exact(MEMORY_SOCKETS)
    h.close()
    unload()
    return {"sockets": MEMORY_SOCKETS, "uids": MEMORY_UIDS, "cpus": os.cpu_count(),
            "per_tagged_socket": (m1 - m0) / MEMORY_SOCKETS,
            "sends_without_module": sends_alone,
            "stats_entries_created": e2 - e0, "stats_entries_expected": MEMORY_SOCKETS + MEMORY_UIDS,
            "every_packet_counted": exact,
            "per_stats_entry": ((m2 - m1) - sends_alone) / max(1, e2 - e0)}


# ---- the SDK's tag+untag vs libcutils' open/write/close per command
def tag_ops():
    load()
    out = sh(os.path.join(BIN, "qtag-bench"), "tag-ops", str(REPS), "2000" if SMOKE else "20000",
             capture_output=True).stdout
    unload()
    return json.loads(out)


# ---- reading ~100,000 stats rows: cat vs qtag's read+parse
def stats_read():
    load(max_stats_entries=4 * STATS_SOCKETS)
    h = Holder(STATS_SOCKETS, STATS_UIDS)
    h.do("tag")
    h.do("send")
    path = os.path.join(PROC, "stats")
    cat_ms, qtag = [], {"read_ms": [], "read_parse_ms": [], "parse_rows_per_s": []}
    for _ in range(REPS):
        t = time.perf_counter()
        sh("cat", path, stdout=subprocess.DEVNULL)
        cat_ms.append((time.perf_counter() - t) * 1e3)
        one = json.loads(sh(os.path.join(BIN, "qtag-bench"), "stats", "1", capture_output=True).stdout)
        for k in qtag:
            qtag[k] += one[k]
        qtag["rows"] = one["rows"]
    # A copy for scripts/bench, which times the parser on the host's real CPU too.
    shutil.copyfile(path, os.path.join(os.path.dirname(sys.argv[1]), "stats.txt"))
    h.close()
    unload()
    return {"cat_ms": cat_ms, **qtag}


# ---- each binding's calls vs its runtime's cheapest native call / a raw write
def bindings():
    res = {}
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python-site"))
    load()
    runs = {
        "python": [sys.executable, os.path.join(os.path.dirname(__file__), "..", "python", "overhead.py")],
        "node": ["node", os.path.join(os.path.dirname(__file__), "..", "node", "overhead.js")],
    }
    java = os.path.join(BUILD, "bench", "java-overhead.sh")
    if os.path.exists(java):
        runs["java"] = ["sh", java]
    n = "20000" if SMOKE else "200000"
    for lang, cmd in runs.items():
        p = sh(*cmd, str(REPS), n, capture_output=True, check=False, env=env)
        if p.returncode != 0:
            res[lang] = {"error": (p.stderr or p.stdout)[-2000:]}
        else:
            res[lang] = json.loads(p.stdout)
        log("bindings", lang, res[lang])
    unload()
    return res


def main():
    out = {"kernel": os.uname().release, "cpus": os.cpu_count(), "reps": REPS,
           "seconds": SECONDS, "smoke": SMOKE, "udp_mode": UDP}
    steps = [("per_packet", per_packet), ("scale", scale), ("memory", memory), ("tag_ops", tag_ops),
             ("stats", stats_read), ("bindings", bindings)]
    only = os.environ.get("BENCH_ONLY")
    for name, fn in steps:
        if only and name not in only.split(","):
            continue
        t = time.time()
        try:
            out[name] = fn()
        except Exception as e:  # one broken figure must not hide the others
            out[name] = {"error": repr(e)}
            try:
                unload()
            except RuntimeError:
                pass
        log(f"{name} took {time.time() - t:.0f} s")
        with open(sys.argv[1], "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
