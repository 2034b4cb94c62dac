// alltools serve in process, over real loopback HTTP (cpp-httplib client): the OpenAI shapes of chat and
// completions (streamed and not) with the embedded model, tool calls both ways with a scripted model, errors
// with OpenAI bodies, API keys, the bounded queue, and cancellation when a client disconnects mid-stream.
#include <httplib.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "apps/serve/server.h"
#include "model/cpu/cpu_sequence_pool.h"
#include "model/pool/factory_pool.h"
#include "model/scripted/scripted_model.h"
#include "model/tokenizer.h"

namespace alltools::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const std::string kModelDir = std::string(ALLTOOLS_SOURCE_DIR) + "/models/glm4-alltools-tiny";

std::shared_ptr<const model::Tokenizer> tokenizer() {
  static std::shared_ptr<const model::Tokenizer> t = [] {
    auto r = model::load_tokenizer(kModelDir);
    ALLTOOLS_CHECK_MSG(r.ok(), "embedded tokenizer");
    return std::shared_ptr<const model::Tokenizer>(std::move(r).value());
  }();
  return t;
}

// The CPU backend's continuous-batching pool over the embedded model (what `alltools serve` runs).
std::unique_ptr<model::SequencePool> embedded_pool(int max_sequences) {
  model::SequencePoolOptions po;
  po.max_sequences = max_sequences;
  auto pool = model::open_cpu_sequence_pool(kModelDir, model::CpuModelOptions{}, po);
  ALLTOOLS_CHECK_MSG(pool.ok(), "embedded model pool");
  return std::move(pool).value();
}

// Every sequence plays `replies` from the start; token_delay slows each token (for disconnect tests).
std::unique_ptr<model::FactoryPool> scripted_pool(std::vector<std::string> replies, int max_sequences,
                                                  std::chrono::milliseconds token_delay = 0ms) {
  auto tok = tokenizer();
  model::ModelInfo info{"scripted", "scripted", tok->vocab_size(), 1 << 16};
  return std::make_unique<model::FactoryPool>(info, [tok, replies, token_delay]() -> Result<std::unique_ptr<model::LanguageModel>> {
    model::ScriptedModelOptions o;
    o.add_stop = true;
    auto m = std::make_unique<model::ScriptedModel>(*tok, replies, o);
    m->set_token_delay(token_delay);
    return std::unique_ptr<model::LanguageModel>(std::move(m));
  }, max_sequences);
}

class RunningServer {
 public:
  RunningServer(model::SequencePool& pool, ServerOptions options = {}) {
    options.port = 0;
    ServerBackend b;
    b.pool = &pool;
    b.tokenizer = tokenizer();
    auto s = Server::create(options, b);
    ALLTOOLS_CHECK_MSG(s.ok(), "server create");
    server_ = std::move(s).value();
    thread_ = std::thread([this] { (void)server_->run(); });
    for (int i = 0; i < 200; ++i) {
      httplib::Client c("127.0.0.1", server_->port());
      if (auto r = c.Get("/health"); r && r->status == 200) break;
      std::this_thread::sleep_for(10ms);
    }
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60s);
    return c;
  }
  Server& server() { return *server_; }

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

json post_json(const RunningServer& s, const std::string& path, const json& body, int* status,
               const httplib::Headers& headers = {}) {
  auto c = s.client();
  auto r = c.Post(path, headers, body.dump(), "application/json");
  EXPECT_TRUE(r) << "no response from " << path;
  if (!r) return {};
  *status = r->status;
  json j = json::parse(r->body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r->body;
  return j;
}

// The `data:` payloads of an SSE body.
std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

TEST(ServeHttp, HealthAndModels) {
  auto pool = scripted_pool({"\nhi"}, 4);
  RunningServer s(*pool);
  auto c = s.client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  json j = json::parse(m->body);
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["data"][0]["object"], "model");
}

