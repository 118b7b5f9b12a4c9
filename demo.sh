#!/usr/bin/env bash
# The flagship demo: a Fortran Burgers solver learns a correction and a
# closure through itself with zoo, against the usual baselines; ends with
# the results tables and a plot. Usage: bash demo.sh [output directory]
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-build/burgers-output}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target burgers_demo >/dev/null
if ! python3 -c 'import matplotlib' 2>/dev/null; then
    echo "installing matplotlib for the plot (pip)"
    python3 -m pip install --quiet matplotlib
fi
./build/examples-fortran/burgers/burgers_demo "$out"
python3 examples-fortran/burgers/plot_burgers.py "$out"
