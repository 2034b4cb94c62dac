// Tool-call bodies -> Tool JSON arguments (tools/tool.h), every body kind, malformed inputs as error values, and the
// reverse formatting.
#include <gtest/gtest.h>

#include "core/protocol/glm4/observation.h"
#include "core/protocol/glm4/tool_call.h"

namespace alltools::protocol::glm4 {
namespace {

using nlohmann::json;

std::vector<tools::ToolSpec> specs() {
  std::vector<tools::ToolSpec> t;
  for (const char* n : {"python", "simple_browser", "cogview"}) t.push_back({n, tools::ToolSpec::Kind::kBuiltin, {}});
  t.push_back({"get_weather", tools::ToolSpec::Kind::kFunction,
               nlohmann::ordered_json{{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}});
  return t;
}

json args(const std::string& name, const std::string& body) {
  auto r = tool_call_arguments(ToolCall{name, body}, specs());
  EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : json();
}

Error error_of(const std::string& name, const std::string& body) {
  auto r = tool_call_arguments(ToolCall{name, body}, specs());
  EXPECT_FALSE(r.ok()) << name << " accepted: " << body;
  return r.ok() ? Error{} : r.error();
}

TEST(PythonBody, RawAndFenced) {
  EXPECT_EQ(args("python", "import math\nprint(math.pi)\n"), (json{{"code", "import math\nprint(math.pi)"}}));
  EXPECT_EQ(args("python", "```python\nx = '```'\nprint(x)\n```"), (json{{"code", "x = '```'\nprint(x)"}}));
  EXPECT_EQ(args("python", "```\nprint(1)\n```\n"), (json{{"code", "print(1)"}}));
  EXPECT_EQ(args("python", "```py\nprint(1)"), (json{{"code", "print(1)"}})) << "unclosed fence";
  EXPECT_EQ(args("python", "    indented = 1\n"), (json{{"code", "    indented = 1"}})) << "indentation kept";
  EXPECT_EQ(error_of("python", "  \n").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("python", "```python\n```").code, ErrorCode::kInvalidArgument);
}

TEST(BrowserBody, RealStringLiterals) {
  EXPECT_EQ(args("simple_browser", R"x(search("北京 天气, \"今天\" (晴)", recency_days=7))x"),
            (json{{"calls", {{{"fn", "search"}, {"query", "北京 天气, \"今天\" (晴)"}, {"recency_days", 7}}}}}));
  EXPECT_EQ(args("simple_browser", "search('it\\'s a \\u4f60\\u597d\\n test')"),
            (json{{"calls", {{{"fn", "search"}, {"query", "it's a 你好\n test"}}}}}));
  EXPECT_EQ(args("simple_browser", R"(search(query="a)b", recency_days = 3,))"),
            (json{{"calls", {{{"fn", "search"}, {"query", "a)b"}, {"recency_days", 3}}}}}));
  EXPECT_EQ(args("simple_browser", "search(\"x\", 30)"),
            (json{{"calls", {{{"fn", "search"}, {"query", "x"}, {"recency_days", 30}}}}}));
  EXPECT_EQ(args("simple_browser", "mclick([1, 4, 9])\n\nopen_url(\"https://example.com/a?b=c,d\")\n"),
            (json{{"calls",
                   {{{"fn", "mclick"}, {"ids", {1, 4, 9}}}, {{"fn", "open_url"}, {"url", "https://example.com/a?b=c,d"}}}}}));
  EXPECT_EQ(args("simple_browser", "mclick(ids=[ 0 ,2, ])"), (json{{"calls", {{{"fn", "mclick"}, {"ids", {0, 2}}}}}}));
  EXPECT_EQ(args("simple_browser", "```python\nsearch(\"q\")\n```"), (json{{"calls", {{{"fn", "search"}, {"query", "q"}}}}}));
  EXPECT_EQ(args("simple_browser", "search(\"\\U0001F600 \\ud83d\\ude00\")"),
            (json{{"calls", {{{"fn", "search"}, {"query", "😀 😀"}}}}}));
}

TEST(BrowserBody, MalformedCallsAreErrors) {
  EXPECT_EQ(error_of("simple_browser", "serch(\"q\")").code, ErrorCode::kNotFound);
  EXPECT_EQ(error_of("simple_browser", "mclick(\"1\")").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("simple_browser", "mclick([1, \"2\"])").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("simple_browser", "search(recency_days=3)").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("simple_browser", "search(\"q\", 3, 4)").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("simple_browser", "search(\"q\", days=3)").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("simple_browser", "search(\"q\", query=\"r\")").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("simple_browser", "search(\"unterminated)").code, ErrorCode::kParse);
  EXPECT_EQ(error_of("simple_browser", "search(\"q\") trailing").code, ErrorCode::kParse);
  EXPECT_EQ(error_of("simple_browser", "search(\"q\"").code, ErrorCode::kParse);
  EXPECT_EQ(error_of("simple_browser", "search(\"\\u12\")").code, ErrorCode::kParse);
  EXPECT_EQ(error_of("simple_browser", "search(\"\\ud800\")").code, ErrorCode::kParse);
  EXPECT_EQ(error_of("simple_browser", "").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("simple_browser", "search(\"\xff\")").code, ErrorCode::kParse);
  const Error e = error_of("simple_browser", "search(\"ok\")\nmclick([1,)");
  EXPECT_NE(e.message.find("line 2"), std::string::npos) << e.message;
  std::string many;
  for (std::size_t i = 0; i <= kMaxBrowserCallsPerBody; ++i) many += "mclick([1])\n";
  EXPECT_EQ(error_of("simple_browser", many).code, ErrorCode::kOutOfRange);
}

TEST(CogviewBody, PromptIsTrimmed) {
  EXPECT_EQ(args("cogview", "\n A cat, in \"oil\" style. \n"), (json{{"prompt", "A cat, in \"oil\" style."}}));
  EXPECT_EQ(error_of("cogview", " \n ").code, ErrorCode::kInvalidArgument);
}

TEST(FunctionBody, OneJsonObject) {
  EXPECT_EQ(args("get_weather", "{\"city_name\": \"曼谷\"}"), (json{{"city_name", "曼谷"}}));
  EXPECT_EQ(args("get_weather", "\n  ```json\n{\"a\": [1, {\"b\": \"}\"}]}\n```  \n"),
            (json{{"a", {1, {{"b", "}"}}}}}));
  EXPECT_EQ(error_of("get_weather", "{\"city_name\": }").code, ErrorCode::kParse);
  EXPECT_EQ(error_of("get_weather", "[1, 2]").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of("get_weather", "{\"a\": 1} {\"b\": 2}").code, ErrorCode::kParse);
  EXPECT_EQ(error_of("get_weather", "").code, ErrorCode::kInvalidArgument);
  std::string deep(200, '[');
  deep = "{\"a\": " + deep + std::string(200, ']') + "}";
  EXPECT_EQ(error_of("get_weather", deep).code, ErrorCode::kOutOfRange);
  const Error e = error_of("get_weather", "not json");
  EXPECT_EQ(e.message.rfind("get_weather: ", 0), 0u) << e.message;
}

TEST(ToolCallArguments, UnknownToolAndErrorObservations) {
  const Error e = error_of("get_wether", "{}");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("python, simple_browser, cogview, get_weather"), std::string::npos) << e.message;
  const auto obs = tool_call_error_observation(ToolCall{"get_wether", "{}"}, e);
  EXPECT_TRUE(obs.is_error);
  EXPECT_EQ(obs.metadata, "");
  EXPECT_EQ(obs.text, e.message);
  const auto browser = tool_call_error_observation(ToolCall{"simple_browser", "x"}, error_of("simple_browser", "x"));
  EXPECT_EQ(browser.metadata, "system_error");
  EXPECT_EQ(browser.text.rfind("simple_browser: ", 0), 0u) << browser.text;
}

