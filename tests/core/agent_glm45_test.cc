// The agent loop in the GLM-4.5/4.6 format, end to end with the real Agent, tokenizer, template, parser and a
// real user-function tool:
//   - a scripted model (reasoning shown or hidden, never executed; reasoning dropped from the next turn's
//   prompt)
//   - a remote completion endpoint double (a real loopback HTTP server speaking OpenAI's streaming
//   completions)
//     that replies in GLM-4.5 text, cut at awkward places
//   - a remote chat endpoint double that replies with OpenAI reasoning_content and tool_calls deltas
// Each drives a tool call to an answer.
#include <gtest/gtest.h>

#include <atomic>

#include "core/protocol/glm45/chat_mapping.h"
#include "core/protocol/tool_functions.h"
#include "model/remote/remote_model.h"
#include "model/scripted/scripted_model.h"
#include "tests/core/agent_test_support.h"
#include "tests/remote/loopback_http_server.h"
#include "tools/functions/function_registry.h"

namespace alltools::agent {
namespace {

using nlohmann::json;
using testing::chat_chunk;
using testing::completion_chunk;
using testing::LoopbackHttpServer;
using testing::ScriptedResponse;
using namespace std::chrono_literals;

std::unique_ptr<tools::Tool> weather_tool(std::atomic<int>* calls, json* last_args) {
  tools::functions::FunctionSpec spec;
  spec.name = "get_weather";
  spec.description = "Get the current weather for a city";
  spec.parameters = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"city_name":{"type":"string"},"days":{"type":"integer"}},"required":["city_name"]})");
  auto tool = tools::functions::make_cpp_function_tool(
      spec, [calls, last_args](const json& args, const tools::ToolContext&) -> Result<json> {
        ++*calls;
        *last_args = args;
        return json{{"city", args["city_name"]}, {"weather", "sunny"}};
      });
  EXPECT_TRUE(tool.ok());
  return std::move(tool).value();
}

constexpr const char* kObservation = R"({"city": "曼谷", "weather": "sunny"})";

class AgentGlm45Test : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = testing::glm4_tokenizer();
    ASSERT_NE(tokenizer_, nullptr);
    ASSERT_TRUE(dispatcher_.add(weather_tool(&calls_, &args_)).ok());
  }
  std::unique_ptr<Agent> make_agent(model::LanguageModel& model, bool show_reasoning = true) {
    AgentOptions o;
    o.format = protocol::Format::kGlm45;
    o.show_reasoning = show_reasoning;
    auto a = Agent::create(model, *tokenizer_, dispatcher_, std::move(o), log_.sink());
    EXPECT_TRUE(a.ok()) << a.error().message;
    return std::move(a).value();
  }
  std::string reasoning_events() const {
    std::string out;
    for (const Event& e : log_.of(EventKind::kReasoning)) out += e.text;
    return out;
  }

  std::shared_ptr<const model::Tokenizer> tokenizer_;
  Dispatcher dispatcher_;
  testing::EventLog log_;
  std::atomic<int> calls_{0};
  json args_;
};

TEST_F(AgentGlm45Test, ScriptedCallThenAnswerAndReasoningLeavesTheNextTurn) {
  model::ScriptedModel model(
      *tokenizer_,
      {"\n<think>需要查天气。</think>\n<tool_call>get_weather\n<arg_key>city_name</arg_key>\n<arg_value>曼谷"
       "</arg_value>\n<arg_key>days</arg_key>\n<arg_value>2</arg_value>\n</tool_call><|observation|>",
       "\n<think>晴。</think>\n曼谷今天晴。<|user|>", "\n<think>客气。</think>\n不客气。<|user|>"});
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("曼谷天气？");
  ASSERT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(r.answer, "曼谷今天晴。");
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_EQ(args_, json::parse(R"({"city_name": "曼谷", "days": 2})"));
  EXPECT_EQ(reasoning_events(), "需要查天气。晴。");
  // GLM-4's header and JSON-body constraints do not apply to this format.
  for (const Event& e : log_.of(EventKind::kTiming)) {
    EXPECT_FALSE(e.data.contains("header_choice") || e.data.contains("arg_constraint_seconds")) << e.data;
  }
  // Within the turn the reasoning is shown again, and the observation is a <tool_response>.
  ASSERT_EQ(model.prompts().size(), 2u);
  EXPECT_NE(model.prompts()[1].find("<|assistant|>\n<think>需要查天气。</think>\n<tool_call>get_weather\n"),
            std::string::npos)
      << model.prompts()[1];
  EXPECT_NE(model.prompts()[1].find(std::string("<|observation|>\n<tool_response>\n") + kObservation +
                                    "\n</tool_response><|assistant|>"),
            std::string::npos)
      << model.prompts()[1];
  ASSERT_EQ(agent->messages().size(), 4u);
  EXPECT_EQ(agent->messages()[1].reasoning, "需要查天气。");
  // The next turn's prompt drops it (as the official template does).
  r = agent->run_turn("谢谢");
  ASSERT_EQ(r.status, TurnStatus::kAnswer);
  EXPECT_EQ(model.prompts()[2].find("需要查天气"), std::string::npos) << model.prompts()[2];
  EXPECT_NE(
      model.prompts()[2].find("<|assistant|>\n<think></think>\n曼谷今天晴。<|user|>\n谢谢<|assistant|>"),
      std::string::npos)
      << model.prompts()[2];
  // Sessions keep the reasoning.
  const auto restored = messages_from_events(log_.events);
  ASSERT_EQ(restored.size(), agent->messages().size());
  EXPECT_EQ(restored[1], agent->messages()[1]);
}

