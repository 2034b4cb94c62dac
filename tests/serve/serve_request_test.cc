// The pure parts of alltools serve: request validation, OpenAI chat <-> GLM-4 mapping (with the real GLM-4
// tokenizer), text stops and API-key checks.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "apps/serve/api_keys.h"
#include "apps/serve/chat_prompt.h"
#include "apps/serve/openai_request.h"
#include "apps/serve/text_stops.h"

namespace alltools::serve {
namespace {

using nlohmann::json;
namespace glm4 = protocol::glm4;

std::shared_ptr<const model::Tokenizer> glm4_tokenizer() {
  static std::shared_ptr<const model::Tokenizer> t = [] {
    auto r = model::load_tokenizer(std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/tokenizer.model");
    ALLTOOLS_CHECK_MSG(r.ok(), "glm-4 tokenizer");
    return std::shared_ptr<const model::Tokenizer>(std::move(r).value());
  }();
  return t;
}

ChatRequest chat(const json& body) {
  auto p = parse_chat_request(body);
  if (auto* e = std::get_if<ApiError>(&p)) ADD_FAILURE() << e->message;
  return std::get<ChatRequest>(std::move(p));
}

ApiError chat_error(const json& body) {
  auto p = parse_chat_request(body);
  EXPECT_TRUE(std::holds_alternative<ApiError>(p)) << body.dump();
  return std::holds_alternative<ApiError>(p) ? std::get<ApiError>(p) : ApiError{};
}

TEST(ServeRequest, ParsesAFullChatRequest) {
  ChatRequest r = chat(json::parse(R"({
    "model": "glm", "temperature": 0.5, "top_p": 0.9, "seed": 7, "max_tokens": 33, "stop": "END", "n": 1,
    "stream": true, "stream_options": {"include_usage": true},
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
               "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}},
    "messages": [{"role": "system", "content": "be brief"},
                 {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                 {"role": "assistant", "content": null,
                  "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}]},
                 {"role": "tool", "tool_call_id": "call_1", "content": "2"}]})"));
  EXPECT_EQ(r.model, "glm");
  EXPECT_FLOAT_EQ(r.gen.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.gen.top_p, 0.9f);
  EXPECT_EQ(r.gen.seed, 7u);
  EXPECT_EQ(r.gen.max_tokens, 33);
  EXPECT_EQ(r.gen.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(r.gen.stream);
  EXPECT_TRUE(r.gen.include_usage);
  ASSERT_EQ(r.tools.size(), 1u);
  EXPECT_EQ(r.tools[0].function["parameters"]["properties"]["x"]["type"], "integer");
  EXPECT_EQ(r.tool_choice.kind, ToolChoice::Kind::kNamed);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[1].content, "ab");
  EXPECT_EQ(r.messages[2].tool_calls[0], (ChatToolCall{"call_1", "f", "{\"x\":1}"}));
  EXPECT_EQ(r.messages[3].role, ChatRole::kTool);
}

TEST(ServeRequest, RejectsWithTheOffendingParam) {
  const json user = {{"role", "user"}, {"content", "x"}};
  EXPECT_EQ(chat_error({{"messages", {user}}, {"top_p", 0}}).param, "top_p");
  EXPECT_EQ(chat_error({{"messages", {user}}, {"seed", 1.5}}).param, "seed");
  EXPECT_EQ(chat_error({{"messages", {user}}, {"stop", {"a", "b", "c", "d", "e"}}}).param, "stop");
  EXPECT_EQ(chat_error({{"messages", {user}}, {"stop", ""}}).param, "stop");
  EXPECT_EQ(chat_error({{"messages", {user}}, {"logprobs", true}}).param, "logprobs");
  EXPECT_EQ(chat_error({{"messages", {user}}, {"max_tokens", 18446744073709551615ull}}).param, "max_tokens");
  EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}).param,
            "messages[0].content[0].type");
  EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}}}}}).param, "messages[0].content");
  EXPECT_EQ(chat_error({{"messages", {user}}, {"tools", {{{"type", "function"}, {"function", {{"name", "a b"}}}}}}}).param,
            "tools[0].function.name");
  EXPECT_EQ(chat_error({{"messages", {user}}, {"tool_choice", "required"}}).param, "tool_choice");
  EXPECT_EQ(chat_error({{"messages", {{{"role", "user"}, {"content", "x"}, {"tool_calls", json::array()}}}}}).param,
            "messages[0].tool_calls");
  // Unknown fields are ignored, null is "default".
  ChatRequest r = chat({{"messages", {user}}, {"frequency_penalty", 0}, {"user", "u"}, {"temperature", nullptr}});
  EXPECT_FLOAT_EQ(r.gen.temperature, 1.0f);
}

