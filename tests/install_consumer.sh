#!/usr/bin/env bash
# Installs zoo from a build tree into a temporary prefix and uses it the ways
# the README documents, as a user outside the source tree would:
#   - the installed files, the SONAME the README states (readelf -d) and no
#     debug information in the installed libraries;
#   - the README's pkg-config recipes (C shared, C with the static library,
#     fully static C, Fortran), run verbatim from the README;
#   - find_package(zoo) with version requests and components
#     (tests/consumer/probe), then the C and Fortran quickstarts built with it;
#   - add_subdirectory(zoo).
# Each quickstart must run and reach its loss threshold.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR CARGO_TARGET_DIR
set -euo pipefail
build=$1 source=$2 cargo_target=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The README installs to $HOME/opt/zoo; the recipes below run with HOME=$work/home.
prefix=$work/home/opt/zoo
cmake --install "$build" --prefix "$prefix" >/dev/null

echo "== installed files, SONAME, debug information"
version=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --modversion zoo)
# ABI policy (README): 0.x -> libzoo.so.0.MINOR, from 1.0 on libzoo.so.MAJOR.
case $version in
    0.*) expected_soname=libzoo.so.$(echo "$version" | cut -d. -f1,2) ;;
    *) expected_soname=libzoo.so.$(echo "$version" | cut -d. -f1) ;;
esac
readme_soname=$(grep -o 'SONAME `libzoo\.so\.[0-9.]*`' "$source/README.md" | head -n 1 | tr -d '`' | cut -d' ' -f2)
[ "$readme_soname" = "$expected_soname" ] ||
    fail "README states SONAME '$readme_soname'; the ABI policy for $version gives '$expected_soname'"
for f in include/zoo.h include/zoo.hpp include/zoo.f90 lib/libzoo.a lib/libzoo.so "lib/$expected_soname" "lib/libzoo.so.$version" \
         lib/cmake/zoo/zooConfig.cmake lib/cmake/zoo/zooConfigVersion.cmake \
         lib/pkgconfig/zoo.pc lib/pkgconfig/zoo-static.pc; do
    [ -e "$prefix/$f" ] || fail "missing after install: $f"
