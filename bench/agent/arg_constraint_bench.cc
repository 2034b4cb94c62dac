// Cost of schema-constrained argument decoding (core/agent/argument_constraint.h); prints measured figures.
// Not a test.
// A. The embedded model (CPU): the function tasks of tests/eval/function.jsonl are rendered as the agent renders
//    them, the header line is chosen as the agent chooses it, and the body is decoded greedily twice: without and
//    with the argument constraint (a fresh one per task, cold caches, as in an `alltools eval` run). Reported: the
//    decode step without it, the constraint's time per constrained step (its LogitsFilter, timed around each
//    call), that as a share of the step (goal < 5 %), and the time to build it (vocabulary trie).
// B. glm-4-9b-chat's 151,552-id vocabulary: the filter applied to the tokens of each task's expected call, over a
//    full-width logits row per step, in thread CPU time: cold (first task) and warm figures, and the trie build.
//
// Usage: arg_constraint_bench [tasks=100] [threads=0 (all)]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/agent/argument_constraint.h"
#include "core/agent/tool_name_constraint.h"
#include "core/protocol/glm4/chat_template.h"
#include "model/cuda/cuda_model.h"

namespace {

using namespace alltools;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

double secs(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

// This thread's CPU time in seconds: on a shared machine, wall time per step also holds the scheduler's preemptions.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Task {
  std::string prompt;
  std::vector<tools::ToolSpec> specs;
  std::string expect_tool;
  json expect_arguments;
};

std::vector<Task> load_tasks(const std::string& path, int limit) {
  std::vector<Task> tasks;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line) && static_cast<int>(tasks.size()) < limit) {
    const json t = json::parse(line, nullptr, false);
    if (t.is_discarded() || !t.contains("functions")) continue;
    Task task{t.value("prompt", ""), {}, t.value("expect_tool", ""), t.value("expect_arguments", json::object())};
    for (const json& f : t["functions"])
      task.specs.push_back({f.value("name", ""), tools::ToolSpec::Kind::kFunction, nlohmann::ordered_json::parse(f.dump())});
    tasks.push_back(std::move(task));
  }
  return tasks;
}

