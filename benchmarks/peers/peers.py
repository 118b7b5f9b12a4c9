#!/usr/bin/env python3
"""zoo against the derivative-free optimizers a user would otherwise pick.

Every method minimizes the same compiled training loss (libpeers.so,
problems.c, called through ctypes) from the same start point per seed:

  zoo        through its C API (zoo_ask / zoo_candidate_params / zoo_tell),
             one run per configuration in ZOO_CONFIGS
  cma        CMA-ES (pycma), sep-cma: its diagonal variant (CMA_diagonal)
  ngopt      Nevergrad's NGOpt, oneplusone: Nevergrad's (1+1)-ES
  openai-es  antithetic Gaussian sampling, centred-rank shaping, Adam
  adam       Adam on the exact gradient (controller and smooth only; one
             gradient evaluation counts as one evaluation)

Each (problem, method, seed) is one run up to the largest budget; the
method's current recommendation is recorded when the next iteration would
pass a budget checkpoint (its training, validation and test losses are
computed then and are neither counted nor timed). Hyper-parameters with a
grid are chosen on the validation loss of a tuning run (seed 1, shorter
budget); every method's choice is written out. Overhead per evaluation is
the run's wall time minus the time spent inside the loss calls, divided by
the evaluations; tables give its median over seeds. Runs are interleaved
(problem, seed, then every method) so that a drift of a shared machine
hits every method alike.

Writes results.json (every run), results.md (tables) and loss_vs_evals.png
to --out (default: this directory; --quick: build/peers-quick).

Usage: python3 benchmarks/peers/peers.py [--quick] [--problems P ...]
  [--methods M ...] [--seeds N] [--tune-budget N] [--out DIR]
bash benchmarks/peers/run.sh sets up the environment and runs it.
"""

import os

# One thread for numpy's BLAS: every method runs on one core, as the loss does.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes as C  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

BUDGETS = [1000, 2000, 5000, 10000, 20000]
QUICK_BUDGETS = [60, 120, 240]
TUNE_BUDGET = 2000

# zoo configurations: (name, option string, grid). The seed is added to
# every option string. A grid maps an option to the values tried on
# validation. Options a zoo does not know (an older library) make
# zoo_trainer_new fail with ZOO_UNKNOWN_OPTION: such a configuration is
# skipped with a note.
ZOO_CONFIGS = [
    ("zoo default (lr=auto)", "", None),
    ("zoo rge-central q=16 adam", "estimator=rge-central q=16 mu=0.001 optimizer=adam",
     {"lr": [0.003, 0.01, 0.03, 0.1, 0.3]}),
    ("zoo lr=0.001 (the former default)", "lr=0.001", None),
    ("zoo shaping=rank lr=0.001", "estimator=rge-central q=16 shaping=rank lr=0.001", None),
    ("zoo shaping=rank (lr=auto)", "shaping=rank", None),
]

# Peers' grids (chosen on validation like zoo's).
SIGMA_GRID = [0.1, 0.3, 1.0]                      # CMA-ES, sep-CMA, NGOpt, (1+1)-ES initial step
OES_GRID = {"sigma": [0.02, 0.1], "lr": [0.03, 0.1, 0.3]}
OES_HALF = 16                                     # antithetic pairs per iteration (32 evaluations)
ADAM_LR_GRID = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]

# Rank-based peers get this finite value where a rollout blows up (they
# only compare losses); zoo gets the loss as it is (its nonfinite=skip
# drops the candidate and its partner).
PENALTY = 1e30


# ---- the problems -------------------------------------------------------

