// GLM-4.5 call bodies <-> Tool arguments: pair syntax, value types from the tool's schema, Python's
// json.dumps layout, errors written for the model.
#include <gtest/gtest.h>

#include "core/protocol/glm45/tool_call.h"
#include "core/protocol/tool_functions.h"

namespace alltools::protocol::glm45 {
namespace {

using nlohmann::ordered_json;

TEST(Glm45ToolCall, PairsAreReadWithWhitespaceBetweenTagsOnly) {
  auto pairs = try_parse_arg_pairs(
      "\n <arg_key> city </arg_key>\n<arg_value>北京\n</arg_value><arg_key>n</arg_key>"
      "<arg_value></arg_value>\n");
  ASSERT_TRUE(pairs.ok()) << pairs.error();
  EXPECT_EQ(*pairs, (std::vector<ArgPair>{{"city", "北京\n"}, {"n", ""}}));
  EXPECT_EQ(format_arg_pairs(*pairs),
            "\n<arg_key>city</arg_key>\n<arg_value>北京\n</arg_value>\n<arg_key>n</arg_key>\n<arg_value></"
            "arg_value>\n");
  EXPECT_TRUE(try_parse_arg_pairs("").ok());
  for (const char* bad :
       {"city", "<arg_key>a</arg_key>", "<arg_key>a</arg_key><arg_value>1",
        "<arg_key>a</arg_key>x<arg_value>1</arg_value>", "<arg_key> </arg_key><arg_value>1</arg_value>",
        "<arg_key>a</arg_key><arg_value>1</arg_value><arg_key>a</arg_key><arg_value>2</arg_value>",
        "<arg_key>a</arg_key><arg_value>1</arg_value> trailing"}) {
    auto r = try_parse_arg_pairs(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << bad;
  }
  EXPECT_EQ(try_parse_arg_pairs(std::string(glm4::kMaxToolBodyBytes + 1, ' ')).error().code,
            ErrorCode::kOutOfRange);
}

TEST(Glm45ToolCall, ValueTypesFollowTheSchema) {
  const ordered_json params = ordered_json::parse(
      R"({"type": "object", "properties": {"zip": {"type": "string"}, "days": {"type": "integer"},
          "opts": {"type": "object"}, "any": {}}})");
  auto args = arguments_from_body(
      "\n<arg_key>zip</arg_key>\n<arg_value>00123</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</"
      "arg_value>\n"
      "<arg_key>opts</arg_key>\n<arg_value>{\"u\": "
      "\"c\"}</arg_value>\n<arg_key>any</arg_key>\n<arg_value>not json"
      "</arg_value>\n<arg_key>extra</arg_key>\n<arg_value>true</arg_value>\n",
      params);
  ASSERT_TRUE(args.ok()) << args.error();
  EXPECT_EQ(*args, ordered_json::parse(R"({"zip": "00123", "days": 3, "opts": {"u": "c"}, "any": "not json",
                                           "extra": true})"));
}

TEST(Glm45ToolCall, ArgumentsRoundTripThroughTheCanonicalBody) {
  const ordered_json args = ordered_json::parse(
      R"({"q": "天气 \"今天\"", "n": [1, 2.5, null, {"b": false, "a": "é"}], "o": {}, "s": "", "i": -7})");
  auto body = body_from_arguments(args);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body,
            "\n<arg_key>q</arg_key>\n<arg_value>天气 \"今天\"</arg_value>\n<arg_key>n</arg_key>\n"
            "<arg_value>[1, 2.5, null, {\"b\": false, \"a\": \"é\"}]</arg_value>\n<arg_key>o</arg_key>\n"
            "<arg_value>{}</arg_value>\n<arg_key>s</arg_key>\n<arg_value></arg_value>\n<arg_key>i</arg_key>\n"
            "<arg_value>-7</arg_value>\n");
  const ordered_json params = ordered_json::parse(
      R"({"type": "object", "properties": {"q": {"type": "string"}, "s": {"type": "string"}}})");
  auto back = arguments_from_body(*body, params);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, args);
  EXPECT_EQ(body_from_arguments(ordered_json::array()).error().code, ErrorCode::kInvalidArgument);
}

TEST(Glm45ToolCall, PythonJsonDumps) {
  EXPECT_EQ(python_json_dumps(ordered_json::parse(R"({"z": 1, "a": [true, "北京\n"], "e": {}})")),
            R"({"z": 1, "a": [true, "北京\n"], "e": {}})");
}

TEST(Glm45ToolCall, ToolArgumentsForBuiltinsAndFunctions) {
  const ordered_json fn = ordered_json::parse(
      R"({"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}})");
  const std::vector<tools::ToolSpec> specs = {{"python", tools::ToolSpec::Kind::kBuiltin, {}},
                                              {"simple_browser", tools::ToolSpec::Kind::kBuiltin, {}},
                                              {"get_weather", tools::ToolSpec::Kind::kFunction, fn}};
  auto code =
      tool_call_arguments({"python", "\n<arg_key>code</arg_key>\n<arg_value>1+1</arg_value>\n"}, specs);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, nlohmann::json::parse(R"({"code": "1+1"})"));
  auto num_code = tool_call_arguments({"python", "<arg_key>code</arg_key><arg_value>42</arg_value>"}, specs);
  EXPECT_EQ(*num_code, nlohmann::json::parse(R"({"code": "42"})"));  // the schema says string
  auto browse = tool_call_arguments(
      {"simple_browser",
       "<arg_key>calls</arg_key><arg_value>[{\"fn\": \"search\", \"query\": \"q\"}]</arg_value>"},
      specs);
  ASSERT_TRUE(browse.ok());
  EXPECT_EQ(*browse, nlohmann::json::parse(R"({"calls": [{"fn": "search", "query": "q"}]})"));
  auto city =
      tool_call_arguments({"get_weather", "<arg_key>city</arg_key><arg_value>123</arg_value>"}, specs);
  EXPECT_EQ(*city, nlohmann::json::parse(R"({"city": "123"})"));
  auto unknown = tool_call_arguments({"nope", ""}, specs);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("python, simple_browser, get_weather"), std::string::npos);
  auto broken = tool_call_arguments({"python", "print(1)"}, specs);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kParse);
}

TEST(ToolFunctions, BuiltinsAndUserFunctions) {
  const ordered_json f = tool_function({"cogview", tools::ToolSpec::Kind::kBuiltin, {}});
  EXPECT_EQ(f["type"], "function");
  EXPECT_EQ(f["function"]["name"], "cogview");
  EXPECT_EQ(f["function"]["parameters"]["required"], ordered_json::parse(R"(["prompt"])"));
  const ordered_json fn =
      ordered_json::parse(R"({"name": "f", "description": "d", "parameters": {"type": "object"}})");
  EXPECT_EQ(
      tool_function({"f", tools::ToolSpec::Kind::kFunction, fn}).dump(),
      R"({"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}})");
  EXPECT_EQ(tool_parameters({"g", tools::ToolSpec::Kind::kFunction, ordered_json::object()}),
            ordered_json::object());
}

}  // namespace
}  // namespace alltools::protocol::glm45
