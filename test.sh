#!/usr/bin/env bash
# Runs every test of zoo: Rust (format, clippy, unit, end-to-end, doc,
# header freshness, benchmarks compiled and run once, the numpy comparison's
# smoke test), then the CMake build with its C and Fortran tests (misuse,
# quickstarts, AddressSanitizer + UBSan, valgrind memcheck, installed
# package via find_package, pkg-config and add_subdirectory). First installs what the machine lacks
# (scripts/setup.sh test). Usage: bash test.sh
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/setup.sh test

cargo fmt --all -- --check
# The README's learning tables must be those rendered from results/*.json.
python3 scripts/results_tables.py --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
cargo test --doc
cargo bench --bench candidate -- --test >/dev/null
cargo bench --bench step -- --test >/dev/null
cargo bench --bench sparse -- --test >/dev/null
cargo bench --bench scaling -- --test >/dev/null
cargo bench --bench dataset -- --test >/dev/null
cargo bench --bench directions -- --test >/dev/null
cargo bench --bench activation -- --test >/dev/null
cargo bench --bench kernels -- --test >/dev/null
# Smoke test of the zoo-versus-numpy benchmarks (benchmarks/kernels): one
# tiny round of each, and numpy's closure losses must equal zoo's.
if python3 -c 'import numpy' >/dev/null 2>&1; then
    python3 benchmarks/kernels/bench.py --quick >/dev/null
else
    echo "note: numpy is not installed; the benchmarks/kernels smoke test was skipped"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
ctest --test-dir build --output-on-failure -j "$(nproc)"

# A short pass of every fuzz target from its corpus (fuzz/run.sh; longer
# runs: bash fuzz/run.sh 600).
if cargo fuzz --version >/dev/null 2>&1; then
    bash fuzz/run.sh 10
else
    echo "note: cargo-fuzz is not installed (cargo install cargo-fuzz); the fuzz pass was skipped"
fi
