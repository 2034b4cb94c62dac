#!/usr/bin/env bash
# Builds everything and runs every test: the README's test command and what CI runs.
# On a fresh Debian 12 machine it installs its own dependencies first (needs root or sudo).
# Usage: scripts/test.sh [--sanitize] [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_args=()
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build_args+=(--sanitize)
  export BUILD_DIR="${BUILD_DIR:-$root/build-asan}"
fi
[ -d "$root/../shared" ] || { echo "test.sh: missing $root/../shared (fixtures and tokenizers)"; exit 1; }
bash "$root/scripts/build.sh" "${build_args[@]}"
build="${BUILD_DIR:-$root/build}"
[ -x "$root/scripts/test-setup.sh" ] && bash "$root/scripts/test-setup.sh"
cd "$build"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