def load_problems(path):
    lib = C.CDLL(str(path))
    dp = C.POINTER(C.c_double)
    lib.peers_num_problems.restype = C.c_int
    lib.peers_name.restype = C.c_char_p
    lib.peers_name.argtypes = [C.c_int]
    lib.peers_describe.restype = C.c_char_p
    lib.peers_describe.argtypes = [C.c_int]
    lib.peers_find.restype = C.c_int
    lib.peers_find.argtypes = [C.c_char_p]
    lib.peers_dim.restype = C.c_size_t
    lib.peers_dim.argtypes = [C.c_int]
    lib.peers_start.argtypes = [C.c_int, C.c_uint64, dp]
    for fn in ("peers_loss", "peers_validation", "peers_test"):
        getattr(lib, fn).restype = C.c_double
        getattr(lib, fn).argtypes = [C.c_int, dp]
    lib.peers_has_gradient.restype = C.c_int
    lib.peers_has_gradient.argtypes = [C.c_int]
    lib.peers_gradient.restype = C.c_double
    lib.peers_gradient.argtypes = [C.c_int, dp, dp]
    lib.peers_reference_test.restype = C.c_double
    lib.peers_reference_test.argtypes = [C.c_int, C.POINTER(C.c_char_p)]
    return lib


def ptr(x):
    return x.ctypes.data_as(C.POINTER(C.c_double))


