"""Markdown tables (ready for the README) from bench.py's results."""


def markdown(r):
    env = r["environment"]
    lines = [f"Machine: {env['cpu_model']}, pinned to CPU {env['pinned_cpu']}, one thread everywhere; "
             f"numpy {env['numpy']} ({env['blas']}, OPENBLAS_CORETYPE={env.get('openblas_coretype')}), "
             f"jax {env['jax']}; {env['rustc']}; "
             f"commit {env['commit']}, {env['date']}, load average at start "
             f"{env['load_average'][0]:.2f}. Medians of {r['rounds']} interleaved rounds.", ""]
    if "forward" in r:
        lines += forward(r["forward"]) + [""]
    if "closure" in r:
        lines += closure(r["closure"])
    return "\n".join(lines) + "\n"


def forward(f):
    impls = [i for i in f["implementations"] if i != "zoo"]
    out = [f"Batched forward, tanh hidden layers, identity output. GFLOP/s count 2·Σ nin·nout "
           f"per row (matrix products only; bias and tanh are timed, not counted). "
           f"Single-core DGEMM ({f['dgemm_n']}³ `a @ b`): "
           + ", ".join(f"{k} **{v:.1f} GFLOP/s**" for k, v in f["dgemm_gflops"].items())
           + "; zoo / DGEMM is against the faster.", ""]
    head = ["shape @ rows", "zoo GFLOP/s"] + [f"{i} GFLOP/s" for i in impls] \
        + [f"zoo / {i}" for i in impls] + ["zoo / DGEMM"]
    out += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in f["rows"]:
        cells = [row["shape"].replace("@", " @ "), f"{row['zoo_gflops']:.2f}"]
        cells += [f"{row[f'{i}_gflops']:.2f}" for i in impls]
        cells += [f"{row[f'zoo_over_{i}']:.2f}" for i in impls]
        cells += [f"{row['zoo_over_dgemm']:.3f}"]
        out.append("| " + " | ".join(cells) + " |")
    return out


CLOSURE_NAMES = {
    "zoo": "zoo: the demo's Fortran solver, `zoo_candidate_forward_batch` on 32 cells per step",
    "solver": "(its Fortran solver alone: the same rollouts, constant ν_t, no network)",
    "numpy": "numpy: all candidates × rollouts batched, one array op per stage",
    "jax": "jax: `jit` of the whole iteration, candidates `vmap`ped",
}


def closure(c):
    n = c["candidates"]
    out = [f"Flagship closure, one training iteration: rge-central q={n // 2} → {n} candidates, "
           f"each {c['rollouts']} rollouts × {c['steps']} steps of a {c['cells']}-cell solver "
           f"with a 5-16-1 tanh closure. Loss agreement with zoo on zoo's {n} candidates "
           "(max relative difference): "
           + ", ".join(f"{k} {v:.1e}" for k, v in c["loss_max_rel_diff"].items()) + ".", "",
           "| implementation | ms per iteration | µs per candidate evaluation | time / zoo's |",
           "| --- | --- | --- | --- |"]
    for name, s in c["median_seconds"].items():
        out.append(f"| {CLOSURE_NAMES.get(name, name)} | {s * 1e3:.2f} | {s / n * 1e6:.1f} | "
                   f"{c['over_zoo'][name]:.2f} |")
    return out
