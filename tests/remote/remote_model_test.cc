// The remote backend against a real loopback HTTP server speaking the OpenAI streaming protocol: raw completions,
// chat completions with tool calls, 429/5xx retries, dropped connections, timeouts, auth errors, cancellation.
#include "model/remote/remote_model.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/remote/loopback_http_server.h"

namespace alltools::model {
namespace {

using nlohmann::json;
using testing::chat_chunk;
using testing::completion_chunk;
using testing::LoopbackHttpServer;
using testing::ScriptedResponse;
using namespace std::chrono_literals;

std::shared_ptr<const Tokenizer> glm4_tokenizer() {
  const std::string path = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/tokenizer.model";
  auto t = load_tokenizer(path);
  if (!t.ok()) ADD_FAILURE() << "needs " << path << ": " << t.error().message;
  return t.ok() ? std::shared_ptr<const Tokenizer>(std::move(t).value()) : nullptr;
}

TokenId special(const Tokenizer& t, const char* s) { return t.special_id(s).value(); }

class RemoteModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = glm4_tokenizer();
    ASSERT_NE(tokenizer_, nullptr);
  }

  RemoteOptions options(RemoteOptions::Mode mode = RemoteOptions::Mode::kCompletion) {
    RemoteOptions o;
    o.endpoint = server_.base_url();
    o.api_key = "sk-test";
    o.model = "glm-4-9b-chat";
    o.mode = mode;
    o.initial_backoff = 5ms;
    o.max_backoff = 50ms;
    o.request_timeout = 10s;
    return o;
  }

  std::unique_ptr<LanguageModel> make(const RemoteOptions& o) {
    auto m = make_remote_model(o, tokenizer_);
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m.ok() ? std::move(m).value() : nullptr;
  }

  // [gMASK]<sop><|user|>\n{text}<|assistant|>
  std::vector<TokenId> user_prompt(const std::string& text) {
    std::vector<TokenId> ids = {special(*tokenizer_, "[gMASK]"), special(*tokenizer_, "<sop>"),
                                special(*tokenizer_, "<|user|>")};
    for (TokenId id : tokenizer_->encode("\n" + text)) ids.push_back(id);
    ids.push_back(special(*tokenizer_, "<|assistant|>"));
    return ids;
  }

  GenerateRequest request() {
    GenerateRequest r;
    r.stop_ids = {special(*tokenizer_, "<|endoftext|>"), special(*tokenizer_, "<|user|>"),
                  special(*tokenizer_, "<|observation|>")};
    r.max_new_tokens = 64;
    return r;
  }

  std::string text_of(const std::vector<TokenId>& ids) { return tokenizer_->decode_bytes(ids); }

