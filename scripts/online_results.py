#!/usr/bin/env python3
"""Writes results/online.json (the schema of results/README.md) from the
online example's own results file, examples-fortran/online/results.json,
which `online_demo` writes. Run after the example, then
`python3 scripts/results_tables.py --write`.

Usage: python3 scripts/online_results.py [path to the example's results.json]
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "examples-fortran" / "online" / "results.json"
METHODS = [
    ("none", "no closure"),
    ("linear", "linear least squares"),
    ("polynomial", "polynomial least squares"),
    ("offline", "network fitted offline on the true coupling term"),
    ("online", "online (zoo), trained inside the production run"),
    ("online_lr_auto", "online (zoo), default lr=auto"),
]


def chosen(truth, method):
    """The hyper-parameters a truth's validation period chose, as text."""
    if method == "none":
        return "-"
    if method == "online_lr_auto":
        online = truth["online"]
        return f"W {online['window_steps']}, q {online['q']}, mu {online['mu']} as for online; lr auto"
    values = truth[method]
    if method == "linear":
        b = values["b"]
        return f"g = {values['a']:.3g} {'+' if b >= 0 else '−'} {abs(b):.3g} X"
    if method == "polynomial":
        return f"degree {values['degree']} of {values['selected_from_degrees']}"
    if method == "offline":
        return f"epochs {values['epochs']}, lr {values['lr']}, weight decay {values['weight_decay']}"
    return f"W {values['window_steps']}, q {values['q']}, lr {values['lr']}, mu {values['mu']}"


def main():
    source = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    data = json.loads(source.read_text())
    if data.get("quick"):
        sys.exit(f"{source} is from a --quick run; the README's table needs the full run")
    rows = []
    for key, label in METHODS:
        runs = []
        for truth in data["truths"]:
            for seed, mse in zip(data["seeds"], truth["methods"][key]["test_mse"]):
                runs.append({"truth": truth["truth_seed"], "seed": seed, "test_mse": mse})
        hyper = "; ".join(f"truth {t['truth_seed']}: {chosen(t, key)}" for t in data["truths"])
        rows.append({"method": label, "hyper": hyper, "bold": key == "online", "runs": runs})
    out = {
        "name": "online",
        "reproduce": ("build/examples-fortran/online/online_demo build/online-output && cp "
                      "build/online-output/results.json examples-fortran/online/ && python3 scripts/online_results.py"),
        "protocol": data["selection"] + ". " + data["metric"] + ". Observations: " + data["observations"] + ".",
        "tables": [{
            "id": "forecast",
            "title": "forecast MSE on the test periods, 3 truths x 5 seeds",
            "columns": [
                {"key": "method", "label": "closure"},
                {"key": "hyper", "label": "chosen on validation, per truth"},
                {"key": "test_mse", "label": "test MSE, median [min, max]", "agg": "median-range", "format": ".3g"},
                {"key": "test_mse", "label": "vs offline", "agg": "ratio",
                 "of": "network fitted offline on the true coupling term", "format": ".2f"},
                {"key": "test_mse", "label": "runs", "agg": "runs"},
            ],
            "rows": rows,
        }],
    }
    target = ROOT / "results" / "online.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
