#!/usr/bin/env python3
"""zoo against numpy (and jax when installed) on one core.

1. forward: GFLOP/s of zoo's batched forward (benches/kernels.rs) next to a
   plain numpy forward, a jax jit forward and numpy's DGEMM rate.
2. closure: one training iteration of the flagship closure through zoo (the
   demo's Fortran solver calling zoo, benchmarks/kernels/closure_bench.f90)
   next to the same iteration batched in numpy and in jax (closure_ref.py),
   after checking that they give zoo's losses on zoo's candidates.

Every round runs each implementation once, back to back, so a shared
machine's drifts hit all of them alike; tables give medians over rounds
and the median of the per-round ratios. Prints markdown tables and writes
them with the raw numbers to OUT/results.md and OUT/results.json.

Usage: python3 benchmarks/kernels/bench.py [--quick] [--rounds R]
  [--seconds S] [--iterations K] [--cpu N] [--no-jax] [--out DIR]
--quick: a smoke test (one round, tiny sizes, no jax); exits 1 when the
losses disagree. bash benchmarks/kernels/run.sh sets up and runs it all.
"""

import os

# One thread for every BLAS and for XLA; must be set before numpy/jax load.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"
# numpy's bundled OpenBLAS runs the kernels OPENBLAS_CORETYPE names, or the
# ones it detects; some machines set Haswell (AVX2) globally, and an AVX2
# kernel halves DGEMM on an AVX-512 core. The peer is measured at its best:
# its AVX-512 kernels wherever the CPU has AVX-512F.
with open("/proc/cpuinfo") as _cpuinfo:
    if " avx512f" in _cpuinfo.read():
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SHAPES = ["5-16-1@256", "16-64-64-1@1024", "64-256-256-8@4096",
          "64-64-64-64@256", "256-256-256-256@256", "1024-1024-1024@256"]
QUICK_SHAPES = ["5-16-1@256", "16-64-64-1@64"]
# Same computation, different summation order and libm: far below this.
LOSS_TOLERANCE = 1e-9


def options():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--seconds", type=float, default=0.3, help="time budget per measurement")
    p.add_argument("--iterations", type=int, default=10, help="closure iterations per round")
    p.add_argument("--cpu", type=int, default=None, help="core to pin to (-1: no pinning)")
    p.add_argument("--no-jax", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--part", choices=["all", "forward", "closure"], default="all")
    o = p.parse_args()
    if o.quick:
        o.rounds, o.seconds, o.iterations, o.no_jax = 1, 0.0, 1, True
    return o


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


def build():
    """Builds benches/kernels.rs and closure_bench; returns their paths."""
    exe = lib = None
    for line in run(["cargo", "bench", "--bench", "kernels", "--no-run",
                     "--message-format=json"], cwd=ROOT).splitlines():
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact":
            continue
        if msg["target"]["name"] == "kernels" and msg.get("executable"):
            exe = Path(msg["executable"])
        if msg["target"]["name"] == "zoo":
            lib = next((Path(f) for f in msg["filenames"] if f.endswith(".a")), lib)
    out = exe.parents[2] / "kernels-bench"  # <target>/release/deps/kernels-*
    out.mkdir(exist_ok=True)
    fc = os.environ.get("FC", "gfortran")
    burgers = ROOT / "examples-fortran" / "burgers"
    # -O3: what the demo gets from CMake's Release build.
    run([fc, "-O3", "-J", str(out), str(ROOT / "include" / "zoo.f90"),
         str(burgers / "burgers_solvers.f90"), str(burgers / "burgers_coupling.f90"),
         str(HERE / "closure_bench.f90"), str(lib), "-lm", "-lrt", "-lpthread", "-ldl", "-lutil",
         "-o", str(out / "closure_bench")])
    return exe, out / "closure_bench", out


def pin(cpu):
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1] if cpu is None else cpu
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})  # inherited by the zoo processes
    return cpu


def median(values):
    values = sorted(values)
    return values[len(values) // 2]  # the upper one for an even count, as in Rust


def time_call(fn, budget, reps=None):
    """Median seconds per call, sampled as benches/kernels.rs does: each
    sample repeats the call until it lasts 10 ms (or `reps` times), until
    the budget is spent."""
    def sample(reps):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - start) / reps

    reps = reps or max(1, min(10**6, int(0.01 / sample(1))))
    samples, start = [sample(reps)], time.perf_counter()
    while time.perf_counter() - start < budget:
        samples.append(sample(reps))
    return median(samples)


def load_jax(o):
    if o.no_jax:
        return None, "skipped (--no-jax)"
    try:
        import jax
        jax.config.update("jax_enable_x64", True)  # zoo computes in f64
        return jax, jax.__version__
    except ImportError as e:
        return None, f"not installed ({e})"