TEST_F(AgentGlm45Test, ReasoningIsNeverExecutedAndHiddenByDefault) {
  model::ScriptedModel model(
      *tokenizer_, {"\n<think>I could call <tool_call>get_weather\n<arg_key>city_name</arg_key>\n<arg_value>"
                    "x</arg_value>\n</tool_call> but no.</think>\nNo call needed.<|user|>"});
  auto agent = make_agent(model, /*show_reasoning=*/false);
  TurnResult r = agent->run_turn("hi");
  ASSERT_EQ(r.status, TurnStatus::kAnswer);
  EXPECT_EQ(r.answer, "No call needed.");
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_TRUE(log_.of(EventKind::kReasoning).empty());
  EXPECT_TRUE(log_.of(EventKind::kToolCall).empty());
}

TEST_F(AgentGlm45Test, MalformedArgumentsBecomeAnObservationTheModelCanFix) {
  model::ScriptedModel model(
      *tokenizer_, {"\n<think></think>\n<tool_call>get_weather\ncity_name=曼谷\n</tool_call><|observation|>",
                    "\n<think></think>\n<tool_call>get_weather\n<arg_key>city_name</arg_key>\n<arg_value>曼谷"
                    "</arg_value>\n</tool_call><|observation|>",
                    "\n<think></think>\nSunny.<|user|>"});
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("weather?");
  ASSERT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_NE(model.prompts()[1].find("<arg_key>name</arg_key><arg_value>value</arg_value> pairs"),
            std::string::npos)
      << model.prompts()[1];
}

model::RemoteOptions remote_options(const LoopbackHttpServer& server, model::RemoteOptions::Mode mode) {
  model::RemoteOptions o;
  o.endpoint = server.base_url();
  o.model = "glm-4.5-air";
  o.mode = mode;
  o.initial_backoff = 5ms;
  o.request_timeout = 20s;
  return o;
}

TEST_F(AgentGlm45Test, RemoteCompletionEndpointSpeakingGlm45) {
  LoopbackHttpServer server;
  // The reply is cut inside <think>, inside <arg_key> and inside the closing tag, as a server's chunks may
  // be.
  server.enqueue(ScriptedResponse{
      200,
      {"Content-Type: text/event-stream"},
      {completion_chunk("\n<thi"), completion_chunk("nk>查天气</th"),
       completion_chunk("ink>\n<tool_call>get_weather\n<arg_k"), completion_chunk("ey>city_na"),
       completion_chunk("me</arg_key>\n<arg_value>曼谷</arg_value>\n</tool_"),
       completion_chunk("call>", "stop", "<|observation|>"), "data: [DONE]\n\n"}});
  server.enqueue(ScriptedResponse{200,
                                  {"Content-Type: text/event-stream"},
                                  {completion_chunk("\n<think></think>\n曼谷"),
                                   completion_chunk("今天晴。", "stop", "<|user|>"), "data: [DONE]\n\n"}});
  auto model =
      model::make_remote_model(remote_options(server, model::RemoteOptions::Mode::kCompletion), tokenizer_);
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto agent = make_agent(**model);
  TurnResult r = agent->run_turn("曼谷天气？");
  ASSERT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(r.answer, "曼谷今天晴。");
  EXPECT_EQ(args_, json::parse(R"({"city_name": "曼谷"})"));
  EXPECT_EQ(reasoning_events(), "查天气");

  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const json first = json::parse(reqs[0].body);
  auto profile = protocol::make_format_profile(*tokenizer_, {.format = protocol::Format::kGlm45});
  ASSERT_TRUE(profile.ok());
  const std::vector<protocol::glm4::Message> asked = {protocol::glm4::user_message("曼谷天气？")};
  EXPECT_EQ(first["prompt"], (*profile)->render_text(dispatcher_.specs(), asked, true));
  EXPECT_EQ(first["stop"], json::parse(R"(["<|endoftext|>", "<|user|>", "<|observation|>"])"));
  const std::string second = json::parse(reqs[1].body)["prompt"];
  EXPECT_TRUE(
      second.ends_with(std::string("<|assistant|>\n<think>查天气</think>\n<tool_call>get_weather\n<arg_key>"
                                   "city_name</arg_key>\n<arg_value>曼谷</arg_value>\n</tool_call>"
                                   "<|observation|>\n<tool_response>\n") +
                       kObservation + "\n</tool_response><|assistant|>"))
      << second;
}

