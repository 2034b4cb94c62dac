// The agent loop driven by a scripted model (real tokenizer, real template and parser, real user-function tools):
// a user function call, malformed calls recovered from, the repeat detector, the step limit, the context budget,
// approvals, cancellation and session resume.
#include "core/agent/agent.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "core/agent/session_store.h"
#include "tests/core/agent_test_support.h"
#include "model/scripted/scripted_model.h"
#include "tools/functions/function_registry.h"

namespace alltools::agent {
namespace {

using nlohmann::json;
using protocol::glm4::Role;
using testing::EventLog;
using model::ScriptedModel;
using namespace std::chrono_literals;

// A real user function: get_weather(city_name) -> {"city": ..., "weather": "sunny", "call": n}.
std::unique_ptr<tools::Tool> weather_tool(std::atomic<int>* calls, std::string padding = "") {
  tools::functions::FunctionSpec spec;
  spec.name = "get_weather";
  spec.description = "Get the current weather for a city";
  spec.parameters = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"city_name":{"type":"string"}},"required":["city_name"]})");
  auto tool = tools::functions::make_cpp_function_tool(
      spec, [calls, padding](const json& args, const tools::ToolContext&) -> Result<json> {
        const int n = ++*calls;
        return json{{"city", args["city_name"]}, {"weather", "sunny"}, {"call", n}, {"notes", padding}};
      });
  EXPECT_TRUE(tool.ok());
  return std::move(tool).value();
}

// A function that waits until its call is cancelled (or 30 s pass).
std::unique_ptr<tools::Tool> waiting_tool(std::atomic<bool>* started) {
  tools::functions::FunctionSpec spec;
  spec.name = "wait_forever";
  spec.description = "Waits";
  auto tool = tools::functions::make_cpp_function_tool(
      spec, [started](const json&, const tools::ToolContext& ctx) -> Result<json> {
        started->store(true);
        const auto until = std::chrono::steady_clock::now() + 30s;
        while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(2ms);
        return make_error(ErrorCode::kCancelled, "stopped");
      });
  return std::move(tool).value();
}

class AgentLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = testing::glm4_tokenizer();
    ASSERT_NE(tokenizer_, nullptr);
  }

  std::unique_ptr<Agent> make_agent(ScriptedModel& model, AgentOptions options = {}) {
    auto a = Agent::create(model, *tokenizer_, dispatcher_, std::move(options), log_.sink());
    EXPECT_TRUE(a.ok()) << a.error().message;
    return std::move(a).value();
  }

  std::shared_ptr<const model::Tokenizer> tokenizer_;
  Dispatcher dispatcher_;
  EventLog log_;
};

TEST_F(AgentLoopTest, UserFunctionCallThenAnswerReusesTheCache) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  ScriptedModel model(*tokenizer_, {"get_weather\n{\"city_name\": \"曼谷\"}<|observation|>",
                                    "\n曼谷今天晴，适合出门。<|user|>"});
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("曼谷天气怎么样？");
  EXPECT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(r.answer, "曼谷今天晴，适合出门。");
  EXPECT_EQ(r.tool_calls, 1);
  EXPECT_EQ(calls.load(), 1);

  // The model saw the tools system prompt with the function, the user's message, its call and the observation.
  ASSERT_EQ(model.prompts().size(), 2u);
  EXPECT_NE(model.prompts()[0].find("## get_weather"), std::string::npos);
  EXPECT_TRUE(model.prompts()[0].ends_with("<|user|>\n曼谷天气怎么样？<|assistant|>")) << model.prompts()[0];
  const auto observations = log_.of(EventKind::kObservation);
  ASSERT_EQ(observations.size(), 1u);
  EXPECT_NE(observations[0].text.find("sunny"), std::string::npos) << observations[0].text;
  EXPECT_TRUE(model.prompts()[1].ends_with("<|assistant|>get_weather\n{\"city_name\": \"曼谷\"}<|observation|>\n" +
                                           observations[0].text + "<|assistant|>"))
      << model.prompts()[1];
  // Only what was new was appended: the generated call stayed in the cache, nothing was re-prefilled.
  EXPECT_EQ(model.rewinds(), 0);
  const auto calls_ev = log_.of(EventKind::kToolCall);
  ASSERT_EQ(calls_ev.size(), 1u);
  EXPECT_EQ(calls_ev[0].tool, "get_weather");
  EXPECT_EQ(calls_ev[0].data["args"], json({{"city_name", "曼谷"}}));
  ASSERT_EQ(log_.of(EventKind::kAnswer).size(), 1u);
  std::string streamed;
  for (const auto& e : log_.of(EventKind::kToken)) streamed += e.text;
  EXPECT_EQ(streamed, "曼谷今天晴，适合出门。");
  EXPECT_EQ(log_.of(EventKind::kTurnEnd).back().data["status"], "answer");

  ASSERT_EQ(agent->messages().back().role, Role::kAssistant);
}

