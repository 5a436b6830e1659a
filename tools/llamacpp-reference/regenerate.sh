#!/usr/bin/env bash
# Regenerates every llama.cpp golden file in src/test/resources/golden/ (used by the *ParityTest classes in
# src/test/java/dev/r1flink/model/): synthesizes each model with ./r1-flink synth into a temp dir, runs llama.cpp
# on it through golden.mjs (node-llama-cpp 3.21.1, prebuilt CPU binary; see the header of golden.mjs for the
# pinned settings), and deletes the model. Needs node >= 20 and `npm ci` in this directory.
#
#   tools/llamacpp-reference/regenerate.sh            # all golden files
#   tools/llamacpp-reference/regenerate.sh qwen2-f32  # only those whose name contains qwen2-f32
# R1_CLI=COMMAND runs the synthesizer through COMMAND instead of ./r1-flink (e.g. a launcher on target/classes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="${R1_SHARED_DIR:-$root/../shared}"
out="$root/src/test/resources/golden"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
filter="${1:-}"
seed=42
steps=32

qwen_vocab="$shared/testdata/vocab/derived/ggml-vocab-deepseek-r1-qwen.gguf"
llama_vocab="$shared/testdata/vocab/ggml-vocab-llama-bpe.gguf"
# DeepSeek-R1 chat template (special tokens parsed) with some digits, punctuation and non-ASCII text.
qwen_prompt=$'<｜User｜>What is 17 * 23? Answer briefly, then say "¡hola!" in 日本語.<｜Assistant｜><think>\n'
# Llama-3 chat template; the llama-bpe vocab has these special tokens.
llama_prompt=$'<|start_header_id|>user<|end_header_id|>\n\nWhat is 17 * 23? Answer briefly, then say "¡hola!" in 日本語.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'

[ -d "$here/node_modules/node-llama-cpp" ] || (cd "$here" && npm ci --ignore-scripts)
mkdir -p "$out"

# golden NAME SHAPE TYPE MODE  (MODE: greedy = llama.cpp's greedy ids; the Java test feeds llama.cpp's ids either way)
golden() {
  local name="$1" shape="$2" type="$3" mode="$4"
  [[ -z "$filter" || "$name" == *"$filter"* ]] || return 0
  local vocab="$qwen_vocab" prompt="$qwen_prompt"
  if [[ "$shape" == *llama* ]]; then vocab="$llama_vocab"; prompt="$llama_prompt"; fi
  local model="$tmp/$name.gguf"
  local synth="./r1-flink synth --shape $shape --type $type --vocab ${vocab#"$shared/"} --seed $seed"
  (cd "$root" && ${R1_CLI:-./r1-flink} synth --shape "$shape" --type "$type" --vocab "$vocab" --seed "$seed" -o "$model" 2>/dev/null)
  local describe
  describe=$(printf '{"shape":"%s","type":"%s","seed":%d,"vocab":"%s","synth":"%s"}' \
      "$shape" "$type" "$seed" "${vocab#"$shared/"}" "$synth -o MODEL.gguf")
  node "$here/golden.mjs" --model "$model" --prompt "$prompt" --steps "$steps" --mode greedy \
      --describe "$describe" --out "$out/$name.json"
  rm -f "$model"
  echo "regenerate: $out/$name.json ($mode)"
}

# F32 / F16: exact greedy parity expected (same ids for all steps)
for arch in qwen2 llama qwen3; do
  golden "$arch-f32" "tiny-$arch" F32 greedy
  golden "$arch-f16" "tiny-$arch" F16 greedy
done
# quantized: compared teacher-forced on llama.cpp's ids, top-10 within a tolerance
for type in Q8_0 Q4_0 Q4_K Q5_K Q6_K; do
  lower=$(echo "$type" | tr 'A-Z' 'a-z')
  golden "qwen2-$lower" tiny-qwen2 "$type" forced
done
# K-quants on the other two architectures (qk-norm and llama3 rope factors under quantization)
golden llama-q4_k tiny-llama Q4_K forced
golden qwen3-q4_k tiny-qwen3 Q4_K forced
# deepseek2 (MLA + MoE, YaRN): F32 with q_lora (R1's routing) and without (V2-Lite's kind), greedy; Q8_0 forced.
# The MLA files are in the split attn_k_b/attn_v_b form, so llama.cpp runs its weight-absorbed MLA path.
golden deepseek2-f32 tiny-deepseek2 F32 greedy
golden deepseek2-lite-f32 tiny-deepseek2-lite F32 greedy
golden deepseek2-q8_0 tiny-deepseek2 Q8_0 forced
