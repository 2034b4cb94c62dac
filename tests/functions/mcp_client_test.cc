// MCP over stdio against the real reference servers from npm (scripts/test-setup.sh installs them):
// @modelcontextprotocol/server-everything and @modelcontextprotocol/server-filesystem.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "tools/functions/function_registry.h"
#include "tools/functions/mcp_client.h"

namespace alltools::tools::functions {
namespace {

using nlohmann::json;

const std::string kModules = MCP_NODE_MODULES;
const std::string kEverything = kModules + "/@modelcontextprotocol/server-everything/dist/index.js";
const std::string kFilesystem = kModules + "/@modelcontextprotocol/server-filesystem/dist/index.js";

McpServerConfig server(const std::string& name, const std::string& script, std::vector<std::string> args) {
  McpServerConfig c;
  c.name = name;
  c.command = "node";
  c.args = {script};
  for (auto& a : args) c.args.push_back(std::move(a));
  return c;
}

Tool* find(const std::vector<std::unique_ptr<Tool>>& tools, const std::string& name) {
  for (const auto& t : tools) {
    if (t->spec().name == name) return t.get();
  }
  return nullptr;
}

Observation call(Tool* tool, const json& args, ToolContext ctx = {}) {
  EXPECT_NE(tool, nullptr);
  if (!tool) return {};
  auto obs = tool->invoke(args, ctx);
  EXPECT_EQ(obs.size(), 1u);
  return obs.empty() ? Observation{} : obs[0];
}

class EverythingServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(std::filesystem::exists(kEverything)) << "missing " << kEverything << ": run scripts/test-setup.sh";
    registry_ = new FunctionRegistry();
    Status s = registry_->connect_mcp(server("everything", kEverything, {"stdio"}));
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(registry_, nullptr);
    tools_ = registry_->make_tools();
  }
  static FunctionRegistry* registry_;
  std::vector<std::unique_ptr<Tool>> tools_;
};
FunctionRegistry* EverythingServer::registry_ = nullptr;

TEST_F(EverythingServer, ListsToolsAsFunctions) {
  EXPECT_GE(tools_.size(), 8u);
  Tool* echo = find(tools_, "echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->spec().kind, ToolSpec::Kind::kFunction);
  EXPECT_EQ(echo->spec().function["description"], "Echoes back the input string");
  EXPECT_EQ(echo->spec().function["parameters"]["required"], json::array({"message"}));
  ASSERT_NE(find(tools_, "get-sum"), nullptr);
  ASSERT_NE(find(tools_, "trigger-long-running-operation"), nullptr);
}

TEST_F(EverythingServer, CallsSeveralTools) {
  Observation echo = call(find(tools_, "echo"), json{{"message", "你好, MCP"}});
  EXPECT_FALSE(echo.is_error) << echo.text;
  EXPECT_NE(echo.text.find("你好, MCP"), std::string::npos) << echo.text;

  Observation sum = call(find(tools_, "get-sum"), json{{"a", 17}, {"b", 25}});
  EXPECT_FALSE(sum.is_error) << sum.text;
  EXPECT_NE(sum.text.find("42"), std::string::npos) << sum.text;

  Observation image = call(find(tools_, "get-tiny-image"), json::object());
  EXPECT_FALSE(image.is_error) << image.text;
  EXPECT_NE(image.text.find("[image: image/png]"), std::string::npos) << image.text;

  Observation structured = call(find(tools_, "get-structured-content"), json{{"location", "Chicago"}});
  EXPECT_FALSE(structured.is_error) << structured.text;
  EXPECT_NE(structured.text.find("temperature"), std::string::npos) << structured.text;
}

TEST_F(EverythingServer, SchemaViolationIsCaughtBeforeTheServer) {
  Observation o = call(find(tools_, "get-sum"), json{{"a", "seventeen"}});
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("/a"), std::string::npos) << o.text;
  Observation e = call(find(tools_, "get-structured-content"), json{{"location", "Paris"}});
  EXPECT_TRUE(e.is_error);
  EXPECT_NE(e.text.find("/location"), std::string::npos) << e.text;
}

TEST_F(EverythingServer, DeadlineSendsCancellationAndTheServerStaysUsable) {
  ToolContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
  Observation slow = call(find(tools_, "trigger-long-running-operation"), json{{"duration", 5}, {"steps", 5}}, ctx);
  EXPECT_TRUE(slow.is_error);
  EXPECT_NE(slow.text.find("timed out"), std::string::npos) << slow.text;

  std::atomic<bool> cancel{false};
  ToolContext cctx;
  cctx.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  Observation cancelled = call(find(tools_, "trigger-long-running-operation"), json{{"duration", 5}, {"steps", 5}}, cctx);
  canceller.join();
  EXPECT_TRUE(cancelled.is_error);
  EXPECT_NE(cancelled.text.find("cancelled"), std::string::npos) << cancelled.text;

  Observation after = call(find(tools_, "echo"), json{{"message", "still here"}});
  EXPECT_FALSE(after.is_error) << after.text;
  EXPECT_NE(after.text.find("still here"), std::string::npos);
}

