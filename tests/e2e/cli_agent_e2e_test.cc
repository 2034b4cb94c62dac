// `alltools run` and `alltools chat` end to end in a pseudo-terminal, against a loopback server that speaks the
// OpenAI streaming completions protocol and plays a GLM-4 script. The user function is a real executable; the
// policy asks before calling it and the test answers the approval prompt.
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/pty_process.h"
#include "tests/remote/loopback_http_server.h"

namespace alltools::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string completion(const std::string& text, const std::string& stop) {
  return LoopbackHttpServer::sse(
      json{{"choices", {{{"index", 0}, {"text", text}, {"finish_reason", "stop"}, {"stop_reason", stop}}}}}.dump()) +
         LoopbackHttpServer::sse("[DONE]");
}

class CliAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("alltools-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "config");
    // A real executable user function.
    const fs::path script = dir_ / "weather.sh";
    std::ofstream(script) << "#!/bin/sh\nread args\necho '{\"weather\": \"sunny\", \"temp_c\": 24}'\n";
    fs::permissions(script, fs::perms::owner_all);
    std::ofstream(dir_ / "functions.json") << json{
        {"functions",
         {{{"name", "get_weather"},
           {"description", "Current weather of a city"},
           {"parameters", {{"type", "object"}, {"properties", {{"city_name", {{"type", "string"}}}}},
                           {"required", {"city_name"}}}},
           {"command", {script.string()}}}}}}.dump();
    std::ofstream(dir_ / "policy.json")
        << R"({"version": 1, "tools": {"python": "deny", "simple_browser": "deny", "cogview": "deny", "default": "ask"}})";
    tokenizer_ = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/tokenizer.model";
    ASSERT_TRUE(fs::exists(tokenizer_)) << "missing " << tokenizer_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> argv(const std::string& command, std::vector<std::string> extra) {
    std::vector<std::string> a = {std::string(ALLTOOLS_BINARY_DIR) + "/bin/alltools",
                                  command,
                                  "--endpoint",
                                  server_.base_url(),
                                  "--tokenizer",
                                  tokenizer_,
                                  "--policy",
                                  (dir_ / "policy.json").string(),
                                  "--functions",
                                  (dir_ / "functions.json").string(),
                                  "--sessions-dir",
                                  (dir_ / "sessions").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::map<std::string, std::string> env() {
    return {{"NO_COLOR", "1"}, {"TERM", "dumb"}, {"XDG_CONFIG_HOME", (dir_ / "config").string()},
            {"XDG_DATA_HOME", (dir_ / "data").string()}, {"HOME", dir_.string()}};
  }
  void script_weather_turn() {
    server_.enqueue({200, {}, {completion("get_weather\n{\"city_name\": \"Paris\"}", "<|observation|>")}});
    server_.enqueue({200, {}, {completion("\nParis is sunny, 24 °C.", "<|user|>")}});
  }

  fs::path dir_;
  std::string tokenizer_;
  LoopbackHttpServer server_;
};

TEST_F(CliAgentTest, RunAsksForApprovalThenAnswers) {
  script_weather_turn();
  PtyProcess p(argv("run", {"--session", "paris", "Weather in Paris?"}), env());
  ASSERT_TRUE(p.wait_for("Allow get_weather")) << p.output();
  EXPECT_TRUE(p.wait_for("Paris")) << p.output();
  p.type("y\n");
  ASSERT_TRUE(p.wait_for("Paris is sunny, 24 °C.")) << p.output();
  EXPECT_EQ(p.wait_exit(), 0) << p.output();
  EXPECT_NE(p.output().find("→ get_weather"), std::string::npos) << p.output();
  EXPECT_NE(p.output().find("sunny"), std::string::npos);

  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const std::string prompt = json::parse(reqs[1].body)["prompt"];
  const std::size_t obs = prompt.find("<|observation|>\n{");
  ASSERT_NE(obs, std::string::npos) << prompt;
  EXPECT_NE(prompt.find("\"sunny\"", obs), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("24", obs), std::string::npos) << prompt;
  EXPECT_TRUE(prompt.ends_with("}<|assistant|>")) << prompt;
  // The session transcript was written, one JSON event per line.
  std::ifstream t(dir_ / "sessions" / "paris" / "transcript.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(t, line)) {
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
    ++lines;
  }
  EXPECT_GT(lines, 5);
}

TEST_F(CliAgentTest, RunDeclinedCallIsReportedToTheModel) {
  server_.enqueue({200, {}, {completion("get_weather\n{\"city_name\": \"Paris\"}", "<|observation|>")}});
  server_.enqueue({200, {}, {completion("\nI could not check the weather.", "<|user|>")}});
  PtyProcess p(argv("run", {"Weather in Paris?"}), env());
  ASSERT_TRUE(p.wait_for("[y/N]")) << p.output();
  p.type("n\n");
  EXPECT_EQ(p.wait_exit(), 0) << p.output();
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const std::string prompt = json::parse(reqs[1].body)["prompt"];
  EXPECT_NE(prompt.find("declined"), std::string::npos) << prompt;
}

TEST_F(CliAgentTest, ChatWithApprovalToolsAndResume) {
  script_weather_turn();
  {
    PtyProcess p(argv("chat", {"--session", "talk"}), env());
    ASSERT_TRUE(p.wait_for("you> ")) << p.output();
    p.type("Weather in Paris?\n");
    ASSERT_TRUE(p.wait_for("Allow get_weather")) << p.output();
    p.type("y\n");
    ASSERT_TRUE(p.wait_for("Paris is sunny")) << p.output();
    ASSERT_TRUE(p.wait_for("you> ")) << p.output();
    p.type("/tools\n");
    ASSERT_TRUE(p.wait_for("get_weather: function, ask")) << p.output();
    ASSERT_TRUE(p.wait_for("you> ")) << p.output();
    p.type("/quit\n");
    EXPECT_EQ(p.wait_exit(), 0) << p.output();
  }
  // Resume: the earlier turn is in the prompt of the next one.
  server_.enqueue({200, {}, {completion("\nStill sunny.", "<|user|>")}});
  PtyProcess p(argv("chat", {"--session", "talk"}), env());
  ASSERT_TRUE(p.wait_for("resumed session talk")) << p.output();
  ASSERT_TRUE(p.wait_for("you> ")) << p.output();
  p.type("And now?\n");
  ASSERT_TRUE(p.wait_for("Still sunny.")) << p.output();
  ASSERT_TRUE(p.wait_for("you> ")) << p.output();  // typed earlier, libedit's switch to raw mode could drop it
  // Ctrl-D on an empty line ends the chat. A Ctrl-D typed while the terminal is still in cooked mode (before
  // libedit switches it to raw) can reach libedit as a literal character, leaving the line non-empty so that the
  // next Ctrl-D only rings the bell (seen under load in CI): each attempt clears the line first (Ctrl-U).
  int rc = -1;
  for (int attempt = 0; attempt < 10 && rc == -1; ++attempt) {
    p.type("\x15\x04");
    rc = p.wait_exit(std::chrono::seconds(2));
  }
  EXPECT_EQ(rc, 0) << p.output();
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  const std::string prompt = json::parse(reqs[2].body)["prompt"];
  EXPECT_NE(prompt.find("Paris is sunny, 24 °C.<|user|>\nAnd now?<|assistant|>"), std::string::npos) << prompt;
}

TEST_F(CliAgentTest, NonInteractiveRunRefusesAskCallsUnlessYes) {
  script_weather_turn();
  // stdin is not a terminal: the call is refused without a prompt; with -y and --quiet only the answer is printed.
  const std::string base = "echo | NO_COLOR=1 XDG_CONFIG_HOME=" + (dir_ / "config").string() + " ";
  std::string cmd;
  for (const auto& a : argv("run", {"--quiet", "-y", "Weather in Paris?"})) cmd += "'" + a + "' ";
  std::FILE* f = ::popen((base + cmd + "2>/dev/null").c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  const int status = ::pclose(f);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(out, "Paris is sunny, 24 °C.\n");

  server_.enqueue({200, {}, {completion("get_weather\n{\"city_name\": \"Paris\"}", "<|observation|>")}});
  server_.enqueue({200, {}, {completion("\nNo data.", "<|user|>")}});
  cmd.clear();
  for (const auto& a : argv("run", {"--json", "Weather in Paris?"})) cmd += "'" + a + "' ";
  f = ::popen((base + cmd + "2>/dev/null").c_str(), "r");
  out.clear();
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  EXPECT_EQ(WEXITSTATUS(::pclose(f)), 0);
  EXPECT_NE(out.find("\"event\":\"approval\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"approved\":false"), std::string::npos) << out;
}

TEST_F(CliAgentTest, RunLoadsAPythonPluginAndCallsIt) {
  // The example plugin's bmi() runs in the embedded interpreter; its result reaches the model as an observation.
  server_.enqueue({200, {}, {completion("bmi\n{\"weight_kg\": 70, \"height_m\": 1.75}", "<|observation|>")}});
  server_.enqueue({200, {}, {completion("\nDone.", "<|user|>")}});
  const std::string plugin = std::string(ALLTOOLS_SOURCE_DIR) + "/examples/python_plugin/plugin.py";
  ASSERT_TRUE(fs::exists(plugin)) << "missing " << plugin;
  const std::string base = "echo | NO_COLOR=1 XDG_CONFIG_HOME=" + (dir_ / "config").string() + " ";
  std::string cmd;
  for (const auto& a : argv("run", {"--json", "-y", "--plugin", plugin, "BMI of 70 kg, 1.75 m?"})) cmd += "'" + a + "' ";
  std::FILE* f = ::popen((base + cmd + "2>&1").c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  EXPECT_EQ(WEXITSTATUS(::pclose(f)), 0) << out;
  // The function's own result, as the observation event carries it (JSON-escaped inside the event line).
  EXPECT_NE(out.find(R"({\"bmi\": 22.9})"), std::string::npos) << out;
}

TEST_F(CliAgentTest, HelpAndUsageErrors) {
  PtyProcess help({std::string(ALLTOOLS_BINARY_DIR) + "/bin/alltools", "run", "--help"}, env());
  ASSERT_TRUE(help.wait_for("--endpoint URL")) << help.output();
  EXPECT_EQ(help.wait_exit(), 0);
  PtyProcess bad({std::string(ALLTOOLS_BINARY_DIR) + "/bin/alltools", "run", "--bogus", "x"}, env());
  ASSERT_TRUE(bad.wait_for("unknown flag --bogus")) << bad.output();
  EXPECT_EQ(bad.wait_exit(), 2);
}

}  // namespace
}  // namespace alltools::testing
