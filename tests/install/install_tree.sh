#!/usr/bin/env bash
# The installed tree, used from outside the source tree as a new user would:
# `cmake --install` into a fresh prefix, then examples/c_api built with CMake's
# find_package, with pkg-config and a plain cc (libbcl.so, and libbcl.a next to a
# program that defines the names bclc uses internally), and examples/aot linked with
# libbclrt.a alone (pkg-config and find_package). Each program must classify
# examples/digits/sample_3.npy as 3.
#   install_tree.sh BUILD_DIR SOURCE_DIR WORK_DIR CC
set -euo pipefail
# Pipes end in `grep >/dev/null`, never `grep -q`: grep -q exits at the first match, and
# under pipefail the writer's SIGPIPE (ldd prints line by line) would fail the check.
build=$1 src=$2 work=$3 cc=$4
rm -rf "$work"
mkdir -p "$work"
cd "$work"                                  # nothing below may rely on the source tree's paths
prefix=$work/prefix
digits=$src/examples/digits
fail() { echo "install_tree: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" > install.log
for f in bin/bclc bin/bcl-opt include/bcl/bcl.h include/bcl/bclrt.h lib/libbcl.a lib/libbclrt.a \
         lib/pkgconfig/bcl.pc lib/pkgconfig/bclrt.pc lib/cmake/bcl/bclConfig.cmake \
         lib/cmake/bcl/bclConfigVersion.cmake share/man/man1/bclc.1 share/man/man1/bcl-opt.1; do
  [ -f "$prefix/$f" ] || fail "$f not installed"
done
real=$(readlink -f "$prefix/lib/libbcl.so")
[[ $real =~ libbcl\.so\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "libbcl.so -> $real, want a versioned file"
[ -L "$prefix/lib/libbcl.so.0" ] || fail "no soname link libbcl.so.0"
grep -q '^\.SS bclc run' "$prefix/share/man/man1/bclc.1" || fail "bclc.1 lacks the run command"
"$prefix/bin/bclc" --version | grep >/dev/null '^bclc 0\.' || fail "installed bclc --version"

check_digits() {   # PROGRAM ARGS...: must print class 3
  local out
  out=$("$@" 2>&1) || fail "$* exited with $?: $out"
  echo "$out"
  grep -Eq '(predicted class|^class) 3 ' <<<"$out" || fail "$1 did not classify sample_3 as 3"
}
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

step "examples/c_api with find_package(bcl CONFIG)"
cmake -S "$src/examples/c_api" -B cmake_c_api -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" > cmake_c_api.log
cmake --build cmake_c_api >> cmake_c_api.log
needed cmake_c_api/classify | grep >/dev/null '^libbcl\.so\.0$' || fail "find_package build does not link libbcl.so.0"
loaded=$(ldd cmake_c_api/classify)
grep -F "$prefix/lib/libbcl.so.0" <<<"$loaded" >/dev/null \
  || fail "find_package build does not load the installed libbcl.so: $loaded"
check_digits cmake_c_api/classify "$digits/digits.bcl" "$digits/digits.safetensors" "$digits/sample_3.npy" "$digits/labels.txt" jit
check_digits cmake_c_api/classify "$digits/digits.bcl" "$digits/digits.safetensors" "$digits/sample_3.npy" "$digits/labels.txt" interp

step "examples/c_api with find_package, bcl::bcl_static"
cmake -S "$src/examples/c_api" -B cmake_c_api_static -DCMAKE_PREFIX_PATH="$prefix" -DBCL_STATIC=ON \
      -DCMAKE_C_COMPILER="$cc" > cmake_c_api_static.log
cmake --build cmake_c_api_static >> cmake_c_api_static.log
needed cmake_c_api_static/classify | grep >/dev/null libbcl && fail "bcl::bcl_static build needs libbcl.so"
check_digits cmake_c_api_static/classify "$digits/digits.bcl" "$digits/digits.safetensors" "$digits/sample_3.npy" "$digits/labels.txt" jit

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
step "examples/c_api with pkg-config and plain cc: $(pkg-config --libs bcl)"
"$cc" -O2 -o classify_pc "$src/examples/c_api/classify.c" $(pkg-config --cflags --libs bcl) -lm \
      -Wl,-rpath,"$prefix/lib"
check_digits ./classify_pc "$digits/digits.bcl" "$digits/digits.safetensors" "$digits/sample_3.npy" "$digits/labels.txt"

step "libbcl.a in a program that defines bclc's internal names (iterate, arena_alloc, ...)"
cat > clash.c <<'C'
/* names bclc's stages use internally: with libbcl.a they must not clash */
#include <bcl/bcl.h>
#include <stdio.h>
int iterate(int x) { return x + 1; }
void *arena_alloc(void *a, unsigned long n) { (void)n; return a; }
int binop(int a, int b) { return a * b; }
int json_parse(const char *s) { return s != 0; }
int main(void)
{
    BclCompiler *c = NULL;
    if (bcl_compiler_create(&c) != BCL_OK) return 1;
    BclModel *m = NULL;
    BclStatus s = bcl_compile_string(c, "x = (\n", "bad.bcl", &m);
    printf("%s %d %s\n", bcl_version_string(), iterate(binop(2, 3)), bcl_status_name(s));
    bcl_compiler_destroy(c);
    return s == BCL_ERR_COMPILE && json_parse("") && arena_alloc(0, 0) == 0 ? 0 : 1;
}
C
static_libs=$(pkg-config --static --libs bcl | sed 's/-lbcl\b/-l:libbcl.a/')
"$cc" -std=c11 -o clash clash.c $(pkg-config --cflags bcl) $static_libs
needed clash | grep >/dev/null libbcl && fail "the static link needs libbcl.so"
./clash | grep >/dev/null '^0\.[0-9]*\.[0-9]* 7 BCL_ERR_COMPILE$' || fail "clash: $(./clash)"

step "examples/aot: bclc compile + plain cc with libbclrt.a alone: $(pkg-config --libs bclrt)"
"$prefix/bin/bclc" compile "$digits/digits.bcl" --weights "$digits/digits.safetensors" --input-shape 1,1,8,8 \
    --name digits --output digits.o --header digits.h
"$cc" -std=c11 -O2 -I. -I"$src/examples/aot" -o classify_digits "$src/examples/aot/classify_digits.c" digits.o \
      $(pkg-config --cflags --libs bclrt)
needed classify_digits | grep -E >/dev/null 'libbcl|LLVM' && fail "the AOT program needs $(needed classify_digits)"
check_digits ./classify_digits "$digits/sample_3.npy"

step "examples/aot with find_package(bcl CONFIG), bcl::bclrt"
cmake -S "$src/examples/aot" -B cmake_aot -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" > cmake_aot.log
cmake --build cmake_aot >> cmake_aot.log
needed cmake_aot/classify_digits | grep -E >/dev/null 'libbcl|LLVM' && fail "the CMake AOT program links libbcl or LLVM"
check_digits cmake_aot/classify_digits "$digits/sample_3.npy"
step "the Python package of the prefix finds the prefix's libbcl.so"
out=$(env -u BCL_LIBRARY PYTHONPATH="$prefix/lib/python3/dist-packages" /usr/bin/python3 -c '
import sys, numpy as np, bclc
from bclc import _native
m = bclc.compile(sys.argv[1] + "/digits.bcl", input_shape=(1, 1, 8, 8))
m.load_weights(sys.argv[1] + "/digits.safetensors")
print(_native.lib.path, int(m(np.load(sys.argv[1] + "/sample_3.npy")).argmax()))' "$digits") || fail "python: $out"
echo "$out"
[[ $out == "$prefix/lib/python3/dist-packages/../../libbcl.so.0 3" || $out == "$prefix/lib/libbcl.so.0 3" ]] \
  || fail "the installed bclc package used another library or misclassified: $out"
echo "install_tree: all passed"