def forward_part(o, exe, jax):
    import forward_ref as fr

    shapes = QUICK_SHAPES if o.quick else SHAPES
    problems = {s: fr.problem(*fr.parse_shape(s)) for s in shapes}
    impls = {"numpy": {s: (lambda p=p: fr.numpy_forward(*p)) for s, p in problems.items()}}
    if jax:
        prepare = fr.jax_forward()
        impls["jax"] = {s: prepare(*p) for s, p in problems.items()}
        for fn in impls["jax"].values():
            fn()  # compile outside the timing
    n = 256 if o.quick else 1024
    gemms, gemm_flops = fr.dgemm(n, jax)
    raw = {name: {s: [] for s in shapes} for name in ["zoo", *impls]}
    dgemm = {name: [] for name in gemms}
    for _ in range(o.rounds):
        out = run([str(exe), "--json", "--shapes", ",".join(shapes), "--seconds", str(o.seconds)])
        for line in out.splitlines():
            r = json.loads(line)
            raw["zoo"][r["shape"]].append(r["seconds_per_call"])
        for name, fns in impls.items():
            for s, fn in fns.items():
                raw[name][s].append(time_call(fn, o.seconds))
        for name, fn in gemms.items():
            dgemm[name].append(time_call(fn, o.seconds))
    dgemm_gflops = {name: gemm_flops / median(t) / 1e9 for name, t in dgemm.items()}
    best = max(dgemm_gflops.values())
    rows = []
    for s in shapes:
        f = fr.flops(*fr.parse_shape(s))
        row = {"shape": s, "flops": f}
        for name in raw:
            row[f"{name}_gflops"] = f / median(raw[name][s]) / 1e9
            row[f"{name}_seconds"] = raw[name][s]
        for name in impls:  # per-round ratios: the same drift hits both
            row[f"zoo_over_{name}"] = median([b / a for a, b in zip(raw["zoo"][s], raw[name][s])])
        row["zoo_over_dgemm"] = row["zoo_gflops"] / best
        rows.append(row)
    return {"dgemm_n": n, "dgemm_gflops": dgemm_gflops, "dgemm_seconds": dgemm,
            "implementations": ["zoo", *impls], "rows": rows}


def closure_part(o, bench, work, jax):
    import numpy as np
    import closure_ref as cr

    dump = work / "closure_dump.txt"
    json.loads(run([str(bench), "1", str(dump)]))
    d = cr.read_dump(dump)
    impls = {"numpy": cr.NumpyIteration}
    if jax:
        impls["jax"] = cr.JaxIteration
    agreement = {}
    # The base point: the mean of the first ± pair of candidates.
    theta = 0.5 * (d["params"][0] + d["params"][1])
    iterations = {}
    for name, cls in impls.items():
        it = cls(theta, d["ref"], d["nu"])
        mine = np.asarray(it.losses(d["params"]))
        agreement[name] = float(np.max(np.abs(mine - d["losses"]) / np.abs(d["losses"])))
        it()  # jax compiles here
        iterations[name] = it
    raw = {name: [] for name in ["zoo", "solver", *impls]}
    for _ in range(o.rounds):
        zoo = json.loads(run([str(bench), str(o.iterations)]))
        raw["zoo"].append(median(zoo["seconds"]))
        raw["solver"].append(median(zoo["solver_seconds"]))
        for name, it in iterations.items():
            raw[name].append(median([time_call(it, 0.0, reps=1) for _ in range(o.iterations)]))
    result = {"candidates": len(d["losses"]), "rollouts": d["ref"].shape[0],
              "steps": d["ref"].shape[1] - 1, "cells": d["ref"].shape[2],
              "loss_max_rel_diff": agreement, "zoo_losses": d["losses"].tolist(), "seconds": raw}
    result["median_seconds"] = {k: median(v) for k, v in raw.items()}
    result["over_zoo"] = {k: median([b / a for a, b in zip(raw["zoo"], v)]) for k, v in raw.items()}
    return result


def environment(cpu, jax_note):
    import numpy as np

    def first_line(cmd):
        try:
            return run(cmd, stderr=subprocess.DEVNULL).splitlines()[0]
        except (OSError, subprocess.CalledProcessError, IndexError):
            return "unknown"

    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), "unknown")
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f'{blas.get("name")} {blas.get("version")}'
    except Exception:  # older numpy: no dict form
        blas = "unknown"
    return {"cpu_model": model, "pinned_cpu": cpu, "load_average": os.getloadavg(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "python": sys.version.split()[0], "numpy": np.__version__, "blas": blas,
            "jax": jax_note, "rustc": first_line(["rustc", "-V"]),
            "fortran": first_line([os.environ.get("FC", "gfortran"), "--version"]),
            "commit": first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}


def main():
    o = options()
    exe, bench, work = build()
    cpu = pin(o.cpu)
    sys.path.insert(0, str(HERE))
    import tables

    jax, jax_note = load_jax(o)
    results = {"environment": environment(cpu, jax_note), "rounds": o.rounds,
               "seconds_budget": o.seconds, "quick": o.quick}
    if o.part in ("all", "forward"):
        results["forward"] = forward_part(o, exe, jax)
    if o.part in ("all", "closure"):
        results["closure"] = closure_part(o, bench, work, jax)
    out = o.out or (work if o.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    text = tables.markdown(results)
    print(text)
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"raw numbers: {out / 'results.json'}")
    worst = max(results.get("closure", {}).get("loss_max_rel_diff", {"none": 0.0}).values())
    if worst > LOSS_TOLERANCE:
        sys.exit(f"FAIL: losses differ from zoo's by {worst:.3g} (relative) > {LOSS_TOLERANCE}")


if __name__ == "__main__":
    main()