TEST(FormatToolCallBody, RoundTripsThroughTheParsers) {
  const json browser = {{"calls",
                         {{{"fn", "search"}, {"query", "a \"quoted\", (paren) 中文\n"}, {"recency_days", 7}},
                          {{"fn", "mclick"}, {"ids", {1, 2}}},
                          {{"fn", "open_url"}, {"url", "https://x.example/?q=1"}}}}};
  auto body = format_tool_call_body("simple_browser", browser, tools::ToolSpec::Kind::kBuiltin);
  ASSERT_TRUE(body.ok()) << body.error();
  EXPECT_EQ(args("simple_browser", *body), browser);
  auto fn = format_tool_call_body("get_weather", json{{"city_name", "曼谷"}}, tools::ToolSpec::Kind::kFunction);
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(*fn, "{\"city_name\": \"曼谷\"}");
  auto py = format_tool_call_body("python", json{{"code", "print(1)"}}, tools::ToolSpec::Kind::kBuiltin);
  ASSERT_TRUE(py.ok());
  EXPECT_EQ(*py, "print(1)");
  EXPECT_FALSE(format_tool_call_body("python", json{{"src", 1}}, tools::ToolSpec::Kind::kBuiltin).ok());
  EXPECT_FALSE(format_tool_call_body("simple_browser", json{{"calls", {{{"fn", "nope"}}}}}, tools::ToolSpec::Kind::kBuiltin).ok());
}

TEST(Observation, BecomesAnObservationMessage) {
  tools::Observation o;
  o.metadata = "quote_result [3†source]";
  o.text = "# Page\ntext";
  const Message m = observation_to_message(o);
  EXPECT_EQ(m, observation_message("quote_result [3†source]", "# Page\ntext"));
  const std::vector<tools::Observation> list = {o, tools::Observation{"", "1024", {}, false}};
  EXPECT_EQ(observations_to_messages(list).at(1), observation_message("", "1024"));
  std::ostringstream os;
  os << m;
  EXPECT_EQ(os.str(), "observation[\"quote_result [3†source]\"]: \"# Page\\ntext\"");
}

}  // namespace
}  // namespace alltools::protocol::glm4
