#!/usr/bin/env bash
# Builds src/test/c/r1k_test.c with the kernel sources under AddressSanitizer + UBSan and runs it (called by the
# Maven build in the test phase; skips with a warning where build.sh would build no library).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/../../main/c"
out="${1:-$(mktemp -d)}"
cc="${CC:-gcc}"
if [ "$(uname -s)/$(uname -m)" != Linux/x86_64 ] || ! command -v "$cc" >/dev/null 2>&1; then
  echo "[WARNING] r1k_test: no native build here, skipped" >&2
  exit 0
fi
mkdir -p "$out"
flags=(-std=c11 -O1 -g -ffp-contract=off -fno-omit-frame-pointer -fsanitize=address,undefined
       -fno-sanitize-recover=all -Wall -Wextra -Werror -Wno-unused-parameter -I"$src")
"$cc" "${flags[@]}" -c "$src/r1k_ref.c" -o "$out/ref.o"
"$cc" "${flags[@]}" -c "$src/r1k_cpu.c" -o "$out/cpu.o"
"$cc" "${flags[@]}" -mavx2 -mfma -mf16c -c "$src/r1k_x86.c" -o "$out/avx2.o"
"$cc" "${flags[@]}" -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni -DR1K_VNNI \
  -c "$src/r1k_x86.c" -o "$out/vnni.o"
"$cc" "${flags[@]}" "$here/r1k_test.c" "$out"/ref.o "$out"/cpu.o "$out"/avx2.o "$out"/vnni.o -lm -o "$out/r1k_test"
ASAN_OPTIONS=detect_leaks=1 "$out/r1k_test"