TEST(ServeHttp, ChatWithTheEmbeddedModelMatchesStreamedAndPlain) {
  auto pool = embedded_pool(4);
  RunningServer s(*pool);
  const json req = {{"messages", {{{"role", "user"}, {"content", "What is the capital of France?"}}}},
                    {"temperature", 0},
                    {"max_tokens", 24}};
  int status = 0;
  json plain = post_json(s, "/v1/chat/completions", req, &status);
  ASSERT_EQ(status, 200) << plain.dump();
  EXPECT_EQ(plain["object"], "chat.completion");
  EXPECT_EQ(plain["choices"][0]["message"]["role"], "assistant");
  const std::string content = plain["choices"][0]["message"]["content"];
  EXPECT_FALSE(content.empty());
  EXPECT_GT(plain["usage"]["prompt_tokens"].get<int>(), 5);
  EXPECT_GT(plain["usage"]["completion_tokens"].get<int>(), 0);

  json streamed_req = req;
  streamed_req["stream"] = true;
  streamed_req["stream_options"] = {{"include_usage", true}};
  auto c = s.client();
  auto r = c.Post("/v1/chat/completions", streamed_req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  const auto events = sse_data(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string joined;
  std::string finish;
  json usage;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    json chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (chunk.contains("usage")) usage = chunk["usage"];
    if (chunk["choices"].empty()) continue;
    const json& ch = chunk["choices"][0];
    if (ch["delta"].contains("content")) joined += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(joined, content);  // greedy: the stream says what the plain answer said
  EXPECT_EQ(finish, plain["choices"][0]["finish_reason"]);
  EXPECT_EQ(usage, plain["usage"]);
}

TEST(ServeHttp, RawCompletionReadsSpecialTokensAndReportsTheStop) {
  auto pool = embedded_pool(2);
  RunningServer s(*pool);
  // What the remote backend sends in completion mode: the rendered GLM-4 prompt with specials as text.
  const json req = {{"prompt", "[gMASK]<sop><|user|>\nWhat is 2 + 3?<|assistant|>"},
                    {"max_tokens", 64},
                    {"temperature", 0},
                    {"stop", {"<|user|>", "<|observation|>", "<|endoftext|>"}},
                    {"skip_special_tokens", false}};
  int status = 0;
  json out = post_json(s, "/v1/completions", req, &status);
  ASSERT_EQ(status, 200) << out.dump();
  EXPECT_EQ(out["object"], "text_completion");
  // 9 tokens: [gMASK] <sop> <|user|> and the text; a prompt tokenized as plain text would be far longer.
  EXPECT_LT(out["usage"]["prompt_tokens"].get<int>(), 16);
  const json& choice = out["choices"][0];
  EXPECT_FALSE(choice["text"].get<std::string>().empty());
  if (choice["finish_reason"] == "stop") {
    ASSERT_TRUE(choice["stop_reason"].is_string());
    EXPECT_EQ(choice["text"].get<std::string>().find(choice["stop_reason"].get<std::string>()), std::string::npos);
  }
}

TEST(ServeHttp, TextStopCutsTheCompletion) {
  auto pool = scripted_pool({"one two three four"}, 2);
  RunningServer s(*pool);
  int status = 0;
  json out = post_json(s, "/v1/completions", {{"prompt", "count:"}, {"stop", "three"}, {"max_tokens", 50}}, &status);
  ASSERT_EQ(status, 200) << out.dump();
  EXPECT_EQ(out["choices"][0]["text"], "one two ");
  EXPECT_EQ(out["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(out["choices"][0]["stop_reason"], "three");
}

TEST(ServeHttp, ToolCallsRoundTrip) {
  // First request: the model calls the function; second: it answers from the tool's result.
  auto pool = scripted_pool({"get_weather\n{\"city\": \"Paris\"}", "\nSunny in Paris."}, 2);
  RunningServer s(*pool);
  const json tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "description": "weather of a city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");
  json req = {{"messages", {{{"role", "user"}, {"content", "Weather in Paris?"}}}}, {"tools", tools}};
  int status = 0;
  json first = post_json(s, "/v1/chat/completions", req, &status);
  ASSERT_EQ(status, 200) << first.dump();
  const json& msg = first["choices"][0]["message"];
  EXPECT_EQ(first["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_TRUE(msg["content"].is_null());
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  const json& call = msg["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()), (json{{"city", "Paris"}}));
  EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);

  // The scripted pool starts every sequence at the first reply: the second request is served by a pool whose
  // script is the answer (the prompt it saw is checked through the reply's shape here; rendering is unit-tested).
  auto pool2 = scripted_pool({"\nSunny in Paris."}, 2);
  RunningServer s2(*pool2);
  req["messages"].push_back(msg);
  req["messages"].push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "{\"sky\": \"sunny\"}"}});
  json second = post_json(s2, "/v1/chat/completions", req, &status);
  ASSERT_EQ(status, 200) << second.dump();
  EXPECT_EQ(second["choices"][0]["message"]["content"], "Sunny in Paris.");
  EXPECT_EQ(second["choices"][0]["finish_reason"], "stop");

  // Streamed: the call arrives as a start delta (id, name) and an arguments delta.
  req["messages"] = json::array({{{"role", "user"}, {"content", "Weather in Paris?"}}});
  req["stream"] = true;
  auto c = s.client();
  auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  std::string name, args, finish;
  for (const auto& e : sse_data(r->body)) {
    if (e == "[DONE]") break;
    const json ch = json::parse(e)["choices"][0];
    if (ch["delta"].contains("tool_calls")) {
      const json& tc = ch["delta"]["tool_calls"][0];
      EXPECT_EQ(tc["index"], 0);
      if (tc.contains("id")) name = tc["function"]["name"];
      args += tc["function"]["arguments"].get<std::string>();
    }
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(name, "get_weather");
  EXPECT_EQ(json::parse(args), (json{{"city", "Paris"}}));
  EXPECT_EQ(finish, "tool_calls");
}

TEST(ServeHttp, MalformedRequestsGetOpenAIErrors) {
  auto pool = scripted_pool({"\nok"}, 2);
  ServerOptions o;
  o.max_body_bytes = 4096;
  RunningServer s(*pool, o);
  auto c = s.client();
  struct Case {
    std::string body;
    int status;
    std::string param;
  };
  const std::vector<Case> cases = {
      {"{not json", 400, ""},
      {"[1,2]", 400, ""},
      {R"({"messages": "hi"})", 400, "messages"},
      {R"({"messages": []})", 400, "messages"},
      {R"({"messages": [{"role": "wizard", "content": "x"}]})", 400, "messages[0].role"},
      {R"({"messages": [{"role": "user", "content": 5}]})", 400, "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400, "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": 9})", 400, "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "n": 3})", 400, "n"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1})", 400, "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})", 400, "stop[0]"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})", 400, "tools[0].function"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "function", "function": {"name": "nope"}}})", 400, "tool_choice.function.name"},
      {R"({"messages": [{"role": "tool", "content": "x", "tool_call_id": "call_x"}]})", 400, "messages[0].tool_call_id"},
      {std::string(200, '[') + std::string(200, ']'), 400, ""},
      {"{\"messages\": \"" + std::string(8000, 'a') + "\"}", 413, ""},
  };
  for (const auto& k : cases) {
    auto r = c.Post("/v1/chat/completions", k.body, "application/json");
    ASSERT_TRUE(r) << k.body.substr(0, 80);
    EXPECT_EQ(r->status, k.status) << k.body.substr(0, 80) << " -> " << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_TRUE(j["error"]["message"].is_string());
    EXPECT_TRUE(j["error"]["type"].is_string());
    if (!k.param.empty()) {
      EXPECT_EQ(j["error"]["param"], k.param) << r->body;
    }
  }
  auto unknown = c.Get("/v1/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_TRUE(json::parse(unknown->body)["error"].is_object());
  // The server still answers.
  int status = 0;
  json ok = post_json(s, "/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "x"}}}}}, &status);
  EXPECT_EQ(status, 200) << ok.dump();
}

TEST(ServeHttp, ApiKeysAndPerKeyConcurrency) {
  auto pool = scripted_pool({"\nslow answer here"}, 8, 100ms);
  ServerOptions o;
  o.keys = ApiKeys::from_keys({"key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"}, 1);
  RunningServer s(*pool, o);
  const json req = {{"messages", {{{"role", "user"}, {"content", "x"}}}}};
  int status = 0;
  json e = post_json(s, "/v1/chat/completions", req, &status);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(e["error"]["type"], "authentication_error");
  e = post_json(s, "/v1/chat/completions", req, &status, {{"Authorization", "Bearer key-aaaaaaaaaaaaaaaX"}});
  EXPECT_EQ(status, 401);
  // /v1/models needs a key too; /health does not.
  auto c = s.client();
  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 401);
  // One request in flight per key: a second concurrent one with the same key gets 429 + Retry-After.
  std::thread slow([&] {
    int st = 0;
    post_json(s, "/v1/chat/completions", req, &st, {{"Authorization", "Bearer key-aaaaaaaaaaaaaaaa"}});
    EXPECT_EQ(st, 200);
  });
  std::this_thread::sleep_for(300ms);
  auto r = c.Post("/v1/chat/completions", {{"Authorization", "Bearer key-aaaaaaaaaaaaaaaa"}}, req.dump(),
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "rate_limit_error");
  // The other key is not limited by the first.
  e = post_json(s, "/v1/chat/completions", req, &status, {{"Authorization", "Bearer key-bbbbbbbbbbbbbbbb"}});
  EXPECT_EQ(status, 200) << e.dump();
  slow.join();
}

