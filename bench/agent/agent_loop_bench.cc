// Overhead of the agent loop itself per step (one generate + one tool call), excluding model and tool time.
// The model is the scripted test double (real GLM-4 tokenizer, no math); time spent inside the model's own
// append/generate (minus the loop's token callback, which is loop work: decoding + parsing) and inside the tool is
// subtracted from the turn's wall time. Goal: < 1 ms per step.
//
// Usage: agent_loop_bench [turns=50] [calls_per_turn=10]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/agent/agent.h"
#include "model/scripted/scripted_model.h"
#include "tools/functions/function_registry.h"

namespace {

using namespace alltools;
using clock_type = std::chrono::steady_clock;

double secs(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

// Wraps a model and measures the time spent inside it, excluding the caller's token callback.
class TimedModel final : public model::LanguageModel {
 public:
  explicit TimedModel(model::LanguageModel& inner) : inner_(inner) {}
  const model::ModelInfo& info() const override { return inner_.info(); }
  int position() const override { return inner_.position(); }
  Status append(std::span<const model::TokenId> t, const model::CancelToken* c) override {
    const auto t0 = clock_type::now();
    Status s = inner_.append(t, c);
    model_seconds += secs(clock_type::now() - t0);
    return s;
  }
  Status rewind(int n) override { return inner_.rewind(n); }
  Result<model::GenerateResult> generate(const model::GenerateRequest& r, const model::TokenCallback& cb,
                                         const model::CancelToken* c) override {
    double in_callback = 0;
    const auto t0 = clock_type::now();
    auto result = inner_.generate(
        r,
        [&](model::TokenId id) {
          const auto c0 = clock_type::now();
          const bool go = cb(id);
          in_callback += secs(clock_type::now() - c0);
          return go;
        },
        c);
    model_seconds += secs(clock_type::now() - t0) - in_callback;
    return result;
  }
  double model_seconds = 0;

 private:
  model::LanguageModel& inner_;
};

}  // namespace

int main(int argc, char** argv) {
  const int turns = argc > 1 ? std::atoi(argv[1]) : 50;
  const int calls = argc > 2 ? std::atoi(argv[2]) : 10;
  const std::string tok_path = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/tokenizer.model";
  auto tokenizer = model::load_tokenizer(tok_path);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "agent_loop_bench: %s\n", tokenizer.error().message.c_str());
    return 1;
  }
  double tool_seconds = 0;
  tools::functions::FunctionSpec spec;
  spec.name = "lookup";
  spec.description = "Looks a key up";
  spec.parameters = nlohmann::ordered_json::parse(R"({"type":"object","properties":{"key":{"type":"string"}}})");
  auto tool = tools::functions::make_cpp_function_tool(
      spec, [&](const nlohmann::json& args, const tools::ToolContext&) -> Result<nlohmann::json> {
        const auto t0 = clock_type::now();
        nlohmann::json out = {{"key", args.value("key", "")}, {"value", "a short result of a few words"}};
        tool_seconds += secs(clock_type::now() - t0);
        return out;
      });
  agent::Dispatcher dispatcher;
  if (!dispatcher.add(std::move(tool).value()).ok()) return 1;

  std::vector<std::string> script;
  for (int t = 0; t < turns; ++t) {
    for (int i = 0; i < calls; ++i)
      script.push_back("lookup\n{\"key\": \"k" + std::to_string(t) + "_" + std::to_string(i) + "\"}<|observation|>");
    script.push_back("\nHere is what I found: every key has a value.<|user|>");
  }
  model::ScriptedModel scripted(**tokenizer, script);
  TimedModel model(scripted);
  agent::AgentOptions options;
  options.limits.tool_calls_per_turn = calls;
  auto agent = agent::Agent::create(model, **tokenizer, dispatcher, options, [](const agent::Event&) {});
  if (!agent.ok()) return 1;

  std::vector<double> per_step_ms;
  double dispatch_seconds = 0;
  for (int t = 0; t < turns; ++t) {
    (*agent)->reset();
    model.model_seconds = 0;
    tool_seconds = 0;
    const auto t0 = clock_type::now();
    agent::TurnResult r = (*agent)->run_turn("Look up all the keys please.");
    const double wall = secs(clock_type::now() - t0);
    if (r.status != agent::TurnStatus::kAnswer) {
      std::fprintf(stderr, "turn %d ended with %s: %s\n", t, std::string(agent::turn_status_name(r.status)).c_str(),
                   r.reason.c_str());
      return 1;
    }
    const int steps = calls + 1;
    per_step_ms.push_back((wall - model.model_seconds - tool_seconds) / steps * 1e3);
    dispatch_seconds += tool_seconds;
  }
  std::sort(per_step_ms.begin(), per_step_ms.end());
  const double median = per_step_ms[per_step_ms.size() / 2];
  const double p90 = per_step_ms[per_step_ms.size() * 9 / 10];
  std::printf("agent loop overhead per step (render + parse + policy + dispatch + events; model and tool time "
              "excluded), %d turns x %d tool calls:\n",
              turns, calls);
  std::printf("  median %.3f ms, p90 %.3f ms, min %.3f ms   (goal < 1 ms: %s)\n", median, p90, per_step_ms.front(),
              median < 1.0 ? "met" : "NOT met");
  return 0;
}