done
soname=$(readelf -d "$prefix/lib/libzoo.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "$expected_soname" ] || fail "installed library has SONAME '$soname', README says '$readme_soname'"
build_soname=$(readelf -d "$cargo_target/release/libzoo.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$build_soname" = "$expected_soname" ] || fail "built library has SONAME '$build_soname', README says '$readme_soname'"
for lib in "lib/libzoo.so.$version" lib/libzoo.a; do
    if readelf -S -W "$prefix/$lib" | grep -q '\.debug_info'; then
        fail "$lib was installed with debug information (only with -DZOO_INSTALL_DEBUG_INFO=ON)"
    fi
done
echo "SONAME $soname (as the README says); installed libraries carry no debug information"

echo "== pkg-config recipes from the README, verbatim"
# The block after the marker line in the README, run line by line in a
# directory holding my_solver.c (the C quickstart) and my_solver.f90 (the
# Fortran one); every line that builds my_solver is followed by a run.
recipes=$(awk '/<!-- pkg-config recipes/ { found = 1; next }
               found && /^```/ { if (inside) exit; inside = 1; next }
               inside { print }' "$source/README.md")
[ -n "$recipes" ] || fail "no pkg-config recipe block after '<!-- pkg-config recipes' in README.md"
mkdir -p "$work/recipes"
cp "$source/examples-c/quickstart.c" "$work/recipes/my_solver.c"
cp "$source/examples-fortran/quickstart.f90" "$work/recipes/my_solver.f90"
(
    cd "$work/recipes"
    export HOME=$work/home
    unset PKG_CONFIG_PATH LD_LIBRARY_PATH
    while IFS= read -r line; do
        case $line in '' | '#'*) continue ;; esac
        echo "\$ $line"
        rm -f my_solver
        eval "$line" >"$work/recipe.log" 2>&1 || { cat "$work/recipe.log"; fail "README recipe failed: $line"; }
        case $line in *"-o my_solver"*) ;; *) continue ;; esac
        needed=$(readelf -d my_solver | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
        case $line in
            *"cc -static "*) [ -z "$needed" ] || fail "a fully static my_solver needs: $needed" ;;
            *zoo-static*) case " $needed" in *" libzoo"*) fail "my_solver linked with zoo-static needs $needed" ;; esac ;;
            *) case " $needed " in *" $expected_soname "*) ;; *) fail "my_solver does not need $expected_soname: $needed" ;; esac ;;
        esac
        ./my_solver | tail -n 1
    done <<<"$recipes"
)

echo "== find_package(zoo): versions and components"
# probe LANGUAGES ARGS EXPECT [MESSAGE]: configures tests/consumer/probe, which
# calls find_package(zoo ARGS); EXPECT is found or refused, MESSAGE a text the
# refusal must contain.
probe() {
    local languages=$1 args=$2 expect=$3 message=${4:-} dir result
    dir=$work/probe-$RANDOM
    if cmake -S "$source/tests/consumer/probe" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" \
             "-DZOO_PROBE_LANGUAGES=$languages" "-DZOO_PROBE_ARGS=$args" >"$dir.log" 2>&1; then
        result=found
    else
        result=refused
    fi
    if [ "$result" != "$expect" ] || ! grep -qF -- "$message" "$dir.log"; then
        cat "$dir.log"
        fail "find_package(zoo ${args//;/ }) with languages '$languages': $result, expected $expect${message:+ saying '$message'}"
    fi
    echo "find_package(zoo ${args//;/ }) [languages ${languages//;/ }]: $result"
}
# The 0.x policy: this minor version (cur) is accepted, alone or as a range;
# the next (next) and previous minor versions and 1.0 are refused (CMake
# then lists the installed zooConfig.cmake as considered but not accepted).
major=${version%%.*} minor=$(echo "$version" | cut -d. -f2)
cur=$major.$minor next=$major.$((minor + 1)) other=$major.$((minor == 0 ? 9 : minor - 1))
probe C "$cur;REQUIRED" found "zoo_probe: zoo $version"
probe C "$cur...<$next;REQUIRED" found "zoo_probe: zoo $version"
probe C "$cur.0...$cur.99;REQUIRED" found "zoo_probe: zoo $version"
probe C "$next;REQUIRED" refused "zooConfig.cmake, version: $version"
probe C "$other;REQUIRED" refused "zooConfig.cmake, version: $version"
probe C "$cur...<$((major + 1)).0;REQUIRED" refused "zooConfig.cmake, version: $version"
probe C "$((major + 1)).0;REQUIRED" refused "zooConfig.cmake, version: $version"
probe "C;Fortran" "$cur;REQUIRED;COMPONENTS;C;Fortran" found "zoo::fortran available"
probe C "$cur;REQUIRED;COMPONENTS;Fortran" refused "enable_language(Fortran)"
probe C "$cur;REQUIRED;COMPONENTS;Python" refused "no component 'Python'"
probe C "$cur;OPTIONAL_COMPONENTS;Fortran" found "zoo::fortran absent"

echo "== find_package(zoo): the quickstarts"
cmake -S "$source/tests/consumer" -B "$work/find" -DZOO_VIA=find_package -DZOO_SOURCE_DIR="$source" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/find" >/dev/null
for exe in consumer_c consumer_c_static consumer_fortran; do
    "$work/find/$exe" | tail -n 1
done

echo "== add_subdirectory(zoo)"
cmake -S "$source/tests/consumer" -B "$work/subdir" -DZOO_VIA=subdirectory -DZOO_SOURCE_DIR="$source" \
      -DZOO_CARGO_TARGET_DIR="$cargo_target" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/subdir" >/dev/null
for exe in consumer_c consumer_c_static consumer_fortran; do
    "$work/subdir/$exe" | tail -n 1
done
echo "installed package, pkg-config recipes and add_subdirectory: OK"
