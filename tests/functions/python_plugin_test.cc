// Python plugins loaded the way the CLI does (`--plugin file.py`): embedded interpreter, @alltools.function.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "bindings/python/python_plugin.h"

namespace alltools::python {
namespace {

using nlohmann::json;
using tools::functions::FunctionRegistry;

class PythonPluginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::setenv("PYTHONMALLOC", "malloc", 1); }  // plays well with sanitizers
  void SetUp() override {
    char tmpl[] = "/tmp/alltools-pyplugin-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& source) {
    std::ofstream(dir_ / name) << source;
    return dir_ / name;
  }
  std::filesystem::path dir_;
};

tools::Tool* find(const std::vector<std::unique_ptr<tools::Tool>>& tools, const std::string& name) {
  for (const auto& t : tools) {
    if (t->spec().name == name) return t.get();
  }
  return nullptr;
}

TEST_F(PythonPluginTest, DecoratedFunctionsBecomeTools) {
  // The plugin imports a helper module from its own folder (its folder is on sys.path).
  write("units_helper.py", "FACTOR = {'km': 1000.0, 'mi': 1609.344}\n");
  auto plugin = write("plugin_a.py", R"PY(
import alltools
from units_helper import FACTOR

@alltools.function
def to_meters(value: float, unit: str) -> dict:
    """Converts a distance to meters.

    Args:
        value: the distance
        unit: km or mi
    """
    if unit not in FACTOR:
        raise ValueError(f"unknown unit {unit}")
    return {"meters": value * FACTOR[unit]}

@alltools.function
def shout(text: str) -> str:
    """Upper-cases text."""
    return text.upper()
)PY");
  FunctionRegistry reg;
  Status s = load_python_plugin(plugin, reg);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto tools = reg.make_tools();
  ASSERT_EQ(tools.size(), 2u);
  tools::Tool* conv = find(tools, "to_meters");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->spec().function.dump(),
            R"({"name":"to_meters","description":"Converts a distance to meters.","parameters":{"type":"object",)"
            R"("properties":{"value":{"type":"number","description":"the distance"},"unit":{"type":"string",)"
            R"("description":"km or mi"}},"required":["value","unit"]}})");
  auto ok = conv->invoke(json{{"value", 2.5}, {"unit", "km"}}, tools::ToolContext{});
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_FALSE(ok[0].is_error) << ok[0].text;
  EXPECT_EQ(ok[0].text, R"({"meters": 2500.0})");
  auto raised = conv->invoke(json{{"value", 1}, {"unit", "parsec"}}, tools::ToolContext{});
  EXPECT_TRUE(raised[0].is_error);
  EXPECT_NE(raised[0].text.find("ValueError: unknown unit parsec"), std::string::npos) << raised[0].text;
  auto invalid = conv->invoke(json{{"value", "far"}}, tools::ToolContext{});
  EXPECT_TRUE(invalid[0].is_error);
  EXPECT_NE(invalid[0].text.find("/value"), std::string::npos) << invalid[0].text;
  EXPECT_EQ(find(tools, "shout")->invoke(json{{"text", "hi"}}, tools::ToolContext{})[0].text, "HI");
}

TEST_F(PythonPluginTest, ConcurrentCallsTakeTheGil) {
  auto plugin = write("plugin_b.py", R"PY(
import alltools

@alltools.function
def square(n: int) -> int:
    """Squares n."""
    return n * n
)PY");
  FunctionRegistry reg;
  ASSERT_TRUE(load_python_plugin(plugin, reg).ok());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto tools = reg.make_tools();
      for (int i = 0; i < 50; ++i) {
        auto obs = tools[0]->invoke(json{{"n", t * 100 + i}}, tools::ToolContext{});
        if (obs.size() != 1 || obs[0].text != std::to_string((t * 100 + i) * (t * 100 + i))) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(PythonPluginTest, BrokenPluginsAreErrors) {
  FunctionRegistry reg;
  Status missing = load_python_plugin(dir_ / "absent.py", reg);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("absent.py"), std::string::npos);

  Status raises = load_python_plugin(write("raises.py", "import alltools\nraise RuntimeError('plugin is broken')\n"), reg);
  ASSERT_FALSE(raises.ok());
  EXPECT_NE(raises.error().message.find("plugin is broken"), std::string::npos) << raises.error().message;

  Status syntax = load_python_plugin(write("syntax.py", "def (:\n"), reg);
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("SyntaxError"), std::string::npos) << syntax.error().message;

  Status empty = load_python_plugin(write("empty.py", "x = 1\n"), reg);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("declares no function"), std::string::npos);
  EXPECT_EQ(reg.size(), 0u);
}

}  // namespace
}  // namespace alltools::python