TEST(ServeRequest, JsonBodyLimits) {
  EXPECT_TRUE(std::holds_alternative<json>(parse_json_body(R"({"a": "[[[[[[["})")));
  const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_json_body(deep)));
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_json_body("\"str\"")));
  EXPECT_TRUE(std::holds_alternative<ApiError>(parse_json_body("{\"a\": 1")));
}

TEST(ServeRequest, CompletionAndRunRequests) {
  auto c = parse_completion_request({{"prompt", {"hello"}}, {"skip_special_tokens", false}});
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(c));
  EXPECT_EQ(std::get<CompletionRequest>(c).prompt, "hello");
  EXPECT_EQ(std::get<CompletionRequest>(c).gen.max_tokens, 16);
  EXPECT_FALSE(std::get<CompletionRequest>(c).skip_special_tokens);
  auto bad = parse_completion_request({{"prompt", {"a", "b"}}});
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad));
  EXPECT_EQ(std::get<ApiError>(bad).param, "prompt");
  auto run = parse_run_request({{"input", "2+2?"}, {"stream", false}});
  ASSERT_TRUE(std::holds_alternative<RunRequest>(run));
  EXPECT_FALSE(std::get<RunRequest>(run).stream);
  EXPECT_EQ(std::get<ApiError>(parse_run_request(json::object())).param, "input");
}

