#!/usr/bin/env bash
# Compares zoo with numpy (and jax when pip can get it) on one core:
# forward throughput and the flagship closure's training iteration.
# Usage: bash benchmarks/kernels/run.sh [--quick] [bench.py options]
#   Installs numpy and jax[cpu] into benchmarks/kernels/.venv (jax is
#   optional: without it the jax columns are left out). --quick installs
#   nothing: it runs the smoke test with whatever python3 has numpy.
# Writes benchmarks/kernels/results.{md,json} (--quick: under the cargo
# target directory). Options: python3 benchmarks/kernels/bench.py --help.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
py=python3
if [[ -x "$venv/bin/python" ]]; then
    py="$venv/bin/python"
fi
if [[ " $* " != *" --quick "* ]]; then
    if [[ ! -x "$venv/bin/python" ]] && ! python3 -m venv "$venv"; then
        echo "note: python3 -m venv failed (Debian/Ubuntu: sudo apt-get install python3-venv);" \
            "using python3 as it is" >&2
    fi
    if [[ -x "$venv/bin/python" ]]; then
        py="$venv/bin/python"
        echo "installing numpy and jax[cpu] into $venv" >&2
        "$py" -m pip install --quiet numpy
        "$py" -m pip install --quiet "jax[cpu]" ||
            echo "note: jax[cpu] did not install; the jax columns are skipped" >&2
    fi
fi
exec "$py" "$here/bench.py" "$@"
