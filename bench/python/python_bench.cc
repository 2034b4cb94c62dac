// python_bench: what a `python` tool call costs. Prints p50/p99 of
//   - bare interpreter start (`python3 -c pass`, `python3 -I -c pass`): the floor any fresh process pays;
//   - sandbox cold start: Session::create + the first cell `1+1` (bwrap, cgroups, seccomp, Landlock, worker);
//   - sandbox warm round trip: one `1+1` cell in a running session;
//   - a Jupyter kernel (Debian python3-ipykernel, the GLM-4 demo's path), cold and warm, when installed.
// Usage: python_bench [--cold N] [--warm N] [--no-jupyter]. Run it niced: nice -n 19 python_bench.
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Stats {
  double p50 = 0, p99 = 0;
  std::size_t n = 0;
};

Stats stats(std::vector<double> ms) {
  Stats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.n = ms.size();
  s.p50 = ms[ms.size() / 2];
  s.p99 = ms[std::min(ms.size() - 1, static_cast<std::size_t>(static_cast<double>(ms.size()) * 0.99))];
  return s;
}

void print(const char* what, const Stats& s) {
  std::printf("  %-44s p50 %8.3f ms   p99 %8.3f ms   (n=%zu)\n", what, s.p50, s.p99, s.n);
}

double since_ms(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Wall time of one run of argv to completion; -1 on failure.
double time_process(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const auto t0 = Clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? since_ms(t0) : -1;
}

constexpr const char* kJupyterScript = R"PY(
import statistics, sys, time
from jupyter_client.manager import start_new_kernel
cold_n, warm_n = int(sys.argv[1]), int(sys.argv[2])
def run(kc):
    reply = kc.execute_interactive("1+1", timeout=60, output_hook=lambda m: None)
    assert reply["content"]["status"] == "ok", reply
cold, warm = [], []
for i in range(cold_n):
    t = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    run(kc)
    cold.append((time.perf_counter() - t) * 1000)
    if i + 1 < cold_n:
        kc.stop_channels(); km.shutdown_kernel(now=True)
for _ in range(20):
    run(kc)
for _ in range(warm_n):
    t = time.perf_counter()
    run(kc)
    warm.append((time.perf_counter() - t) * 1000)
kc.stop_channels(); km.shutdown_kernel(now=True)
def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(len(v) * p))]
print("%f %f %d %f %f %d" % (q(cold, .5), q(cold, .99), len(cold), q(warm, .5), q(warm, .99), len(warm)))
)PY";

}  // namespace

int main(int argc, char** argv) {
  int cold_n = 20, warm_n = 2000;
  bool jupyter = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--cold") && i + 1 < argc) cold_n = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--warm") && i + 1 < argc) warm_n = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--no-jupyter")) jupyter = false;
    else {
      std::fprintf(stderr, "usage: python_bench [--cold N] [--warm N] [--no-jupyter]\n");
      return 2;
    }
  }
  char tmpl[] = "/tmp/alltools-python-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const fs::path root = tmpl;
  std::printf("python tool latency (sandboxed session vs bare interpreter vs Jupyter kernel)\n");

  std::vector<double> bare, bare_isolated;
  for (int i = 0; i < cold_n; ++i) {
    bare.push_back(time_process({"/usr/bin/python3", "-c", "pass"}));
    bare_isolated.push_back(time_process({"/usr/bin/python3", "-I", "-c", "pass"}));
  }
  const Stats s_bare = stats(bare);
  print("bare `python3 -c pass`", s_bare);
  print("bare `python3 -I -c pass`", stats(bare_isolated));

  alltools::sandbox::SandboxConfig config;
  config.files_dir = root / "files";
  std::vector<double> cold;
  std::string layers;
  for (int i = 0; i < cold_n; ++i) {
    const auto t0 = Clock::now();
    auto session = alltools::sandbox::Session::create(config);
    if (!session.ok()) {
      std::fprintf(stderr, "python_bench: %s\n", session.error().message.c_str());
      return 1;
    }
    auto r = (*session)->run_cell("1+1");
    if (!r.ok() || r->value_repr != "2") {
      std::fprintf(stderr, "python_bench: cold cell failed: %s\n", r.ok() ? r->traceback.c_str() : r.error().message.c_str());
      return 1;
    }
    cold.push_back(since_ms(t0));
    if (i == 0) layers = (*session)->isolation().to_string();
  }
  const Stats s_cold = stats(cold);
  print("sandbox cold: new session + first `1+1`", s_cold);

  auto session = alltools::sandbox::Session::create(config);
  if (!session.ok() || !(*session)->start().ok()) return 1;
  for (int i = 0; i < 50; ++i) (void)(*session)->run_cell("1+1");
  std::vector<double> warm;
  for (int i = 0; i < warm_n; ++i) {
    const auto t0 = Clock::now();
    auto r = (*session)->run_cell("1+1");
    warm.push_back(since_ms(t0));
    if (!r.ok() || r->value_repr != "2") return 1;
  }
  const Stats s_warm = stats(warm);
  print("sandbox warm: `1+1` round trip", s_warm);
  session = alltools::sandbox::Session::create(config);  // releases the warm session first

  Stats j_cold, j_warm;
  if (jupyter) {
    const bool have = time_process({"/usr/bin/python3", "-c", "import jupyter_client, ipykernel"}) >= 0;
    if (!have) {
      std::printf("  jupyter kernel: not installed (apt-get install python3-ipykernel python3-jupyter-client)\n");
    } else {
      const int jc = std::max(1, std::min(cold_n, 5)), jw = std::min(warm_n, 500);
      const std::string cmd = "/usr/bin/python3 -c '" + std::string(kJupyterScript) + "' " + std::to_string(jc) +
                              " " + std::to_string(jw) + " 2>/dev/null";
      FILE* p = popen(cmd.c_str(), "r");
      double c50 = 0, c99 = 0, w50 = 0, w99 = 0;
      int cn = 0, wn = 0;
      if (p && std::fscanf(p, "%lf %lf %d %lf %lf %d", &c50, &c99, &cn, &w50, &w99, &wn) == 6) {
        j_cold = Stats{c50, c99, static_cast<std::size_t>(cn)};
        j_warm = Stats{w50, w99, static_cast<std::size_t>(wn)};
        print("jupyter cold: start_new_kernel + first `1+1`", j_cold);
        print("jupyter warm: `1+1` execute_interactive", j_warm);
      } else {
        std::printf("  jupyter kernel: run failed\n");
      }
      if (p) pclose(p);
    }
  }
  std::printf("ratios: sandbox cold / bare python3 = %.2f;", s_cold.p50 / s_bare.p50);
  if (j_warm.n) {
    std::printf(" jupyter warm / sandbox warm = %.1fx; jupyter cold / sandbox cold = %.1fx", j_warm.p50 / s_warm.p50,
                j_cold.p50 / s_cold.p50);
  }
  std::printf("\ngoals: warm p50 < 2 ms (%s), cold p50 < 150 ms (%s)\n", s_warm.p50 < 2 ? "met" : "MISSED",
              s_cold.p50 < 150 ? "met" : "MISSED");
  std::printf("isolation layers of the benchmarked sandbox:\n%s", layers.c_str());
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