// What the app wires for a GLM-4.5 chat endpoint (apps/alltools/wiring.cc does the same).
void use_glm45_chat(model::RemoteOptions& o, const model::Tokenizer& tokenizer,
                    std::vector<tools::ToolSpec> specs) {
  for (const tools::ToolSpec& s : specs) o.chat_tools.push_back(json(protocol::tool_function(s)));
  o.chat_messages = [&tokenizer, specs](std::span<const model::TokenId> tokens) {
    return protocol::glm45::chat_messages(tokens, tokenizer, specs);
  };
  o.chat_reply_format = protocol::glm45::chat_reply_format<model::ChatReplyFormat>;
}

TEST_F(AgentGlm45Test, RemoteChatEndpointWithReasoningAndToolCalls) {
  LoopbackHttpServer server;
  server.enqueue(ScriptedResponse{
      200,
      {"Content-Type: text/event-stream"},
      {chat_chunk({{"role", "assistant"}, {"reasoning_content", "查"}}),
       chat_chunk({{"reasoning_content", "天气"}}),
       chat_chunk({{"tool_calls",
                    {{{"index", 0},
                      {"id", "call_x"},
                      {"type", "function"},
                      {"function", {{"name", "get_weather"}, {"arguments", "{\"city_name\": \"曼"}}}}}}}),
       chat_chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "谷\", \"days\": 3}"}}}}}}}),
       chat_chunk(json::object(), "tool_calls"), "data: [DONE]\n\n"}});
  server.enqueue(
      ScriptedResponse{200,
                       {"Content-Type: text/event-stream"},
                       {chat_chunk({{"reasoning_content", "晴"}}), chat_chunk({{"content", "曼谷今天晴。"}}),
                        chat_chunk(json::object(), "stop"), "data: [DONE]\n\n"}});
  model::RemoteOptions o = remote_options(server, model::RemoteOptions::Mode::kChat);
  use_glm45_chat(o, *tokenizer_, dispatcher_.specs());
  auto model = model::make_remote_model(std::move(o), tokenizer_);
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto agent = make_agent(**model);
  TurnResult r = agent->run_turn("曼谷天气？");
  ASSERT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(r.answer, "曼谷今天晴。");
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_EQ(args_, json::parse(R"({"city_name": "曼谷", "days": 3})"));
  EXPECT_EQ(reasoning_events(), "查天气晴");

  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const json first = json::parse(reqs[0].body);
  EXPECT_EQ(first["messages"], json::parse(R"([{"role": "user", "content": "曼谷天气？"}])"));
  EXPECT_EQ(first["tools"][0]["function"]["name"], "get_weather");
  const json second = json::parse(reqs[1].body);
  EXPECT_EQ(second["messages"], json::parse(std::string(R"([
      {"role": "user", "content": "曼谷天气？"},
      {"role": "assistant", "content": "", "reasoning_content": "查天气", "tool_calls": [
        {"id": "call_0", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city_name\":\"曼谷\",\"days\":3}"}}]},
      {"role": "tool", "tool_call_id": "call_0", "content": )") +
                                            json(kObservation).dump() + "}]"));
}

}  // namespace
}  // namespace alltools::agent
