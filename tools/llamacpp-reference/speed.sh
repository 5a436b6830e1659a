#!/usr/bin/env bash
# Side-by-side speed of llama.cpp and r1-flink on the same GGUF files, in one run (these machines are shared and
# noisy: compare the ratios of one run, not absolute figures across runs). Prints llama.cpp's tables and ours.
#
#   tools/llamacpp-reference/speed.sh LLAMA_BIN_DIR MODEL.gguf [MODEL.gguf ...]
#
# Per model: llama-bench -p 512 -n 64 -t 2 (prefill 512, decode 64), llama-batched-bench -npp 128 -ntg 64
# -npl 1,4,16,32 -t 2 (aggregate decode), then ours: bench --concurrency 1 --npp 512 --ntg 64 (a warm-up request,
# then prefill 512 and decode 64: what llama-bench measures after its own warm-up), generate with a 512-id prompt
# (the JVM's first forward pass, JIT included: the cold figure) and bench --concurrency 1,4,16,32 --npp 128 --ntg
# 64, all --threads 2, on the backend of $BACKEND (default auto). R1_SHAPED=1 adds the R1-shaped run (16
# sequences, prompt 256, 1,024 generated) on both sides.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:?usage: speed.sh LLAMA_BIN_DIR MODEL.gguf...}"; shift
backend="${BACKEND:-auto}"
ids="$(python3 -c "import random; random.seed(1); print(','.join(str(random.randrange(1000,150000)) for _ in range(512)))")"
for model in "$@"; do
  echo "=== $(basename "$model") $(date -u +%FT%TZ)"
  "$bin/llama-bench" -m "$model" -p 512 -n 64 -t 2 2>/dev/null
  "$bin/llama-batched-bench" -m "$model" -c 8192 -b 2048 -ub 512 -npp 128 -ntg 64 -npl 1,4,16,32 -t 2 2>/dev/null \
    | grep -E '^\|'
  "$root/r1-flink" bench --model "$model" --concurrency 1 --npp 512 --ntg 64 --threads 2 --backend "$backend" \
    2>&1 | grep -v '^bench: concurrency'
  "$root/r1-flink" generate --model "$model" --prompt-ids "$ids" --max-tokens 65 --threads 2 --prefill-chunk 512 \
    --backend "$backend" 2>&1 >/dev/null | grep -E 'backend|prefill'
  "$root/r1-flink" bench --model "$model" --concurrency 1,4,16,32 --npp 128 --ntg 64 --threads 2 \
    --backend "$backend" 2>&1 | grep -v '^bench: concurrency'
  if [ -n "${R1_SHAPED:-}" ]; then
    "$bin/llama-batched-bench" -m "$model" -c 24576 -b 2048 -ub 512 -npp 256 -ntg 1024 -npl 16 -t 2 2>/dev/null \
      | grep -E '^\|'
    "$root/r1-flink" bench --model "$model" --concurrency 16 --npp 256 --ntg 1024 --threads 2 --kv-cache-mib 4096 \
      --backend "$backend" 2>&1 | grep -v '^bench: concurrency'
  fi
done