TEST_F(AgentLoopTest, MalformedCallsBecomeObservationsAndTheModelRecovers) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  ScriptedModel model(*tokenizer_, {
                                       "get_weather\n{city_name: 曼谷<|observation|>",        // not JSON
                                       "get_weather\n{\"city\": \"曼谷\"}<|observation|>",      // schema violation
                                       "simple_browser\nsearch(\"x\")<|observation|>",          // no such tool
                                       "get_weather\n{\"city_name\": \"Paris\"}<|observation|>",  // good
                                       "\nParis is sunny.<|user|>",
                                   });
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("Weather in Paris?");
  EXPECT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(r.answer, "Paris is sunny.");
  EXPECT_EQ(calls.load(), 1);
  const auto obs = log_.of(EventKind::kObservation);
  ASSERT_EQ(obs.size(), 4u);
  EXPECT_TRUE(obs[0].data["is_error"].get<bool>());
  EXPECT_TRUE(obs[1].data["is_error"].get<bool>());
  EXPECT_NE(obs[1].text.find("city_name"), std::string::npos) << "names the missing argument: " << obs[1].text;
  EXPECT_TRUE(obs[2].data["is_error"].get<bool>());
  EXPECT_NE(obs[2].text.find("get_weather"), std::string::npos) << "lists available tools: " << obs[2].text;
  EXPECT_FALSE(obs[3].data["is_error"].get<bool>());
  // The model saw each error as an observation.
  EXPECT_NE(model.prompts()[1].find("<|observation|>"), std::string::npos);
}

TEST_F(AgentLoopTest, RepeatDetectorStopsTheSameCall) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  const std::string same = "get_weather\n{\"city_name\": \"Oslo\"}<|observation|>";
  ScriptedModel model(*tokenizer_, {same, same, same, same, same, "\nDone.<|user|>"});
  AgentOptions o;
  o.limits.repeated_calls = 2;
  auto agent = make_agent(model, o);
  TurnResult r = agent->run_turn("Oslo?");
  EXPECT_EQ(r.status, TurnStatus::kLimit);
  EXPECT_NE(r.reason.find("repeating"), std::string::npos) << r.reason;
  EXPECT_EQ(calls.load(), 2) << "the third and fourth identical calls are not run";
  const auto obs = log_.of(EventKind::kObservation);
  ASSERT_EQ(obs.size(), 4u);
  EXPECT_NE(obs[2].text.find("already made 2 times"), std::string::npos) << obs[2].text;
  EXPECT_EQ(model.generate_calls(), 4);
}

TEST_F(AgentLoopTest, StepLimitEndsTheTurn) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  std::vector<std::string> script;
  for (int i = 0; i < 8; ++i) script.push_back("get_weather\n{\"city_name\": \"C" + std::to_string(i) + "\"}<|observation|>");
  ScriptedModel model(*tokenizer_, script);
  AgentOptions o;
  o.limits.tool_calls_per_turn = 3;
  auto agent = make_agent(model, o);
  TurnResult r = agent->run_turn("Tour the world");
  EXPECT_EQ(r.status, TurnStatus::kLimit);
  EXPECT_NE(r.reason.find("3 tool calls"), std::string::npos) << r.reason;
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(r.tool_calls, 3);
}

