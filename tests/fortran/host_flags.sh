#!/usr/bin/env bash
# zoo.f90 under a host's gfortran flags. A host project (tests/fortran/
# host_flags) vendors zoo with add_subdirectory and sets CMAKE_Fortran_FLAGS
# to "-fno-automatic -finit-local-zero -fdefault-real-8 -Wall -Werror", which
# CMake puts before zoo's own flags; it must build, and its threaded program
# must pass. Then zoo.f90 is compiled directly under these flags at -O0,
# -O2 and -O3, and as strict Fortran 2008 (-std=f2008 -pedantic -Wextra
# -Werror), and its object may hold no writable static data but the error
# handler, the stop flag and the type descriptors: a local variable or a
# compiler temporary there would be shared by zoo's threads.
# Usage: host_flags.sh SOURCE_DIR CARGO_TARGET_DIR FORTRAN_COMPILER C_COMPILER
set -euo pipefail
source=$1 cargo_target=$2 fc=$3 cc=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
host_flags="-fno-automatic -finit-local-zero -fdefault-real-8 -Wall -Werror"

echo "== add_subdirectory(zoo) with CMAKE_Fortran_FLAGS=\"$host_flags\""
cmake -S "$source/tests/fortran/host_flags" -B "$work/build" -DZOO_SOURCE_DIR="$source" \
      -DZOO_CARGO_TARGET_DIR="$cargo_target" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_Fortran_COMPILER="$fc" -DCMAKE_C_COMPILER="$cc" \
      "-DCMAKE_Fortran_FLAGS=$host_flags" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build with the host's flags"; }
flags_file=$(find "$work/build" -path '*zoo_fortran.dir/flags.make' | head -n 1)
grep -q -- "$host_flags" "$flags_file" || fail "zoo.f90 was not compiled with the host's flags ($flags_file)"
"$work/build/host_flags"

# no_static_data OBJECT: fails when OBJECT defines writable static data
# other than the module variables and type descriptors named above.
no_static_data() {
    local extra
    extra=$(nm "$1" | awk '$2 ~ /^[bBdDsS]$/ { print $3 }' |
            grep -v -e '^__zoo_MOD_error_handler$' -e '^__zoo_MOD_stopping$' -e '^__zoo_MOD___vtab_zoo_Zoo_' || true)
    [ -z "$extra" ] || fail "zoo.f90 compiled with '$2' holds static data: $(echo $extra)"
}
no_static_data "$(find "$work/build" -name 'zoo.f90.o' | head -n 1)" "$host_flags -O3 (Release)"

echo "== zoo.f90 compiled directly"
cd "$work"
for flags in "$host_flags -O0" "$host_flags -O2" "$host_flags -O3" \
             "-std=f2008 -pedantic -Wall -Wextra -Wimplicit-interface -Wimplicit-procedure -Werror -O2"; do
    "$fc" $flags -c "$source/include/zoo.f90" -o zoo.o >compile.log 2>&1 ||
        { cat compile.log; fail "$fc $flags -c zoo.f90"; }
    no_static_data zoo.o "$flags"
    echo "$fc $flags: no warnings, no static data"
done
echo "zoo.f90 under the host's flags: OK"
