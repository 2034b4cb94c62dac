// Executable functions from a JSON manifest, run as real child processes (tests/functions/test_plugin.cc).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "tools/functions/function_registry.h"

namespace alltools::tools::functions {
namespace {

using nlohmann::json;

class ExecutableFunctionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/alltools-fn-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(std::filesystem::exists(TEST_PLUGIN_PATH)) << "missing test plugin " << TEST_PLUGIN_PATH;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes a manifest with one function per mode: "<mode>_fn" running test_plugin <mode>.
  std::filesystem::path write_manifest(const std::vector<std::string>& modes, int timeout_ms = 10000) {
    json fns = json::array();
    for (const auto& m : modes) {
      json f = {{"name", m + "_fn"},
                {"description", "test plugin in mode " + m},
                {"parameters", {{"type", "object"}, {"properties", {{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}}}},
                {"command", {TEST_PLUGIN_PATH, m}},
                {"env", {{"WEATHER_DB", "weather.csv"}}},
                {"timeout_ms", timeout_ms},
                {"max_output_bytes", 1 << 20}};
      if (m == "sum") f["parameters"]["required"] = {"a", "b"};
      fns.push_back(f);
    }
    auto path = dir_ / "manifest.json";
    std::ofstream(path) << json{{"functions", fns}}.dump(2);
    return path;
  }

  Observation call(Tool& tool, const json& args) {
    auto obs = tool.invoke(args, ToolContext{});
    EXPECT_EQ(obs.size(), 1u);
    return obs.empty() ? Observation{} : obs[0];
  }

  std::unique_ptr<Tool> tool_for(const std::string& mode, int timeout_ms = 10000) {
    FunctionRegistry reg;
    Status s = reg.load_manifest(write_manifest({mode}, timeout_ms));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    auto tools = reg.make_tools();
    return tools.empty() ? nullptr : std::move(tools[0]);
  }

  std::filesystem::path dir_;
};

TEST_F(ExecutableFunctionTest, ArgumentsOnStdinResultOnStdout) {
  auto tool = tool_for("sum");
  ASSERT_TRUE(tool);
  EXPECT_EQ(tool->spec().function["name"], "sum_fn");
  Observation o = call(*tool, json{{"a", 2}, {"b", 3.5}});
  EXPECT_FALSE(o.is_error) << o.text;
  EXPECT_EQ(o.text, R"({"sum":5.5})");
}

TEST_F(ExecutableFunctionTest, SchemaViolationDoesNotStartTheProcess) {
  auto tool = tool_for("sum");
  Observation o = call(*tool, json{{"a", "two"}});
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("/a"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("b"), std::string::npos) << o.text;
}

TEST_F(ExecutableFunctionTest, CleanEnvironment) {
  ::setenv("ALLTOOLS_TEST_SECRET", "do-not-leak", 1);
  auto tool = tool_for("env");
  Observation o = call(*tool, json::object());
  ASSERT_FALSE(o.is_error) << o.text;
  EXPECT_EQ(o.text.find("ALLTOOLS_TEST_SECRET"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("WEATHER_DB=weather.csv"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("PATH=/usr/local/bin:/usr/bin:/bin"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("HOME=" + dir_.string()), std::string::npos) << o.text;
}

TEST_F(ExecutableFunctionTest, HangingPluginIsKilledAtItsDeadline) {
  auto tool = tool_for("hang", 300);
  Observation o = call(*tool, json::object());
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("timed out"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("killed"), std::string::npos) << o.text;
}

TEST_F(ExecutableFunctionTest, ToolContextDeadlineWinsWhenSooner) {
  auto tool = tool_for("hang", 60000);
  ToolContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  auto obs = tool->invoke(json::object(), ctx);
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_TRUE(obs[0].is_error);
  EXPECT_NE(obs[0].text.find("timed out"), std::string::npos) << obs[0].text;
}

TEST_F(ExecutableFunctionTest, CancelKillsTheProcess) {
  auto tool = tool_for("hang", 60000);
  std::atomic<bool> cancel{false};
  ToolContext ctx;
  ctx.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto obs = tool->invoke(json::object(), ctx);
  canceller.join();
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_TRUE(obs[0].is_error);
  EXPECT_NE(obs[0].text.find("cancelled"), std::string::npos) << obs[0].text;
}

TEST_F(ExecutableFunctionTest, GrandchildHoldingStdoutIsKilledWithTheGroup) {
  auto tool = tool_for("orphan", 500);
  Observation o = call(*tool, json::object());
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("timed out"), std::string::npos) << o.text;
  int pid = 0;
  std::ifstream(dir_ / "orphan.pid") >> pid;
  ASSERT_GT(pid, 0) << "the plugin did not write orphan.pid";
  // The grandchild got SIGKILL with the group; it is gone or a zombie awaiting its reaper (bounded wait).
  bool alive = true;
  for (int i = 0; i < 100 && alive; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_s, comm, state;
    alive = static_cast<bool>(stat >> pid_s >> comm >> state) && state != "Z" && state != "X";
    if (alive) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(alive) << "grandchild " << pid << " survived the deadline";
}

TEST_F(ExecutableFunctionTest, CrashingPluginIsAnError) {
  auto tool = tool_for("crash");
  Observation o = call(*tool, json::object());
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("signal 11"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("about to crash"), std::string::npos) << "stderr quoted: " << o.text;
}

TEST_F(ExecutableFunctionTest, HundredMegabytesOfOutputHitsTheCap) {
  auto tool = tool_for("flood");
  Observation o = call(*tool, json::object());
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("exceeded 1048576 bytes"), std::string::npos) << o.text.substr(0, 300);
  EXPECT_LT(o.text.size(), 1000u);
}

TEST_F(ExecutableFunctionTest, ReportedErrorAndGarbage) {
  Observation fail = call(*tool_for("fail"), json::object());
  EXPECT_TRUE(fail.is_error);
  EXPECT_NE(fail.text.find("city not found"), std::string::npos) << fail.text;
  EXPECT_NE(fail.text.find("status 3"), std::string::npos) << fail.text;
  Observation garbage = call(*tool_for("garbage"), json::object());
  EXPECT_TRUE(garbage.is_error);
  EXPECT_NE(garbage.text.find("not UTF-8"), std::string::npos) << garbage.text;
}

TEST_F(ExecutableFunctionTest, PluginThatIgnoresStdinDoesNotKillTheRuntime) {
  auto tool = tool_for("noread");
  // 1 MB of arguments: far more than a pipe holds, so the write hits a closed pipe (EPIPE, no SIGPIPE).
  Observation o = call(*tool, json{{"a", 1}, {"pad", std::string(1 << 20, 'x')}});
  EXPECT_FALSE(o.is_error) << o.text.substr(0, 300);
  EXPECT_EQ(o.text, "ok");
}

TEST_F(ExecutableFunctionTest, ConcurrentCalls) {
  FunctionRegistry reg;
  ASSERT_TRUE(reg.load_manifest(write_manifest({"sum"})).ok());
  constexpr int kThreads = 6, kCalls = 5;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto tools = reg.make_tools();
      for (int i = 0; i < kCalls; ++i) {
        auto obs = tools[0]->invoke(json{{"a", t}, {"b", i}}, ToolContext{});
        if (obs.size() != 1 || obs[0].is_error || obs[0].text != "{\"sum\":" + std::to_string(t + i) + "}") ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ExecutableFunctionTest, MissingProgramIsAnErrorObservation) {
  ExecutableFunction f;
  f.spec.name = "ghost";
  f.command = {(dir_ / "no-such-program").string()};
  auto tool = make_executable_function_tool(f);
  ASSERT_TRUE(tool.ok());
  Observation o = call(*tool.value(), json::object());
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("cannot start"), std::string::npos) << o.text;
}

TEST_F(ExecutableFunctionTest, ManifestErrorsNameTheFileAndTheProblem) {
  auto bad = dir_ / "bad.json";
  std::ofstream(bad) << "{not json";
  auto r = load_executable_manifest(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad.json"), std::string::npos);

  std::ofstream(bad, std::ios::trunc) << R"({"name": "x", "description": "d"})";
  r = load_executable_manifest(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'command' is missing"), std::string::npos) << r.error().message;

  std::ofstream(bad, std::ios::trunc) << R"({"name": "x", "command": ["./run.sh"], "colour": "red"})";
  r = load_executable_manifest(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("colour"), std::string::npos) << r.error().message;

  std::ofstream(bad, std::ios::trunc) << R"({"name": "x", "command": ["./run.sh"]})";
  r = load_executable_manifest(bad);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()[0].command[0], (dir_ / "run.sh").string()) << "relative to the manifest";

  EXPECT_FALSE(load_executable_manifest(dir_ / "absent.json").ok());
}

}  // namespace
}  // namespace alltools::tools::functions

namespace alltools::tools::functions {
namespace {

TEST(WeatherExample, ManifestFromExamplesRuns) {
  const std::filesystem::path manifest = std::string(ALLTOOLS_SOURCE_DIR) + "/examples/weather_executable/weather.json";
  ASSERT_TRUE(std::filesystem::exists(manifest)) << "missing " << manifest;
  FunctionRegistry reg;
  Status s = reg.load_manifest(manifest);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto tools = reg.make_tools();
  ASSERT_EQ(tools.size(), 1u);
  auto obs = tools[0]->invoke(nlohmann::json{{"city_name", "Beijing"}}, ToolContext{});
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_FALSE(obs[0].is_error) << obs[0].text;
  EXPECT_EQ(obs[0].text, R"({"city": "北京", "condition": "晴", "temperature_c": 21, "humidity": 30})");
  auto unknown = tools[0]->invoke(nlohmann::json{{"city_name", "Atlantis"}}, ToolContext{});
  EXPECT_TRUE(unknown[0].is_error);
  EXPECT_NE(unknown[0].text.find("no weather data for Atlantis"), std::string::npos) << unknown[0].text;
  auto extra = tools[0]->invoke(nlohmann::json{{"city_name", "x"}, {"country", "y"}}, ToolContext{});
  EXPECT_TRUE(extra[0].is_error);
}

}  // namespace
}  // namespace alltools::tools::functions
