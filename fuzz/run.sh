#!/usr/bin/env bash
# Runs every fuzz target for a bounded time from its corpus in
# fuzz/corpus/<target> and fails on the first crash, whose input lands in
# fuzz/artifacts/<target>. New inputs go to a scratch directory, so the
# committed corpus only changes with ZOO_FUZZ_GROW=1 (then minimize it:
# cargo fuzz cmin <target>).
# Usage: fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
# Needs cargo-fuzz (`cargo install cargo-fuzz`). With a nightly toolchain
# the targets run under AddressSanitizer; on stable, without a sanitizer
# (panics, aborts and crashes are still caught).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
if cargo +nightly --version >/dev/null 2>&1; then
    toolchain=(+nightly) sanitizer=address
else
    toolchain=() sanitizer=none
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in options checkpoint capi_args; do
    mkdir -p "corpus/$target" "$scratch/$target"
    if [ "${ZOO_FUZZ_GROW:-0}" = 1 ]; then
        corpora=("corpus/$target")
    else
        corpora=("$scratch/$target" "corpus/$target")
    fi
    echo "fuzzing $target for ${seconds}s (sanitizer: $sanitizer)"
    cargo "${toolchain[@]}" fuzz run --sanitizer "$sanitizer" "$target" "${corpora[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>&1 |
        grep -E '^(Done|stat::number_of_executed_units|==[0-9]+==ERROR|.*panicked)' || true
    # cargo fuzz exits non-zero on a crash; pipefail would hide which.
    if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
        echo "CRASH in $target: see fuzz/artifacts/$target"
        exit 1
    fi
done
echo "no crashes"
