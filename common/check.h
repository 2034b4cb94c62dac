// ALLTOOLS_CHECK: the one way a broken invariant (a bug, not bad input) stops the program. It prints the
// condition, file and line to stderr and aborts. Always on, also in release builds: the checks guard memory
// safety in kernels and parsers, and cost nothing measurable outside inner loops (keep them out of those).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace alltools::detail {
[[noreturn]] inline void check_failed(const char* cond, const char* msg, const char* file, int line) {
  std::fprintf(stderr, "alltools: CHECK failed at %s:%d: %s%s%s\n", file, line, cond, msg ? " — " : "",
               msg ? msg : "");
  std::fflush(stderr);
  std::abort();
}
}  // namespace alltools::detail

#define ALLTOOLS_CHECK(cond) \
  ((cond) ? (void)0 : ::alltools::detail::check_failed(#cond, nullptr, __FILE__, __LINE__))
#define ALLTOOLS_CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::alltools::detail::check_failed(#cond, (msg), __FILE__, __LINE__))
