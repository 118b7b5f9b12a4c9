#!/usr/bin/env bash
# The demo: builds zoo with CMake and runs the C and Fortran quickstarts,
# each training a network through a black-box solver written in that
# language. Usage: bash demo.sh
set -euo pipefail
cd "$(dirname "$0")"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target quickstart_c quickstart_fortran >/dev/null
echo "== C quickstart (examples-c/quickstart.c)"
./build/examples-c/quickstart_c
echo
echo "== Fortran quickstart (examples-fortran/quickstart.f90)"
./build/examples-fortran/quickstart_fortran
