#!/usr/bin/env python3
"""Plots the Burgers demo: test error versus time, one panel per study.

Usage: python3 plot_burgers.py OUTPUT_DIR
Reads the errors_<study>.dat files written by burgers_demo (per method, the
median over its runs of the test MAE after each coarse step) and writes
OUTPUT_DIR/burgers.png.
"""
import math
import shlex
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DT_COARSE = 0.1


def read_table(path):
    """Returns (column names from the '#' header, rows of floats)."""
    lines = path.read_text().splitlines()
    names = shlex.split(lines[0].lstrip("#"))
    rows = [[float(v) for v in line.split()] for line in lines[1:] if line.strip()]
    return names, rows


def main():
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "burgers-output")
    files = sorted(outdir.glob("errors_*.dat"))
    if not files:
        raise SystemExit(f"no errors_*.dat in {outdir}: run burgers_demo first")
    ncols = 2
    nrows = math.ceil(len(files) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 4.2 * nrows), squeeze=False)
    for ax, path in zip(axes.flat, files):
        names, rows = read_table(path)
        time = [r[0] * DT_COARSE for r in rows]
        for j, method in enumerate(names[1:]):
            ax.plot(time, [r[1 + j] for r in rows], label=method)
        ax.set_yscale("log")
        ax.set_xlabel("time")
        ax.set_ylabel("test MAE (median over runs)")
        ax.set_title(path.stem.removeprefix("errors_"))
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(files):]:
        ax.axis("off")
    fig.tight_layout()
    out = outdir / "burgers.png"
    fig.savefig(out, dpi=110)
    print(f"plot: {out}")


if __name__ == "__main__":
    main()
