#!/usr/bin/env bash
# Builds libr1k.so (the native int8 kernels) into the Maven output, from the Maven build (exec-maven-plugin,
# generate-resources) or by hand:
#   src/main/c/build.sh OUT_DIR [JAVA_HOME]
# One library serves every x86-64 CPU: r1k_x86.c is compiled twice (AVX2+FMA+F16C, and AVX-512 VNNI) and the
# variant is picked at run time by cpuid. Without a C compiler, or off x86-64 Linux, it prints a warning and builds
# nothing: the Java backend then runs everything.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build.sh OUT_DIR [JAVA_HOME]}"
java_home="${2:-${JAVA_HOME:-}}"
cc="${CC:-gcc}"
os="$(uname -s)"; arch="$(uname -m)"
if [ "$os" != Linux ] || [ "$arch" != x86_64 ]; then
  echo "[WARNING] r1k: native kernels are built for Linux x86-64 only (this is $os $arch): Java backend only" >&2
  exit 0
fi
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "[WARNING] r1k: no C compiler ($cc) found: the jar will have the Java backend only (install gcc for the native int8 kernels)" >&2
  exit 0
fi
if [ -z "$java_home" ] || [ ! -f "$java_home/include/jni.h" ]; then
  echo "[WARNING] r1k: jni.h not found under JAVA_HOME=$java_home: Java backend only" >&2
  exit 0
fi
dest="$out/dev/r1flink/native/linux-x86_64"
obj="$(mktemp -d)"
trap 'rm -rf "$obj"' EXIT
mkdir -p "$dest"
flags=(-std=c11 -O3 -fPIC -ffp-contract=off -fno-strict-aliasing -fvisibility=hidden -Wall -Wextra -Werror
       -Wno-unused-parameter -I"$here" -I"$java_home/include" -I"$java_home/include/linux")
"$cc" "${flags[@]}" -c "$here/r1k_ref.c" -o "$obj/ref.o"
"$cc" "${flags[@]}" -c "$here/r1k_cpu.c" -o "$obj/cpu.o"
"$cc" "${flags[@]}" -mavx2 -mfma -mf16c -c "$here/r1k_x86.c" -o "$obj/avx2.o"
"$cc" "${flags[@]}" -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni -DR1K_VNNI \
  -c "$here/r1k_x86.c" -o "$obj/vnni.o"
"$cc" "${flags[@]}" -fvisibility=default -c "$here/r1k_jni.c" -o "$obj/jni.o"
"$cc" -shared -o "$dest/libr1k.so" "$obj"/*.o -lm
echo "r1k: built $dest/libr1k.so"
