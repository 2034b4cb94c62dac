// Subcommands of the `alltools` executable. Each cmd_*.cc file defines one and registers it:
//   static int run_tokenize(int argc, char** argv);
//   ALLTOOLS_COMMAND("tokenize", "encode text / check golden encodings", run_tokenize);
// argv[0] is the subcommand name; a subcommand prints its own --help and returns the process exit code.
#pragma once

#include <cstdio>
#include <string_view>
#include <vector>

namespace alltools::app {

// The value after the flag at argv[i] (advancing i), or null after printing "COMMAND: FLAG needs a value".
inline const char* flag_value(int argc, char** argv, int& i, const char* command) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "%s: %s needs a value\n", command, argv[i]);
    return nullptr;
  }
  return argv[++i];
}

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
};

// The registry is filled during static initialisation; read it only from main().
std::vector<Command>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string_view name, std::string_view summary, int (*run)(int, char**)) {
    command_registry().push_back(Command{name, summary, run});
  }
};

}  // namespace alltools::app

#define ALLTOOLS_COMMAND_CONCAT_(a, b) a##b
#define ALLTOOLS_COMMAND_NAME_(line) ALLTOOLS_COMMAND_CONCAT_(alltools_command_registrar_, line)
#define ALLTOOLS_COMMAND(name, summary, fn) \
  static const ::alltools::app::CommandRegistrar ALLTOOLS_COMMAND_NAME_(__LINE__)(name, summary, fn)
