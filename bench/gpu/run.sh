#!/usr/bin/env bash
# The GPU checks of the CUDA backend in one go, for a machine with an NVIDIA GPU where time is short:
#   1. the GPU tests (op-by-op kernel checks, then the backend as a LanguageModel),
#   2. `alltools check-model --device cuda` on every reference fixture (stored, f32, int8),
#   3. compute-sanitizer memcheck over a subset of both test binaries (when compute-sanitizer is there),
#   4. cuda_kernel_bench (each decode kernel alone on GLM-4-9B shapes, the 40-layer GEMV chain with and without
#      PDL, flash attention), then `alltools bench decode --synthetic glm4-9b --device cuda` in bf16 and int8
#      (prefill 2048 tokens, then 128 decode steps), which print the measured copy bandwidth, the roofline, the
#      fraction reached and GPU memory.
# Prints a short table last; full logs go to OUT_DIR/gpu_logs.tar.
#
# Usage (on the GPU machine): bench/gpu/run.sh [BUNDLE_DIR] [OUT_DIR]
#   BUNDLE_DIR comes from bench/gpu/bundle.sh (binaries, their libraries, fixtures; default .gpu).
#   WAIT_FOR=FILE delays the benchmarks until FILE exists (another GPU job finishing), for at most WAIT_MAX s.
#   QUICK=1 skips steps 2 and 3 (a rerun after a performance change).
#   VARIANT="ENV=VALUE ..." adds a bf16 decode benchmark with those settings (e.g. ALLTOOLS_CUDA_ATTN_MIN_CHUNK=32).
set -uo pipefail
B="$(cd "${1:-.gpu}" && pwd)"
OUT="${2:-${OUT:-/tmp/alltools-gpu}}"
mkdir -p "$OUT"
L="$(mktemp -d)"
cublas="$(ls /usr/local/cuda/lib64/libcublas.so.13 2>/dev/null || find / -xdev -name 'libcublas.so.13*' 2>/dev/null | head -1)"
export LD_LIBRARY_PATH="$B/lib:${cublas:+$(dirname "$cublas"):}${LD_LIBRARY_PATH:-}"
export ALLTOOLS_SHARED_DIR="$B/shared"
A="$B/alltools"
FIX="$ALLTOOLS_SHARED_DIR/fixtures/glm-fixtures"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$L/gpu.txt"
if ldd "$A" | grep -q "not found"; then
  echo "run.sh: libraries missing:"; ldd "$A" | grep "not found"
fi

echo "== 1. GPU tests"
t0=$SECONDS
timeout 400 "$B/model_cuda_ops_test" --gtest_brief=1 >"$L/ops_test.log" 2>&1; ops_rc=$?
tail -n 25 "$L/ops_test.log"
timeout 400 "$B/model_cuda_test" --gtest_brief=1 >"$L/model_test.log" 2>&1; model_rc=$?
grep -E "^\[ (glm|synthetic)|FAILED|PASSED|error" "$L/model_test.log" | head -40
echo "tests: ops rc=$ops_rc model rc=$model_rc ($((SECONDS - t0)) s)"

echo "== 2. check-model --device cuda"
cm_pass=0; cm_total=0
[ -n "${QUICK:-}" ] && FIXDIRS="" || FIXDIRS="$(ls -d "$FIX"/*/)"
for dir in $FIXDIRS; do
  for dtype in stored f32 int8; do
    cm_total=$((cm_total + 1))
    if timeout 120 "$A" check-model --model "$dir" --device cuda --dtype "$dtype" >"$L/cm.txt" 2>&1; then
      cm_pass=$((cm_pass + 1)); verdict=PASS
    else
      verdict=FAIL
    fi
    { echo "### $(basename "$dir") $dtype: $verdict"; cat "$L/cm.txt"; } >>"$L/check_model.log"
    echo "$(basename "$dir") $dtype: $verdict $(grep -o 'max abs error [^(]*' "$L/cm.txt" | head -1)$(grep -o 'greedy *[0-9]*/[0-9]*' "$L/cm.txt")"
  done