TEST(ServeHttp, RefusesANonLoopbackHostWithoutKeys) {
  auto pool = scripted_pool({"\nx"}, 1);
  ServerOptions o;
  o.host = "0.0.0.0";
  ServerBackend b;
  b.pool = pool.get();
  b.tokenizer = tokenizer();
  auto s = Server::create(o, b);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("--api-key-file"), std::string::npos);
}

TEST(ServeHttp, FullQueueGets503WithRetryAfter) {
  auto pool = scripted_pool({"\n" + std::string(200, 'z')}, 1, 5ms);
  ServerOptions o;
  o.max_queue = 0;
  RunningServer s(*pool, o);
  const json req = {{"messages", {{{"role", "user"}, {"content", "x"}}}}};
  std::thread busy([&] {
    int st = 0;
    post_json(s, "/v1/chat/completions", req, &st);
    EXPECT_EQ(st, 200);
  });
  std::this_thread::sleep_for(200ms);
  auto c = s.client();
  auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "2");
  busy.join();
}

TEST(ServeHttp, DisconnectMidStreamCancelsTheSequence) {
  auto pool = scripted_pool({"\n" + std::string(2000, 'z')}, 4, 5ms);
  RunningServer s(*pool);
  json req = {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"stream", true}, {"max_tokens", 2000}};
  {
    auto c = s.client();
    httplib::Request hr;
    hr.method = "POST";
    hr.path = "/v1/chat/completions";
    hr.body = req.dump();
    hr.set_header("Content-Type", "application/json");
    int chunks = 0;
    hr.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) { return ++chunks < 5; };
    auto r = c.send(hr);  // the receiver returning false closes the connection
    EXPECT_GE(chunks, 5);
  }
  // 2000 tokens at 5 ms would take 10 s; the sequence must be gone long before.
  const auto t0 = std::chrono::steady_clock::now();
  while (pool->stats().active > 0 && std::chrono::steady_clock::now() - t0 < 5s) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(pool->stats().active, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

}  // namespace
}  // namespace alltools::serve
