// The `python` tool over a real sandbox: arguments, observation text, [Image] artifacts, timeouts.
#include <gtest/gtest.h>

#include "tests/sandbox/sandbox_test_util.h"
#include "tools/python/python_tool.h"

namespace alltools::tools {
namespace {

using sandbox::testing::TempDir;

std::unique_ptr<Tool> make_tool(const TempDir& dir, std::chrono::seconds timeout = std::chrono::seconds(2)) {
  PythonToolConfig c;
  c.session_dir = dir.path();
  c.cell_timeout = timeout;
  c.interrupt_grace = std::chrono::milliseconds(1000);
  c.limits.output_cap_bytes = 1000;
  auto tool = make_python_tool(c);
  EXPECT_TRUE(tool.ok()) << tool.error();
  return tool.ok() ? std::move(tool).value() : nullptr;
}

Observation call(Tool& tool, const std::string& code) {
  auto obs = tool.invoke({{"code", code}}, ToolContext{});
  EXPECT_EQ(obs.size(), 1u);
  return obs.empty() ? Observation{} : obs[0];
}

TEST(PythonTool, SpecIsTheBuiltinPythonTool) {
  TempDir dir;
  auto tool = make_tool(dir);
  ASSERT_TRUE(tool);
  EXPECT_EQ(tool->spec().name, "python");
  EXPECT_EQ(tool->spec().kind, ToolSpec::Kind::kBuiltin);
}

TEST(PythonTool, RunsCellsWithStateAndEmptyMetadata) {
  TempDir dir;
  auto tool = make_tool(dir);
  ASSERT_TRUE(tool);
  Observation o = call(*tool, "x = 20\nprint('hello')\nx + 1");
  EXPECT_EQ(o.metadata, "");
  EXPECT_EQ(o.text, "hello\n21");
  EXPECT_FALSE(o.is_error);
  EXPECT_EQ(call(*tool, "x * 2").text, "40");
  EXPECT_EQ(call(*tool, "y = 1").text, "(no output)");
}

TEST(PythonTool, TracebacksAreErrorsWithoutAnsi) {
  TempDir dir;
  auto tool = make_tool(dir);
  ASSERT_TRUE(tool);
  Observation o = call(*tool, "print('\\x1b[31mred\\x1b[0m')\nint('x')");
  EXPECT_TRUE(o.is_error);
  EXPECT_EQ(o.text.rfind("red\nTraceback (most recent call last):", 0), 0u) << o.text;
  EXPECT_NE(o.text.find("ValueError: invalid literal"), std::string::npos);
  EXPECT_EQ(o.text.find('\x1b'), std::string::npos);
}

TEST(PythonTool, FloodIsTruncatedWithANote) {
  TempDir dir;
  auto tool = make_tool(dir);
  ASSERT_TRUE(tool);
  Observation o = call(*tool, "print('z' * 100000)");
  EXPECT_LT(o.text.size(), 1200u);
  EXPECT_NE(o.text.find("[stdout truncated: 99001 more bytes not shown]"), std::string::npos) << o.text;
}

TEST(PythonTool, FiguresBecomeImagesAndArtifacts) {
  TempDir dir;
  auto tool = make_tool(dir, std::chrono::seconds(30));  // the first pyplot import may build the font cache
  ASSERT_TRUE(tool);
  Observation o = call(*tool, "import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])\nplt.title('t')");
  EXPECT_NE(o.text.find("[Image]"), std::string::npos) << o.text;
  ASSERT_EQ(o.artifacts.size(), 1u);
  EXPECT_EQ(o.artifacts[0].mime, "image/png");
  EXPECT_EQ(o.artifacts[0].path, dir.path() / "files" / "figure_1.png");
  EXPECT_TRUE(std::filesystem::is_regular_file(o.artifacts[0].path));
}

TEST(PythonTool, TimeoutSaysTimedOut) {
  TempDir dir;
  auto tool = make_tool(dir);
  ASSERT_TRUE(tool);
  Observation o = call(*tool, "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(100)");
  EXPECT_TRUE(o.is_error);
  EXPECT_NE(o.text.find("Timed out."), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("were lost"), std::string::npos) << o.text;
  EXPECT_EQ(call(*tool, "'back'").text, "'back'");
}

TEST(PythonTool, BadArgumentsAreErrorObservations) {
  TempDir dir;
  auto tool = make_tool(dir);
  ASSERT_TRUE(tool);
  for (const nlohmann::json& args : {nlohmann::json::object(), nlohmann::json{{"code", 3}}, nlohmann::json("x")}) {
    auto obs = tool->invoke(args, ToolContext{});
    ASSERT_EQ(obs.size(), 1u);
    EXPECT_TRUE(obs[0].is_error);
    EXPECT_NE(obs[0].text.find("\"code\""), std::string::npos);
  }
}

TEST(PythonTool, RejectsBadConfig) {
  PythonToolConfig c;
  EXPECT_FALSE(make_python_tool(c).ok());
  c.session_dir = "/tmp";
  c.files_subdir = "../escape";
  EXPECT_EQ(make_python_tool(c).error().code, ErrorCode::kInvalidArgument);
}

TEST(PythonTool, IsolationReportNamesTheLayers) {
  const std::string text = python_isolation_report().to_string();
  EXPECT_NE(text.find("seccomp"), std::string::npos);
  EXPECT_NE(text.find("namespaces"), std::string::npos);
}

}  // namespace
}  // namespace alltools::tools
