#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) into ${BUILD_DIR:-build-fuzz} and runs each for
# SECONDS (default 60), starting from its seed corpus where it has one (fuzz/<dir>/corpus) and keeping what it
# finds in build-fuzz/corpus/<target>. A crash stops that target and leaves its input in build-fuzz/artifacts.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 300 fuzz_agent_parsers
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-60}"
shift || true
bash "$root/scripts/install-deps.sh"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
# CUDA off: nvcc does not take clang 14 as its host compiler here, and the fuzzers test host code.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALLTOOLS_FUZZ=ON \
  -DALLTOOLS_CUDA=OFF -DALLTOOLS_BUILD_TESTS=OFF -DALLTOOLS_BUILD_BENCH=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(grep -ho 'alltools_add_fuzzer([a-z_]*' "$root"/fuzz/*/CMakeLists.txt | sed 's/.*(//')
fi
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  bin="$(find "$build/fuzz" -type f -name "$t" -perm -u+x | head -1)"
  seed="$(dirname "$(grep -l "alltools_add_fuzzer($t" "$root"/fuzz/*/CMakeLists.txt)")/corpus"
  mkdir -p "$build/corpus/$t"
  dirs=("$build/corpus/$t")
  [ -d "$seed" ] && dirs+=("$seed")
  echo "== $t: $seconds s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "${dirs[@]}" \
      2>"$build/$t.log"; then
    echo "$t: FAILED, see $build/$t.log and $build/artifacts/"
    status=1
  fi
  grep -E "stat::number_of_executed_units|cov:|ERROR" "$build/$t.log" | tail -3
done
exit $status
