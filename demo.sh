#!/usr/bin/env bash
# The flagship demo: a Fortran Burgers solver learns a correction and a
# closure through itself with zoo, against the usual baselines; ends with
# the results tables and a plot. Usage: bash demo.sh [output directory]
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-build/burgers-output}
bash scripts/setup.sh demo # installs what is missing (CMake, gfortran, matplotlib, ...)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target burgers_demo >/dev/null
./build/examples-fortran/burgers/burgers_demo "$out"
python3 examples-fortran/burgers/plot_burgers.py "$out"