  LoopbackHttpServer server_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

TEST_F(RemoteModelTest, CompletionStreamsTheRenderedPromptAndReadsTokensBack) {
  server_.enqueue({200, {}, {completion_chunk("\nHello"), completion_chunk(", 世界"),
                             completion_chunk("", "stop", "<|user|>"), LoopbackHttpServer::sse("[DONE]")}});
  auto model = make(options());
  const auto prompt = user_prompt("Say hello <|user|>");
  ASSERT_TRUE(model->append(prompt).ok());
  std::string streamed;
  auto r = model->generate(request(), [&](TokenId id) {
    streamed += tokenizer_->decode_bytes(std::span<const TokenId>(&id, 1));
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->finish, FinishReason::kStopToken);
  ASSERT_FALSE(r->tokens.empty());
  EXPECT_EQ(r->tokens.back(), special(*tokenizer_, "<|user|>"));
  EXPECT_EQ(streamed, "\nHello, 世界<|user|>");
  EXPECT_EQ(model->position(), static_cast<int>(prompt.size() + r->tokens.size()));

  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/v1/completions");
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer sk-test");
  const json body = json::parse(reqs[0].body);
  EXPECT_EQ(body["prompt"], "[gMASK]<sop><|user|>\nSay hello <|user|><|assistant|>");
  EXPECT_EQ(body["model"], "glm-4-9b-chat");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stop"], json({"<|endoftext|>", "<|user|>", "<|observation|>"}));
  EXPECT_EQ(body["max_tokens"], 64);
}

TEST_F(RemoteModelTest, RetriesAfter429And5xx) {
  server_.enqueue({429, {"Retry-After: 0"}, {R"({"error":{"message":"rate limited"}})"}});
  server_.enqueue({503, {}, {R"({"error":{"message":"overloaded"}})"}});
  server_.enqueue({200, {}, {completion_chunk("\nok", "stop"), LoopbackHttpServer::sse("[DONE]")}});
  auto model = make(options());
  ASSERT_TRUE(model->append(user_prompt("hi")).ok());
  auto r = model->generate(request(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text_of(r->tokens), "\nok");
  EXPECT_EQ(r->finish, FinishReason::kStopToken);
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(RemoteModelTest, DroppedConnectionResumesFromTheStreamedText) {
  ScriptedResponse dropped{200, {}, {completion_chunk("\nThe answer"), completion_chunk(" is"), completion_chunk("x")}};
  dropped.drop_after_chunks = 2;
  server_.enqueue(dropped);
  server_.enqueue({200, {}, {completion_chunk(" 42."), completion_chunk("", "stop", 151336), LoopbackHttpServer::sse("[DONE]")}});
  auto model = make(options());
  ASSERT_TRUE(model->append(user_prompt("What is it?")).ok());
  auto r = model->generate(request(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text_of(r->tokens), "\nThe answer is 42.<|user|>");
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const json second = json::parse(reqs[1].body);
  EXPECT_EQ(second["prompt"], "[gMASK]<sop><|user|>\nWhat is it?<|assistant|>\nThe answer is");
  EXPECT_LT(second["max_tokens"].get<int>(), 64);
}

TEST_F(RemoteModelTest, AuthErrorIsNotRetriedAndNamesTheServerMessage) {
  server_.enqueue({401, {}, {R"({"error":{"message":"invalid api key"}})"}});
  auto model = make(options());
  ASSERT_TRUE(model->append(user_prompt("hi")).ok());
  auto r = model->generate(request(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDenied);
  EXPECT_NE(r.error().message.find("HTTP 401"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("invalid api key"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(server_.base_url()), std::string::npos) << r.error().message;
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(RemoteModelTest, GivesUpAfterMaxAttempts) {
  for (int i = 0; i < 3; ++i) server_.enqueue({500, {}, {R"({"error":{"message":"boom"}})"}});
  RemoteOptions o = options();
  o.max_attempts = 3;
  auto model = make(o);
  ASSERT_TRUE(model->append(user_prompt("hi")).ok());
  auto r = model->generate(request(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("after 3 attempts"), std::string::npos) << r.error().message;
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(RemoteModelTest, TimeoutAndRefusedConnection) {
  ScriptedResponse slow{200, {}, {completion_chunk("\nlate", "stop")}};
  slow.delay_before_headers = 1500ms;
  server_.enqueue(slow);
  RemoteOptions o = options();
  o.max_attempts = 1;
  o.request_timeout = 300ms;
  auto model = make(o);
  ASSERT_TRUE(model->append(user_prompt("hi")).ok());
  auto r = model->generate(request(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().message;

  o.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  auto refused = make(o);
  ASSERT_TRUE(refused->append(user_prompt("hi")).ok());
  r = refused->generate(request(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("127.0.0.1:1"), std::string::npos) << r.error().message;
}

TEST_F(RemoteModelTest, CallbackStopsGenerationAndContextIsBounded) {
  ScriptedResponse long_reply{200, {}, {}};
  for (int i = 0; i < 20; ++i) long_reply.chunks.push_back(completion_chunk(" word"));
  long_reply.chunks.push_back(completion_chunk("", "length"));
  server_.enqueue(long_reply);
  auto model = make(options());
  ASSERT_TRUE(model->append(user_prompt("talk")).ok());
  int seen = 0;
  auto r = model->generate(request(), [&](TokenId) { return ++seen < 3; });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->finish, FinishReason::kCancelled);
  EXPECT_EQ(r->tokens.size(), 3u);

  RemoteOptions o = options();
  o.max_context = 4;
  auto small = make(o);
  Status s = small->append(user_prompt("too long for four positions"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(small->position(), 0);
}

TEST_F(RemoteModelTest, ChatModeMapsToolCallsBothWays) {
  const Tokenizer& t = *tokenizer_;
  // Reply 1: a streamed tool call in fragments. Reply 2: the answer after the observation.
  server_.enqueue({200, {}, {chat_chunk({{"role", "assistant"}}),
                             chat_chunk({{"tool_calls", {{{"index", 0}, {"id", "x"}, {"type", "function"},
                                                          {"function", {{"name", "get_weather"}, {"arguments", ""}}}}}}}),
                             chat_chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"city"}}}}}}}),
                             chat_chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "\": \"Paris\"}"}}}}}}}),
                             chat_chunk(json::object(), "tool_calls"), LoopbackHttpServer::sse("[DONE]")}});
  server_.enqueue({200, {}, {chat_chunk({{"content", "Sunny"}}), chat_chunk({{"content", " in Paris."}}),
                             chat_chunk(json::object(), "stop"), LoopbackHttpServer::sse("[DONE]")}});
  RemoteOptions o = options(RemoteOptions::Mode::kChat);
  o.chat_tools = json::array({{{"type", "function"},
                               {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}});
  auto model = make(o);
  std::vector<TokenId> prompt = {special(t, "[gMASK]"), special(t, "<sop>"), special(t, "<|system|>")};
  for (TokenId id : t.encode("\nYou help.")) prompt.push_back(id);
  const auto rest = user_prompt("Weather in Paris?");
  prompt.insert(prompt.end(), rest.begin() + 2, rest.end());
  ASSERT_TRUE(model->append(prompt).ok());

  auto r = model->generate(request(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text_of(r->tokens), "get_weather\n{\"city\": \"Paris\"}<|observation|>");
  EXPECT_EQ(r->finish, FinishReason::kStopToken);

  std::vector<TokenId> obs = {special(t, "<|observation|>")};
  for (TokenId id : t.encode("\n{\"sky\": \"clear\"}")) obs.push_back(id);
  obs.push_back(special(t, "<|assistant|>"));
  ASSERT_TRUE(model->append(obs).ok());
  r = model->generate(request(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text_of(r->tokens), "\nSunny in Paris.<|user|>");

  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/v1/chat/completions");
  const json first = json::parse(reqs[0].body);
  EXPECT_EQ(first["tools"], o.chat_tools);
  EXPECT_EQ(first["messages"], json::parse(R"([{"role":"system","content":"You help."},
                                                {"role":"user","content":"Weather in Paris?"}])"));
  const json second = json::parse(reqs[1].body);
  ASSERT_EQ(second["messages"].size(), 4u);
  EXPECT_EQ(second["messages"][2]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(second["messages"][2]["tool_calls"][0]["function"]["arguments"], "{\"city\": \"Paris\"}");
  EXPECT_EQ(second["messages"][3], json::parse(R"({"role":"tool","tool_call_id":"call_0","content":"{\"sky\": \"clear\"}"})"));
}

TEST_F(RemoteModelTest, ChatModeDropAfterPartialReplyIsAnError) {
  ScriptedResponse dropped{200, {}, {chat_chunk({{"content", "Half an"}}), chat_chunk({{"content", " answer"}})}};
  dropped.drop_after_chunks = 1;
  server_.enqueue(dropped);
  auto model = make(options(RemoteOptions::Mode::kChat));
  ASSERT_TRUE(model->append(user_prompt("hi")).ok());
  auto r = model->generate(request(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("connection lost"), std::string::npos) << r.error().message;
}

TEST(RemoteModelOptions, BadEndpointIsAClearError) {
  auto m = make_remote_model(RemoteOptions{}, nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  RemoteOptions o;
  o.endpoint = "ftp://example.com";
  m = make_remote_model(o, nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("ftp://example.com"), std::string::npos);
}

}  // namespace
}  // namespace alltools::model