done

echo "== 3. compute-sanitizer memcheck"
mc="skipped (no compute-sanitizer)"
CS="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)"
if [ -n "$CS" ] && [ -z "${QUICK:-}" ]; then
  timeout 200 "$CS" --tool memcheck --error-exitcode 3 "$B/model_cuda_ops_test" \
    --gtest_filter='*Gemv*/0:*Gemv*/4:*Gemv*/5:*Attention*/0:*Attention*/3:CudaOps.*' >"$L/memcheck.log" 2>&1; m1=$?
  timeout 200 "$CS" --tool memcheck --error-exitcode 3 "$B/model_cuda_test" \
    --gtest_filter='*glm_tiny_bf16_stored:*glm4_tiny_f32_stored:*glm_tiny_f32_int8:CudaModel.Rewind*:CudaModel.Seeded*' \
    >>"$L/memcheck.log" 2>&1; m2=$?
  mc="ops rc=$m1, model rc=$m2 ($(grep -c 'Invalid\|out of bounds' "$L/memcheck.log") error lines)"
  grep -E "ERROR SUMMARY|Invalid|PASSED|FAILED" "$L/memcheck.log" | head -12
fi

if [ -n "${WAIT_FOR:-}" ]; then
  echo "== waiting for $WAIT_FOR (at most ${WAIT_MAX:-600} s)"
  deadline=$((SECONDS + ${WAIT_MAX:-600}))
  while [ ! -e "$WAIT_FOR" ] && [ $SECONDS -lt $deadline ]; do sleep 2; done
fi

echo "== 4. kernel timings"
[ -x "$B/cuda_kernel_bench" ] && timeout 200 "$B/cuda_kernel_bench" 2>&1 | tee "$L/kernel_bench.txt"
echo "== 5. decode benchmark, GLM-4-9B shapes (random weights)"
for dtype in bf16 int8; do
  timeout 300 "$A" bench decode --synthetic glm4-9b --device cuda --dtype "$dtype" --prompt 2048 --tokens 128 \
    >"$L/bench_$dtype.txt" 2>&1 || echo "bench $dtype failed: $(tail -3 "$L/bench_$dtype.txt")"
  cat "$L/bench_$dtype.txt"
done
dtypes="bf16 int8"
if [ -n "${VARIANT:-}" ]; then
  echo "== 5b. bf16 decode with $VARIANT"
  env $VARIANT timeout 300 "$A" bench decode --synthetic glm4-9b --device cuda --dtype bf16 --prompt 2048 --tokens 128 \
    >"$L/bench_variant.txt" 2>&1 || echo "bench variant failed: $(tail -3 "$L/bench_variant.txt")"
  cat "$L/bench_variant.txt"
  dtypes="bf16 int8 variant"
fi

(cd "$L" && tar cf "$OUT/gpu_logs.tar" .)
echo
echo "================ summary ================"
cat "$L/gpu.txt"
echo "gpu tests        ops rc=$ops_rc, model rc=$model_rc ($(grep -c '^\[       OK' "$L/ops_test.log" "$L/model_test.log" | awk -F: '{s+=$2} END {print s}') ok lines)"
echo "check-model      $cm_pass/$cm_total pass"
echo "memcheck         $mc"
for dtype in $dtypes; do
  f="$L/bench_$dtype.txt"
  printf "%-6s decode %s | prefill %s | %s | %s | %s\n" "$dtype" \
    "$(grep -o '^decode *[0-9.]* tok/s' "$f" | awk '{print $2}')" "$(grep -o '^prefill *[0-9.]* tok/s' "$f" | awk '{print $2}')" \
    "$(grep '^fraction' "$f" | awk '{print "fraction " $2}')" "$(grep '^roofline' "$f" | awk '{print "roofline " $2}')" \
    "$(grep '^gpu memory' "$f" | awk '{print $3 " GiB"}')"
done
grep -h '^copy bandwidth' "$L"/bench_bf16.txt
