// C++ functions through FunctionRegistry: spec rendering, schema validation, errors as values, throws, threads.
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "tools/functions/function_registry.h"

namespace alltools::tools::functions {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

FunctionSpec weather_spec() {
  FunctionSpec s;
  s.name = "get_weather";
  s.description = "根据城市获取当前天气";
  s.parameters = ordered_json::parse(R"({
    "type": "object",
    "properties": {
      "city_name": {"type": "string", "description": "城市名"},
      "days": {"type": "integer", "minimum": 1, "maximum": 7},
      "unit": {"type": "string", "enum": ["c", "f"]}
    },
    "required": ["city_name"],
    "additionalProperties": false
  })");
  return s;
}

Result<json> weather(const json& args, const ToolContext&) {
  const std::string city = args["city_name"].get<std::string>();
  if (city == "Atlantis") return make_error(ErrorCode::kNotFound, "no weather station in " + city);
  return json{{"city", city}, {"weather", "晴"}, {"days", args.value("days", 1)}};
}

Observation call(Tool& tool, const json& args) {
  auto obs = tool.invoke(args, ToolContext{});
  EXPECT_EQ(obs.size(), 1u);
  return obs.empty() ? Observation{} : obs[0];
}

TEST(CppFunction, SpecKeepsKeyOrderAndKind) {
  FunctionRegistry reg;
  ASSERT_TRUE(reg.add(weather_spec(), weather).ok());
  auto tools = reg.make_tools();
  ASSERT_EQ(tools.size(), 1u);
  const ToolSpec& spec = tools[0]->spec();
  EXPECT_EQ(spec.name, "get_weather");
  EXPECT_EQ(spec.kind, ToolSpec::Kind::kFunction);
  EXPECT_EQ(spec.function.dump(),
            R"({"name":"get_weather","description":"根据城市获取当前天气","parameters":{"type":"object","properties":)"
            R"({"city_name":{"type":"string","description":"城市名"},"days":{"type":"integer","minimum":1,"maximum":7},)"
            R"("unit":{"type":"string","enum":["c","f"]}},"required":["city_name"],"additionalProperties":false}})");
}

TEST(CppFunction, ValidCallRendersLikePythonJsonDumps) {
  auto tool = make_cpp_function_tool(weather_spec(), weather);
  ASSERT_TRUE(tool.ok());
  Observation o = call(*tool.value(), json{{"city_name", "曼谷"}, {"days", 3}});
  EXPECT_FALSE(o.is_error);
  EXPECT_EQ(o.metadata, "");
  EXPECT_EQ(o.text, R"({"city": "曼谷", "days": 3, "weather": "晴"})") << "json.dumps layout";
}

TEST(CppFunction, StringResultIsShownAsIs) {
  FunctionSpec s{"greet", "says hello", ordered_json{{"type", "object"}}};
  auto tool = make_cpp_function_tool(s, [](const json&, const ToolContext&) -> Result<json> { return json("hi \"you\""); });
  ASSERT_TRUE(tool.ok());
  EXPECT_EQ(call(*tool.value(), json::object()).text, "hi \"you\"");
}

TEST(CppFunction, SchemaViolationsTellTheModelWhatIsWrong) {
  auto tool = make_cpp_function_tool(weather_spec(), weather).value();
  int runs = 0;
  auto counting = make_cpp_function_tool(weather_spec(), [&](const json& a, const ToolContext& c) {
                    ++runs;
                    return weather(a, c);
                  }).value();

  Observation missing = call(*counting, json::object());
  EXPECT_TRUE(missing.is_error);
  EXPECT_NE(missing.text.find("city_name"), std::string::npos) << missing.text;
  EXPECT_NE(missing.text.find("invalid arguments for `get_weather`"), std::string::npos) << missing.text;
  EXPECT_NE(missing.text.find("\"required\":[\"city_name\"]"), std::string::npos) << "schema echoed: " << missing.text;

  Observation wrong_type = call(*counting, json{{"city_name", 42}});
  EXPECT_TRUE(wrong_type.is_error);
  EXPECT_NE(wrong_type.text.find("/city_name"), std::string::npos) << wrong_type.text;

  Observation out_of_range = call(*counting, json{{"city_name", "x"}, {"days", 30}});
  EXPECT_TRUE(out_of_range.is_error);
  EXPECT_NE(out_of_range.text.find("/days"), std::string::npos) << out_of_range.text;

  Observation bad_enum = call(*counting, json{{"city_name", "x"}, {"unit", "kelvin"}});
  EXPECT_TRUE(bad_enum.is_error);
  EXPECT_NE(bad_enum.text.find("/unit"), std::string::npos) << bad_enum.text;

  Observation extra = call(*counting, json{{"city_name", "x"}, {"country", "TH"}});
  EXPECT_TRUE(extra.is_error);
  EXPECT_NE(extra.text.find("country"), std::string::npos) << extra.text;

  Observation not_object = call(*counting, json::array({1, 2}));
  EXPECT_TRUE(not_object.is_error);
  EXPECT_NE(not_object.text.find("must be one JSON object"), std::string::npos) << not_object.text;

  EXPECT_EQ(runs, 0) << "the function must not run on invalid arguments";
  EXPECT_FALSE(call(*counting, json{{"city_name", "x"}}).is_error);
  EXPECT_EQ(runs, 1);
  (void)tool;
}

