#!/usr/bin/env bash
# The peer benchmark in one command: zoo against CMA-ES, sep-CMA, NGOpt,
# (1+1)-ES, an OpenAI-ES and exact-gradient Adam on four compiled black boxes.
# Usage: bash benchmarks/peers/run.sh [peers.py options]
#   e.g. --quick (a smoke test: tiny budgets, one seed, about 15 s),
#        --problems closure smooth, --methods zoo zoo1 cma, --seeds 5
# Installs cma, nevergrad, numpy and matplotlib into benchmarks/peers/.venv,
# compiles problems.c with cc into build/peers/libpeers.so, builds zoo with
# cargo if build/cargo/release/libzoo.so is missing, then runs peers.py.
# The full run (3 seeds, budgets 1k-20k) takes about 20-30 minutes on one core.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" || {
        echo "error: python3 -m venv failed (Debian/Ubuntu: sudo apt-get install python3-venv)" >&2
        exit 1
    }
fi
echo "installing cma, nevergrad, numpy and matplotlib into $venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check cma nevergrad numpy matplotlib

mkdir -p "$root/build/peers"
${CC:-cc} -O2 -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -shared -o "$root/build/peers/libpeers.so" \
    "$here/problems.c" -lm -lpthread

zoo_lib="${ZOO_LIB:-$root/build/cargo/release/libzoo.so}"
if [[ ! -f "$zoo_lib" ]]; then
    echo "building zoo (cargo build --release --lib) into $root/build/cargo" >&2
    cargo build --release --lib --locked --manifest-path "$root/Cargo.toml" --target-dir "$root/build/cargo"
    zoo_lib="$root/build/cargo/release/libzoo.so"
fi
exec "$venv/bin/python" "$here/peers.py" --problems-lib "$root/build/peers/libpeers.so" \
    --zoo-lib "$zoo_lib" "$@"
