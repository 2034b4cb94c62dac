// End to end through the real binaries and the embedded model: `alltools run --endpoint` (the project's remote
// backend, completion mode) against `alltools serve` computes 37 * 48 + 12 in its python sandbox; and the same
// task as a server-side run (POST /v1/alltools/runs), where the server's own sandbox computes it, streams the
// steps, and removes the run's workspace afterwards.
#include <httplib.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/serve/serve_process.h"

namespace alltools::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const std::string kAlltools = std::string(ALLTOOLS_BINARY_DIR) + "/bin/alltools";

class ServeE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("alltools-serve-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "workspaces");
    ::setenv("XDG_CONFIG_HOME", (dir_ / "config").c_str(), 1);
    ::setenv("XDG_DATA_HOME", (dir_ / "data").c_str(), 1);
    ::setenv("XDG_CACHE_HOME", (dir_ / "cache").c_str(), 1);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ServeE2E, RunAgainstServeSolvesAMathTask) {
  ServeProcess server({kAlltools, "--workspaces", (dir_ / "workspaces").string()});
  std::string out;
  const int code = run_command({kAlltools, "run", "--endpoint", server.base_url() + "/v1", "--sessions-dir",
                                (dir_ / "sessions").string(), "What is 37 * 48 + 12?"},
                               &out, 180);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("1788"), std::string::npos) << out;
  EXPECT_NE(out.find("python"), std::string::npos) << "the answer did not come from the sandbox:\n" << out;
  // The model ran in the server: it answered completions.
  httplib::Client c("127.0.0.1", server.port());
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_GE(json::parse(h->body)["requests"].get<int>(), 2);
  EXPECT_EQ(server.stop(), 0);
}

// The chat endpoint renders GLM-4 prompts: a GLM-4.5 model is refused at start with the reason, not misread.
TEST_F(ServeE2E, RefusesTheGlm45FormatAtStart) {
  std::string out;
  const int code = run_command({kAlltools, "serve", "--port", "0", "--format", "glm45"}, &out, 60);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("GLM-4 format only"), std::string::npos) << out;
  EXPECT_NE(out.find("glm45"), std::string::npos) << out;
}

TEST_F(ServeE2E, ServerSideRunStreamsStepsAndCleansUp) {
  ServeProcess server({kAlltools, "--workspaces", (dir_ / "workspaces").string()});
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(180s);
  auto r = c.Post("/v1/alltools/runs", json{{"input", "What is 37 * 48 + 12?"}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::vector<json> events;
  std::size_t pos = 0;
  bool done = false;
  while ((pos = r->body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = r->body.find("\n\n", pos);
    const std::string data = r->body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      done = true;
      break;
    }
    events.push_back(json::parse(data));
  }
  ASSERT_TRUE(done) << r->body;
  ASSERT_FALSE(events.empty());
  bool python_call = false, observation = false;
  for (const json& e : events) {
    if (e.value("event", "") == "tool_call" && e.value("tool", "") == "python") python_call = true;
    if (e.value("event", "") == "observation" && e.value("text", "").find("1788") != std::string::npos)
      observation = true;
  }
  EXPECT_TRUE(python_call) << r->body;
  EXPECT_TRUE(observation) << "the server's sandbox did not compute 1788:\n" << r->body;
  const json& result = events.back();
  EXPECT_EQ(result["object"], "alltools.run");
  EXPECT_EQ(result["status"], "answer");
  EXPECT_NE(result["answer"].get<std::string>().find("1788"), std::string::npos) << result.dump();
  // The run's workspace (folder and sandbox) is gone once the response is complete.
  for (int i = 0; i < 100 && !fs::is_empty(dir_ / "workspaces"); ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(fs::is_empty(dir_ / "workspaces"));
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(json::parse(h->body)["workspaces_live"], 0);
  EXPECT_TRUE(server.children().empty());
  // Not streamed: one JSON object with the events.
  auto plain = c.Post("/v1/alltools/runs", json{{"input", "What is 37 * 48 + 12?"}, {"stream", false}}.dump(),
                      "application/json");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  const json p = json::parse(plain->body);
  EXPECT_EQ(p["status"], "answer");
  EXPECT_FALSE(p["events"].empty());
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace alltools::testing
