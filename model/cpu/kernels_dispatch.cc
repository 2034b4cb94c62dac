// Run-time choice of the kernel set: the widest instruction set both compiled in and reported by CPUID.
#include "model/cpu/kernels.h"

#include <cstdlib>
#include <cstring>

namespace alltools::model::cpu {
namespace {

bool cpu_has_avx512() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

bool cpu_has_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace

std::vector<const KernelSet*> available_kernels() {
  std::vector<const KernelSet*> sets = {scalar_kernels()};
  // CPUID first: the per-ISA files are compiled with their instruction set, so nothing in them may run before.
  if (cpu_has_avx2() && avx2_kernels() != nullptr) sets.push_back(avx2_kernels());
  if (cpu_has_avx512() && avx512_kernels() != nullptr) sets.push_back(avx512_kernels());
  return sets;
}

const KernelSet& best_kernels() {
  // ALLTOOLS_KERNELS=scalar|avx2|avx512 forces a set (when this CPU runs it): for comparisons and as an escape
  // hatch; anything else keeps the fastest.
  static const KernelSet* const best = [] {
    const auto sets = available_kernels();
    if (const char* forced = std::getenv("ALLTOOLS_KERNELS")) {
      for (const KernelSet* set : sets) {
        if (std::strcmp(set->name, forced) == 0) return set;
      }
    }
    return sets.back();
  }();
  return *best;
}

}  // namespace alltools::model::cpu
