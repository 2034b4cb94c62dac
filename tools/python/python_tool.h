// The `python` tool: GLM-4's stateful notebook, run in a per-session sandbox (sandbox/sandbox.h).
//
// Arguments: {"code": "<source>"}. Each call is one notebook cell. Observations have empty metadata; the text
// holds stdout, stderr, the final expression's repr or a trimmed traceback, a truncation note when output was
// capped, and a notice when a timeout or crash restarted the interpreter (state lost). Each figure a cell makes
// is saved as a PNG in the session's files folder and shown to the model as `[Image]`; the PNG is an Artifact.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "common/result.h"
#include "sandbox/sandbox.h"
#include "tools/tool.h"

namespace alltools::tools {

struct PythonToolConfig {
  std::filesystem::path session_dir;  // the session folder; /mnt/data is session_dir / files_subdir
  std::string files_subdir = "files";
  std::chrono::seconds cell_timeout{60};
  std::chrono::milliseconds interrupt_grace{1000};
  sandbox::Limits limits;              // memory, pids, cpu, tmpfs size, file size, output cap
  bool allow_weaker_isolation = false;
};

// Creates the tool; the interpreter starts on the first call. Fails (kUnavailable / kDenied, naming the
// layer) when a required isolation layer is missing on this machine and weaker isolation is not allowed.
Result<std::unique_ptr<Tool>> make_python_tool(const PythonToolConfig& config);

// Which isolation layers this machine offers (host probe; starts nothing). For `alltools tools`.
const sandbox::IsolationReport& python_isolation_report();

}  // namespace alltools::tools
