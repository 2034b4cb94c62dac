// `alltools run "task"`: one autonomous agent turn. Streams the answer, shows each tool call and a one-line result,
// prints citations as links and produced files. Exit code: 0 answer, 1 error, 2 usage, 3 limit, 130 cancelled.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "apps/alltools/agent_session.h"
#include "apps/alltools/command.h"

namespace alltools::app {
namespace {

int run_run(int argc, char** argv) {
  std::vector<std::string> positional;
  auto flags = parse_agent_flags(argc, argv, &positional);
  if (!flags.ok()) {
    std::fprintf(stderr, "alltools run: %s\n", flags.error().message.c_str());
    return kExitUsage;
  }
  if (flags->help) {
    std::printf("usage: alltools run [options] \"task\"\n\n"
                "Runs the agent on one task until it answers: tool calls are shown as they happen; the answer is\n"
                "streamed, then its sources and any files produced. Calls the policy marks `ask` are asked about on\n"
                "the terminal (or refused when stdin is not a terminal, unless -y).\n"
                "Exit code: 0 answer, 1 error, 2 usage, 3 a limit ended the run, 130 cancelled (Ctrl-C).\n\n%s",
                agent_flags_help());
    return 0;
  }
  if (positional.empty()) {
    std::fprintf(stderr, "alltools run: no task given (usage: alltools run [options] \"task\"; --help for more)\n");
    return kExitUsage;
  }
  std::string task;
  for (const auto& p : positional) task += (task.empty() ? "" : " ") + p;
  const bool interactive = ::isatty(STDIN_FILENO) != 0 && ::isatty(STDERR_FILENO) != 0;
  auto session = AgentSession::start(*flags, interactive ? ask_on_terminal : std::function<bool(const agent::ApprovalRequest&)>());
  if (!session.ok()) {
    std::fprintf(stderr, "alltools run: %s\n", session.error().message.c_str());
    return session.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  agent::TurnResult r = (*session)->turn(task);
  (*session)->print_session_note();
  return exit_code_for(r.status);
}

}  // namespace
}  // namespace alltools::app

ALLTOOLS_COMMAND("run", "run the agent on one task until it answers (tools, citations, files)", alltools::app::run_run);
