#include "apps/alltools/agent_session.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "tools/browser/browser_tool.h"

namespace alltools::app {
namespace {

std::atomic<agent::Agent*> g_running_agent{nullptr};

void on_sigint(int) {
  if (agent::Agent* a = g_running_agent.load()) a->cancel();
}

void install_sigint() {
  struct sigaction sa{};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace

int exit_code_for(agent::TurnStatus status) {
  switch (status) {
    case agent::TurnStatus::kAnswer: return kExitAnswer;
    case agent::TurnStatus::kLimit: return kExitLimit;
    case agent::TurnStatus::kCancelled: return kExitCancelled;
    case agent::TurnStatus::kError: return kExitError;
  }
  return kExitError;
}

bool ask_on_terminal(const agent::ApprovalRequest& request) {
  std::string args = request.args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (args.size() > 300) args = args.substr(0, 300) + "…";
  std::fprintf(stderr, "Allow %s %s? [y/N] ", request.tool.c_str(), args.c_str());
  std::fflush(stderr);
  char line[64];
  if (std::fgets(line, sizeof line, stdin) == nullptr) return false;
  return line[0] == 'y' || line[0] == 'Y';
}

Result<std::unique_ptr<AgentSession>> AgentSession::start(const AgentFlags& flags,
                                                          std::function<bool(const agent::ApprovalRequest&)> approver) {
  std::unique_ptr<AgentSession> s(new AgentSession());
  s->flags_ = flags;
  std::FILE* log = (flags.json || flags.quiet) ? nullptr : stderr;
  ALLTOOLS_ASSIGN_OR_RETURN(s->runtime_, build_runtime(flags, RuntimeParts{}, log));
  RenderOptions ro;
  ro.json = flags.json;
  ro.quiet = flags.quiet;
  ro.color = color_wanted(stdout) && color_wanted(stderr);
  s->renderer_ = std::make_unique<EventRenderer>(ro);
  agent::AgentOptions options = agent_options(*s->runtime_, flags);
  if (flags.yes) {
    options.approver = [](const agent::ApprovalRequest&) { return true; };
  } else {
    options.approver = std::move(approver);
  }
  AgentSession* self = s.get();
  auto sink = [self](const agent::Event& e) {
    self->renderer_->on_event(e);
    if (self->runtime_->session) {
      Status st = self->runtime_->session->append(e);
      if (!st.ok() && !self->transcript_error_reported_) {
        std::fprintf(stderr, "alltools: transcript not written: %s\n", st.error().message.c_str());
        self->transcript_error_reported_ = true;
      }
    }
  };
  ALLTOOLS_ASSIGN_OR_RETURN(s->agent_, agent::Agent::create(*s->runtime_->model, *s->runtime_->tokenizer,
                                                            s->runtime_->dispatcher, std::move(options), sink));
  ALLTOOLS_ASSIGN_OR_RETURN(auto restored, restored_messages(*s->runtime_));
  if (!restored.empty()) {
    if (log != nullptr)
      std::fprintf(log, "resumed session %s (%zu messages)\n", s->runtime_->session->name().c_str(), restored.size());
    s->agent_->restore(std::move(restored));
  }
  install_sigint();
  return s;
}

AgentSession::~AgentSession() {
  agent::Agent* expected = agent_.get();
  g_running_agent.compare_exchange_strong(expected, nullptr);
}

agent::TurnResult AgentSession::turn(const std::string& text) {
  g_running_agent.store(agent_.get());
  agent::TurnResult r = agent_->run_turn(text);
  g_running_agent.store(nullptr);
  renderer_->finish_turn(r, runtime_->browser);
  return r;
}

void AgentSession::print_session_note() const {
  if (flags_.json || flags_.quiet || !runtime_->session) return;
  std::fprintf(stderr, "session: %s (%s)\n", runtime_->session->name().c_str(), runtime_->session->dir().c_str());
}

}  // namespace alltools::app
