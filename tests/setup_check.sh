#!/usr/bin/env bash
# Checks scripts/setup.sh without a fresh machine: each case runs it with a
# PATH holding only stand-ins (tools present, a recording apt-get, sudo, pip,
# rustup and cargo) and checks what it asked to install, what it printed,
# and that it stops with the exact command when it cannot install.
# Usage: bash tests/setup_check.sh [SOURCE_DIR]
set -euo pipefail
source=${1:-$(cd "$(dirname "$0")/.." && pwd)}
setup=$source/scripts/setup.sh
bash=$(command -v bash)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# stand-ins: every command appends its name and arguments to $LOG.
tool() { # tool NAME BODY
    printf '#!%s\necho "%s $*" >>"$LOG"\n%s\n' "$bash" "$1" "${2:-exit 0}" >"$work/tools/$1"
    chmod +x "$work/tools/$1"
}
fresh_tools() { # every tool present, every Python module importable
    rm -rf "$work/tools"
    mkdir -p "$work/tools"
    local t
    for t in cc make cmake gfortran valgrind pkg-config readelf mpicc mpiexec rustup; do tool "$t"; done
    tool apt-get 'exit ${FAKE_APT_STATUS:-0}'
    tool python3 'case "$*" in
  *EXTERNALLY-MANAGED*) exit ${FAKE_MANAGED:-1} ;;
  "-m pip --version") exit ${FAKE_NO_PIP:-0} ;;
  "-c import "*) for m in ${FAKE_PY_MISSING:-}; do [ "$2" = "import $m" ] && exit 1; done; exit 0 ;;
esac'
    tool cargo 'for m in ${FAKE_CARGO_MISSING:-}; do [ "$1" = "$m" ] && exit 101; done; exit 0'
    # sudo -n true succeeds unless FAKE_SUDO_PASSWORD; otherwise runs its command.
    tool sudo '[ "$1" = -n ] && exit ${FAKE_SUDO_PASSWORD:-0}
while [[ $1 == *=* ]]; do export "$1"; shift; done
exec "$@"'
}
# run CASE SET [VAR=VALUE...]: runs setup.sh SET with the stand-ins; sets
# $status, $out (stdout and stderr) and $log (the commands called).
run() {
    local name=$1 set=$2
    shift 2
    : >"$work/log"
    status=0
    env -i PATH="$work/tools" LOG="$work/log" "$@" "$bash" "$setup" "$set" </dev/null >"$work/out" 2>&1 || status=$?
    out=$(<"$work/out") log=$(<"$work/log")$'\n'
    echo "-- $name: exit $status"
    sed 's/^/   | /' "$work/out"
}
expect_in() { # expect_in TEXT WHAT STRING
    case $1 in *"$3"*) ;; *) fail "$case: $2 lacks '$3': $1" ;; esac
}
expect_not_in() {
    case $1 in *"$3"*) fail "$case: $2 has '$3': $1" ;; esac
}

case="everything present"
fresh_tools
run "$case" test
[ "$status" = 0 ] && [ -z "$out" ] || fail "$case: expected silence and success"
expect_not_in "$log" "the calls" "install"

case="demo: cmake, gfortran and matplotlib missing, as root"
fresh_tools
rm "$work/tools/cmake" "$work/tools/gfortran" "$work/tools/valgrind"
run "$case" demo FAKE_PY_MISSING="matplotlib numpy" ZOO_SETUP_EUID=0
[ "$status" = 0 ] || fail "$case: exit $status"
expect_in "$out" "the output" "installing with apt-get: cmake gfortran"
expect_in "$log" "the calls" "apt-get update"
expect_in "$log" "the calls" "apt-get install -y -qq cmake gfortran"$'\n'
expect_not_in "$log" "the calls" "valgrind" # a test-only tool
expect_not_in "$log" "the calls" "sudo"
expect_in "$out" "the output" "installing with pip: matplotlib"
expect_in "$log" "the calls" "python3 -m pip install --quiet matplotlib"$'\n'

case="test: MPI, valgrind, numpy, clippy and cargo-fuzz missing, as a user with sudo"
fresh_tools
rm "$work/tools/mpicc" "$work/tools/mpiexec" "$work/tools/valgrind"
run "$case" test FAKE_PY_MISSING=numpy FAKE_CARGO_MISSING="clippy fuzz" ZOO_SETUP_EUID=1000
[ "$status" = 0 ] || fail "$case: exit $status"
expect_in "$out" "the output" "installing with sudo apt-get: valgrind libopenmpi-dev openmpi-bin"
expect_in "$log" "the calls" "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind libopenmpi-dev openmpi-bin"$'\n'
expect_in "$log" "the calls" "apt-get install -y -qq valgrind libopenmpi-dev openmpi-bin"$'\n'
expect_in "$log" "the calls" "python3 -m pip install --quiet numpy"$'\n'
expect_in "$log" "the calls" "rustup component add clippy"$'\n'
expect_in "$log" "the calls" "cargo install --quiet --locked cargo-fuzz"
expect_in "$out" "the output" "installing with rustup: clippy"
expect_in "$out" "the output" "installing with cargo: cargo-fuzz"

case="a user without sudo"
fresh_tools
rm "$work/tools/cmake" "$work/tools/sudo"
run "$case" demo ZOO_SETUP_EUID=1000
[ "$status" != 0 ] || fail "$case: expected failure"
expect_in "$out" "the output" "apt-get update && apt-get install -y cmake"$'\n'
expect_not_in "$log" "the calls" "apt-get"

case="a user whose sudo needs a password, no terminal"
fresh_tools
rm "$work/tools/pkg-config"
run "$case" test FAKE_SUDO_PASSWORD=1 ZOO_SETUP_EUID=1000
[ "$status" != 0 ] || fail "$case: expected failure"
expect_in "$out" "the output" "sudo apt-get update && sudo apt-get install -y pkg-config"$'\n'
expect_not_in "$log" "the calls" "apt-get update"

case="apt-get fails"
fresh_tools
rm "$work/tools/gfortran"
run "$case" demo FAKE_APT_STATUS=100 ZOO_SETUP_EUID=0
[ "$status" != 0 ] || fail "$case: expected failure"
expect_in "$out" "the output" "apt-get update && apt-get install -y gfortran"$'\n'

case="no apt-get"
fresh_tools
rm "$work/tools/make" "$work/tools/apt-get"
run "$case" demo ZOO_SETUP_EUID=0
[ "$status" != 0 ] || fail "$case: expected failure"
expect_in "$out" "the output" "missing Debian/Ubuntu packages: make"

case="no pip, externally managed Python"
fresh_tools
run "$case" demo FAKE_PY_MISSING=matplotlib FAKE_NO_PIP=1 FAKE_MANAGED=0 ZOO_SETUP_EUID=0
[ "$status" = 0 ] || fail "$case: exit $status"
expect_in "$log" "the calls" "apt-get install -y -qq python3-pip"$'\n'
expect_in "$log" "the calls" "python3 -m pip install --quiet --user --break-system-packages matplotlib"

case="no cargo"
fresh_tools
rm "$work/tools/cargo"
run "$case" demo
[ "$status" != 0 ] || fail "$case: expected failure"
expect_in "$out" "the output" "https://sh.rustup.rs"

echo "scripts/setup.sh: OK"
