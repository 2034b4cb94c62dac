// Python plugins for the CLI (`alltools run --plugin file.py`): the app embeds CPython (Debian's 3.11) and runs
// the file; every function it declares with @alltools.function is added to a FunctionRegistry. The embedded
// interpreter provides the same `alltools` module as the extension (functions only; no Agent inside a plugin).
//
// Python plugins run in-process and are trusted code: validation, exceptions and bad return values become error
// observations, but a plugin that hangs or crashes the interpreter takes the runtime with it (use an executable
// manifest or an MCP server for untrusted code). The interpreter starts on first use, never installs signal
// handlers, releases the GIL between calls, and lives until the process exits.
#pragma once

#include <filesystem>

#include "common/result.h"
#include "tools/functions/function_registry.h"

namespace alltools::python {

// Runs `file` (its folder is put first on sys.path) and registers the functions it declared. Errors: the file is
// missing, raises while loading (the message carries the Python exception), or declares no function.
Status load_python_plugin(const std::filesystem::path& file, tools::functions::FunctionRegistry& registry);

}  // namespace alltools::python