TEST_F(AgentLoopTest, DefaultStepLimitIsTen) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  std::vector<std::string> script;
  for (int i = 0; i < 20; ++i) script.push_back("get_weather\n{\"city_name\": \"C" + std::to_string(i) + "\"}<|observation|>");
  ScriptedModel model(*tokenizer_, script);
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("Tour the world");
  EXPECT_EQ(r.status, TurnStatus::kLimit);
  EXPECT_EQ(calls.load(), 10);
}

TEST_F(AgentLoopTest, ContextBudgetShortensOldestObservationsFirst) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls, std::string(1500, 'x') + " long report")).ok());
  std::vector<std::string> script;
  for (int i = 0; i < 4; ++i) script.push_back("get_weather\n{\"city_name\": \"C" + std::to_string(i) + "\"}<|observation|>");
  script.push_back("\nAll sunny.<|user|>");
  // The tools prompt is ~150 tokens; each observation ~200; 4 of them do not fit in 900 with 256 reserved.
  ScriptedModel model(*tokenizer_, script, {.max_context = 900});
  AgentOptions o;
  o.limits.context_reserve_tokens = 256;
  auto agent = make_agent(model, o);
  TurnResult r = agent->run_turn("Weather everywhere?");
  EXPECT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  const auto shrunk = log_.of(EventKind::kContextShrunk);
  ASSERT_FALSE(shrunk.empty());
  EXPECT_LT(shrunk[0].data["tokens_after"].get<int>(), shrunk[0].data["tokens_before"].get<int>());
  // The oldest observation was shortened, the newest kept whole; the user's message is intact.
  const auto& msgs = agent->messages();
  std::vector<const protocol::glm4::Message*> observations;
  for (const auto& m : msgs)
    if (m.role == Role::kObservation) observations.push_back(&m);
  ASSERT_EQ(observations.size(), 4u);
  EXPECT_NE(observations.front()->content.find("shortened to fit the context"), std::string::npos);
  EXPECT_NE(observations.back()->content.find("long report"), std::string::npos);
  EXPECT_EQ(msgs.front().content, "Weather everywhere?");
  EXPECT_LE(model.position(), 900);
}

TEST_F(AgentLoopTest, ContextThatCannotFitIsAnError) {
  ScriptedModel model(*tokenizer_, {"\nhi<|user|>"}, {.max_context = 40});
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn(std::string(400, 'a') + " tell me everything");
  EXPECT_EQ(r.status, TurnStatus::kError);
  EXPECT_NE(r.reason.find("does not fit"), std::string::npos) << r.reason;
}

