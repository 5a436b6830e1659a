#!/usr/bin/env bash
# Builds llama.cpp's own benchmark tools (llama-bench, llama-batched-bench) from the source that node-llama-cpp
# 3.21.1 bundles, so speed comparisons use the same llama.cpp as the parity goldens:
#
#   tools/llamacpp-reference/build-llamacpp.sh [DIR]     # default DIR: build-cache/llama.cpp (git-ignored)
#
# Release, GGML_NATIVE=ON (this CPU's ISA), AMX off (AMX crashes on these VMs: their CPUs report amx_* flags the VM does
# not enable, and with GGML_NATIVE=ON -march=native turns AMX on whatever GGML_AMX_* say, so the compiler is told
# -mno-amx-*), no curl. Takes ~15 minutes on 2 cores.
# Prints the directory holding the two binaries.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="${1:-$root/build-cache/llama.cpp}"
[ -d "$here/node_modules/node-llama-cpp" ] || (cd "$here" && npm ci --ignore-scripts)
if [ ! -d "$dir/.git" ]; then
  mkdir -p "$(dirname "$dir")"
  git clone -q "$here/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$dir"
fi
cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_AMX_TILE=OFF \
  -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" -DCMAKE_CXX_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" >&2
cmake --build "$dir/build" -j "$(nproc)" --target llama-bench llama-batched-bench >&2
echo "$dir/build/bin"
