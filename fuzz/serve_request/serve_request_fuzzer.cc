// libFuzzer target: arbitrary bytes as the body of POST /v1/chat/completions, /v1/completions and
// /v1/alltools/runs. Every input must come back as a request or an ApiError with a message (never a crash, an
// exception or a hang); a parsed chat request must satisfy the invariants the handlers rely on.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "apps/serve/openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace alltools::serve;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = parse_json_body(text);
  if (auto* e = std::get_if<ApiError>(&body)) {
    if (e->message.empty() || e->status != 400) std::abort();
    return 0;
  }
  const nlohmann::json& j = std::get<nlohmann::json>(body);
  auto chat = parse_chat_request(j);
  if (auto* r = std::get_if<ChatRequest>(&chat)) {
    if (r->messages.empty() || r->messages.size() > kMaxMessages || r->tools.size() > kMaxTools) std::abort();
    if (r->gen.stop.size() > kMaxStops || r->gen.max_tokens < 0 || r->gen.max_tokens > kMaxTokensLimit) std::abort();
    if (!(r->gen.temperature >= 0.0f && r->gen.temperature <= 2.0f)) std::abort();
    (void)nlohmann::json(r->tools.empty() ? nlohmann::json() : nlohmann::json::parse(r->tools[0].function.dump()));
  } else if (std::get<ApiError>(chat).message.empty()) {
    std::abort();
  }
  auto completion = parse_completion_request(j);
  if (auto* r = std::get_if<CompletionRequest>(&completion)) {
    if (r->prompt.empty()) std::abort();
  } else if (std::get<ApiError>(completion).message.empty()) {
    std::abort();
  }
  auto run = parse_run_request(j);
  if (auto* r = std::get_if<RunRequest>(&run)) {
    if (r->input.empty()) std::abort();
  } else if (std::get<ApiError>(run).message.empty()) {
    std::abort();
  }
  return 0;
}