TEST_F(AgentLoopTest, ApprovalAskDenyAndDecline) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  const std::string call = "get_weather\n{\"city_name\": \"Rome\"}<|observation|>";
  {
    ScriptedModel model(*tokenizer_, {call, "\nok<|user|>"});
    AgentOptions o;
    o.permission = [](std::string_view) { return Permission::kAsk; };
    std::vector<ApprovalRequest> asked;
    o.approver = [&](const ApprovalRequest& req) {
      asked.push_back(req);
      return false;
    };
    auto agent = make_agent(model, o);
    TurnResult r = agent->run_turn("Rome?");
    EXPECT_EQ(r.status, TurnStatus::kAnswer);
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].tool, "get_weather");
    EXPECT_EQ(asked[0].args["city_name"], "Rome");
    EXPECT_EQ(calls.load(), 0);
    EXPECT_NE(log_.of(EventKind::kObservation)[0].text.find("declined"), std::string::npos);
  }
  {
    ScriptedModel model(*tokenizer_, {call, "\nok<|user|>"});
    AgentOptions o;
    o.permission = [](std::string_view) { return Permission::kAsk; };  // no approver: autonomous mode
    auto agent = make_agent(model, o);
    EXPECT_EQ(agent->run_turn("Rome?").status, TurnStatus::kAnswer);
    EXPECT_EQ(calls.load(), 0);
  }
  {
    ScriptedModel model(*tokenizer_, {call, "\nok<|user|>"});
    AgentOptions o;
    o.permission = [](std::string_view tool) { return tool == "get_weather" ? Permission::kDeny : Permission::kAllow; };
    auto agent = make_agent(model, o);
    EXPECT_EQ(agent->run_turn("Rome?").status, TurnStatus::kAnswer);
    EXPECT_EQ(calls.load(), 0);
    EXPECT_NE(log_.of(EventKind::kObservation).back().text.find("disabled by the policy"), std::string::npos);
  }
  {
    ScriptedModel model(*tokenizer_, {call, "\nok<|user|>"});
    AgentOptions o;
    o.permission = [](std::string_view) { return Permission::kAsk; };
    o.approver = [](const ApprovalRequest&) { return true; };
    auto agent = make_agent(model, o);
    EXPECT_EQ(agent->run_turn("Rome?").status, TurnStatus::kAnswer);
    EXPECT_EQ(calls.load(), 1);
  }
}

TEST_F(AgentLoopTest, CancellationEndsTheStepNotTheConversation) {
  std::atomic<bool> started{false};
  ASSERT_TRUE(dispatcher_.add(waiting_tool(&started)).ok());
  ScriptedModel model(*tokenizer_, {"wait_forever\n{}<|observation|>", "\nA long answer that is cut off midway.<|user|>",
                                    "\nFresh answer.<|user|>"});
  auto agent = make_agent(model);
  std::thread canceller([&] {
    while (!started.load()) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(20ms);
    agent->cancel();
  });
  TurnResult r = agent->run_turn("Wait for me");
  canceller.join();
  EXPECT_EQ(r.status, TurnStatus::kCancelled) << r.reason;
  EXPECT_EQ(log_.of(EventKind::kObservation).back().text, "Cancelled by the user.");

  // Cancellation while tokens stream.
  model.set_token_delay(5ms);
  std::thread canceller2([&] {
    std::this_thread::sleep_for(30ms);
    agent->cancel();
  });
  r = agent->run_turn("Now answer slowly");
  canceller2.join();
  EXPECT_EQ(r.status, TurnStatus::kCancelled) << r.reason;

  // The conversation goes on; the half-generated answer is not part of it.
  model.set_token_delay(0ms);
  r = agent->run_turn("And now?");
  EXPECT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(r.answer, "Fresh answer.");
  EXPECT_EQ(model.prompts().back().find("cut off midway"), std::string::npos) << model.prompts().back();
}

TEST_F(AgentLoopTest, SessionResumeRestoresTheConversation) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  const auto root = testing::temp_dir("resume");
  {
    auto store = SessionStore::open(root, "trip");
    ASSERT_TRUE(store.ok());
    ScriptedModel model(*tokenizer_, {"get_weather\n{\"city_name\": \"Lima\"}<|observation|>", "\nLima: sunny.<|user|>"});
    auto a = Agent::create(model, *tokenizer_, dispatcher_, {}, [&](const Event& e) { (void)store->append(e); });
    ASSERT_TRUE(a.ok());
    EXPECT_EQ((*a)->run_turn("Lima?").status, TurnStatus::kAnswer);
  }
  auto store = SessionStore::open(root, "trip");
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(store->resumed());
  auto events = store->load();
  ASSERT_TRUE(events.ok()) << events.error().message;
  auto restored = messages_from_events(*events);
  ASSERT_EQ(restored.size(), 4u);  // user, call, observation, answer
  ScriptedModel model(*tokenizer_, {"\nStill sunny in Lima.<|user|>"});
  auto agent = make_agent(model);
  agent->restore(restored);
  TurnResult r = agent->run_turn("And tomorrow?");
  EXPECT_EQ(r.status, TurnStatus::kAnswer);
  const std::string& prompt = model.prompts()[0];
  EXPECT_NE(prompt.find("<|user|>\nLima?<|assistant|>get_weather\n{\"city_name\": \"Lima\"}<|observation|>"),
            std::string::npos)
      << prompt;
  EXPECT_NE(prompt.find("Lima: sunny.<|user|>\nAnd tomorrow?<|assistant|>"), std::string::npos) << prompt;
  std::filesystem::remove_all(root);
}

