#!/usr/bin/env python3
"""Turn bench/vm/run.py's JSON into the benchmark table (markdown).

    report.py RESULTS.json [--check]

Each ratio is computed per round (variants of a round ran back to back) and reported
as the median with the spread (min-max) over rounds. --check (the smoke test) only
verifies that every figure was measured, not whether it met its target.
"""
import json
import statistics
import sys


def ratios(a, b):
    return [x / y for x, y in zip(a, b) if y]


def net(xs, empty):  # per-call time without the loop's own cost
    return [max(x - e, 0.001) for x, e in zip(xs, empty)]


UDP_LABELS = {"udp": "UDP 64 B packets/s", "udp-rr": "UDP 64 B round trips/s"}


def rows(r):
    """(figure, compared against, [ratio per round], op, target, unit) for each figure."""
    out = []
    udp = UDP_LABELS[r.get("udp_mode", "udp")]
    pp = r.get("per_packet", {})
    if "tagged" in pp:
        for mode, what, target in (("udp", f"{udp}, tagged socket", 0.97),
                                   ("tcp", "TCP bulk throughput, tagged socket", 0.99)):
            out.append((what, "module not loaded", ratios(pp["tagged"][mode], pp["absent"][mode]), ">=", target, "x"))
            out.append((what.split(",")[0] + ", module loaded, untagged", "module not loaded",
                        ratios(pp["loaded"][mode], pp["absent"][mode]), None, None, "x"))
            out.append((what, "nftables `meta skuid` counter", ratios(pp["tagged"][mode], pp["nft"][mode]), ">=", 1.0, "x"))
    sc = r.get("scale", {})
    if "many" in sc:
        n = f"{sc.get('sockets', 0):,} tagged sockets / {sc.get('uids', 0):,} uids"
        for mode, what in (("udp", udp), ("tcp", "TCP bulk throughput")):
            out.append((f"{what} with {n}", "10 of them tagged", ratios(sc["many"][mode], sc["few"][mode]), ">=", 0.99, "x"))
    to = r.get("tag_ops", {})
    if "sdk_ns" in to:
        out.append(("tag + untag through the SDK (speed-up)", "libcutils-style open/write/close",
                    ratios(to["libcutils_ns"], to["sdk_ns"]), ">=", 3.0, "x"))
    st = r.get("stats", {})
    if "cat_ms" in st:
        out.append((f"read + parse {st.get('rows', 0):,} stats rows", "`cat` of the same file",
                    ratios(st["read_parse_ms"], st["cat_ms"]), "<=", 2.0, "x"))
        host = r.get("stats_host", {})
        if "parse_rows_per_s" in host:
            out.append(("parser alone, on the host's CPU", "—", [x / 1e6 for x in host["parse_rows_per_s"]],
                        ">=", 5.0, "M rows/s"))
        out.append(("parser alone, in the VM (emulated CPU)", "—", [x / 1e6 for x in st["parse_rows_per_s"]],
                    None, None, "M rows/s"))
    for lang, b in sorted(r.get("bindings", {}).items()):
        if "error" in b:
            out.append((f"{lang}: binding", "—", [], None, None, "error: " + b["error"].strip().splitlines()[-1][:80]))
            continue
        e = b.get("empty_ns", [0] * len(b["native_call_ns"]))
        base = net(b["native_call_ns"], e)
        out.append((f"{lang}: set thread tag", "cheapest native call", ratios(net(b["set_tag_ns"], e), base), "<=", 1.3, "x"))
        if "contextvar_set_ns" in b:
            out.append((f"{lang}: `ContextVar.set` alone (the floor of set while the state is a ContextVar)",
                        "cheapest native call", ratios(net(b["contextvar_set_ns"], e), base), None, None, "x"))
        out.append((f"{lang}: get thread tag", "cheapest native call", ratios(net(b["get_tag_ns"], e), base), "<=", 1.3, "x"))
        if "binding_call_ns" in b:
            out.append((f"{lang}: a no-op call into the binding's native module", "cheapest native call",
                        ratios(net(b["binding_call_ns"], e), base), None, None, "x"))
        out.append((f"{lang}: tag_socket", "raw write of the same command",
                    ratios(net(b["tag_socket_ns"], e), net(b["raw_write_ns"], e)), "<=", 1.3, "x"))
    mem = r.get("memory", {})
    if "per_tagged_socket" in mem:
        out.append((f"kernel memory per tagged socket ({mem['sockets']:,} sockets)", "—",
                    [mem["per_tagged_socket"]], "<=", 128, "B"))
        out.append((f"kernel memory per stats entry ({mem['cpus']} CPUs; {mem['sockets']:,} entries)", "—",
                    [mem["per_stats_entry"]], "<=", 256, "B"))
    return out


def verdict(vals, op, target):
    if not vals:
        return "not measured"
    if op is None:
        return "(info)"
    m = statistics.median(vals)
    return "ok" if (m >= target if op == ">=" else m <= target) else "**MISSED**"


def fmt(v, unit):
    return f"{v:.0f}" if unit == "B" else f"{v:.3f}" if unit == "x" else f"{v:.2f}"


def table(r):
    lines = ["| figure | compared against | median | spread (min–max) | target | result |",
             "|---|---|---|---|---|---|"]
    for what, against, vals, op, target, unit in rows(r):
        med = fmt(statistics.median(vals), unit) + ("" if unit == "x" else " " + unit) if vals else unit
        spread = f"{fmt(min(vals), unit)}–{fmt(max(vals), unit)}" if len(vals) > 1 else ""
        tgt = f"{op} {target}" if op else ""
        lines.append(f"| {what} | {against} | {med} | {spread} | {tgt} | {verdict(vals, op, target)} |")
    return "\n".join(lines)


def main():
    r = json.load(open(sys.argv[1]))
    print(f"kernel {r.get('kernel')}, {r.get('cpus')} vCPUs (TCG), {r.get('reps')} rounds, "
          f"{r.get('seconds')} s per traffic run{' (smoke)' if r.get('smoke') else ''}\n")
    print(table(r))
    c = r.get("counted")
    if c:
        print(f"\nInstruction-counted (QEMU -icount: guest time is the number of instructions "
              f"executed, so runs repeat to 0.1%), {c.get('cpus')} vCPU, {c.get('reps')} rounds, "
              f"{c.get('seconds')} s per traffic run; UDP is one thread sending a datagram and "
              f"receiving it:\n")
        print(table(c))
    mem = r.get("memory", {})
    if mem:
        print(f"\nstats entries created {mem.get('stats_entries_created')} of "
              f"{mem.get('stats_entries_expected')} expected; every holder packet counted: "
              f"{mem.get('every_packet_counted')}")
    if "--check" in sys.argv:
        missing = [k for k in ("per_packet", "scale", "memory", "tag_ops", "stats", "bindings")
                   if k not in r or (isinstance(r[k], dict) and "error" in r[k])]
        bad = [w for w, _, vals, op, _, u in rows(r) if not vals]
        if missing or bad:
            print(f"\nnot measured: {', '.join(missing + bad)}")
            sys.exit(1)


if __name__ == "__main__":
    main()