// Wraps a filter, timing each call.
model::LogitsFilter timed(model::LogitsFilter inner, double* seconds, int* steps) {
  model::LogitsFilter f;
  f.wants = [inner, seconds](std::span<const model::TokenId> g) {
    const auto t0 = clock_type::now();
    const bool w = inner.wants(g);
    *seconds += secs(clock_type::now() - t0);
    return w;
  };
  f.apply = [inner, seconds, steps](std::span<const model::TokenId> g, std::span<float> l) {
    const auto t0 = clock_type::now();
    inner.apply(g, l);
    *seconds += secs(clock_type::now() - t0);
    ++*steps;
  };
  return f;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int embedded_model(const std::vector<Task>& tasks, int threads) {
  const std::string dir = std::string(ALLTOOLS_SOURCE_DIR) + "/models/glm4-alltools-tiny";
  model::CpuModelOptions mo;
  mo.threads = threads;
  auto opened = model::open_local_model(dir, "cpu", mo);
  auto tok = model::load_tokenizer(dir + "/tokenizer.model");
  if (!opened.ok() || !tok.ok()) {
    std::fprintf(stderr, "arg_constraint_bench: cannot open %s\n", dir.c_str());
    return 1;
  }
  model::LocalModel& m = **opened;
  auto tmpl = protocol::glm4::ChatTemplate::create(**tok);
  if (!tmpl.ok()) return 1;
  const model::TokenId assistant = *(*tok)->special_id("<|assistant|>");
  double decode_off = 0, decode_on = 0, filter_on = 0, build = 0;
  int tokens_off = 0, tokens_on = 0, constrained = 0, calls = 0, parsed_off = 0, parsed_on = 0;
  for (const Task& task : tasks) {
    const std::vector<protocol::glm4::Message> msgs = {protocol::glm4::user_message(task.prompt)};
    const std::vector<model::TokenId> prompt = tmpl->render(task.specs, msgs, true);
    if (!m.rewind(0).ok() || !m.append(prompt).ok()) return 1;
    std::vector<std::string> names;
    for (const auto& s : task.specs) names.push_back(s.name);
    const agent::ToolNameConstraint header(**tok, names, assistant, true);
    auto line = header.choose(m);
    if (!line.ok() || line->line.empty()) continue;  // the model answers: no body to decode
    ++calls;
    for (const bool on : {false, true}) {
      if (!m.rewind(static_cast<int>(prompt.size())).ok()) return 1;
      model::GenerateRequest req;
      req.stop_ids = tmpl->stop_ids();
      req.max_new_tokens = 160;
      req.filter = header.filter(line->line);
      double filter_seconds = 0;
      int steps = 0;
      std::unique_ptr<agent::ArgumentConstraint> args;
      if (on) {
        const auto t0 = clock_type::now();
        args = std::move(agent::ArgumentConstraint::create(**tok, task.specs, true)).value();
        build += secs(clock_type::now() - t0);
        req.filter = agent::combine_filters(std::move(req.filter), timed(args->filter(), &filter_seconds, &steps));
      }
      auto r = m.generate(req, [](model::TokenId) { return true; });
      if (!r.ok()) return 1;
      const double decode = m.last_timings().decode_seconds - filter_seconds;
      std::string text = (*tok)->decode_bytes(r->tokens);
      const std::size_t nl = text.find('\n'), end = text.find("<|observation|>");
      const bool ok = nl != std::string::npos && end != std::string::npos &&
                      !json::parse(text.substr(nl + 1, end - nl - 1), nullptr, false).is_discarded();
      if (on) {
        decode_on += decode, tokens_on += static_cast<int>(r->tokens.size()), filter_on += filter_seconds;
        constrained += steps, parsed_on += ok ? 1 : 0;
      } else {
        decode_off += decode, tokens_off += static_cast<int>(r->tokens.size()), parsed_off += ok ? 1 : 0;
      }
    }
  }
  if (calls == 0 || tokens_off == 0 || constrained == 0) return 1;
  const double step_off = decode_off / tokens_off, step_on = decode_on / tokens_on;
  const double per_constrained = filter_on / constrained, per_token = filter_on / tokens_on;
  std::printf("A. embedded model (%s, %d threads), %zu tasks, %d calls decoded greedily:\n", m.info().name.c_str(),
              m.threads(), tasks.size(), calls);
  std::printf("  decode step without the constraint   %8.3f ms  (%d tokens; with it, model time alone: %.3f ms)\n",
              step_off * 1e3, tokens_off, step_on * 1e3);
  std::printf("  argument filter per constrained step %8.1f us  (%d constrained of %d tokens)\n",
              per_constrained * 1e6, constrained, tokens_on);
  std::printf("  overhead: %.2f %% of a decode step per constrained step, %.2f %% per decoded token  (goal < 5 %%: %s)\n",
              100 * per_constrained / step_off, 100 * per_token / step_off,
              per_constrained / step_off < 0.05 ? "met" : "NOT met");
  std::printf("  building the constraint (4k-token trie): %.2f ms per agent\n", 1e3 * build / calls);
  std::printf("  bodies that parse as JSON: %d/%d without, %d/%d with\n", parsed_off, calls, parsed_on, calls);
  return 0;
}

int glm4_vocabulary(const std::vector<Task>& tasks) {
  auto tok = model::load_tokenizer(std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/tokenizer.model");
  if (!tok.ok()) return 1;
  std::vector<tools::ToolSpec> all;
  for (const Task& t : tasks)
    for (const auto& s : t.specs)
      if (std::none_of(all.begin(), all.end(), [&](const tools::ToolSpec& a) { return a.name == s.name; }))
        all.push_back(s);
  const auto t0 = clock_type::now();
  auto c = agent::ArgumentConstraint::create(**tok, all, true);
  const double build = secs(clock_type::now() - t0);
  if (!c.ok()) return 1;
  std::vector<float> logits(151552);
  std::vector<double> first, rest;
  int task_index = 0;
  for (const Task& t : tasks) {
    if (t.expect_tool.empty()) continue;
    const std::vector<model::TokenId> ids = (*tok)->encode(t.expect_tool + "\n" + t.expect_arguments.dump());
    std::vector<double>& out = task_index++ == 0 ? first : rest;
    for (std::size_t i = 0; i <= ids.size(); ++i) {
      const std::span<const model::TokenId> g(ids.data(), i);
      std::fill(logits.begin(), logits.end(), 0.0f);
      const double s0 = cpu_seconds();
      if ((*c)->wants(g)) (*c)->apply(g, logits);
      out.push_back(cpu_seconds() - s0);
    }
  }
  const auto& st = (*c)->masker().stats();
  std::printf("B. glm-4-9b-chat vocabulary (151,552 ids; trie of %zu nodes), %d expected calls, per step "
              "(wants + apply over a full logits row; thread CPU time):\n",
              st.trie_nodes, task_index);
  std::printf("  first call (cold caches): median %.1f us, max %.1f us over %zu steps\n",
              1e6 * percentile(first, 0.5), 1e6 * percentile(first, 1.0), first.size());
  std::printf("  later calls: median %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us over %zu steps\n",
              1e6 * percentile(rest, 0.5), 1e6 * percentile(rest, 0.9), 1e6 * percentile(rest, 0.99),
              1e6 * percentile(rest, 1.0), rest.size());
  std::printf("  mask lookups %ld, state misses %ld, frame analyses %ld, trie nodes walked %ld; build %.0f ms\n",
              st.lookups, st.full_misses, st.local_misses, st.nodes_visited, build * 1e3);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int limit = argc > 1 ? std::atoi(argv[1]) : 100;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  const std::vector<Task> tasks = load_tasks(std::string(ALLTOOLS_SOURCE_DIR) + "/tests/eval/function.jsonl", limit);
  if (tasks.empty()) {
    std::fprintf(stderr, "arg_constraint_bench: no function tasks\n");
    return 1;
  }
  if (int rc = embedded_model(tasks, threads); rc != 0) return rc;
  return glm4_vocabulary(tasks);
}
