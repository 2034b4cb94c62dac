#!/usr/bin/env bash
# Trains a bigger embedded model on one GPU within a hard wall-clock budget and exports it.
#
#   training/gpu_run.sh SECONDS OUTDIR
#
# SECONDS covers everything: data generation (build_data.py in parallel shards, the shipped tokenizer reused so the
# C++ tokenizer goldens stay valid), training by the clock (train.py --deadline: warmup, constant LR, cosine decay
# over the last DECAY_FRAC of the training time, stop at the deadline), export (export.py --dtype bf16) and the size
# checks. OUTDIR gets config.json, generation_config.json, model.safetensors, tokenizer.model, reference.json,
# reference.safetensors and train.log (7 files, no folders); every file must stay under 16 MiB.
# Needs only tracked files (nothing to carry). Scratch goes to $WORK (default: a fresh /tmp folder).
# Fine-tuning the shipped model instead of training from scratch: INIT=models/glm4-alltools-tiny (with a lower LR,
# e.g. LR=3e-4 WARMUP=50, and a fresh DIALOGUE_SEED); KIND_WEIGHTS / MATH_TEMPLATES set the dialogue mix and the
# math curriculum (build_data.py --kind-weights / --math-templates; e.g. MATH_TEMPLATES=8=4 for the averages, the
# weakest template: 53 % on 400 fresh tasks).
# Model and run settings come from the environment (defaults: the GPU recipe), e.g. a quick CPU check:
#   DEVICE=cpu PADDED=1 HIDDEN=64 LAYERS=2 HEADS=2 KV_HEADS=1 FFN=128 DIALOGUES=4000 BATCH_TOKENS=4000 \
#     training/gpu_run.sh 120 /tmp/gpu_try
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 SECONDS OUTDIR" >&2
  exit 2
fi
BUDGET=$1
OUT=$2
T0=$(date +%s)
END=$((T0 + BUDGET))
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONUNBUFFERED=1

HIDDEN=${HIDDEN:-256}
LAYERS=${LAYERS:-8}
HEADS=${HEADS:-8}
KV_HEADS=${KV_HEADS:-2}
HEAD_DIM=${HEAD_DIM:-32}
FFN=${FFN:-640}
LR=${LR:-2e-3}
WARMUP=${WARMUP:-150}
BATCH_TOKENS=${BATCH_TOKENS:-65536}
DECAY_FRAC=${DECAY_FRAC:-0.25}
DIALOGUES=${DIALOGUES:-400000}
SEED=${SEED:-1234}
DEVICE=${DEVICE:-auto}
DTYPE=${DTYPE:-bf16}
CORES=$(nproc 2>/dev/null || echo 2)
WORKERS=${WORKERS:-$CORES}
# seconds kept for the export after training stops (torch import, bf16 rounding, float64 NumPy check, files)
EXPORT_RESERVE=${EXPORT_RESERVE:-$(( BUDGET >= 200 ? 30 : (BUDGET * 20 / 100 > 15 ? BUDGET * 20 / 100 : 15) ))}
# data generation stops collecting shards after this many seconds (the rest of the budget trains)
DATA_LIMIT=${DATA_LIMIT:-$(( BUDGET * 16 / 100 > 10 ? BUDGET * 16 / 100 : 10 ))}

mkdir -p "$OUT" || exit 1
LOG="$OUT/train.log"
: > "$LOG"
if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK"
  own_work=0
else
  WORK=$(mktemp -d /tmp/alltools-train.XXXXXX)
  own_work=1
fi

left() { echo $((END - $(date +%s))); }

