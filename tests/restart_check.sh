#!/usr/bin/env bash
# Restart checks: train N iterations straight, or k then save, then resume
# in a new process to N: the weights must be bit-identical, from C and from
# Fortran. With a Python argument, the final checkpoint is also read with
# safetensors + numpy and compared with the weights the C program dumped.
# Usage: restart_check.sh C_PROGRAM FORTRAN_PROGRAM [PYTHON SCRIPT]
set -euo pipefail
c_program=$1 fortran_program=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() {
    local program=$1 name=$2
    local straight resumed
    straight=$("$program" 30 - "$work/$name-straight.safetensors" | sed 's/ loss [^ ]*//')
    "$program" 12 - "$work/$name-half.safetensors" >/dev/null
    resumed=$("$program" 30 "$work/$name-half.safetensors" "$work/$name-resumed.safetensors" \
        "$work/$name-weights.txt" | sed 's/ loss [^ ]*//')
    if [ "$straight" != "$resumed" ]; then
        echo "FAIL ($name): a resumed run differs from a straight one"
        echo "  straight: $straight"
        echo "  resumed:  $resumed"
        exit 1
    fi
    echo "ok ($name): resumed at 12 == straight 30 iterations: ${straight:0:60}"
}

check "$c_program" c
# The Fortran program takes no dump argument; it prints every weight.
check_fortran() {
    local straight resumed
    straight=$("$fortran_program" 30 - "$work/f-straight.safetensors")
    "$fortran_program" 12 - "$work/f-half.safetensors" >/dev/null
    resumed=$("$fortran_program" 30 "$work/f-half.safetensors" "$work/f-resumed.safetensors")
    if [ "$straight" != "$resumed" ]; then
        echo "FAIL (fortran): a resumed run differs from a straight one"
        exit 1
    fi
    echo "ok (fortran): resumed at 12 == straight 30 iterations"
}
check_fortran
# A checkpoint written from C resumes in Fortran (the file is the same
# format whatever the language).
"$fortran_program" 30 "$work/c-half.safetensors" "$work/cf.safetensors" | grep -q '^iteration 30 weights' ||
    { echo "FAIL: the Fortran program could not resume from the C checkpoint"; exit 1; }
echo "ok: a checkpoint written from C resumes in Fortran"

if [ $# -ge 4 ]; then
    "$3" "$4" "$work/c-resumed.safetensors" "$work/c-weights.txt"
fi
