// The worker script (sandbox/worker.py), embedded at build time so no file has to be found at run time.
#pragma once

namespace alltools::sandbox::detail {
extern const char kWorkerSource[];
}  // namespace alltools::sandbox::detail
