#!/usr/bin/env python3
"""Plots the online-training demo: forecast error over the production run,
test error per lead time, the learned closures and the training losses.

Usage: python3 plot_online.py OUTPUT_DIR
Reads results.json and the *.dat files written by online_demo and writes
OUTPUT_DIR/online.png.
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"none": "tab:gray", "online": "tab:red", "offline": "tab:blue", "linear": "tab:green"}
LABELS = {
    "none": "no closure",
    "online": "online (zoo, during the run)",
    "offline": "offline fit to the true coupling",
    "linear": "linear a + bX (least squares)",
}


def table(path):
    """Columns of a '#'-headed table, by name."""
    with open(path) as f:
        names = f.readline().lstrip("#").split()
    data = np.loadtxt(path, ndmin=2)
    return {name: data[:, j] for j, name in enumerate(names)}


def rolling(values, width):
    kernel = np.ones(width) / width
    return np.convolve(values, kernel, mode="valid")


def main():
    outdir = Path(sys.argv[1])
    results = json.loads((outdir / "results.json").read_text())
    methods = [m for m in COLORS if m in results["methods"]]
    periods = results["periods_in_observations"]
    dt_obs = results["time_units"]["dt_observation"]
    train_end = periods["train"] * dt_obs
    val_end = (periods["train"] + periods["validation"]) * dt_obs
    seeds = len(results["seeds"])

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax = axes[0, 0]
    errors = table(outdir / "errors.dat")
    width = 10
    t = errors["time"][width - 1:]
    for m in methods:
        ax.plot(t, rolling(errors[m], width), color=COLORS[m], label=LABELS[m], lw=1.2)
    ax.axvspan(0, train_end, color="tab:red", alpha=0.07, label="online training")
    ax.axvspan(train_end, val_end, color="tab:orange", alpha=0.07, label="validation")
    ax.axvspan(val_end, errors["time"][-1], color="tab:blue", alpha=0.05, label="test")
    ax.set_yscale("log")
    ax.set_xlabel("time of the production run")
    ax.set_ylabel("forecast MSE vs observations")
    ax.set_title(f"error over the run (median over {seeds} seeds, mean of {width} cycles)")
    ax.legend(fontsize=7, ncol=2, loc="center right")

    ax = axes[0, 1]
    leads = table(outdir / "leads.dat")
    for m in methods:
        ax.plot(leads["lead"], leads[m], "o-", color=COLORS[m], label=LABELS[m], ms=3)
    ax.set_yscale("log")
    ax.set_xlabel("lead time")
    ax.set_ylabel("test MSE (median over seeds)")
    ax.set_title("test period: error per lead time")
    ax.legend(fontsize=7)

    ax = axes[1, 0]
    scatter = np.loadtxt(outdir / "scatter.dat", ndmin=2)
    ax.scatter(scatter[:, 0], scatter[:, 1], s=1, color="k", alpha=0.15, label="true coupling (training period)")
    closure = table(outdir / "closure.dat")
    for m in methods:
        ax.plot(closure["X"], closure[m], color=COLORS[m], label=LABELS[m] + (" (seed 1)" if m in ("online", "offline") else ""))
    ax.set_xlabel("X_k")
    ax.set_ylabel("g(X_k)")
    ax.set_title("closures: online never sees the coupling term")
    ax.legend(fontsize=7)

    ax = axes[1, 1]
    training = table(outdir / "training.dat")
    per_cycle = int(results["time_units"]["analysis_every_steps"] // results["online"]["window_steps"])
    width = 10 * per_cycle
    for name, losses in training.items():
        if name == "time":
            continue
        ax.plot(training["time"][width - 1:], rolling(losses, width), lw=1, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("time of the production run")
    ax.set_ylabel("window loss (MSE)")
    ax.set_title("online training: loss of each zoo_step's window (rolling mean)")
    ax.legend(fontsize=7)

    fig.tight_layout()
    fig.savefig(outdir / "online.png", dpi=110)
    print(f"wrote {outdir / 'online.png'}")


if __name__ == "__main__":
    main()
