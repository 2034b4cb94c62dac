// Load on `alltools serve` (embedded model, continuous batching): 200 requests from 32 concurrent clients, of which
// 20 % disconnect mid-stream and 10 % are malformed, plus server-side runs with the python sandbox. Checks: the
// server never dies, every valid request gets a complete answer, every malformed one an OpenAI error, and
// afterwards no sequence, run or workspace is left, no sandbox process survives, and RSS is back within 5 % of
// what it was after a warm-up of the same mix. The server parks no caches (--max-parked 0), so KV memory must
// return to zero and RSS does not depend on which conversations happen to be parked. Prints the measured figures.
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/serve/serve_process.h"

namespace alltools::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kClients = 32;
constexpr int kRequests = 200;
constexpr int kWarmup = 200;  // the same mix first: threads, arenas and parked caches reach their working size

enum class Kind { kMalformed, kDisconnect, kRun, kChat, kChatStream, kCompletion, kCompletionStream };

Kind kind_of(int i) {
  if (i % 10 == 0) return Kind::kMalformed;   // 10 %
  if (i % 5 == 1) return Kind::kDisconnect;   // 20 %
  if (i % 25 == 7) return Kind::kRun;         // 4 %
  switch (i % 4) {
    case 0: return Kind::kChat;
    case 1: return Kind::kChatStream;
    case 2: return Kind::kCompletion;
    default: return Kind::kCompletionStream;
  }
}

const std::vector<std::string> kMalformed = {
    "{\"messages\": [", R"({"messages": [{"role": "user", "content": 1}]})", R"({"messages": "x", "n": 2})",
    std::string(500, '[') + std::string(500, ']'), R"({"prompt": {"a": 1}})"};

struct Tally {
  std::mutex mu;
  std::map<std::string, int> counts;
  std::vector<std::string> failures;
  void ok(const std::string& what) {
    std::lock_guard<std::mutex> l(mu);
    ++counts[what];
  }
  void fail(const std::string& what) {
    std::lock_guard<std::mutex> l(mu);
    if (failures.size() < 20) failures.push_back(what);
    ++counts["FAILED"];
  }
};

bool sse_complete(const std::string& body) { return body.find("data: [DONE]\n\n") != std::string::npos; }

void one_request(int port, int i, Tally& t) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(300s);
  c.set_connection_timeout(30s);
  const json chat = {{"messages", {{{"role", "user"}, {"content", "Request " + std::to_string(i) + ": what is 2+2?"}}}},
                     {"max_tokens", 32}, {"temperature", 0.7}, {"seed", i}};
  const json completion = {{"prompt", "[gMASK]<sop><|user|>\nCount to " + std::to_string(i % 9) + "<|assistant|>"},
                           {"max_tokens", 32}, {"temperature", 0}, {"stop", {"<|user|>", "<|observation|>"}}};
  const Kind kind = kind_of(i);
  const std::string tag = "#" + std::to_string(i) + " ";
  switch (kind) {
    case Kind::kMalformed: {
      const std::string& body = kMalformed[static_cast<std::size_t>(i / 10) % kMalformed.size()];
      const char* path = (i / 10) % 2 ? "/v1/completions" : "/v1/chat/completions";
      auto r = c.Post(path, body, "application/json");
      if (!r) return t.fail(tag + "malformed: no response: " + httplib::to_string(r.error()));
      json j = json::parse(r->body, nullptr, false);
      if (r->status != 400 || !j.is_object() || !j["error"].is_object())
        return t.fail(tag + "malformed: " + std::to_string(r->status) + " " + r->body.substr(0, 200));
      return t.ok("malformed -> 400");
    }
    case Kind::kDisconnect: {
      json body = (i % 2) ? chat : completion;
      body["stream"] = true;
      body["max_tokens"] = 256;
      httplib::Request req;
      req.method = "POST";
      req.path = (i % 2) ? "/v1/chat/completions" : "/v1/completions";
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
      int chunks = 0;
      req.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) { return ++chunks < 2; };
      (void)c.send(req);
      return t.ok("disconnected mid-stream");
    }
    case Kind::kRun: {
      auto r = c.Post("/v1/alltools/runs", json{{"input", "What is " + std::to_string(i) + " * 3 + 1?"}, {"stream", false}}.dump(),
                      "application/json");
      if (!r || r->status != 200)
        return t.fail(tag + "run: " + (r ? r->body.substr(0, 200) : "no response: " + httplib::to_string(r.error())));
      json j = json::parse(r->body, nullptr, false);
      if (!j.is_object() || !j.contains("status")) return t.fail(tag + "run: " + r->body.substr(0, 200));
      return t.ok("run -> " + j["status"].get<std::string>());
    }
    case Kind::kChat:
    case Kind::kCompletion: {
      const bool is_chat = kind == Kind::kChat;
      auto r = c.Post(is_chat ? "/v1/chat/completions" : "/v1/completions", (is_chat ? chat : completion).dump(),
                      "application/json");
      if (!r || r->status != 200)
        return t.fail(tag + "plain: " + (r ? std::to_string(r->status) + r->body.substr(0, 200)
                                           : "no response: " + httplib::to_string(r.error())));
      json j = json::parse(r->body, nullptr, false);
      if (!j.is_object() || j["choices"].empty() || j["choices"][0]["finish_reason"].is_null())
        return t.fail(tag + "plain: " + r->body.substr(0, 200));
      return t.ok(is_chat ? "chat -> 200" : "completion -> 200");
    }
    case Kind::kChatStream:
    case Kind::kCompletionStream: {
      const bool is_chat = kind == Kind::kChatStream;
      json body = is_chat ? chat : completion;
      body["stream"] = true;
      auto r = c.Post(is_chat ? "/v1/chat/completions" : "/v1/completions", body.dump(), "application/json");
      if (!r || r->status != 200 || !sse_complete(r->body))
        return t.fail(tag + "stream: " + (r ? std::to_string(r->status) + r->body.substr(0, 200)
                                            : "no response: " + httplib::to_string(r.error())));
      return t.ok(is_chat ? "chat stream -> [DONE]" : "completion stream -> [DONE]");
    }
  }
}

