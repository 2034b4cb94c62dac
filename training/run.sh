#!/usr/bin/env bash
# Rebuilds models/glm4-alltools-tiny from scratch (about 70 minutes on 2 busy CPU cores; a GPU is not needed).
# Deps (not in scripts/apt-packages.txt: CI does not retrain): python3-torch libopenblas0-pthread python3-regex.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
OUT=training/out
mkdir -p "$OUT"
nice -n 19 "$PY" training/build_data.py --out "$OUT" --dialogues 30000 --seed 1234
# The shipped run's schedule (its checkpoint recorded it), replayed by steps.
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 19 "$PY" training/train.py --threads 1 --data "$OUT/train.npz" --out "$OUT" --batch-tokens 3000 --lr 4e-3 \
  --steps "${STEPS:-1057}" --decay-start "${DECAY_START:-967}" ${TIME_BUDGET_MIN:+--time-budget-min "$TIME_BUDGET_MIN"}
"$PY" training/export.py --ckpt "$OUT/ckpt.pt" --tokenizer "$OUT/tokenizer.model" --out models/glm4-alltools-tiny
nice -n 19 "$PY" training/evaluate.py --model models/glm4-alltools-tiny --suites tests/eval --json "$OUT/eval.json"
