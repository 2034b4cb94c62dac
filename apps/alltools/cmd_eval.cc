// `alltools eval --suite FILE.jsonl`: runs a suite of tasks through the real agent loop and tools (the same
// runtime `run` builds: model or endpoint, policy, sandboxed Python, browser, image tool, user functions) and
// scores them. Suite format (tests/eval/*.jsonl written by training/build_data.py; tests/eval/robust/*.jsonl
// written by hand, see tests/eval/robust/make_suite.py), one task per line:
//   {"id", "kind": "math"|"research"|"function"|"recovery"|"cogview"|"plot"|"chat", "prompt",
//    "expect_tool": name|null,         the first tool the model itself calls (null: answers without one)
//    "answer_numbers": [..]            math, recovery: every number must appear in the answer,
//    "answer_contains": str|[str..]    research: a cited page must contain it; function, recovery: the answer must,
//    "functions": [{name, description, parameters}], "function_results": {name: result},   user functions
//    "fail_first": {name: message}     that function fails on its first run (exit 1, message), then succeeds,
//    "prefill": [{"tool", "body"}]     the conversation already holds these assistant calls: they run through the
//                                      real tools first (a failing cell shows the sandbox's own error), then the
//                                      model continues (Agent::continue_turn)}
// Task functions are real executables (a manifest per task whose command prints the task's recorded result).
// Scores: tool choice (the first segment the model generates, or none), well-formed calls (parsed arguments / the
// model's calls), schema-valid function calls (arguments that parse and validate against the function's parameters
// with valijson, draft 7 / all the model's calls of the task's functions), math answers, research answers citing a
// page that contains the answer, function answers, recovery (an answer with the expected content after a call that
// failed and a later call that succeeded), and the task success of each kind, each with its 95 % interval.
// --suite also takes a name: robust (the held-back half), robust-dev, math, function, research, choice, found under
// tests/eval of the checkout that holds the embedded model. Research tasks name their corpus; without
// --search-index the corpus is indexed into the work folder first.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
// valijson aborts on a schema it cannot read unless told to throw (caught here).
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "apps/alltools/agent_session.h"
#include "apps/alltools/command.h"
#include "apps/runtime/wiring.h"
#include "core/agent/agent.h"
#include "core/protocol/glm4/citations.h"
#include "tools/browser/browser_tool.h"
#include "tools/browser/local_index.h"

namespace alltools::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kMaxTasks = 100000;      // lines read from one suite
constexpr std::size_t kMaxPageBytes = 1 << 20;  // a cited local page read for scoring

struct Outcome {
  std::string id, kind;
  bool tool_ok = false;
  std::string first_tool;  // "" = answered without a tool
  int calls = 0, well_formed = 0;
  int function_calls = 0, schema_valid = 0;  // calls of the task's own functions
  std::string answer, status;
  std::optional<bool> math_ok, cite_ok, answer_ok, recovered;
  std::string family;  // recovery: python_error | wrong_name | tool_error
};

// Numbers in text (commas dropped), for math scoring.
std::vector<double> numbers_in(const std::string& text) {
  std::string t;
  for (char c : text)
    if (c != ',') t += c;
  std::vector<double> out;
  static const std::regex num(R"(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)");
  for (auto it = std::sregex_iterator(t.begin(), t.end(), num); it != std::sregex_iterator(); ++it) {
    try {
      out.push_back(std::stod(it->str()));
    } catch (const std::exception&) {  // out of range: not a number we can compare
    }
  }
  return out;
}

