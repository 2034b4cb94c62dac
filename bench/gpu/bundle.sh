#!/usr/bin/env bash
# Packs what bench/gpu/run.sh needs into one folder that can travel to a GPU machine which has a CUDA driver and
# cuBLAS but none of this project's other dependencies: the stripped `alltools` binary and the two GPU test
# binaries from a build with nvcc, the shared libraries they link (except glibc and cuBLAS, which the GPU machine
# has), and the reference fixtures. Usage: bench/gpu/bundle.sh [BUILD_DIR] [BUNDLE_DIR]   (default build .gpu)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
bundle="${2:-$root/.gpu}"
shared="${ALLTOOLS_SHARED_DIR:-$root/../shared}"
rm -rf "$bundle"
mkdir -p "$bundle/lib" "$bundle/shared/fixtures"
for bin in bin/alltools tests/model_cuda/model_cuda_test tests/model_cuda/model_cuda_ops_test bench/gpu/cuda_kernel_bench; do
  [ -x "$build/$bin" ] || { echo "bundle: $build/$bin is missing (build with nvcc first)" >&2; exit 1; }
  cp "$build/$bin" "$bundle/"
  strip --strip-all "$bundle/$(basename "$bin")"
done
# Shared libraries: everything ldd resolves except the C library family and CUDA's own libraries.
for bin in "$bundle"/alltools "$bundle"/model_cuda_test "$bundle"/model_cuda_ops_test; do
  ldd "$bin" | awk '$3 ~ /^\// {print $3}'
done | sort -u | grep -Ev '/(libc|libm|libpthread|libdl|librt|libresolv|libcublas|libcublasLt|libcuda)\.so' |
  while read -r lib; do cp -L "$lib" "$bundle/lib/"; done
cp -r "$shared/fixtures/glm-fixtures" "$bundle/shared/fixtures/"
cp "$root/bench/gpu/run.sh" "$bundle/"
du -sh "$bundle"
