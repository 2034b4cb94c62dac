#!/usr/bin/env bash
# CPU prefill and decode side by side with llama.cpp on THIS machine, in one run (issue #16).
#   1. installs the peer: node-llama-cpp (pinned in node/package.json + package-lock.json; prebuilt llama.cpp
#      CPU binaries for linux-x64, which pick a ggml CPU variant for this CPU at run time) into node/node_modules;
#   2. writes the synthetic GLM-4-9B-shaped weights once (`alltools bench export-peers`: a safetensors
#      checkpoint for us, BF16 and Q8_0 GGUF files for llama.cpp; same seed, same values);
#   3. runs prefill PROMPT / decode TOKENS on both, bf16 and int8 (llama.cpp: Q8_0), THREADS threads, REPS
#      alternating repetitions (ours bf16, llama.cpp BF16, ours bf16 with --activations bf16, ours int8,
#      llama.cpp Q8_0, again ...; nothing is niced), and prints one table of medians with the ratios, the load
#      average before and after, and the ggml CPU variant llama.cpp loaded. llama.cpp always rounds activations
#      to bf16 for BF16 weights (Q8_0 for Q8_0); ours does by default in neither, so bf16 runs twice: f32
#      activations (default) and --activations bf16 (the same arithmetic as llama.cpp's on AVX512-BF16 CPUs).
# Needs: build/bin/alltools (scripts/build.sh), Node >= 20 with npm, ~11 GB free under OUT.
# Env: ALLTOOLS (binary), OUT (default build/peers), LAYERS (4), REPS (3), THREADS (2), PROMPT (128), TOKENS (32).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
alltools="${ALLTOOLS:-$root/build/bin/alltools}"
out="${OUT:-$root/build/peers}"
layers="${LAYERS:-4}" reps="${REPS:-3}" threads="${THREADS:-2}" prompt="${PROMPT:-128}" tokens="${TOKENS:-32}"
spec="glm4-9b:layers=$layers"

[ -x "$alltools" ] || { echo "llama_cpp.sh: $alltools not found (run scripts/build.sh)" >&2; exit 2; }
if [ ! -f "$here/node/node_modules/node-llama-cpp/package.json" ]; then
  # --omit=optional: only the linux-x64 CPU binaries (a direct dependency), not the CUDA/Vulkan packages.
  (cd "$here/node" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund --omit=optional)
fi

stamp="$out/spec.txt"
if [ "$(cat "$stamp" 2>/dev/null)" != "$spec" ]; then
  rm -f "$stamp"
  "$alltools" bench export-peers --synthetic "$spec" --out "$out"
  echo "$spec" > "$stamp"
fi

results="$out/results.tsv"
: > "$results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
ours() {  # label dtype activations rep
  local log label="$1" rep="$4"
  log="$("$alltools" bench decode --model "$out/ours" --dtype "$2" --activations "$3" --threads "$threads" \
           --prompt "$prompt" --tokens "$tokens")"
  set -- "$label" "$rep"
  echo "$log" | sed "s/^/  [ours $1 #$2] /" >&2
  local kernels prefill decode
  kernels="$(echo "$log" | sed -n 's/.*kernels \([a-z0-9_]* ([^)]*)\),.*/\1/p')"
  prefill="$(echo "$log" | sed -n 's/^prefill *\([0-9.]*\) tok\/s.*/\1/p')"
  decode="$(echo "$log" | sed -n 's/^decode *\([0-9.]*\) tok\/s.*/\1/p')"
  first="$(echo "$log" | sed -n 's/^first tokens *\([0-9,]*\).*/\1/p')"
  printf 'ours\t%s\t%s\t%s\t%s\tkernels %s\t%s\n' "$1" "$2" "$prefill" "$decode" "$kernels" "$first" >> "$results"
}
peer() {  # dtype gguf rep
  local json
  json="$(node "$here/node/llama_bench.mjs" "$out/$2" --threads "$threads" --prompt "$prompt" --tokens "$tokens")"
  echo "  [llama.cpp $1 #$3] $json" >&2
  node -e 'const r = JSON.parse(process.argv[1]);
    console.log(["llama.cpp", process.argv[2], process.argv[3], r.prefill_tok_s.toFixed(2), r.decode_tok_s.toFixed(3),
                 r.backend || "?", r.first_tokens.join(",")].join("\t"));' "$json" "$1" "$3" >> "$results"
}
for rep in $(seq 1 "$reps"); do
  ours bf16 bf16 f32 "$rep"; peer bf16 glm4-bf16.gguf "$rep"
  ours bf16x bf16 bf16 "$rep"
  ours int8 int8 f32 "$rep"; peer int8 glm4-q8_0.gguf "$rep"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

node "$here/node/table.mjs" "$results" "$spec" "$threads" "$prompt" "$tokens" "$load_before" "$load_after"
