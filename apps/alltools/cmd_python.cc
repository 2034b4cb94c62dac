// `alltools python`: runs Python code in a sandboxed, stateful session from the command line.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "apps/alltools/command.h"
#include "sandbox/sandbox.h"

namespace alltools::app {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxInteractiveCell = 1 << 20;  // bytes gathered for one interactive cell

void print_help(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools python [options] (-c CODE | FILE | - | -i)\n\n"
               "Runs Python in the same sandbox the `python` tool uses (bubblewrap namespaces without network,\n"
               "seccomp, Landlock, cgroup limits, a dedicated uid). /mnt/data inside is the session's files folder.\n\n"
               "  -c CODE            run CODE as one cell\n"
               "  FILE | -           run the file (or stdin) as one cell\n"
               "  -i                 interactive: one cell per line; a line ending in ':' continues until an\n"
               "                     empty line; state persists between cells\n"
               "  --session DIR      session folder (files in DIR/files); default: a temporary folder, removed\n"
               "                     at exit\n"
               "  --timeout SEC      per-cell wall-clock limit (default 60)\n"
               "  --memory MIB       memory limit (default 1024)\n"
               "  --allow-weaker     run even if a required isolation layer is missing\n"
               "  --layers           print the isolation layers of the started sandbox to stderr\n"
               "  -h, --help         this text\n\n"
               "Exit status: 0 ok, 1 the cell raised / timed out / crashed, 2 usage, 3 sandbox unavailable.\n");
}

// Prints one cell's result: output to stdout/stderr, then value or traceback, figures and notices.
bool report(const sandbox::CellResult& r, const fs::path& files_dir) {
  std::fwrite(r.stdout_text.data(), 1, r.stdout_text.size(), stdout);
  if (r.stdout_dropped) std::fprintf(stdout, "\n[stdout truncated: %llu more bytes]\n", static_cast<unsigned long long>(r.stdout_dropped));
  std::fflush(stdout);
  std::fwrite(r.stderr_text.data(), 1, r.stderr_text.size(), stderr);
  if (r.stderr_dropped) std::fprintf(stderr, "\n[stderr truncated: %llu more bytes]\n", static_cast<unsigned long long>(r.stderr_dropped));
  if (!r.traceback.empty()) std::fprintf(stderr, "%s", r.traceback.c_str());
  if (r.traceback.empty() && r.has_value) std::fprintf(stdout, "%s\n", r.value_repr.c_str());
  for (const auto& f : r.files) std::fprintf(stderr, "[figure saved: %s]\n", (files_dir / f.name).c_str());
  if (!r.notice.empty()) std::fprintf(stderr, "[%s]\n", r.notice.c_str());
  std::fflush(stdout);
  return r.traceback.empty() && !r.timed_out && !r.state_lost;
}

bool read_all(std::istream& in, std::string* out) {
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

int run_python(int argc, char** argv) {
  sandbox::SandboxConfig config;
  std::string code, session_dir;
  bool have_code = false, interactive = false, show_layers = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto need = [&] { return alltools::app::flag_value(argc, argv, i, "alltools python"); };
    if (a == "-h" || a == "--help") {
      print_help(stdout);
      return 0;
    } else if (a == "-c") {
      const char* v = need();
      if (!v) return 2;
      code = v;
      have_code = true;
    } else if (a == "-i") {
      interactive = true;
    } else if (a == "--session") {
      const char* v = need();
      if (!v) return 2;
      session_dir = v;
    } else if (a == "--timeout") {
      const char* v = need();
      if (!v || std::atof(v) <= 0) return 2;
      config.cell_timeout = std::chrono::milliseconds(static_cast<long>(std::atof(v) * 1000));
    } else if (a == "--memory") {
      const char* v = need();
      if (!v || std::atol(v) <= 0) return 2;
      config.limits.memory_bytes = static_cast<std::uint64_t>(std::atol(v)) << 20;
    } else if (a == "--allow-weaker") {
      config.allow_weaker_isolation = true;
    } else if (a == "--layers") {
      show_layers = true;
    } else if (a == "-" || a[0] != '-') {
      std::ifstream file;
      if (a != "-") {
        file.open(a);
        if (!file) {
          std::fprintf(stderr, "alltools python: cannot read %s: %s\n", a.c_str(), std::strerror(errno));
          return 2;
        }
      }
      if (!read_all(a == "-" ? std::cin : file, &code)) {
        std::fprintf(stderr, "alltools python: reading %s failed\n", a.c_str());
        return 2;
      }
      have_code = true;
    } else {
      std::fprintf(stderr, "alltools python: unknown option %s\n\n", a.c_str());
      print_help(stderr);
      return 2;
    }
  }
  if (!have_code && !interactive && !show_layers) {
    print_help(stderr);
    return 2;
  }

  fs::path temp_session;
  if (session_dir.empty()) {
    char tmpl[] = "/tmp/alltools-python-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::fprintf(stderr, "alltools python: mkdtemp: %s\n", std::strerror(errno));
      return 3;
    }
    temp_session = tmpl;
    session_dir = tmpl;
  }
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } cleanup{temp_session};
  config.files_dir = fs::absolute(fs::path(session_dir)) / "files";

  auto session = sandbox::Session::create(config);
  if (!session.ok()) {
    std::fprintf(stderr, "alltools python: %s\n", session.error().message.c_str());
    return 3;
  }
  if (Status s = (*session)->start(); !s.ok()) {
    std::fprintf(stderr, "alltools python: %s\n", s.error().message.c_str());
    return 3;
  }
  if (show_layers) std::fprintf(stderr, "isolation layers:\n%s", (*session)->isolation().to_string().c_str());
  int status = 0;
  auto run_one = [&](const std::string& cell) {
    auto r = (*session)->run_cell(cell);
    if (!r.ok()) {
      std::fprintf(stderr, "alltools python: %s\n", r.error().message.c_str());
      status = 3;
      return;
    }
    if (!report(*r, config.files_dir)) status = 1;
  };
  if (have_code) run_one(code);
  if (interactive) {
    const bool tty = isatty(STDIN_FILENO);
    std::string cell, line;
    bool continuing = false;
    for (;;) {
      if (tty) std::fprintf(stderr, continuing ? "... " : ">>> ");
      if (!std::getline(std::cin, line)) break;
      if (cell.size() + line.size() > kMaxInteractiveCell) {
        std::fprintf(stderr, "alltools python: cell larger than %zu bytes dropped\n", kMaxInteractiveCell);
        cell.clear();
        continuing = false;
        continue;
      }
      if (continuing) {
        if (line.empty()) {
          run_one(cell);
          cell.clear();
          continuing = false;
        } else {
          cell += line + "\n";
        }
        continue;
      }
      if (line.empty()) continue;
      cell = line + "\n";
      if (line.back() == ':' || line.back() == '\\') {
        continuing = true;
        continue;
      }
      run_one(cell);
      cell.clear();
    }
    if (!cell.empty()) run_one(cell);
  }
  return status;
}

}  // namespace

ALLTOOLS_COMMAND("python", "run Python in a sandboxed, stateful session (-c CODE, FILE, -, or -i)", run_python);

}  // namespace alltools::app
