// `alltools chat`: an interactive agent REPL with line editing and history (libedit), streamed answers, approval
// prompts, and /reset, /tools, /save, /help, /quit. Ctrl-C cancels the running step, not the session; Ctrl-D ends.
#include <editline/readline.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "apps/alltools/agent_session.h"
#include "apps/alltools/command.h"
#include "core/agent/session_store.h"

namespace alltools::app {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  const auto b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// Reads one line with editing; nullopt at end of input.
std::optional<std::string> read_line(const char* prompt) {
  char* raw = readline(prompt);
  if (raw == nullptr) return std::nullopt;
  std::string line(raw);
  std::free(raw);
  return line;
}

bool ask_with_readline(const agent::ApprovalRequest& request) {
  std::string args = request.args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (args.size() > 300) args = args.substr(0, 300) + "…";
  const std::string prompt = "Allow " + request.tool + " " + args + "? [y/N] ";
  auto answer = read_line(prompt.c_str());
  return answer && !answer->empty() && ((*answer)[0] == 'y' || (*answer)[0] == 'Y');
}

Status save_conversation(const std::vector<protocol::glm4::Message>& messages, const fs::path& path) {
  std::ofstream out(path);
  if (!out) return make_error(ErrorCode::kIo, path.string() + ": cannot write");
  for (const auto& m : messages) {
    out << "### " << protocol::glm4::role_name(m.role);
    if (!m.metadata.empty()) out << " (" << m.metadata << ")";
    out << "\n\n" << m.content << "\n\n";
  }
  return out.good() ? ok_status() : make_error(ErrorCode::kIo, path.string() + ": write failed");
}

void print_help() {
  std::printf("commands: /reset (forget the conversation)  /tools (list tools)  /save [FILE] (write the conversation\n"
              "as markdown)  /help  /quit.  Ctrl-C cancels the running step; Ctrl-D quits.\n");
}

int run_chat(int argc, char** argv) {
  std::vector<std::string> positional;
  auto flags = parse_agent_flags(argc, argv, &positional);
  if (!flags.ok()) {
    std::fprintf(stderr, "alltools chat: %s\n", flags.error().message.c_str());
    return kExitUsage;
  }
  if (flags->help) {
    std::printf("usage: alltools chat [options]\n\n"
                "Interactive agent: type a message, watch tool calls and the streamed answer. Calls the policy marks\n"
                "`ask` are asked about before they run. Line editing and history (libedit).\n"
                "In-chat commands: /reset /tools /save [FILE] /help /quit.\n\n%s",
                agent_flags_help());
    return 0;
  }
  if (!positional.empty()) {
    std::fprintf(stderr, "alltools chat: unexpected argument '%s' (did you mean `alltools run`?)\n", positional[0].c_str());
    return kExitUsage;
  }
  auto session = AgentSession::start(*flags, ask_with_readline);
  if (!session.ok()) {
    std::fprintf(stderr, "alltools chat: %s\n", session.error().message.c_str());
    return session.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  AgentSession& s = **session;
  const fs::path history = agent::default_sessions_root().parent_path() / "chat_history";
  std::error_code ec;
  fs::create_directories(history.parent_path(), ec);
  read_history(history.c_str());
  if (!flags->quiet && !flags->json) {
    std::fprintf(stderr, "alltools chat — %s. /help for commands.\n", s.runtime().model_description.c_str());
    s.print_session_note();
  }
  constexpr int kMaxHistoryLines = 1000;
  while (true) {
    auto line = read_line("you> ");
    if (!line) break;
    const std::string text = trim(*line);
    if (text.empty()) continue;
    add_history(text.c_str());
    if (text == "/quit" || text == "/exit") break;
    if (text == "/help") {
      print_help();
    } else if (text == "/reset") {
      s.agent().reset();
      std::printf("(conversation cleared)\n");
    } else if (text == "/tools") {
      for (const auto& l : s.runtime().tool_status) std::printf("  %s\n", l.c_str());
    } else if (text.rfind("/save", 0) == 0) {
      std::string file = trim(text.substr(5));
      fs::path path = file.empty() && s.runtime().session ? s.runtime().session->dir() / "conversation.md" : fs::path(file);
      if (path.empty()) path = "conversation.md";
      Status st = save_conversation(s.agent().messages(), path);
      std::printf("%s\n", st.ok() ? ("saved " + path.string()).c_str() : st.error().message.c_str());
    } else if (text[0] == '/') {
      std::printf("unknown command %s\n", text.c_str());
      print_help();
    } else {
      s.turn(text);
    }
    std::fflush(stdout);
  }
  stifle_history(kMaxHistoryLines);
  write_history(history.c_str());
  return 0;
}

}  // namespace
}  // namespace alltools::app

ALLTOOLS_COMMAND("chat", "interactive agent chat with tools, approvals and history", alltools::app::run_chat);
