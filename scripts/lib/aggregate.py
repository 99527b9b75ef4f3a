#!/usr/bin/env python3
"""Add up the results of every suite run by scripts/test and print the closing line.

Usage: aggregate.py DIR...   (build/results and build/vmout)

Layout: each suite run has a folder holding `exit` (its exit code) and any number of
result files: JUnit XML (*.xml) or *.results ("ok|fail|skip NAME" per line). Folders
without `exit` but with *.results (single steps such as install-deps, VM boots) count too.
The last line printed is exactly "N passed, N failed" (", N skipped" when any).
Exit status: 1 if anything failed, else 0.
"""
import os
import sys
import xml.etree.ElementTree as ET


def junit(path, prefix):
    out = []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return [("fail", f"{prefix}{os.path.basename(path)} (unreadable JUnit XML: {e})", "")]
    for tc in root.iter("testcase"):
        cls = tc.get("classname", "")
        name = f"{prefix}{cls + '::' if cls else ''}{tc.get('name', '?')}"
        status, msg = "ok", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                status = "fail"
                msg = (child.get("message") or "").splitlines()[0:1]
                msg = msg[0][:300] if msg else ""
                break
            if child.tag == "skipped":
                status = "skip"
        out.append((status, name, msg))
    return out


def plain(path, prefix):
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, _, name = line.partition(" ")
            status = {"ok": "ok", "pass": "ok", "passed": "ok", "fail": "fail",
                      "failed": "fail", "skip": "skip", "skipped": "skip"}.get(word.lower())
            if status is None:
                status, name = "fail", f"unparsable result line: {line}"
            out.append((status, prefix + name, ""))
    return out


def suite_dirs(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        if "exit" in filenames or any(f.endswith((".xml", ".results")) for f in filenames):
            yield dirpath, sorted(filenames)


def main(tops):
    tests = []
    for top in tops:
        if not os.path.isdir(top):
            continue
        for d, files in suite_dirs(top):
            rel = os.path.relpath(d, top)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "::"
            found = []
            for f in files:
                p = os.path.join(d, f)
                if f.endswith(".xml"):
                    found += junit(p, prefix)
                elif f.endswith(".results"):
                    found += plain(p, prefix)
            if "exit" in files:
                try:
                    rc = int(open(os.path.join(d, "exit")).read().strip() or "1")
                except ValueError:
                    rc = 1
                if not found:
                    found = [("ok" if rc == 0 else "fail", rel, f"exit {rc}" if rc else "")]
                elif rc != 0 and not any(s == "fail" for s, _, _ in found):
                    found.append(("fail", f"{prefix}(suite exited {rc})", "see output.log"))
            tests += found

    counts = {"ok": 0, "fail": 0, "skip": 0}
    for s, _, _ in tests:
        counts[s] += 1
    failed = [(n, m) for s, n, m in tests if s == "fail"]
    if failed:
        print("\nFAILED:")
        for n, m in failed[:200]:
            print(f"  {n}" + (f" -- {m}" if m else ""))
        if len(failed) > 200:
            print(f"  ... and {len(failed) - 200} more")
    line = f"{counts['ok']} passed, {counts['fail']} failed"
    if counts["skip"]:
        line += f", {counts['skip']} skipped"
    print(line)
    return 1 if counts["fail"] or not tests else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