// continue_turn(): a conversation restored with a call that has no observation yet (a session cut off mid-call, or
// an eval's prefilled failing call) runs that call first, then the model continues without a new user message.
TEST_F(AgentLoopTest, ContinueTurnRunsThePendingCallThenGenerates) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  ScriptedModel model(*tokenizer_, {"get_weather\n{\"city_name\": \"Lima\"}<|observation|>", "\nLima: sunny.<|user|>"});
  auto agent = make_agent(model);
  agent->restore({protocol::glm4::user_message("Lima?"),
                  protocol::glm4::assistant_tool_call("get_wether", "{\"city_name\": \"Lima\"}")});
  const TurnResult r = agent->continue_turn();
  EXPECT_EQ(r.status, TurnStatus::kAnswer);
  EXPECT_EQ(r.answer, "Lima: sunny.");
  EXPECT_EQ(calls.load(), 1);  // the pending call named no real tool; the model's own call ran once
  const auto observations = log_.of(EventKind::kObservation);
  ASSERT_EQ(observations.size(), 2u);
  EXPECT_NE(observations[0].text.find("unknown tool 'get_wether'"), std::string::npos) << observations[0].text;
  EXPECT_TRUE(observations[0].data.value("is_error", false));
  EXPECT_FALSE(observations[1].data.value("is_error", true));
  // the model saw the failed call and its error before generating, and no new user message
  const std::string& prompt = model.prompts()[0];
  EXPECT_NE(prompt.find("<|user|>\nLima?<|assistant|>get_wether\n{\"city_name\": \"Lima\"}<|observation|>\n"
                        "unknown tool 'get_wether'"),
            std::string::npos)
      << prompt;
  EXPECT_EQ(prompt.find("<|user|>", prompt.find("Lima?")), std::string::npos) << prompt;
}

// continue_turn() on a conversation that ends with an observation just lets the model continue.
TEST_F(AgentLoopTest, ContinueTurnWithoutAPendingCallGenerates) {
  ScriptedModel model(*tokenizer_, {"\nDone.<|user|>"});
  auto agent = make_agent(model);
  agent->restore({protocol::glm4::user_message("Hi")});
  const TurnResult r = agent->continue_turn();
  EXPECT_EQ(r.status, TurnStatus::kAnswer);
  EXPECT_EQ(r.answer, "Done.");
  EXPECT_EQ(r.tool_calls, 0);
}

TEST_F(AgentLoopTest, AnswerThenCallInOneSampleAndResetClears) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(dispatcher_.add(weather_tool(&calls)).ok());
  ScriptedModel model(*tokenizer_, {"\nLet me check.<|assistant|>get_weather\n{\"city_name\": \"Kyiv\"}<|observation|>",
                                    "\nKyiv is sunny.<|user|>", "\nHello again.<|user|>"});
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("Kyiv?");
  EXPECT_EQ(r.status, TurnStatus::kAnswer);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(r.answer, "Kyiv is sunny.");
  agent->reset();
  EXPECT_TRUE(agent->messages().empty());
  r = agent->run_turn("Hi");
  EXPECT_EQ(r.status, TurnStatus::kAnswer);
  EXPECT_EQ(model.prompts().back().find("Kyiv"), std::string::npos) << "reset forgot the earlier turn";
  EXPECT_EQ(log_.of(EventKind::kReset).size(), 1u);
}

}  // namespace
}  // namespace alltools::agent
