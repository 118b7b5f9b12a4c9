#!/usr/bin/env bash
# Runs the MPI examples on 1 to 4 ranks and checks zoo's guarantee: with
# partition=candidates the final weights are bit-identical for every rank
# count and thread count (each run also checks that its ranks agree);
# with partition=replicated every run keeps its ranks consistent.
# Usage: mpi_check.sh MPIEXEC C_EXAMPLE [FORTRAN_EXAMPLE]
set -euo pipefail
mpiexec=$1 c_example=$2 fortran_example=${3:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
flags=()
"$mpiexec" --version 2>&1 | grep -qiE "open ?(mpi|rte)" && flags=(--oversubscribe)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Prints the run's summary line and a digest of its weights.
run() {
    local np=$1
    shift
    if ! timeout 300 "$mpiexec" "${flags[@]}" -np "$np" "$@" >"$out" 2>&1; then
        cat "$out" >&2
        echo "FAILED: -np $np $*" >&2
        exit 1
    fi
    head -n 1 "$out" >&2
    grep '^weight' "$out" | md5sum | cut -d' ' -f1
}

reference=$(run 1 "$c_example" candidates 1) || exit 1
for np in 1 2 3 4; do
    for threads in 1 2 4; do
        digest=$(run "$np" "$c_example" candidates "$threads") || exit 1
        [ "$digest" = "$reference" ] || { echo "C, $np ranks, $threads threads: weights differ"; exit 1; }
    done
done
for np in 1 2 3 4; do
    run "$np" "$c_example" replicated 2 >/dev/null
done
if [ -n "$fortran_example" ]; then
    reference=$(run 1 "$fortran_example") || exit 1
    for np in 2 3 4; do
        digest=$(run "$np" "$fortran_example") || exit 1
        [ "$digest" = "$reference" ] || { echo "Fortran, $np ranks: weights differ"; exit 1; }
    done
fi
echo "MPI: weights bit-identical for ranks 1-4 and threads 1, 2, 4; replicated runs consistent"
