// alltools: the command-line front end. Thin by design: it finds the subcommand and hands it argv.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "apps/alltools/command.h"

namespace alltools::app {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "alltools — a native runtime for GLM-4 \"All Tools\" agents\n\n"
               "usage: alltools <command> [options]   (alltools <command> --help for details)\n\ncommands:\n");
  auto commands = command_registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  for (const Command& c : commands) {
    std::fprintf(out, "  %-14.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
}

}  // namespace
}  // namespace alltools::app

int main(int argc, char** argv) {
  using alltools::app::command_registry;
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    alltools::app::print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string_view name = argv[1];
  for (const auto& c : command_registry()) {
    if (c.name == name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "alltools: unknown command '%s'\n\n", argv[1]);
  alltools::app::print_usage(stderr);
  return 2;
}
