"""Check a profiling example's table against the kernel's stats file.

Every profiling example (examples/*-profile) prints the same table: as JSON (--json: uid,
iface, period, total, categories [{name, tag, rx/tx bytes/packets, share}], untagged,
svg) or as text (columns category, tag, rx bytes, rx pkts, tx bytes, tx pkts, share; then
"Bar chart: PATH"); both are read here. This reads /proc/net/xt_qtaguid/stats itself (with
the kmod tests' parser, not the package under test), compares exactly, and prints
`ok NAME-WHAT` / `fail NAME-WHAT (why)` lines.

    python3 check_profile.py NAME OUT UID WORKDIR [BEFORE.rows.json]

The stats rows are saved as WORKDIR/NAME.rows.json; with BEFORE (an earlier run's saved
rows) the expected numbers are the growth since then, as the examples show by default.
Run it right after the example exits, before any other traffic of UID.
"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../kmod/tests"))
import qt  # noqa: E402

KEYS = ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")
CATEGORIES = {"api": 0x1001, "images": 0x1002, "telemetry": 0x1003}


def parse_text(text):
    """The text table as the JSON schema's dict (shares to one decimal)."""
    out = {"categories": [], "svg": None}
    head = re.match(r"Traffic of uid (\d+) on (\S+) ", text)
    if head:
        out["uid"], out["iface"] = int(head[1]), head[2]
    row = re.compile(r"^(.+?) +(0x[0-9a-f]+|-) +(-?\d+) +(-?\d+) +(-?\d+) +(-?\d+) +(-?[\d.]+)%$")
    for line in text.splitlines():
        if line.startswith("Bar chart: "):
            out["svg"] = line[len("Bar chart: "):]
        m = row.match(line)
        if not m or m[1] == "category":
            continue
        d = dict(zip(KEYS, map(int, m.group(3, 4, 5, 6))), share=float(m[7]))
        if m[1] == "uid total":
            out["total"] = d
        elif m[1] == "untagged remainder":
            out["untagged"] = d
        else:
            out["categories"].append(dict(d, name=m[1], tag=int(m[2], 16)))
    return out


def main(name, out_path, uid, work, before_path=""):
    uid = int(uid)

    def check(what, ok, why=""):
        print(f"ok {name}-{what}" if ok else f"fail {name}-{what} ({why})")

    rows = qt.read_stats()
    with open(os.path.join(work, name + ".rows.json"), "w") as f:
        json.dump(rows, f)
    before = []
    if before_path:
        with open(before_path) as f:
            before = json.load(f)
    try:
        with open(out_path) as f:
            text = f.read()
    except OSError as e:
        check("output", False, e)
        return
    try:
        out, eps = json.loads(text), 0.01
    except ValueError:
        out, eps = parse_text(text), 0.051 * 4
    complete = {"uid", "total", "untagged"} <= out.keys() and len(out["categories"]) > 0
    check("output", complete, text[:300])
    if not complete:
        return

    def kernel(tag):  # this uid's rows of tag on lo, summed over counter sets
        now = qt.sum_rows(rows, iface="lo", uid=uid, tag=tag)
        old = qt.sum_rows(before, iface="lo", uid=uid, tag=tag)
        return {k: now[k] - old[k] for k in KEYS}

    def mine(d):
        return {k: d.get(k) for k in KEYS}

    check("uid", out.get("uid") == uid and out.get("iface") == "lo",
          f"{out.get('uid')} {out.get('iface')}")
    total = kernel(0)
    check("total-matches-stats", mine(out["total"]) == total,
          f"printed {mine(out['total'])}, stats {total}")
    cats = {c["name"]: c for c in out["categories"]}
    check("categories", set(cats) == set(CATEGORIES), sorted(cats))
    tagged = dict.fromkeys(KEYS, 0)
    for cat, tag in CATEGORIES.items():
        c = cats.get(cat)
        if c is None:
            continue
        k = kernel(tag)
        check(f"{cat}-matches-stats", c["tag"] == tag and mine(c) == k, f"printed {c}, stats {k}")
        for key in KEYS:
            tagged[key] += k[key]
    rest = {k: total[k] - tagged[k] for k in KEYS}
    check("untagged-is-remainder", mine(out["untagged"]) == rest,
          f"printed {mine(out['untagged'])}, expected {rest}")
    shares = sum(c["share"] for c in out["categories"]) + out["untagged"]["share"]
    check("shares-add-up-to-100", abs(shares - 100.0) < eps, shares)
    allb = total["rx_bytes"] + total["tx_bytes"]
    for c in out["categories"]:
        want = 100.0 * (c["rx_bytes"] + c["tx_bytes"]) / allb if allb else 0
        check(f"{c['name']}-share", abs(c["share"] - want) < eps, f"{c['share']} vs {want}")
    a, i, t = cats.get("api", {}), cats.get("images", {}), cats.get("telemetry", {})
    check("api-both-ways", a.get("rx_packets", 0) > 100 and a.get("tx_packets", 0) > 100, a)
    check("images-mostly-rx", i.get("rx_bytes", 0) > 10 * i.get("tx_bytes", 1) > 0, i)
    check("telemetry-mostly-tx", t.get("tx_bytes", 0) > 10 * t.get("rx_bytes", 1) > 0, t)
    check("untagged-nonnegative", all(v >= 0 for v in rest.values()), rest)
    try:
        svg = ET.parse(out["svg"]).getroot()
        bars = svg.findall("{http://www.w3.org/2000/svg}rect")
        check("svg", svg.tag.endswith("svg") and len(bars) >= 8, out["svg"])
    except (OSError, TypeError, ET.ParseError) as e:
        check("svg", False, e)


if __name__ == "__main__":
    main(*sys.argv[1:])