TEST(ServeChatPrompt, RendersCallsAndObservationsAsTheTemplateDoes) {
  auto tok = glm4_tokenizer();
  auto tmpl = glm4::ChatTemplate::create(*tok);
  ASSERT_TRUE(tmpl.ok());
  ChatRequest r = chat(json::parse(R"({
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    "messages": [{"role": "user", "content": "weather?"},
                 {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                   "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                 {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]})"));
  auto p = render_chat_prompt(r, *tmpl);
  ASSERT_TRUE(std::holds_alternative<ChatPrompt>(p));
  const std::vector<glm4::Message> expected = {glm4::user_message("weather?"),
                                               glm4::assistant_tool_call("get_weather", "{\"city\": \"Paris\"}"),
                                               glm4::observation_message("", "sunny")};
  EXPECT_EQ(tok->decode_bytes(std::get<ChatPrompt>(p).ids),
            tok->decode_bytes(tmpl->render(r.tools, expected, true)));
  // tool_choice "none" offers no tools; a named choice writes the name for the model.
  r.tool_choice.kind = ToolChoice::Kind::kNone;
  EXPECT_EQ(tok->decode_bytes(std::get<ChatPrompt>(render_chat_prompt(r, *tmpl)).ids),
            tok->decode_bytes(tmpl->render({}, expected, true)));
  r.tool_choice = {ToolChoice::Kind::kNamed, "get_weather"};
  const std::string named = tok->decode_bytes(std::get<ChatPrompt>(render_chat_prompt(r, *tmpl)).ids);
  EXPECT_EQ(named.substr(named.size() - std::string("<|assistant|>get_weather\n").size()),
            "<|assistant|>get_weather\n");
  // Arguments that are not a JSON object are the client's error.
  r.messages[1].tool_calls[0].arguments = "[1]";
  auto bad = render_chat_prompt(r, *tmpl);
  ASSERT_TRUE(std::holds_alternative<ApiError>(bad));
  EXPECT_EQ(std::get<ApiError>(bad).param, "messages[1].tool_calls[0].function.arguments");
}

TEST(ServeChatPrompt, ReaderTurnsGeneratedIdsIntoContentAndCalls) {
  auto tok = glm4_tokenizer();
  std::vector<tools::ToolSpec> tools(1);
  tools[0].name = "get_weather";
  tools[0].function = {{"name", "get_weather"}};
  ChatOutputReader reader(*tok, tools, "");
  std::vector<ChatDelta> all;
  for (model::TokenId id : tok->encode_with_special("get_weather\n{\"city\": \"Paris\"}<|observation|>")) {
    auto d = reader.push(id);
    all.insert(all.end(), d.begin(), d.end());
  }
  auto d = reader.finish();
  all.insert(all.end(), d.begin(), d.end());
  ASSERT_EQ(reader.tool_calls().size(), 1u);
  EXPECT_EQ(reader.tool_calls()[0].name, "get_weather");
  EXPECT_EQ(json::parse(reader.tool_calls()[0].arguments), (json{{"city", "Paris"}}));
  EXPECT_TRUE(reader.content().empty());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, ChatDelta::Kind::kToolCallStart);
  EXPECT_EQ(all[1].kind, ChatDelta::Kind::kToolCallArguments);

  ChatOutputReader answer(*tok, {}, "");
  for (model::TokenId id : tok->encode_with_special("\nHello 世界<|user|>")) answer.push(id);
  answer.finish();
  EXPECT_EQ(answer.content(), "Hello 世界");
  // A call of a tool that was not offered stays text.
  ChatOutputReader unoffered(*tok, tools, "");
  for (model::TokenId id : tok->encode_with_special("python\nprint(1)<|observation|>")) unoffered.push(id);
  unoffered.finish();
  EXPECT_TRUE(unoffered.tool_calls().empty());
  EXPECT_EQ(unoffered.content(), "python\nprint(1)");
  // With the name forced by tool_choice, the reader starts inside the call.
  ChatOutputReader forced(*tok, tools, "get_weather\n");
  for (model::TokenId id : tok->encode_with_special("{\"city\": \"Rome\"}<|observation|>")) forced.push(id);
  forced.finish();
  ASSERT_EQ(forced.tool_calls().size(), 1u);
  EXPECT_EQ(json::parse(forced.tool_calls()[0].arguments), (json{{"city", "Rome"}}));
}

TEST(ServeTextStops, HoldsBackPossibleStartsAndCutsAtTheFirstStop) {
  TextStopper s({"STOP", "xy"});
  std::string out = s.push("abc ST");
  EXPECT_EQ(out, "abc");  // " ST" could start "STOP"
  out += s.push("OR more");
  EXPECT_FALSE(s.stopped());
  out += s.push(" text x");
  out += s.push("y tail");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.matched(), "xy");
  EXPECT_EQ(out, "abc STOR more text ");
  EXPECT_EQ(s.push("more"), "");
  TextStopper none({});
  EXPECT_EQ(none.push("héllo"), "héllo");
  TextStopper utf({"abcd"});
  std::string u = utf.push("日本");  // 6 bytes; 3 held back, never half a character
  u += utf.finish();
  EXPECT_EQ(u, "日本");
}

TEST(ServeApiKeys, ConstantTimeCompareAndSlots) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  auto keys = ApiKeys::from_keys({"k1-aaaaaaaaaaaaaaaa", "k2-bbbbbbbbbbbbbbbb"}, 2);
  EXPECT_EQ(keys->check("k2-bbbbbbbbbbbbbbbb"), 1u);
  EXPECT_FALSE(keys->check("k2-bbbbbbbbbbbbbbb"));
  auto a = keys->acquire(0);
  auto b = keys->acquire(0);
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(keys->acquire(0));
  EXPECT_TRUE(keys->acquire(1));
  a.reset();
  EXPECT_TRUE(keys->acquire(0));
}

}  // namespace
}  // namespace alltools::serve
