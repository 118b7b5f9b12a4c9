#!/usr/bin/env python3
"""Plots the Burgers demo: solution snapshots and test error versus time.

Usage: python3 plot_burgers.py OUTPUT_DIR
Reads errors_<study>.dat and snapshots_<study>.dat written by burgers_demo
for its three studies and writes OUTPUT_DIR/burgers.png.
"""
import shlex
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_table(path):
    """Returns (column names from the '#' header, rows of floats)."""
    lines = path.read_text().splitlines()
    names = shlex.split(lines[0].lstrip("#"))
    rows = [[float(v) for v in line.split()] for line in lines[1:] if line.strip()]
    return names, rows


def column(rows, j):
    return [r[j] for r in rows]


def plot_study(axes, outdir, study, title):
    names, rows = read_table(outdir / f"errors_{study}.dat")
    methods = names[2:]
    err_ax, snap_ax = axes
    for j, method in enumerate(methods):
        err_ax.plot(column(rows, 1), column(rows, 2 + j), label=method)
    err_ax.set_yscale("log")
    err_ax.set_xlabel("time")
    err_ax.set_ylabel("test MAE (mean over test cases)")
    err_ax.set_title(f"{title}: error versus time")
    err_ax.legend(fontsize=7)

    _, snaps = read_table(outdir / f"snapshots_{study}.dat")
    x = column(snaps, 0)
    final = 2  # the third snapshot (step 60)
    snap_ax.plot(x, column(snaps, 1 + final), "k-", linewidth=2.5, label="reference (fine, averaged)")
    for j, method in enumerate(methods):
        snap_ax.plot(x, column(snaps, 4 + 3 * j + final), label=method, linewidth=1)
    snap_ax.set_xlabel("x")
    snap_ax.set_ylabel("u at t = 6 (test case 1)")
    snap_ax.set_title(f"{title}: solution at the end of the test rollout")
    snap_ax.legend(fontsize=7)


def main():
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "burgers-output")
    studies = [
        ("correction-smooth", "(a) correction, smooth regime"),
        ("correction-sharp", "(a) correction, sharp regime"),
        ("closure-sharp", "(b) closure, sharp regime"),
    ]
    fig, axes = plt.subplots(len(studies), 2, figsize=(14, 4.5 * len(studies)))
    for row, (study, title) in zip(axes, studies):
        plot_study(row, outdir, study, title)
    fig.tight_layout()
    out = outdir / "burgers.png"
    fig.savefig(out, dpi=110)
    print(f"plot: {out}")


if __name__ == "__main__":
    main()
