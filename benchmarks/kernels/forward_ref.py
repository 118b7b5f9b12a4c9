"""Reference forward passes for benches/kernels.rs's shapes: plain numpy
(`tanh(x @ W.T + b)` per layer, identity output, as most users would write
it), jax `jit` of the same, and the machine's DGEMM rate through numpy."""

import numpy as np


def parse_shape(text):
    sizes, rows = text.split("@")
    return [int(s) for s in sizes.split("-")], int(rows)


def flops(sizes, rows):
    """The count benches/kernels.rs uses: 2·Σ nin·nout per row (products
    only; bias adds and activations are timed, not counted)."""
    return 2.0 * rows * sum(a * b for a, b in zip(sizes, sizes[1:]))


def problem(sizes, rows, seed=1):
    """Xavier-uniform weights (zoo's tanh init) and the inputs of
    benches/kernels.rs, so tanh sees the same range of values."""
    rng = np.random.default_rng(seed)
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        a = np.sqrt(6.0 / (nin + nout))
        layers.append((rng.uniform(-a, a, (nout, nin)), np.zeros(nout)))
    x = ((np.arange(rows * sizes[0]) * 7919) % 1000 / 500.0 - 1.0).reshape(rows, sizes[0])
    return layers, x


def numpy_forward(layers, x):
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i + 1 < len(layers):
            h = np.tanh(h)
    return h


def jax_forward():
    """A jitted forward and a function that runs it to completion."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def forward(layers, x):
        h = x
        for i, (w, b) in enumerate(layers):
            h = h @ w.T + b
            if i + 1 < len(layers):
                h = jnp.tanh(h)
        return h

    def prepare(layers, x):
        layers = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers]
        x = jnp.asarray(x)
        return lambda: forward(layers, x).block_until_ready()

    return prepare


def dgemm(n=1024, jax=None, seed=2):
    """Calls computing an n x n x n DGEMM (numpy's BLAS; XLA's when jax is
    given: on some CPUs one is much faster), and its flop count."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    out = np.empty((n, n))
    calls = {"numpy": lambda: np.matmul(a, b, out=out)}
    if jax:
        ja, jb = jax.numpy.asarray(a), jax.numpy.asarray(b)
        mm = jax.jit(lambda x, y: x @ y)
        calls["jax"] = lambda: mm(ja, jb).block_until_ready()
        calls["jax"]()  # compile outside the timing
    return calls, 2.0 * n**3