TEST_F(EverythingServer, ConcurrentCallsShareOneServer) {
  constexpr int kThreads = 4, kCalls = 5;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto tools = registry_->make_tools();
      for (int i = 0; i < kCalls; ++i) {
        const std::string msg = "m" + std::to_string(t) + "-" + std::to_string(i);
        Observation o = call(find(tools, "echo"), json{{"message", msg}});
        if (o.is_error || o.text.find(msg) == std::string::npos) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

class FilesystemServer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kFilesystem)) << "missing " << kFilesystem << ": run scripts/test-setup.sh";
    char tmpl[] = "/tmp/alltools-mcpfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = std::filesystem::canonical(tmpl);
    std::ofstream(root_ / "notes.txt") << "line one\nline two\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(FilesystemServer, ReadsWritesAndRefusesOutsideItsRoot) {
  // Configured the way other MCP clients are: a JSON file with mcpServers.
  auto config = root_ / "mcp.json";
  std::ofstream(config) << json{{"mcpServers", {{"fs", {{"command", "node"}, {"args", {kFilesystem, root_.string()}}}}}}}.dump();
  FunctionRegistry reg;
  Status s = reg.load_mcp_config(config);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto tools = reg.make_tools();
  ASSERT_NE(find(tools, "read_text_file"), nullptr);

  Observation read = call(find(tools, "read_text_file"), json{{"path", (root_ / "notes.txt").string()}});
  EXPECT_FALSE(read.is_error) << read.text;
  EXPECT_EQ(read.text, "line one\nline two\n");

  Observation write = call(find(tools, "write_file"), json{{"path", (root_ / "out.txt").string()}, {"content", "写入"}});
  EXPECT_FALSE(write.is_error) << write.text;
  std::string written;
  std::getline(std::ifstream(root_ / "out.txt"), written);
  EXPECT_EQ(written, "写入");

  Observation list = call(find(tools, "list_directory"), json{{"path", root_.string()}});
  EXPECT_FALSE(list.is_error) << list.text;
  EXPECT_NE(list.text.find("notes.txt"), std::string::npos) << list.text;

  Observation denied = call(find(tools, "read_text_file"), json{{"path", "/etc/passwd"}});
  EXPECT_TRUE(denied.is_error);
  EXPECT_NE(denied.text.find("Access denied"), std::string::npos) << denied.text;

  Observation missing = call(find(tools, "read_text_file"), json{{"path", (root_ / "absent.txt").string()}});
  EXPECT_TRUE(missing.is_error) << missing.text;

  Observation bad = call(find(tools, "move_file"), json{{"source", "x"}});
  EXPECT_TRUE(bad.is_error);
  EXPECT_NE(bad.text.find("destination"), std::string::npos) << bad.text;
}

TEST(McpConfig, ParsesLikeOtherClientsAndRejectsNonsense) {
  auto ok = parse_mcp_config(json::parse(R"({"mcpServers": {
      "a": {"command": "npx", "args": ["-y", "pkg"], "env": {"K": "v"}},
      "b": {"command": "x", "disabled": true}}})"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok.value().size(), 1u);
  EXPECT_EQ(ok.value()[0].name, "a");
  EXPECT_EQ(ok.value()[0].args, (std::vector<std::string>{"-y", "pkg"}));
  EXPECT_EQ(ok.value()[0].env.at("K"), "v");
  EXPECT_FALSE(parse_mcp_config(json::parse(R"({"servers": {}})")).ok());
  EXPECT_FALSE(parse_mcp_config(json::parse(R"({"mcpServers": {"a": {"args": []}}})")).ok());
  EXPECT_FALSE(parse_mcp_config(json::parse(R"({"mcpServers": {"a": {"command": "x", "type": "sse"}}})")).ok());
  EXPECT_FALSE(parse_mcp_config(json::parse(R"({"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}})")).ok());
}

TEST(McpClient, ServerThatDiesIsAnErrorNotACrash) {
  McpServerConfig c;
  c.name = "dies";
  c.command = "node";
  c.args = {"-e", "process.stderr.write('boom\\n'); process.exit(3)"};
  c.startup_timeout = std::chrono::seconds(20);
  auto client = McpClient::start(c);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message.find("dies"), std::string::npos) << client.error().message;

  c.command = "/nonexistent/mcp-server";
  c.args = {};
  auto missing = McpClient::start(c);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot start"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace alltools::tools::functions