bool contains_number(const std::string& text, double v) {
  for (double n : numbers_in(text))
    if (std::fabs(n - v) <= 1e-6 * std::max(1.0, std::fabs(v))) return true;
  return false;
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s(kMaxPageBytes, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

std::string path_from_file_url(const std::string& url) {
  return url.rfind("file://", 0) == 0 ? url.substr(7) : std::string();
}

// Whether `args` validates against `schema` (valijson, draft 7). A schema valijson cannot read counts as failing.
bool schema_valid(const json& schema, const json& args) {
  try {
    valijson::Schema compiled;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter schema_adapter(schema);
    parser.populateSchema(schema_adapter, compiled);
    valijson::Validator validator;
    valijson::adapters::NlohmannJsonAdapter target(args);
    return validator.validate(compiled, target, nullptr);
  } catch (const std::exception&) {
    return false;
  }
}

// Writes a function manifest whose functions print the task's recorded results (real executables).
Result<fs::path> write_function_manifest(const json& task, const fs::path& dir) {
  json fns = json::array();
  const json fail_first = task.value("fail_first", json::object());
  for (const json& f : task["functions"]) {
    const std::string name = f.value("name", "");
    json result = task.value("function_results", json::object()).value(name, json{{"error", "no result recorded"}});
    json command = {"/usr/bin/printf", "%s", result.dump(-1, ' ', false)};
    if (fail_first.contains(name) && fail_first[name].is_string()) {
      // fails on its first run (a marker file in the task's folder records it), succeeds on every later one
      const std::string marker = ".failed-" + std::to_string(fns.size());
      command = {"/bin/sh", "-c",
                 "if [ -e " + marker + " ]; then printf %s \"$1\"; else : > " + marker +
                     "; printf %s \"$2\"; exit 1; fi",
                 "sh", result.dump(-1, ' ', false), json{{"error", fail_first[name]}}.dump(-1, ' ', false)};
    }
    fns.push_back({{"name", name}, {"description", f.value("description", "")}, {"parameters", f["parameters"]},
                   {"command", command}, {"timeout_ms", 10000}});
  }
  const fs::path path = dir / "functions.json";
  std::ofstream out(path);
  out << json{{"functions", fns}}.dump(2);
  if (!out) return make_error(ErrorCode::kIo, "cannot write " + path.string());
  return path;
}

Outcome run_task(const json& task, AgentFlags flags, const fs::path& work) {
  Outcome o;
  o.id = task.value("id", "");
  o.kind = task.value("kind", "");
  const fs::path dir = work / o.id;
  fs::create_directories(dir);
  flags.sessions_dir = (dir / "sessions").string();
  flags.quiet = true;
  flags.yes = true;
  if (task.contains("functions")) {
    auto manifest = write_function_manifest(task, dir);
    if (!manifest.ok()) {
      o.status = manifest.error().message;
      return o;
    }
    flags.function_manifests.push_back(manifest->string());
  }
  auto runtime = build_runtime(flags, RuntimeParts{}, nullptr);
  if (!runtime.ok()) {
    o.status = "setup: " + runtime.error().message;
    return o;
  }
  agent::AgentOptions options = agent_options(**runtime, flags);
  options.approver = [](const agent::ApprovalRequest&) { return true; };
  std::vector<agent::Event> events;
  auto created = agent::Agent::create(*(*runtime)->model, *(*runtime)->tokenizer, (*runtime)->dispatcher,
                                      std::move(options), [&](const agent::Event& e) {
                                        if (e.kind != agent::EventKind::kToken) events.push_back(e);
                                      });
  if (!created.ok()) {
    o.status = "setup: " + created.error().message;
    return o;
  }
  const json prefill = task.value("prefill", json::array());
  agent::TurnResult r;
  if (prefill.is_array() && !prefill.empty()) {
    std::vector<protocol::glm4::Message> history{protocol::glm4::user_message(task.value("prompt", ""))};
    for (const json& call : prefill) {
      if (!call.is_object() || !call.value("tool", json()).is_string() || !call.value("body", json()).is_string()) {
        o.status = "setup: each prefill entry must be {\"tool\": string, \"body\": string}";
        return o;
      }
      history.push_back(protocol::glm4::assistant_tool_call(call["tool"].get<std::string>(),
                                                            call["body"].get<std::string>()));
    }
    (*created)->restore(std::move(history));
    r = (*created)->continue_turn();
  } else {
    r = (*created)->run_turn(task.value("prompt", ""));
  }
  o.answer = r.answer;
  o.status = std::string(agent::turn_status_name(r.status));
  bool first_seen = false, failed = false, succeeded_after = false;
  std::map<std::string, json> parameters;  // the task's functions
  for (const json& f : task.value("functions", json::array()))
    parameters[f.value("name", "")] = f.value("parameters", json::object());
  for (const agent::Event& e : events) {
    if (e.kind == agent::EventKind::kSegmentStart && !first_seen) {
      o.first_tool = e.tool;
      first_seen = true;
    }
    if (e.kind == agent::EventKind::kObservation) {
      if (e.data.value("is_error", false)) failed = true;
      else if (failed) succeeded_after = true;
    }
    if (!first_seen) continue;  // a prefilled call is not the model's
    const auto fn = parameters.find(e.tool);
    if (fn != parameters.end() && e.kind == agent::EventKind::kToolCall) {
      ++o.function_calls;
      o.schema_valid += schema_valid(fn->second, e.data.value("args", json())) ? 1 : 0;
    }
    if (fn != parameters.end() && e.kind == agent::EventKind::kError && e.data.value("stage", "") == "parse")
      ++o.function_calls;
    if (e.kind == agent::EventKind::kToolCall) {
      ++o.calls;
      ++o.well_formed;
    }
    if (e.kind == agent::EventKind::kError && e.data.value("stage", "") == "parse") ++o.calls;
  }
  const json expect = task.contains("expect_tool") ? task["expect_tool"] : json();
  o.tool_ok = expect.is_null() ? o.first_tool.empty() : o.first_tool == expect.get<std::string>();
  const bool answered = r.status == agent::TurnStatus::kAnswer;
  auto numbers_ok = [&] {
    bool ok = answered;
    for (const json& n : task.value("answer_numbers", json::array()))
      ok = ok && contains_number(o.answer, std::stod(n.is_string() ? n.get<std::string>() : n.dump()));
    return ok;
  };
  auto strings_ok = [&] {
    bool ok = answered;
    for (const json& s : task.value("answer_contains", json::array()))
      ok = ok && o.answer.find(s.get<std::string>()) != std::string::npos;
    return ok;
  };
  if (o.kind == "math") {
    o.math_ok = numbers_ok();
  } else if (o.kind == "recovery") {
    o.family = task.value("family", "");
    o.recovered = failed && succeeded_after && numbers_ok() && strings_ok();
  } else if (o.kind == "research") {
    const std::string want = task.value("answer_contains", "");
    bool cited = false;
    for (const protocol::glm4::Citation& mark : protocol::glm4::find_citations(o.answer)) {
      if ((*runtime)->browser == nullptr) break;
      for (int id : mark.ids) {
        auto c = (*runtime)->browser->citation(id);
        if (!c) continue;
        const std::string path = path_from_file_url(c->url);
        if (!path.empty() && file_text(path).find(want) != std::string::npos) cited = true;
      }
    }
    o.cite_ok = answered && cited;
    o.answer_ok = answered && o.answer.find(want) != std::string::npos;
  } else if (o.kind == "function") {
    o.answer_ok = strings_ok();
  }
  return o;
}

struct Rate {
  int good = 0, total = 0;
  void add(bool ok) { good += ok ? 1 : 0, ++total; }
  double pct() const { return total ? 100.0 * good / total : 0.0; }
  // Wilson score interval at 95 % (z = 1.96), in percent: what the suite's size can tell apart (100 tasks at 90 %:
  // about 83-95).
  std::pair<double, double> interval() const {
    if (total == 0) return {0.0, 0.0};
    const double z = 1.96, n = total, p = static_cast<double>(good) / n;
    const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
    const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
    return {100.0 * std::max(0.0, centre - half), 100.0 * std::min(1.0, centre + half)};
  }
};

// The checkout that holds the embedded model (its tests/eval has the suites), if any.
std::optional<fs::path> checkout_root() {
  const std::optional<fs::path> model = embedded_model_dir();
  if (!model) return std::nullopt;
  return model->parent_path().parent_path();
}

// --suite NAME|FILE: an existing file as given, else a named suite of the checkout.
Result<fs::path> resolve_suite(const std::string& suite) {
  std::error_code ec;
  if (fs::is_regular_file(suite, ec)) return fs::path(suite);
  static const std::map<std::string, std::string> kNamed = {
      {"robust", "robust/heldback.jsonl"}, {"robust-dev", "robust/dev.jsonl"}, {"math", "math.jsonl"},
      {"function", "function.jsonl"},      {"research", "research.jsonl"},     {"choice", "choice.jsonl"}};
  const auto it = kNamed.find(suite);
  if (it == kNamed.end()) return make_error(ErrorCode::kNotFound, "cannot read suite " + suite);
  const std::optional<fs::path> root = checkout_root();
  const fs::path path = root ? *root / "tests" / "eval" / it->second : fs::path("tests/eval") / it->second;
  if (!fs::is_regular_file(path, ec))
    return make_error(ErrorCode::kNotFound, "suite '" + suite + "' is " + path.string() + ", which does not exist");
  return path;
}

// A research task's corpus folder: as given, or relative to the checkout.
fs::path corpus_dir(const std::string& corpus) {
  std::error_code ec;
  if (fs::path(corpus).is_absolute() || fs::is_directory(corpus, ec)) return corpus;
  const std::optional<fs::path> root = checkout_root();
  return root ? *root / corpus : fs::path(corpus);
}

int run_eval(int argc, char** argv) {
  std::string suite, json_out, work_dir;
  std::size_t limit = 0;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--suite" && has_value) suite = argv[++i];
    else if (a == "--json-out" && has_value) json_out = argv[++i];
    else if (a == "--work-dir" && has_value) work_dir = argv[++i];
    else if (a == "--limit" && has_value) limit = static_cast<std::size_t>(std::stoul(argv[++i]));
    else rest.push_back(argv[i]);
  }
  std::vector<std::string> positional;
  auto flags = parse_agent_flags(static_cast<int>(rest.size()), rest.data(), &positional);
  if (!flags.ok()) {
    std::fprintf(stderr, "alltools eval: %s\n", flags.error().message.c_str());
    return kExitUsage;
  }
  if (flags->help || suite.empty()) {
    std::fprintf(flags->help ? stdout : stderr,
                 "usage: alltools eval --suite FILE.jsonl|NAME [--limit N] [--json-out FILE] [--work-dir DIR]\n"
                 "                     [--model DIR | --endpoint URL ...] [--search-index FILE] [agent options]\n\n"
                 "Runs every task of the suite through the agent loop and the real tools (each task in a fresh\n"
                 "runtime and session; calls are approved automatically) and prints a score table: tool choice,\n"
                 "well-formed calls, schema-valid function calls, math answers (every expected number appears), research answers that cite a page\n"
                 "containing the answer (needs --search-index built from the suite's corpus: `alltools index build\n"
                 "tests/eval/corpus`), function answers, each with its 95%% (Wilson) interval: 100 tasks cannot\n"
                 "tell 89%% from 91%%. --json-out writes per-task results.\n\n"
                 "NAME: robust (the robustness suite's held-back half), robust-dev, math, function, research,\n"
                 "choice: tests/eval of the checkout holding the embedded model. Research tasks name their corpus;\n"
                 "without --search-index it is indexed into the work folder first.\n\n%s",
                 agent_flags_help());
    return flags->help ? 0 : kExitUsage;
  }
  auto suite_path = resolve_suite(suite);
  if (!suite_path.ok()) {
    std::fprintf(stderr, "alltools eval: %s\n", suite_path.error().message.c_str());
    return kExitUsage;
  }
  suite = suite_path->string();
  std::ifstream in(*suite_path);
  if (!in) {
    std::fprintf(stderr, "alltools eval: cannot read suite %s\n", suite.c_str());
    return kExitUsage;
  }
  const fs::path work = work_dir.empty() ? fs::temp_directory_path() / ("alltools-eval-" + std::to_string(::getpid()))
                                         : fs::path(work_dir);
  std::vector<json> tasks;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line) && line_no < kMaxTasks && (limit == 0 || tasks.size() < limit)) {
    ++line_no;
    if (line.empty()) continue;
    json task = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (task.is_discarded() || !task.is_object()) {
      std::fprintf(stderr, "alltools eval: %s:%zu is not a JSON object\n", suite.c_str(), line_no);
      return kExitUsage;
    }
    tasks.push_back(std::move(task));
  }
  if (flags->search_index.empty()) {
    for (const json& task : tasks) {
      if (!task.contains("corpus") || !task["corpus"].is_string()) continue;
      const fs::path index = work / "search-index.bin";
      std::error_code ec;
      fs::create_directories(work, ec);
      auto built = tools::browser::build_local_index(corpus_dir(task["corpus"].get<std::string>()), index);
      if (!built.ok()) {
        std::fprintf(stderr, "alltools eval: indexing %s: %s\n", task["corpus"].get<std::string>().c_str(),
                     built.error().message.c_str());
        return 1;
      }
      flags->search_index = index.string();
      break;  // one corpus per suite
    }
  }
  std::vector<Outcome> outcomes;
  for (const json& task : tasks) {
    Outcome o = run_task(task, *flags, work);
    std::fprintf(stderr, "%-16s tool %-4s calls %d/%d  %s\n", o.id.c_str(), o.tool_ok ? "ok" : "MISS",
                 o.well_formed, o.calls, o.status.c_str());
    outcomes.push_back(std::move(o));
  }
  Rate tool, formed, valid, math, cite, answer, recovered;
  std::map<std::string, Rate> tool_by_kind, success_by_kind, recovered_by_family;
  for (const Outcome& o : outcomes) {
    tool.add(o.tool_ok);
    tool_by_kind[o.kind].add(o.tool_ok);
    formed.good += o.well_formed;
    formed.total += o.calls;
    valid.good += o.schema_valid;
    valid.total += o.function_calls;
    if (o.math_ok) math.add(*o.math_ok);
    if (o.cite_ok) cite.add(*o.cite_ok);
    if (o.answer_ok) answer.add(*o.answer_ok);
    if (o.recovered) {
      recovered.add(*o.recovered);
      recovered_by_family[o.family].add(*o.recovered);
    }
    // a task's success: the kind's own answer score (research: the answer states the fact and cites a page that
    // holds it)
    const std::optional<bool> success = o.math_ok     ? o.math_ok
                                        : o.cite_ok   ? std::optional<bool>(*o.cite_ok && o.answer_ok.value_or(false))
                                        : o.recovered ? o.recovered
                                                      : o.answer_ok;
    if (success) success_by_kind[o.kind].add(*success);
  }
  std::printf("%-28s %7s %9s   %s\n", "metric", "score", "n", "95% interval");
  auto row = [](const char* name, const Rate& r) {
    if (r.total == 0) return;
    const auto [lo, hi] = r.interval();
    std::printf("%-28s %6.1f%% %4d/%-4d  %5.1f-%.1f%%\n", name, r.pct(), r.good, r.total, lo, hi);
  };
  row("tool choice", tool);
  for (const auto& [kind, r] : tool_by_kind) row(("  tool choice: " + kind).c_str(), r);
  row("calls well-formed", formed);
  row("function calls schema-valid", valid);
  row("math answers", math);
  row("research cites answer page", cite);
  row("answer contains expected", answer);
  row("recovered after a failed call", recovered);
  for (const auto& [family, r] : recovered_by_family) row(("  recovered: " + family).c_str(), r);
  for (const auto& [kind, r] : success_by_kind) row(("task success: " + kind).c_str(), r);
  if (!json_out.empty()) {
    json results = json::array();
    for (const Outcome& o : outcomes) {
      json j{{"id", o.id}, {"kind", o.kind}, {"tool_ok", o.tool_ok}, {"first_tool", o.first_tool},
             {"calls", o.calls}, {"well_formed", o.well_formed}, {"function_calls", o.function_calls},
             {"schema_valid", o.schema_valid}, {"status", o.status}, {"answer", o.answer}};
      if (o.math_ok) j["math_ok"] = *o.math_ok;
      if (o.cite_ok) j["cite_ok"] = *o.cite_ok;
      if (o.answer_ok) j["answer_ok"] = *o.answer_ok;
      if (o.recovered) j["recovered"] = *o.recovered, j["family"] = o.family;
      results.push_back(j);
    }
    json summary{{"tool_choice", tool.pct()}, {"calls_well_formed", formed.pct()},
                 {"function_calls_schema_valid", valid.pct()}, {"math", math.pct()},
                 {"research_cites", cite.pct()}, {"answers", answer.pct()}, {"recovered", recovered.pct()},
                 {"tasks", outcomes.size()}};
    json intervals = json::object();  // 95 % Wilson intervals of the metrics measured, in percent
    for (const auto& [key, r] : {std::pair<const char*, const Rate*>{"tool_choice", &tool},
                                 {"calls_well_formed", &formed}, {"function_calls_schema_valid", &valid},
                                 {"math", &math}, {"research_cites", &cite}, {"answers", &answer},
                                 {"recovered", &recovered}}) {
      if (r->total == 0) continue;
      const auto [lo, hi] = r->interval();
      intervals[key] = {lo, hi};
    }
    summary["interval95"] = std::move(intervals);
    json by_kind = json::object();  // per kind: task success and tool choice, with their intervals
    for (const auto& [kind, r] : success_by_kind) {
      const auto [lo, hi] = r.interval();
      const Rate& t = tool_by_kind[kind];
      const auto [tlo, thi] = t.interval();
      by_kind[kind] = {{"success", r.pct()}, {"n", r.total}, {"interval95", {lo, hi}},
                       {"tool_choice", t.pct()}, {"tool_choice_interval95", {tlo, thi}}};
    }
    summary["by_kind"] = std::move(by_kind);
    std::ofstream(json_out) << json{{"suite", suite}, {"summary", summary}, {"results", results}}.dump(1);
  }
  return 0;
}

}  // namespace
}  // namespace alltools::app

ALLTOOLS_COMMAND("eval", "score the agent on a JSONL task suite (tool choice, calls, math, citations)",
                 alltools::app::run_eval);