class Problem:
    def __init__(self, lib, index):
        self.lib, self.index = lib, index
        self.name = lib.peers_name(index).decode()
        self.description = lib.peers_describe(index).decode()
        self.dim = lib.peers_dim(index)
        self.has_gradient = bool(lib.peers_has_gradient(index))
        what = C.c_char_p()
        self.reference_test = lib.peers_reference_test(index, C.byref(what))
        self.reference_what = what.value.decode() if what.value else ""

    def start(self, seed):
        x = np.zeros(self.dim)
        self.lib.peers_start(self.index, seed, ptr(x))
        return x

    def _call(self, fn, x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        return fn(self.index, ptr(x))

    def loss(self, x):
        return self._call(self.lib.peers_loss, x)

    def validation(self, x):
        return self._call(self.lib.peers_validation, x)

    def test(self, x):
        return self._call(self.lib.peers_test, x)

    def gradient(self, x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        g = np.zeros(self.dim)
        f = self.lib.peers_gradient(self.index, ptr(x), ptr(g))
        return f, g


# ---- budget, checkpoints and timing --------------------------------------

class Budget:
    """Counts and times a run's loss calls and records its recommendation
    at each checkpoint. A method calls before(cost, recommend) ahead of each
    iteration of `cost` evaluations: every checkpoint that iteration would
    pass gets the current recommendation (so it used at most that many
    evaluations), and False says the run is over."""

    def __init__(self, problem, checkpoints):
        self.problem, self.checkpoints = problem, list(checkpoints)
        self.evals, self.loss_time, self.records = 0, 0.0, []
        self.paused = 0.0
        self.t0 = time.perf_counter()

    def f(self, x):
        t = time.perf_counter()
        v = self.problem.loss(x)
        self.loss_time += time.perf_counter() - t
        self.evals += 1
        return v

    def grad(self, x):
        t = time.perf_counter()
        v, g = self.problem.gradient(x)
        self.loss_time += time.perf_counter() - t
        self.evals += 1
        return v, g

    def before(self, cost, recommend):
        while self.checkpoints and self.evals + cost > self.checkpoints[0]:
            self.record(recommend)
        return bool(self.checkpoints)

    def finish(self, recommend):
        """A run that stops early (its own termination criterion) keeps its
        last recommendation for the checkpoints it did not reach."""
        while self.checkpoints:
            self.record(recommend)

    def record(self, recommend):
        t = time.perf_counter()
        x = np.asarray(recommend(), dtype=np.float64)
        p = self.problem
        self.records.append({"budget": self.checkpoints.pop(0), "evals": self.evals,
                             "train": p.loss(x), "validation": p.validation(x), "test": p.test(x)})
        self.paused += time.perf_counter() - t

    def summary(self):
        wall = time.perf_counter() - self.t0 - self.paused
        return {"evals": self.evals, "wall_s": wall, "loss_s": self.loss_time,
                "overhead_us": 1e6 * (wall - self.loss_time) / max(self.evals, 1),
                "checkpoints": self.records}


def finite(v):
    return v if math.isfinite(v) else PENALTY


# ---- zoo through its C API ----------------------------------------------

ZOO_OK, ZOO_UNKNOWN_OPTION, ZOO_INVALID_OPTION = 0, 4, 5
ZOO_ITERATION_FAILED, ZOO_NO_CANDIDATE = 10, 13


class ZooOptionError(Exception):
    pass


def load_zoo(path):
    z = C.CDLL(str(path))
    vp, dp = C.c_void_p, C.POINTER(C.c_double)
    z.zoo_version.restype = C.c_char_p
    z.zoo_last_error.restype = C.c_char_p
    z.zoo_status_name.restype = C.c_char_p
    z.zoo_status_name.argtypes = [C.c_uint32]
    sig = {
        "zoo_model_new_mlp": [C.POINTER(C.c_size_t), C.c_size_t, C.c_char_p, C.c_uint64, C.POINTER(vp)],
        "zoo_model_set_params": [vp, dp, C.c_size_t],
        "zoo_trainer_new": [vp, C.c_char_p, C.POINTER(vp)],
        "zoo_ask": [vp, C.POINTER(C.c_uint64)],
        "zoo_candidate_params": [vp, C.c_uint64, dp, C.c_size_t],
        "zoo_tell": [vp, C.c_uint64, C.c_double, C.POINTER(C.c_int32)],
        "zoo_trainer_get_params": [vp, dp, C.c_size_t],
        "zoo_trainer_num_candidates": [vp, C.POINTER(C.c_size_t)],
    }
    for name, args in sig.items():
        getattr(z, name).argtypes = args
        getattr(z, name).restype = C.c_uint32
    z.zoo_model_free.argtypes = [vp]
    z.zoo_model_free.restype = None
    z.zoo_trainer_free.argtypes = [vp]
    z.zoo_trainer_free.restype = None
    return z


def zoo_check(z, status, what):
    if status != ZOO_OK:
        msg = f"{what}: {z.zoo_status_name(status).decode()}: {z.zoo_last_error().decode()}"
        if status in (ZOO_UNKNOWN_OPTION, ZOO_INVALID_OPTION):
            raise ZooOptionError(msg)
        raise RuntimeError(msg)


def zoo_trainer(z, x0, options):
    """A trainer over the plain vector x0: an identity MLP n-1 -> 1 has
    exactly n parameters; its forward pass is never used (the host reads
    each candidate's parameters and evaluates the problem's loss)."""
    n = len(x0)
    sizes = (C.c_size_t * 2)(n - 1, 1)
    model, trainer = C.c_void_p(), C.c_void_p()
    zoo_check(z, z.zoo_model_new_mlp(sizes, 2, b"identity", 0, C.byref(model)), "zoo_model_new_mlp")
    try:
        x0 = np.ascontiguousarray(x0, dtype=np.float64)
        zoo_check(z, z.zoo_model_set_params(model, ptr(x0), n), "zoo_model_set_params")
        zoo_check(z, z.zoo_trainer_new(model, options.encode(), C.byref(trainer)), f"zoo_trainer_new({options!r})")
    finally:
        z.zoo_model_free(model)
    return trainer


def run_zoo(z, options, budget, x0, seed):
    n = len(x0)
    t = zoo_trainer(z, x0, f"{options} seed={seed}".strip())
    theta, buf = np.zeros(n), np.zeros(n)
    cid, updated, ncand = C.c_uint64(), C.c_int32(), C.c_size_t()
    failed = 0

    def recommend():
        zoo_check(z, z.zoo_trainer_get_params(t, ptr(theta), n), "zoo_trainer_get_params")
        return theta.copy()

    try:
        while True:
            zoo_check(z, z.zoo_trainer_num_candidates(t, C.byref(ncand)), "zoo_trainer_num_candidates")
            if not budget.before(ncand.value, recommend):
                break
            updated.value = 0
            while not updated.value:
                zoo_check(z, z.zoo_ask(t, C.byref(cid)), "zoo_ask")
                zoo_check(z, z.zoo_candidate_params(t, cid.value, ptr(buf), n), "zoo_candidate_params")
                status = z.zoo_tell(t, cid.value, budget.f(buf), C.byref(updated))
                if status == ZOO_ITERATION_FAILED:  # every candidate blew up: the iteration starts again
                    failed += 1
                    if failed > 100:
                        raise RuntimeError("zoo: 100 failed iterations in a row")
                    break
                zoo_check(z, status, "zoo_tell")
            else:
                failed = 0
        budget.finish(recommend)
    finally:
        z.zoo_trainer_free(t)
    return {}


# ---- the peers ------------------------------------------------------------

def run_cma(budget, x0, seed, sigma, diagonal, total):
    import cma
    opts = {"seed": 1000 + seed, "verbose": -9, "CMA_diagonal": diagonal, "maxfevals": float("inf")}
    es = cma.CMAEvolutionStrategy(x0, sigma, opts)
    rec = lambda: es.result.xfavorite  # noqa: E731 (the distribution mean: pycma's recommendation)
    while not es.stop():
        if not budget.before(es.popsize, rec):
            break
        X = es.ask()
        es.tell(X, [finite(budget.f(x)) for x in X])
    stop = dict(es.stop())
    budget.finish(rec)
    # pycma's own termination (tolx, tolfun, ...) before the largest budget
    early = stop and budget.evals + es.popsize <= total
    return {"stopped_early": {k: str(v) for k, v in stop.items()}, "stopped_at": budget.evals} if early else {}


def run_nevergrad(budget, x0, seed, sigma, name, total):
    import nevergrad as ng
    param = ng.p.Array(init=x0.copy()).set_mutation(sigma=sigma)
    param.random_state = np.random.RandomState(seed)
    opt = ng.optimizers.registry[name](parametrization=param, budget=total, num_workers=1)
    rec = lambda: opt.provide_recommendation().value  # noqa: E731
    while budget.before(1, rec):
        cand = opt.ask()
        opt.tell(cand, finite(budget.f(cand.value)))
    budget.finish(rec)
    info = {}
    if name == "NGOpt":
        try:
            info["ngopt_chose"] = opt.optim.name  # what NGOpt delegated to
        except AttributeError:  # not a public attribute: it may change between versions
            pass
    return info


class Adam:
    def __init__(self, n, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.m, self.v, self.k = np.zeros(n), np.zeros(n), 0
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps

    def step(self, x, g):
        self.k += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        mh = self.m / (1 - self.b1 ** self.k)
        vh = self.v / (1 - self.b2 ** self.k)
        return x - self.lr * mh / (np.sqrt(vh) + self.eps)


def centred_ranks(f):
    r = np.empty(len(f))
    r[np.argsort(f)] = np.arange(len(f))
    return r / (len(f) - 1) - 0.5


def run_openai_es(budget, x0, seed, sigma, lr):
    """Salimans et al. (2017): antithetic pairs, centred ranks in
    [-0.5, 0.5], gradient (1 / (n sigma)) sum rank_i eps_i, Adam."""
    rng = np.random.default_rng(seed)
    x = x0.copy()
    adam = Adam(len(x), lr)
    while budget.before(2 * OES_HALF, lambda: x):
        eps = rng.standard_normal((OES_HALF, len(x)))
        eps = np.concatenate([eps, -eps])
        f = np.array([finite(budget.f(x + sigma * e)) for e in eps])
        g = centred_ranks(f) @ eps / (len(f) * sigma)
        x = adam.step(x, g)
    budget.finish(lambda: x)
    return {}


def run_adam(budget, x0, seed, lr):
    x = x0.copy()
    adam = Adam(len(x), lr)
    while budget.before(1, lambda: x):
        f, g = budget.grad(x)
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            break
        x = adam.step(x, g)
    budget.finish(lambda: x)
    return {}


# ---- methods: name, grid, runner -----------------------------------------

class Method:
    def __init__(self, key, label, grid, runner, needs_gradient=False, settings="", probe=None):
        self.key, self.label, self.grid, self.runner = key, label, grid, runner
        self.needs_gradient, self.settings = needs_gradient, settings
        self.probe = probe  # raises ZooOptionError when zoo rejects the options


def grid_points(grid):
    if not grid:
        return [{}]
    points = [{}]
    for name, values in grid.items():
        points = [dict(p, **{name: v}) for p in points for v in values]
    return points


def zoo_options(options, hp):
    return " ".join([options] + [f"{k}={v}" for k, v in hp.items()]).strip()


def methods(zoo):
    out = []
    for i, (label, options, grid) in enumerate(ZOO_CONFIGS):
        key = "zoo" if i == 0 else "zoo" + str(i)

        def runner(budget, x0, seed, hp, total, options=options):
            return run_zoo(zoo, zoo_options(options, hp), budget, x0, seed)
        def probe(x0, options=options, grid=grid):
            for hp in grid_points(grid):
                zoo.zoo_trainer_free(zoo_trainer(zoo, x0, zoo_options(options, hp) + " seed=1"))
        out.append(Method(key, label, grid, runner, settings=f"options '{options}' + seed", probe=probe))
    out += [
        Method("cma", "CMA-ES", {"sigma0": SIGMA_GRID},
               lambda b, x0, s, hp, total: run_cma(b, x0, s, hp["sigma0"], False, total),
               settings="pycma defaults (popsize 4+3 ln n), no restarts; recommendation: distribution mean"),
        Method("sep-cma", "sep-CMA", {"sigma0": SIGMA_GRID},
               lambda b, x0, s, hp, total: run_cma(b, x0, s, hp["sigma0"], True, total),
               settings="pycma with CMA_diagonal=True; recommendation: distribution mean"),
        Method("ngopt", "NGOpt", {"sigma": SIGMA_GRID},
               lambda b, x0, s, hp, total: run_nevergrad(b, x0, s, hp["sigma"], "NGOpt", total),
               settings="nevergrad NGOpt told the largest budget; recommendation: provide_recommendation()"),
        Method("oneplusone", "(1+1)-ES", {"sigma": SIGMA_GRID},
               lambda b, x0, s, hp, total: run_nevergrad(b, x0, s, hp["sigma"], "OnePlusOne", total),
               settings="nevergrad OnePlusOne (one-fifth rule); recommendation: provide_recommendation()"),
        Method("openai-es", "OpenAI-ES", OES_GRID,
               lambda b, x0, s, hp, total: run_openai_es(b, x0, s, hp["sigma"], hp["lr"]),
               settings=f"{OES_HALF} antithetic pairs (32 evaluations per iteration), centred ranks, Adam"),
        Method("adam", "Adam (exact gradient)", {"lr": ADAM_LR_GRID},
               lambda b, x0, s, hp, total: run_adam(b, x0, s, hp["lr"]), needs_gradient=True,
               settings="one gradient evaluation (forward sensitivities / analytic) counts as one evaluation"),
    ]
    return out


# ---- the protocol ---------------------------------------------------------

def one_run(problem, method, seed, hp, checkpoints):
    budget = Budget(problem, checkpoints)
    x0 = problem.start(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = method.runner(budget, x0, seed, hp, checkpoints[-1])
    out = budget.summary()
    out.update(info)
    return out


def tune(problem, method, tune_budget, total):
    """The grid point with the lowest validation loss after tune_budget
    evaluations, seed 1."""
    if method.probe:
        method.probe(problem.start(1))
    points = grid_points(method.grid)
    if len(points) == 1:
        return points[0], []
    trials = []
    for hp in points:
        r = one_run(problem, method, 1, hp, [tune_budget])
        trials.append({"hp": hp, "validation": r["checkpoints"][-1]["validation"]})
    best = min(trials, key=lambda t: t["validation"] if math.isfinite(t["validation"]) else float("inf"))
    return best["hp"], trials


def plain(v):
    """Non-finite losses (a diverged rollout) as the strings "inf" / "nan",
    which float() reads back, so that results.json stays standard JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def options():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny budgets, 1 seed: a smoke test")
    p.add_argument("--problems", nargs="+", default=None)
    p.add_argument("--methods", nargs="+", default=None, help="keys: zoo, zoo1, ..., cma, sep-cma, ngopt, "
                   "oneplusone, openai-es, adam")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tune-budget", type=int, default=TUNE_BUDGET)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--problems-lib", type=Path, default=None)
    p.add_argument("--zoo-lib", type=Path, default=None)
    o = p.parse_args()
    o.budgets = BUDGETS
    if o.quick:
        o.budgets, o.seeds, o.tune_budget = QUICK_BUDGETS, 1, QUICK_BUDGETS[0]
        o.out = o.out or ROOT / "build" / "peers-quick"
    o.out = o.out or HERE
    # run.sh compiles the problems with cc into build/peers; a CMake build puts them in build/benchmarks/peers.
    default_lib = ROOT / "build/peers/libpeers.so"
    if not default_lib.exists():
        default_lib = ROOT / "build/benchmarks/peers/libpeers.so"
    o.problems_lib = o.problems_lib or Path(os.environ.get("PEERS_LIB", default_lib))
    o.zoo_lib = o.zoo_lib or Path(os.environ.get("ZOO_LIB", ROOT / "build/cargo/release/libzoo.so"))
    return o


def main():
    o = options()
    lib, zoo = load_problems(o.problems_lib), load_zoo(o.zoo_lib)
    names = [lib.peers_name(i).decode() for i in range(lib.peers_num_problems())]
    problems = [Problem(lib, names.index(n)) for n in (o.problems or names)]
    all_methods = methods(zoo)
    chosen = [m for m in all_methods if not o.methods or m.key in o.methods]
    seeds = list(range(1, o.seeds + 1))
    import cma
    import nevergrad
    meta = {"budgets": o.budgets, "seeds": seeds, "tune_budget": o.tune_budget, "quick": o.quick,
            "zoo_version": zoo.zoo_version().decode(), "cma": cma.__version__, "nevergrad": nevergrad.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "penalty_for_nonfinite": PENALTY,
            "protocol": "one run per (problem, method, seed) up to the largest budget; the recommendation is "
                        "recorded at each checkpoint; grids chosen on validation with seed 1 at the tuning budget"}
    results = {"meta": meta, "problems": {}, "methods": {}, "tuning": {}, "runs": [], "skipped": []}
    for m in chosen:
        results["methods"][m.key] = {"label": m.label, "grid": m.grid, "settings": m.settings}
    t_start = time.perf_counter()
    for problem in problems:
        print(f"== {problem.name} (d = {problem.dim}): {problem.description}", flush=True)
        results["problems"][problem.name] = {
            "dim": problem.dim, "description": problem.description, "has_gradient": problem.has_gradient,
            "reference_test": problem.reference_test, "reference": problem.reference_what,
            "start_test": {s: problem.test(problem.start(s)) for s in seeds}}
        active, hps = [], {}
        for m in chosen:
            if m.needs_gradient and not problem.has_gradient:
                continue
            try:
                hp, trials = tune(problem, m, o.tune_budget, o.budgets[-1])
            except ZooOptionError as e:
                note = f"{m.label}: skipped, this zoo does not accept its options ({e})"
                if note not in [s["note"] for s in results["skipped"]]:
                    print("note: " + note, flush=True)
                    results["skipped"].append({"method": m.key, "label": m.label, "note": note})
                continue
            hps[m.key] = hp
            results["tuning"].setdefault(problem.name, {})[m.key] = {"chosen": hp, "trials": trials}
            if trials:
                print(f"   {m.label}: chose {hp} on validation from " +
                      ", ".join(f"{t['hp']}: {t['validation']:.3e}" for t in trials), flush=True)
            active.append(m)
        for seed in seeds:
            for m in active:
                r = one_run(problem, m, seed, hps[m.key], o.budgets)
                r.update({"problem": problem.name, "method": m.key, "label": m.label, "seed": seed, "hp": hps[m.key]})
                results["runs"].append(r)
                last = r["checkpoints"][-1]
                print(f"   seed {seed} {m.label:28s} test {last['test']:.4e} train {last['train']:.4e} "
                      f"evals {r['evals']} overhead {r['overhead_us']:.1f} us/eval "
                      f"(loss {1e6 * r['loss_s'] / max(r['evals'], 1):.1f} us/eval)", flush=True)
    meta["wall_s"] = time.perf_counter() - t_start
    o.out.mkdir(parents=True, exist_ok=True)
    with open(o.out / "results.json", "w") as fh:
        json.dump(plain(results), fh, indent=1)
    import tables
    (o.out / "results.md").write_text(tables.markdown(results))
    tables.plot(results, o.out / "loss_vs_evals.png")
    if not o.quick and o.out.resolve() == HERE and tables.update_readme(results, HERE / "README.md"):
        print("updated the results table in README.md")
    print(f"wrote {o.out / 'results.json'}, results.md, loss_vs_evals.png ({meta['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
