#!/usr/bin/env bash
# Configures and builds the project into ${BUILD_DIR:-build} (Release-with-debug-info, ccache, Ninja).
# Usage: scripts/build.sh [--sanitize] [extra cmake args...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
args=()
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build="${BUILD_DIR:-$root/build-asan}"
  args+=(-DALLTOOLS_SANITIZE=ON -DALLTOOLS_BUILD_BENCH=OFF)
fi
bash "$root/scripts/install-deps.sh"
# ccache keyed on paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "${args[@]}" "$@" >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}"
