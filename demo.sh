#!/usr/bin/env bash
# The flagship demo: a Fortran Burgers solver learns a correction and a
# closure through itself with zoo, against the usual baselines tuned on
# validation data; ends with the results tables (medians [min, max] over
# seeds) and a plot.
#
# Usage: bash demo.sh [--full] [output directory]
#   (default)  a representative subset: 3 network seeds, about 6 minutes
#   --full     every study, 5 network seeds x 3 zoo seeds (20 to 40 minutes
#              on 2 cores); writes results/burgers.json and re-renders the
#              README tables from it
set -euo pipefail
cd "$(dirname "$0")"
full=""
if [ "${1:-}" = "--full" ]; then
    full="--full"
    shift
fi
out=${1:-build/burgers-output}
bash scripts/setup.sh demo # installs what is missing (CMake, gfortran, matplotlib, ...)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target burgers_demo >/dev/null
./build/examples-fortran/burgers/burgers_demo $full "$out"
python3 examples-fortran/burgers/plot_burgers.py "$out"
if [ -n "$full" ]; then
    cp "$out/results.json" results/burgers.json
    python3 scripts/results_tables.py --write
    echo "results/burgers.json and the README's flagship tables are updated"
fi
