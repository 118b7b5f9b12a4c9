#!/usr/bin/env bash
# Runs every test of zoo. Usage: bash test.sh
set -euo pipefail
cd "$(dirname "$0")"

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
cargo test --doc
# Benchmarks compile and run once each (no timing), so they cannot rot.
cargo bench --bench candidate -- --test >/dev/null
cargo bench --bench step -- --test >/dev/null
