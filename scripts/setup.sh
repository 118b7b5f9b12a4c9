#!/usr/bin/env bash
# Installs what one of zoo's two commands needs and the machine lacks, on
# Debian/Ubuntu; does nothing (and prints nothing) when everything is there.
#
#   bash scripts/setup.sh demo   what demo.sh needs: a C compiler, make, CMake,
#                                gfortran, Python with pip and matplotlib
#   bash scripts/setup.sh test   what test.sh needs: the demo's set, valgrind,
#                                pkg-config, readelf, OpenMPI, numpy,
#                                safetensors, clippy, rustfmt and cargo-fuzz
#
# System packages come from apt-get (through sudo when not root), Python
# packages from pip, clippy and rustfmt from rustup, cargo-fuzz from cargo
# install. Each install is announced before it runs. When it cannot install
# (no apt-get, neither root nor a usable sudo, or a failing install) it stops
# and prints the exact command to run. Rust itself (cargo) must be there.
# Only shell builtins are used besides the tools it checks and installs with.
set -euo pipefail

what=${1:-}
case $what in
    demo | test) ;;
    *) echo "usage: bash scripts/setup.sh demo|test" >&2; exit 2 ;;
esac

say() { echo "zoo setup: $*"; }
stop() {
    say "$@" >&2
    exit 1
}

apt=() pip=() components=() fuzz=0
add_apt() { # add_apt PACKAGE...: queue each package once
    local p q
    for p in "$@"; do
        for q in ${apt[@]+"${apt[@]}"}; do [ "$p" = "$q" ] && continue 2; done
        apt+=("$p")
    done
}
need_command() { # need_command COMMAND PACKAGE...
    command -v "$1" >/dev/null 2>&1 || add_apt "${@:2}"
}
need_python_modules() { # need_python_modules MODULE...: pip names equal module names here
    local m
    for m in "$@"; do
        if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import $m" >/dev/null 2>&1; then
            pip+=("$m")
        fi
    done
}

command -v cargo >/dev/null 2>&1 ||
    stop "cargo not found. Install Rust first, then run this again:
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"

# ---- what is missing -------------------------------------------------------
need_command cc gcc
need_command make make
need_command cmake cmake
need_command gfortran gfortran
need_command python3 python3
need_python_modules matplotlib
if [ "$what" = test ]; then
    need_command valgrind valgrind
    need_command pkg-config pkg-config
    need_command readelf binutils
    need_command mpicc libopenmpi-dev openmpi-bin
    need_command mpiexec libopenmpi-dev openmpi-bin
    need_python_modules numpy safetensors
    cargo clippy --version >/dev/null 2>&1 || components+=(clippy)
    cargo fmt --version >/dev/null 2>&1 || components+=(rustfmt)
    cargo fuzz --version >/dev/null 2>&1 || fuzz=1
fi
if [ ${#pip[@]} -gt 0 ] && ! { command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; }; then
    add_apt python3-pip
fi

# ---- system packages (apt-get) ---------------------------------------------
if [ ${#apt[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 ||
        stop "missing Debian/Ubuntu packages: ${apt[*]}, and there is no apt-get here.
Install the equivalent packages with your system's package manager, then run this again."
    uid=${ZOO_SETUP_EUID:-$EUID} # tests set ZOO_SETUP_EUID to act as a user
    as_root=()
    if [ "$uid" != 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            stop "missing packages: ${apt[*]}. Not root and no sudo: run, as root,
  apt-get update && apt-get install -y ${apt[*]}
then run this again."
        fi
        if ! sudo -n true >/dev/null 2>&1 && ! [ -t 0 ]; then
            stop "missing packages: ${apt[*]}. sudo needs a password and there is no terminal: run
  sudo apt-get update && sudo apt-get install -y ${apt[*]}
then run this again."
        fi
        as_root=(sudo DEBIAN_FRONTEND=noninteractive)
    fi
    say "installing with ${as_root[*]:+sudo }apt-get: ${apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! ${as_root[@]+"${as_root[@]}"} apt-get update -qq ||
        ! ${as_root[@]+"${as_root[@]}"} apt-get install -y -qq "${apt[@]}"; then
        stop "apt-get failed; run
  ${as_root[*]:+sudo }apt-get update && ${as_root[*]:+sudo }apt-get install -y ${apt[*]}
then run this again."
    fi
fi

# ---- Python packages (pip) -------------------------------------------------
if [ ${#pip[@]} -gt 0 ]; then
    pip_args=(--quiet)
    # A system Python that forbids pip (PEP 668) outside a virtual environment:
    # install into the user's site-packages instead.
    if python3 -c 'import os, sys, sysconfig
sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)' >/dev/null 2>&1; then
        pip_args+=(--user --break-system-packages)
    fi
    say "installing with pip: ${pip[*]}"
    python3 -m pip install "${pip_args[@]}" "${pip[@]}" ||
        stop "pip failed; run
  python3 -m pip install ${pip_args[*]} ${pip[*]}
then run this again."
fi

# ---- Rust tools ------------------------------------------------------------
if [ ${#components[@]} -gt 0 ]; then
    command -v rustup >/dev/null 2>&1 ||
        stop "cargo has no ${components[*]} and there is no rustup to add them: install Rust with rustup
  (curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh), then run this again."
    say "installing with rustup: ${components[*]}"
    rustup component add "${components[@]}" ||
        stop "rustup failed; run
  rustup component add ${components[*]}
then run this again."
fi
if [ "$fuzz" = 1 ]; then
    say "installing with cargo: cargo-fuzz (a few minutes)"
    cargo install --quiet --locked cargo-fuzz ||
        stop "cargo install failed; run
  cargo install --locked cargo-fuzz
then run this again."
fi
