#!/usr/bin/env python3
"""Plots the online-training demo: for truth 1, forecast error over the
production run, test error per lead time, the learned closures and the
online training losses; for every truth, the test error of each method and
the polynomial closure's error by degree.

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

COLORS = {
    "none": "tab:gray",
    "linear": "tab:green",
    "polynomial": "tab:purple",
    "online": "tab:red",
    "offline": "tab:blue",
}
LABELS = {
    "none": "no closure",
    "linear": "linear a + bX (least squares)",
    "polynomial": "polynomial (least squares, degree by validation)",
    "online": "online (zoo, during the run)",
    "offline": "offline network fit to the true coupling",
}
# Truths 2 and 3 only: the networks with the hyper-parameters selected on truth 1.
CHECKS = {
    "online_hp_truth1": ("lightcoral", "online, truth 1's hyper-parameters"),
    "offline_hp_truth1": ("lightskyblue", "offline, truth 1's hyper-parameters"),
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
    truths = results["truths"]
    first = truths[0]
    methods = [m for m in COLORS if m in first["methods"]]
    periods = results["periods_in_observations"]
    dt_obs = results["time_units"]["dt_observation"]
    train_end = periods["train"] * dt_obs
    val_end = (periods["train"] + periods["validation"]) * dt_obs
    seeds = len(results["seeds"])
    degree = first["polynomial"]["degree"]

    fig, axes = plt.subplots(2, 3, figsize=(19, 9))
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
    ax.set_title(f"truth 1: error over the run (median over {seeds} seeds, mean of {width} cycles)", fontsize=10)
    ax.legend(fontsize=6, ncol=2, loc="center right")

    ax = axes[0, 1]
    leads = table(outdir / "leads.dat")
    for m in methods:
        ax.plot(leads["lead"], leads[m], "o-", color=COLORS[m], label=LABELS[m], ms=3)
    ax.set_yscale("log")
    ax.set_xlabel("lead time")
    ax.set_ylabel("test MSE (median over seeds)")
    ax.set_title("truth 1, test period: error per lead time", fontsize=10)
    ax.legend(fontsize=6)

    ax = axes[0, 2]
    colors = dict(COLORS, **{m: c for m, (c, _) in CHECKS.items()})
    labels = dict(LABELS, **{m: label for m, (_, label) in CHECKS.items()})
    shown = [m for m in colors if m not in ("none", "linear") and any(m in t["methods"] for t in truths)]
    labelled = set()
    for i, truth in enumerate(truths):
        for j, m in enumerate(shown):
            if m not in truth["methods"]:
                continue
            x = i + (j - (len(shown) - 1) / 2) * 0.13
            values = [v for v in truth["methods"][m]["test_mse"] if v is not None]
            ax.scatter([x] * len(values), values, s=10, color=colors[m], alpha=0.7)
            median = truth["methods"][m]["median"]
            if median is not None:
                ax.plot([x - 0.05, x + 0.05], [median, median], color=colors[m], lw=2,
                        label=None if m in labelled else labels[m])
                labelled.add(m)
    ax.set_xticks(range(len(truths)), [f"truth {t['truth_seed']}" for t in truths])
    ax.set_yscale("log")
    ax.set_ylabel("test MSE (dots: seeds, bar: median)")
    linear = [t["methods"]["linear"]["median"] for t in truths]
    ax.set_title(f"every truth: test error (no closure about 3, linear {min(linear):.2f}-{max(linear):.2f})",
                 fontsize=10)
    ax.legend(fontsize=6)

    ax = axes[1, 0]
    scatter = np.loadtxt(outdir / "scatter.dat", ndmin=2)
    ax.scatter(scatter[:, 0], scatter[:, 1], s=1, color="k", alpha=0.15, label="true coupling (training period)")
    closure = table(outdir / "closure.dat")
    for m in methods:
        suffix = " (seed 1)" if m in ("online", "offline") else (f" (degree {degree})" if m == "polynomial" else "")
        ax.plot(closure["X"], closure[m], color=COLORS[m], label=LABELS[m] + suffix)
    ax.set_xlabel("X_k")
    ax.set_ylabel("g(X_k)")
    ax.set_title("truth 1, closures: online never sees the coupling term", fontsize=10)
    ax.legend(fontsize=6)

    ax = axes[1, 1]
    styles = ["-", "--", ":"]
    for i, truth in enumerate(truths):
        poly = truth["polynomial"]
        degrees = np.arange(len(poly["validation_mse_by_degree"]))
        val = np.array([np.nan if v is None else v for v in poly["validation_mse_by_degree"]])
        test = np.array([np.nan if v is None else v for v in poly["test_mse_by_degree"]])
        style = styles[i % len(styles)]
        name = f"truth {truth['truth_seed']}"
        ax.plot(degrees, val, style, color="tab:orange", marker="o", ms=3, label=f"{name}: validation")
        ax.plot(degrees, test, style, color="tab:purple", marker="o", ms=3, label=f"{name}: test")
        ax.plot([poly["degree"]], [val[poly["degree"]]], "k*", ms=10)
        ax.axhline(truth["methods"]["online"]["median"], color="tab:red", ls=style, lw=1,
                   label=f"{name}: online test median")
    cap = int(first["polynomial"]["selected_from_degrees"].split("-")[1])
    ax.axvline(cap + 0.5, color="k", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_ylim(0.07, 0.2)
    ax.set_xlabel(f"polynomial degree (chosen from 0-{cap}; higher ones for the record; degree 0: about 2)")
    ax.set_ylabel("forecast MSE")
    ax.set_title("polynomial closure by degree (star: chosen on validation; gaps: forecast diverged)", fontsize=10)
    ax.legend(fontsize=6, ncol=2)

    ax = axes[1, 2]
    training = table(outdir / "training.dat")
    per_cycle = int(results["time_units"]["analysis_every_steps"] // first["online"]["window_steps"])
    width = 10 * per_cycle
    for name, losses in training.items():
        if name == "time":
            continue
        ax.plot(training["time"][width - 1:], rolling(losses, width), lw=1, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("time of the production run")
    ax.set_ylabel("window loss (MSE)")
    ax.set_title("truth 1, online training: loss of each zoo_step's window (rolling mean)", fontsize=10)
    ax.legend(fontsize=7)

    fig.tight_layout()
    fig.savefig(outdir / "online.png", dpi=100)
    print(f"wrote {outdir / 'online.png'}")


if __name__ == "__main__":
    main()
