#include "apps/serve/run_workspace.h"

#include <atomic>
#include <random>

namespace alltools::serve {
namespace {

namespace fs = std::filesystem;

std::atomic<int> g_live{0};

class Workspace final : public RunWorkspace {
 public:
  explicit Workspace(fs::path dir) : dir_(std::move(dir)) { g_live.fetch_add(1); }
  ~Workspace() override {
    tools_.reset();  // the sandbox's worker is killed and reaped before its folder goes
    std::error_code ec;
    fs::remove_all(dir_, ec);
    g_live.fetch_sub(1);
  }
  agent::Dispatcher& dispatcher() override { return tools_->dispatcher; }
  const fs::path& dir() const override { return dir_; }
  std::unique_ptr<app::ToolSet> tools_;

 private:
  fs::path dir_;
};

}  // namespace

int live_workspaces() { return g_live.load(); }

Result<std::unique_ptr<RunWorkspace>> make_run_workspace(const app::AgentFlags& flags, const policies::Policy& policy,
                                                         const fs::path& root,
                                                         const std::shared_ptr<const model::Tokenizer>& tokenizer) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char name[32];
  std::snprintf(name, sizeof name, "run-%016llx", static_cast<unsigned long long>(rng()));
  fs::path dir = root / name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create the run folder " + dir.string() + ": " + ec.message());
  auto ws = std::make_unique<Workspace>(dir);
  auto tools = app::build_tool_set(flags, policy, dir, tokenizer);
  if (!tools.ok()) return tools.error();  // ~Workspace removes the folder
  ws->tools_ = std::move(tools).value();
  return std::unique_ptr<RunWorkspace>(std::move(ws));
}

}  // namespace alltools::serve