// Runs requests [first, first + n) from kClients threads.
double run_phase(int port, int first, int n, Tally& t) {
  std::atomic<int> next{first};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k)
    clients.emplace_back([&] {
      for (int i = next.fetch_add(1); i < first + n; i = next.fetch_add(1)) one_request(port, i, t);
    });
  for (auto& th : clients) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

json health(int port) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/health");
  return r && r->status == 200 ? json::parse(r->body) : json();
}

// Waits until nothing runs; returns the last /health.
json settle(int port) {
  json h;
  for (int i = 0; i < 600; ++i) {
    h = health(port);
    if (h.is_object() && h["sequences_active"] == 0 && h["runs_active"] == 0 && h["workspaces_live"] == 0 &&
        h["in_flight"] == 0 &&
        h["waiting"] == 0)
      break;
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(500ms);
  return h;
}

TEST(ServeLoad, ManyClientsDisconnectsAndMalformedRequests) {
  const fs::path dir = fs::temp_directory_path() / ("alltools-serve-load-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "workspaces");
  ::setenv("XDG_CACHE_HOME", (dir / "cache").c_str(), 1);
  ServeProcess server({std::string(ALLTOOLS_BINARY_DIR) + "/bin/alltools", "--max-sessions", "16", "--max-parked", "0",
                       "--max-queue", "48", "--queue-timeout", "300", "--max-tokens-cap", "256", "--workspaces",
                       (dir / "workspaces").string()});
  Tally warm;
  const double warm_s = run_phase(server.port(), 10000, kWarmup, warm);
  EXPECT_TRUE(warm.failures.empty()) << warm.failures.front();
  const json h0 = settle(server.port());
  const long rss0 = server.rss_kib();

  Tally t;
  const double seconds = run_phase(server.port(), 0, kRequests, t);
  const json h1 = settle(server.port());
  const long rss1 = server.rss_kib();
  // SERVE_LOAD_EXTRA=1: three more runs, printing RSS after each (to tell a leak from warm-up growth).
  if (std::getenv("SERVE_LOAD_EXTRA") != nullptr) {
    for (int k = 0; k < 3; ++k) {
      Tally x;
      run_phase(server.port(), 20000 + k * kRequests, kRequests, x);
      settle(server.port());
      std::printf("  extra run %d: RSS %ld KiB\n", k, server.rss_kib());
    }
  }

  std::printf("serve load: %d requests from %d clients in %.1f s (warm-up %d in %.1f s)\n", kRequests, kClients,
              seconds, kWarmup, warm_s);
  for (const auto& [what, n] : t.counts) std::printf("  %-28s %d\n", what.c_str(), n);
  std::printf("  RSS after warm-up %ld KiB, after the run %ld KiB (%+.1f %%)\n", rss0, rss1,
              100.0 * static_cast<double>(rss1 - rss0) / static_cast<double>(rss0));
  std::printf("  KV bytes after warm-up %s, after the run %s; parked %s -> %s\n", h0["kv_bytes"].dump().c_str(),
              h1["kv_bytes"].dump().c_str(), h0["sequences_parked"].dump().c_str(),
              h1["sequences_parked"].dump().c_str());
  std::fflush(stdout);

  for (const auto& f : t.failures) ADD_FAILURE() << f;
  EXPECT_EQ(t.counts["malformed -> 400"], kRequests / 10);
  EXPECT_EQ(t.counts["disconnected mid-stream"], kRequests / 5);
  ASSERT_TRUE(h1.is_object()) << "the server stopped answering";
  EXPECT_EQ(h1["sequences_active"], 0);
  EXPECT_EQ(h1["runs_active"], 0);
  EXPECT_EQ(h1["workspaces_live"], 0);
  EXPECT_EQ(h1["kv_bytes"], 0);  // no parked caches here (--max-parked 0): every sequence's KV memory is back
  EXPECT_TRUE(fs::is_empty(dir / "workspaces"));
  EXPECT_TRUE(server.children().empty()) << "a sandbox process outlived its run";
  EXPECT_LE(rss1, rss0 + rss0 / 20) << "RSS grew by more than 5 %";
  EXPECT_EQ(server.stop(), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace alltools::testing
