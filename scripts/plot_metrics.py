"""Turns zoo's per-iteration metrics (JSON lines, option metrics_file) into
a PNG: the loss, the gradient-estimate norm and the learning rate against
the iteration, plus dropped candidates when there were any.

Usage: python3 plot_metrics.py METRICS.jsonl OUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                # A run killed while writing leaves at most one partial line.
                print(f"{path}:{number}: skipping a partial line", file=sys.stderr)
    if not rows:
        sys.exit(f"{path}: no metrics")
    return rows


def series(rows, key):
    return [(r["iteration"], r[key]) for r in rows if r.get(key) is not None]


def main(source, target):
    rows = read(source)
    loss = [
        (r["iteration"], r["base_loss"] if r["base_loss"] is not None else r["mean_loss"])
        for r in rows
        if (r["base_loss"] if r["base_loss"] is not None else r["mean_loss"]) is not None
    ]
    panels = [("loss", loss, True), ("gradient-estimate norm", series(rows, "grad_norm"), True),
              ("learning rate", series(rows, "lr"), False)]
    data_loss = series(rows, "data_loss")
    dropped = series(rows, "dropped")
    if any(v for _, v in dropped):
        panels.append(("dropped candidates", dropped, False))
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.3 * len(panels)), sharex=True)
    for ax, (title, points, log) in zip(axes, panels):
        if points:
            ax.plot(*zip(*points), lw=1.2, label=title)
        if title == "loss" and data_loss:
            ax.plot(*zip(*data_loss), lw=1.0, label="data term")
            ax.legend()
        positive = all(v > 0 for _, v in points)
        if log and points and positive:
            ax.set_yscale("log")
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("iteration")
    fig.suptitle(f"zoo metrics: {len(rows)} iterations")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    print(f"wrote {target}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
