#!/usr/bin/env bash
# Installs zoo from a build tree into a temporary prefix, then builds the C
# and Fortran quickstarts as separate projects: with find_package(zoo), with
# pkg-config, and with add_subdirectory(zoo). Each program must run and
# reach its loss threshold.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR CARGO_TARGET_DIR
set -euo pipefail
build=$1 source=$2 cargo_target=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/zoo.h include/zoo.f90 lib/libzoo.a lib/libzoo.so lib/libzoo.so.0 \
         lib/cmake/zoo/zooConfig.cmake lib/cmake/zoo/zooConfigVersion.cmake lib/pkgconfig/zoo.pc; do
    [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
soname=$(readelf -d "$prefix/lib/libzoo.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libzoo.so.0" ] || { echo "unexpected SONAME '$soname'"; exit 1; }

echo "== find_package(zoo)"
cmake -S "$source/tests/consumer" -B "$work/find" -DZOO_VIA=find_package -DZOO_SOURCE_DIR="$source" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/find" >/dev/null
for exe in consumer_c consumer_c_static consumer_fortran; do
    "$work/find/$exe" | tail -n 1
done

echo "== pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c11 -O2 "$source/examples-c/quickstart.c" $(pkg-config --cflags --libs zoo) -lm \
   -Wl,-rpath,"$prefix/lib" -o "$work/pkgconfig_c"
"$work/pkgconfig_c" | tail -n 1
cc -std=c11 -O2 "$source/examples-c/quickstart.c" $(pkg-config --cflags zoo) \
   "$prefix/lib/libzoo.a" $(pkg-config --libs-only-l --static zoo | sed 's/-lzoo//') -lm -o "$work/pkgconfig_c_static"
"$work/pkgconfig_c_static" | tail -n 1

echo "== add_subdirectory(zoo)"
cmake -S "$source/tests/consumer" -B "$work/subdir" -DZOO_VIA=subdirectory -DZOO_SOURCE_DIR="$source" \
      -DZOO_CARGO_TARGET_DIR="$cargo_target" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/subdir" >/dev/null
for exe in consumer_c consumer_c_static consumer_fortran; do
    "$work/subdir/$exe" | tail -n 1
done
echo "installed package and add_subdirectory: OK"
