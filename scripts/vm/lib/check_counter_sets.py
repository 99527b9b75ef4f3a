"""Check the counter-sets example against the kernel's stats file: its printed numbers per
counter set equal the app uid's rows of that set (exact), browsing (foreground) traffic is
all in set 1 and syncing (background) traffic all in set 0.

    python3 check_counter_sets.py APP.json

Prints `ok counter-sets-WHAT` / `fail counter-sets-WHAT (why)` lines.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../kmod/tests"))
import qt  # noqa: E402

KEYS = ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets")
TAGS = {"browse": 0x3001, "sync": 0x3002, "total": 0}


def check(what, ok, why=""):
    print(f"ok counter-sets-{what}" if ok else f"fail counter-sets-{what} ({why})")


def main(path):
    rows = qt.read_stats()
    try:
        with open(path) as f:
            out = json.load(f)
    except (OSError, ValueError) as e:
        check("output", False, e)
        return
    uid = out["uid"]
    for cset in ("1", "0"):
        for what, tag in TAGS.items():
            s = qt.sum_rows(rows, iface="lo", uid=uid, tag=tag, set=int(cset))
            want = {k: s[k] for k in KEYS}
            got = out["sets"][cset][what]
            check(f"set{cset}-{what}-matches-stats", got == want, f"printed {got}, stats {want}")
    zero = dict.fromkeys(KEYS, 0)
    fg, bg = out["sets"]["1"], out["sets"]["0"]
    check("browse-only-in-foreground", bg["browse"] == zero and fg["browse"]["rx_bytes"] > 6 * 300 * 1024,
          f"fg {fg['browse']}, bg {bg['browse']}")
    check("sync-only-in-background", fg["sync"] == zero and bg["sync"]["tx_bytes"] > 5 * 150000,
          f"fg {fg['sync']}, bg {bg['sync']}")


if __name__ == "__main__":
    main(*sys.argv[1:])