pick_python() {
  local c
  for c in ${PY:-} python3 /usr/bin/python3; do
    # find torch without importing it (an import costs seconds of the budget)
    if command -v "$c" >/dev/null 2>&1 && "$c" -c "import importlib.util as u, numpy, regex; assert u.find_spec('torch')" >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

run() {
  local py
  py=$(pick_python) || { echo "gpu_run: no python3 with torch, numpy and regex"; return 1; }
  echo "gpu_run: budget ${BUDGET}s, out $OUT, work $WORK, python $py ($("$py" -c 'import sys, importlib.metadata as m; print(sys.version.split()[0], "torch", m.version("torch"))' 2>/dev/null))"
  echo "gpu_run: model hidden $HIDDEN layers $LAYERS heads $HEADS/$KV_HEADS x $HEAD_DIM ffn $FFN; lr $LR batch $BATCH_TOKENS tokens; $DIALOGUES dialogues, $WORKERS workers, data limit ${DATA_LIMIT}s, export reserve ${EXPORT_RESERVE}s"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv,noheader

  # 1. data (hard stop a little after its own limit)
  timeout -k 2 $((DATA_LIMIT + 15)) "$py" "$ROOT/training/build_data.py" --out "$WORK" --dialogues "$DIALOGUES" \
    --seed "$SEED" --workers "$WORKERS" --tokenizer "$ROOT/models/glm4-alltools-tiny/tokenizer.model" \
    --no-repo-files --time-limit "$DATA_LIMIT" --max-len 2048 ${KIND_WEIGHTS:+--kind-weights "$KIND_WEIGHTS"} \
    ${MATH_TEMPLATES:+--math-templates "$MATH_TEMPLATES"} ${DIALOGUE_SEED:+--dialogue-seed "$DIALOGUE_SEED"} \
    || { echo "gpu_run: data generation failed"; return 1; }
  echo "gpu_run: data ready at $(( $(date +%s) - T0 ))s"

  # 2. training by the clock: stops at DEADLINE; the process is killed (last checkpoint kept) if it overruns
  local deadline=$((END - EXPORT_RESERVE))
  local pad=()
  [ "${PADDED:-0}" = 1 ] && pad=(--padded)
  timeout -k 2 $((deadline - $(date +%s) + 10)) "$py" "$ROOT/training/train.py" --data "$WORK/train.npz" --out "$WORK" \
    --device "$DEVICE" --threads "$CORES" --deadline "$deadline" --decay-frac "$DECAY_FRAC" --lr "$LR" \
    --warmup "$WARMUP" --beta2 0.95 --weight-decay 0.1 --min-lr-frac 0.02 --batch-tokens "$BATCH_TOKENS" \
    --hidden "$HIDDEN" --layers "$LAYERS" --heads "$HEADS" --kv-heads "$KV_HEADS" --head-dim "$HEAD_DIM" --ffn "$FFN" \
    --scaled-init --ckpt-minutes 1 --seed "$SEED" --probe-suites "$ROOT/tests/eval" --probe-n "${PROBE_N:-8}" \
    --probe-seconds "${PROBE_SECONDS:-8}" ${INIT:+--init "$INIT"} "${pad[@]}"
  local rc=$?
  [ $rc -ne 0 ] && echo "gpu_run: train.py exited $rc"
  [ -f "$WORK/ckpt.pt" ] || { echo "gpu_run: no checkpoint"; return 1; }
  echo "gpu_run: training ended at $(( $(date +%s) - T0 ))s"

  # 3. export (CPU), bounded by what is left
  local t=$(( $(left) - 2 ))
  [ $t -lt 5 ] && t=5
  timeout -k 2 $t "$py" "$ROOT/training/export.py" --ckpt "$WORK/ckpt.pt" --tokenizer "$WORK/tokenizer.model" \
    --out "$OUT" --dtype "$DTYPE" || { echo "gpu_run: export failed"; return 1; }

  # 4. checks: at most 8 plain files, each under 16 MiB
  local bad=0 n=0 f
  for f in "$OUT"/*; do
    n=$((n + 1))
    [ -f "$f" ] || { echo "gpu_run: $f is not a plain file"; bad=1; }
    if [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt $((16 * 1024 * 1024)) ]; then echo "gpu_run: $f is over 16 MiB"; bad=1; fi
  done
  [ $n -le 8 ] || { echo "gpu_run: $n files in $OUT (at most 8)"; bad=1; }
  ls -l "$OUT"
  echo "gpu_run: done in $(( $(date +%s) - T0 ))s of ${BUDGET}s"
  return $bad
}

run 2>&1 | tee -a "$LOG"
status=${PIPESTATUS[0]}
[ "$own_work" = 1 ] && rm -rf "$WORK"
exit "$status"
