"""Arguments, the run, exit codes."""

import argparse
import os
import sys
import time

import qtag

from . import servers, work
from .chart import chart
from .report import Report

DESCRIPTION = """\
Profiles this program's own traffic per category (api 0x1001, images 0x1002,
telemetry 0x1003) with the xt_qtaguid kernel module and prints a table."""
EPILOG = "exit codes: 0 ok, 1 error, 2 usage, 3 kernel module not loaded, 4 permission denied"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python-profile", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print the table as JSON (for scripts and tests)")
    p.add_argument("--svg", metavar="PATH", default="profile.svg",
                   help="where to write the bar chart (a file, or a folder to put profile.svg in; "
                        "default: profile.svg in the current folder)")
    p.add_argument("--cumulative", action="store_true",
                   help="show the counters since the module was loaded, not just this run's")
    a = p.parse_args(argv)
    if os.path.isdir(a.svg):
        a.svg = os.path.join(a.svg, "profile.svg")
    return a


def log(msg):
    print(f"python-profile: {msg}", file=sys.stderr, flush=True)


def settled_stats(uid, quiet=0.2, timeout=3.0):
    """The counters once the uid's traffic has stopped: the last ACK of a closed connection
    on lo can wait in a softirq for a moment on a busy machine."""
    last = qtag.Stats.read()
    start = since = time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < start + timeout:
        time.sleep(0.05)
        now = qtag.Stats.read()
        if now.uid_total(uid) != last.uid_total(uid):
            last, since = now, time.monotonic()
    return last


def profile(cumulative):
    # The counters before the work (fails first, with the core's message, when the module
    # is not loaded): the table shows what changed since, i.e. this run's traffic.
    before = qtag.Stats.read()
    qtag.install()
    content, sink = servers.start_content(), servers.start_telemetry()
    try:
        log(f"servers on {content.addr[0]}:{content.addr[1]} (content) and "
            f"{sink.addr[0]}:{sink.addr[1]} (telemetry); running api, images and telemetry "
            "work concurrently...")
        t0 = time.monotonic()
        work.run(content.addr, sink.addr)
    finally:
        content.stop()  # returns once every connection is closed
        sink.stop()
    log(f"work done in {time.monotonic() - t0:.1f} s; reading the kernel's counters")
    after = settled_stats(os.getuid())
    if cumulative:
        return Report(after, None, os.getuid(), "lo", "since the module was loaded", work.CATEGORIES)
    return Report(after, before, os.getuid(), "lo", "during this run", work.CATEGORIES)


def main(argv=None):
    args = parse_args(argv)
    try:
        report = profile(args.cumulative)
    except qtag.ModuleNotLoadedError as e:
        log(e.strerror or e)
        return 3
    except qtag.PermissionDeniedError as e:
        log(e.strerror or e)
        return 4
    except OSError as e:
        log(e)
        return 1
    try:
        with open(args.svg, "w") as f:
            f.write(chart(report))
        svg_ok = True
    except OSError as e:
        log(f"cannot write the chart to {args.svg}: {e} (choose another place with --svg)")
        svg_ok = False
    if args.json:
        sys.stdout.write(report.json(args.svg if svg_ok else None))
    else:
        sys.stdout.write(report.text())
        if svg_ok:
            print(f"\nBar chart: {args.svg}")
    return 0 if svg_ok else 1