TEST(CppFunction, ErrorsAndExceptionsBecomeErrorObservations) {
  auto tool = make_cpp_function_tool(weather_spec(), weather).value();
  Observation e = call(*tool, json{{"city_name", "Atlantis"}});
  EXPECT_TRUE(e.is_error);
  EXPECT_NE(e.text.find("no weather station in Atlantis"), std::string::npos) << e.text;

  FunctionSpec s{"thrower", "throws", ordered_json{{"type", "object"}}};
  auto thrower = make_cpp_function_tool(s, [](const json&, const ToolContext&) -> Result<json> {
                   throw std::runtime_error("database exploded");
                 }).value();
  Observation t = call(*thrower, json::object());
  EXPECT_TRUE(t.is_error);
  EXPECT_NE(t.text.find("database exploded"), std::string::npos) << t.text;

  auto int_thrower = make_cpp_function_tool({"int_thrower", "", ordered_json{{"type", "object"}}},
                                            [](const json&, const ToolContext&) -> Result<json> { throw 7; })
                         .value();
  EXPECT_TRUE(call(*int_thrower, json::object()).is_error);
}

TEST(CppFunction, RegistryRejectsBadRegistrations) {
  FunctionRegistry reg;
  auto fn = [](const json&, const ToolContext&) -> Result<json> { return json(1); };
  EXPECT_TRUE(reg.add({"ok_name", "", ordered_json{{"type", "object"}}}, fn).ok());
  Status dup = reg.add({"ok_name", "", ordered_json{{"type", "object"}}}, fn);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("already registered"), std::string::npos);
  EXPECT_FALSE(reg.add({"python", "", ordered_json{{"type", "object"}}}, fn).ok());
  EXPECT_FALSE(reg.add({"has space", "", ordered_json{{"type", "object"}}}, fn).ok());
  EXPECT_FALSE(reg.add({"", "", ordered_json{{"type", "object"}}}, fn).ok());
  Status bad_schema = reg.add({"bad_schema", "", ordered_json{{"type", "object"}, {"required", 5}}}, fn);
  ASSERT_FALSE(bad_schema.ok());
  EXPECT_NE(bad_schema.error().message.find("bad_schema"), std::string::npos) << bad_schema.error().message;
  EXPECT_FALSE(reg.add({"not_object_schema", "", ordered_json("string")}, fn).ok());
  EXPECT_FALSE(reg.add({"no_fn", "", ordered_json{{"type", "object"}}}, nullptr).ok());
  EXPECT_EQ(reg.size(), 1u);
}

TEST(CppFunction, ConcurrentCallsOnSeparateSessions) {
  FunctionRegistry reg;
  ASSERT_TRUE(reg.add({"add", "adds", ordered_json::parse(R"({"type":"object","properties":{"a":{"type":"integer"},
                        "b":{"type":"integer"}},"required":["a","b"]})")},
                      [](const json& a, const ToolContext&) -> Result<json> {
                        return json(a["a"].get<long>() + a["b"].get<long>());
                      })
                  .ok());
  constexpr int kThreads = 8, kCalls = 200;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto tools = reg.make_tools();  // one session per thread
      for (int i = 0; i < kCalls; ++i) {
        auto obs = tools[0]->invoke(json{{"a", t}, {"b", i}}, ToolContext{});
        if (obs.size() != 1 || obs[0].text != std::to_string(t + i)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace alltools::tools::functions
