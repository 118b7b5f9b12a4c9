#!/usr/bin/env python3
"""Counts the lines of the forecast code that coupling it to zoo changed.

Usage: python3 host_lines.py [--max N] [OUTPUT_DIR]
Compares l96_host_uncoupled.f90 (the code before zoo) with l96_host.f90
(the code the demo runs), prints the added or changed lines and their
count, and exits 1 when there are more than N (default 5) or when one of
them lacks its "! zoo" marker. With OUTPUT_DIR, also writes
OUTPUT_DIR/host_lines.json.
"""
import difflib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    args = sys.argv[1:]
    limit = 5
    if args[:1] == ["--max"]:
        limit = int(args[1])
        args = args[2:]
    before = (HERE / "l96_host_uncoupled.f90").read_text().splitlines()
    after = (HERE / "l96_host.f90").read_text().splitlines()
    diff = list(difflib.unified_diff(before, after, lineterm="", n=0))
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    unmarked = [line for line in added if "! zoo" not in line]
    marked = [line for line in after if "! zoo" in line and not line.lstrip().startswith("!")]
    print(f"host lines added or changed for zoo: {len(added)} (removed or replaced: {len(removed)})")
    for line in added:
        print("  + " + line.strip())
    if args:
        report = {"changed": len(added), "replaced": len(removed), "lines": [s.strip() for s in added]}
        (Path(args[0]) / "host_lines.json").write_text(json.dumps(report, indent=2) + "\n")
    ok = len(added) <= limit and not unmarked and len(marked) == len(added)
    if not ok:
        print(f"FAIL: expected at most {limit} changed lines, each marked '! zoo' "
              f"({len(unmarked)} unmarked, {len(marked)} marked in l96_host.f90)")
        sys.exit(1)


if __name__ == "__main__":
    main()
