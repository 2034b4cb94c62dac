#include "model/remote/remote_model.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "model/remote/chat_mapping.h"
#include "model/remote/http_stream.h"
#include "model/remote/sse_parser.h"

namespace alltools::model {
namespace {

using nlohmann::json;
using detail::HttpAttempt;

// How often a backoff sleep looks at the cancel token.
constexpr std::chrono::milliseconds kBackoffSlice{20};

std::string api_url(const std::string& endpoint, std::string_view path) {
  std::string base = endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() < 3 || base.compare(base.size() - 3, 3, "/v1") != 0) base += "/v1";
  return base + std::string(path);
}

bool retryable(const HttpAttempt& a) {
  if (a.outcome == HttpAttempt::Outcome::kTransport) return true;
  return a.outcome == HttpAttempt::Outcome::kHttpError && (a.status == 429 || a.status >= 500);
}

// The server's message from an OpenAI-style error body ({"error": {"message": ...}}), else the body itself.
std::string server_message(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
    if (e.is_string()) return e.get<std::string>();
  }
  std::string s = body.substr(0, 300);
  return s.empty() ? "(empty body)" : s;
}

// One SSE `data:` payload of an OpenAI stream, classified. kChoice carries choices[0]; kSkip is a keep-alive or
// usage-only chunk; kError carries the server's in-stream error (message already extracted).
struct StreamChunk {
  enum class Kind { kChoice, kSkip, kDone, kError } kind = Kind::kSkip;
  json choice;
  std::string error;
};

StreamChunk decode_stream_chunk(std::string_view data) {
  if (data == "[DONE]") return {StreamChunk::Kind::kDone, {}, {}};
  json j = json::parse(data, nullptr, false);
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) {
    if (j.is_object() && j.contains("error")) return {StreamChunk::Kind::kError, {}, server_message(std::string(data))};
    return {};
  }
  return {StreamChunk::Kind::kChoice, std::move(j["choices"][0]), {}};
}

Error attempt_error(const std::string& url, const HttpAttempt& a, int attempts) {
  const std::string tries = attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : "";
  if (a.outcome == HttpAttempt::Outcome::kHttpError) {
    ErrorCode code = ErrorCode::kUnavailable;
    if (a.status == 400 || a.status == 404 || a.status == 422) code = ErrorCode::kInvalidArgument;
    if (a.status == 401 || a.status == 403) code = ErrorCode::kDenied;
    if (a.status == 429) code = ErrorCode::kResourceExhausted;
    return make_error(code, url + ": HTTP " + std::to_string(a.status) + tries + ": " + server_message(a.error_body));
  }
  return make_error(a.timed_out ? ErrorCode::kTimeout : ErrorCode::kUnavailable, url + tries + ": " + a.message);
}

class RemoteModel final : public LanguageModel {
 public:
  RemoteModel(RemoteOptions options, std::shared_ptr<const Tokenizer> tokenizer)
      : options_(std::move(options)), tokenizer_(std::move(tokenizer)) {
    info_.name = options_.model.empty() ? options_.endpoint : options_.model;
    info_.architecture = "remote";
    info_.vocab_size = tokenizer_->vocab_size();
    info_.max_context = options_.max_context;
    url_ = api_url(options_.endpoint,
                   options_.mode == RemoteOptions::Mode::kChat ? "/chat/completions" : "/completions");
  }

  const ModelInfo& info() const override { return info_; }
  int position() const override { return static_cast<int>(tokens_.size()); }

  Status append(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    if (cancel != nullptr && cancel->cancelled()) return make_error(ErrorCode::kCancelled, "append cancelled");
    if (tokens_.size() + tokens.size() > static_cast<size_t>(info_.max_context))
      return make_error(ErrorCode::kOutOfRange, "remote model " + info_.name + ": " +
                                                    std::to_string(tokens_.size() + tokens.size()) +
                                                    " tokens exceed the context of " +
                                                    std::to_string(info_.max_context));
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    return ok_status();
  }

  Status rewind(int length) override {
    if (length < 0 || length > position())
      return make_error(ErrorCode::kOutOfRange, "rewind to " + std::to_string(length) + " beyond position " +
                                                    std::to_string(position()));
    tokens_.resize(static_cast<size_t>(length));
    return ok_status();
  }

  Result<GenerateResult> generate(const GenerateRequest& request, const TokenCallback& on_token,
                                  const CancelToken* cancel) override {
    return options_.mode == RemoteOptions::Mode::kChat ? generate_chat(request, on_token, cancel)
                                                       : generate_completion(request, on_token, cancel);
  }

 private:
  std::vector<std::string> headers() const {
    std::vector<std::string> h = {"Content-Type: application/json", "Accept: text/event-stream"};
    if (!options_.api_key.empty()) h.push_back("Authorization: Bearer " + options_.api_key);
    return h;
  }

  detail::HttpPost post(const json& body) const {
    detail::HttpPost p;
    p.url = url_;
    p.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    p.headers = headers();
    p.connect_timeout = options_.connect_timeout;
    p.idle_timeout = options_.idle_timeout;
    p.total_timeout = options_.request_timeout;
    return p;
  }

  void sampling_fields(const SamplingParams& s, json* body) const {
    (*body)["temperature"] = s.temperature;
    if (s.top_p < 1.0f) (*body)["top_p"] = s.top_p;
    if (s.top_k > 0) (*body)["top_k"] = s.top_k;
    if (s.repetition_penalty != 1.0f) (*body)["repetition_penalty"] = s.repetition_penalty;
    (*body)["seed"] = s.seed;
  }

  // Sleeps before retry `attempt` (1-based); false when cancelled meanwhile.
  bool backoff(int attempt, double retry_after_s, const CancelToken* cancel) const {
    auto wait = options_.initial_backoff * (1 << std::min(attempt - 1, 10));
    if (retry_after_s >= 0) wait = std::chrono::milliseconds(static_cast<long>(retry_after_s * 1000));
    wait = std::min<std::chrono::milliseconds>(wait, options_.max_backoff);
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (cancel != nullptr && cancel->cancelled()) return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          kBackoffSlice, until - std::chrono::steady_clock::now()));
    }
    return true;
  }

  // State of one generate() call shared by the token emitters.
  struct Run {
    const GenerateRequest* request;
    const TokenCallback* on_token;
    GenerateResult result;
    bool finished = false;
    std::optional<Error> error;
  };

  // Appends one token to the cache and the result; applies stop ids, the token budget and the callback.
  // POSTs `body` and hands each streamed choice to on_choice (false stops reading). The OpenAI envelope is
  // handled here: [DONE] sets *done, an in-stream error sets run.error, keep-alives and usage-only chunks are
  // skipped.
  HttpAttempt stream_choices(const json& body, Run& run, detail::SseParser& sse, bool* done,
                             const CancelToken* cancel, const std::function<bool(const json&)>& on_choice) {
    return detail::http_post_stream(
        post(body),
        [&](std::string_view bytes) {
          return sse.feed(bytes, [&](std::string_view data) {
            StreamChunk chunk = decode_stream_chunk(data);
            if (chunk.kind == StreamChunk::Kind::kDone) {
              *done = true;
              return false;
            }
            if (chunk.kind == StreamChunk::Kind::kError) {
              run.error =
                  make_error(ErrorCode::kUnavailable, url_ + ": server error in stream: " + chunk.error);
              return false;
            }
            if (chunk.kind == StreamChunk::Kind::kSkip) return true;
            return on_choice(chunk.choice);
          });
        },
        cancel);
  }

  void emit(Run& run, TokenId id) {
    if (run.finished) return;
    if (tokens_.size() >= static_cast<size_t>(info_.max_context)) {
      run.result.finish = FinishReason::kContextFull;
      run.finished = true;
      return;
    }
    tokens_.push_back(id);
    run.result.tokens.push_back(id);
    ++run.result.timings.decode_tokens;
    const auto& stops = run.request->stop_ids;
    if (std::find(stops.begin(), stops.end(), id) != stops.end()) {
      run.result.finish = FinishReason::kStopToken;
      run.finished = true;
    } else if (static_cast<int>(run.result.tokens.size()) >= run.request->max_new_tokens) {
      run.result.finish = FinishReason::kMaxTokens;
      run.finished = true;
    }
    if (*run.on_token && !(*run.on_token)(id)) {
      run.result.finish = FinishReason::kCancelled;
      run.finished = true;
    }
  }

  void emit_text(Run& run, std::string_view text) {
    for (TokenId id : tokenizer_->encode_with_special(text)) emit(run, id);
  }

  std::optional<TokenId> stop_id_from(const json& stop_reason) const {
    if (stop_reason.is_number_integer()) return stop_reason.get<TokenId>();
    if (stop_reason.is_string()) return tokenizer_->special_id(stop_reason.get<std::string>());
    return std::nullopt;
  }

  Result<GenerateResult> generate_completion(const GenerateRequest& request, const TokenCallback& on_token,
                                             const CancelToken* cancel) {
    Run run{&request, &on_token, {}, false, std::nullopt};
    const auto start = std::chrono::steady_clock::now();
    json stop = json::array();
    for (TokenId id : request.stop_ids) stop.push_back(tokenizer_->decode_bytes(std::span<const TokenId>(&id, 1)));
    HttpAttempt last;
    int attempt = 0;
    while (!run.finished) {
      if (attempt == options_.max_attempts) return attempt_error(url_, last, attempt);
      if (attempt > 0 && !backoff(attempt, last.retry_after_s, cancel))
        return make_error(ErrorCode::kCancelled, url_ + ": cancelled");
      ++attempt;
      // Resends the whole context, including what was streamed before a dropped connection.
      json body = {{"model", options_.model},
                   {"prompt", tokenizer_->decode_bytes(tokens_)},
                   {"max_tokens", request.max_new_tokens - static_cast<int>(run.result.tokens.size())},
                   {"stream", true},
                   {"stop", stop},
                   {"skip_special_tokens", false}};
      sampling_fields(request.sampling, &body);
      detail::SseParser sse;
      bool done = false;
      last = stream_choices(body, run, sse, &done, cancel, [&](const json& choice) {
        if (choice.contains("text") && choice["text"].is_string())
          emit_text(run, choice["text"].get<std::string>());
        if (!run.finished && choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
          const std::string reason = choice["finish_reason"];
          if (reason == "stop") {
            const auto id =
                choice.contains("stop_reason") ? stop_id_from(choice["stop_reason"]) : std::nullopt;
            if (id) emit(run, *id);
            run.result.finish = FinishReason::kStopToken;
          } else {
            run.result.finish = FinishReason::kMaxTokens;
          }
          run.finished = true;
          done = true;
        }
        return !run.finished;
      });
      if (run.error) return *run.error;
      if (last.outcome == HttpAttempt::Outcome::kCancelled) return make_error(ErrorCode::kCancelled, url_ + ": cancelled");
      if (run.finished || done) break;
      if (sse.overflowed()) return make_error(ErrorCode::kOutOfRange, url_ + ": an SSE event exceeded 8 MiB");
      if (last.outcome == HttpAttempt::Outcome::kComplete) {
        last.outcome = HttpAttempt::Outcome::kTransport;
        last.message = "stream ended without a finish_reason or [DONE]";
      }
      if (!retryable(last)) return attempt_error(url_, last, attempt);
    }
    if (!run.finished) run.result.finish = FinishReason::kStopToken;  // [DONE] without finish_reason
    run.result.timings.decode_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(run.result);
  }

  Result<GenerateResult> generate_chat(const GenerateRequest& request, const TokenCallback& on_token,
                                       const CancelToken* cancel) {
    Run run{&request, &on_token, {}, false, std::nullopt};
    const auto start = std::chrono::steady_clock::now();
    const json messages =
        options_.chat_messages ? options_.chat_messages(tokens_)
                               : detail::tokens_to_chat_messages(tokens_, *tokenizer_, options_.body_to_arguments);
    json body = {{"model", options_.model}, {"messages", messages}, {"max_tokens", request.max_new_tokens},
                 {"stream", true}};
    if (!options_.chat_tools.empty()) body["tools"] = options_.chat_tools;
    sampling_fields(request.sampling, &body);
    const auto assistant = tokenizer_->special_id("<|assistant|>");
    const auto observation = tokenizer_->special_id("<|observation|>");
    const auto user = tokenizer_->special_id("<|user|>");
    if (!assistant || !observation || !user)
      return make_error(ErrorCode::kUnsupported, "chat mode needs a GLM-4 tokenizer with role tokens");

    struct PendingCall {
      std::string name, arguments;
    };
    HttpAttempt last;
    int attempt = 0;
    while (true) {
      if (attempt == options_.max_attempts) return attempt_error(url_, last, attempt);
      if (attempt > 0 && !backoff(attempt, last.retry_after_s, cancel))
        return make_error(ErrorCode::kCancelled, url_ + ": cancelled");
      ++attempt;
      std::map<int, PendingCall> calls;
      bool content_started = false, done = false;
      std::optional<ChatReplyFormat> format;
      if (options_.chat_reply_format) format = options_.chat_reply_format();
      std::string finish_reason;
      detail::SseParser sse;
      last = stream_choices(body, run, sse, &done, cancel, [&](const json& choice) {
        const json delta = choice.value("delta", json::object());
        for (const char* key : {"reasoning_content", "reasoning"}) {
          if (!format || !delta.contains(key) || !delta[key].is_string()) continue;
          const std::string reasoning = delta[key].get<std::string>();
          if (!reasoning.empty()) emit_text(run, format->reasoning(reasoning));
        }
        if (format && delta.contains("content") && delta["content"].is_string() &&
            !delta["content"].get<std::string>().empty()) {
          content_started = true;
          emit_text(run, format->content(delta["content"].get<std::string>()));
        } else if (delta.contains("content") && delta["content"].is_string() &&
                   !delta["content"].get<std::string>().empty()) {
          if (!content_started) emit_text(run, "\n");
          content_started = true;
          emit_text(run, delta["content"].get<std::string>());
        }
        if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
          for (const json& tc : delta["tool_calls"]) {
            PendingCall& c = calls[tc.value("index", 0)];
            if (tc.contains("function")) {
              const json& f = tc["function"];
              if (f.contains("name") && f["name"].is_string()) c.name += f["name"].get<std::string>();
              if (f.contains("arguments") && f["arguments"].is_string())
                c.arguments += f["arguments"].get<std::string>();
            }
          }
        }
        if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
          finish_reason = choice["finish_reason"];
          done = true;
        }
        return !run.finished;
      });
      if (run.error) return *run.error;
      if (last.outcome == HttpAttempt::Outcome::kCancelled) return make_error(ErrorCode::kCancelled, url_ + ": cancelled");
      if (done || run.finished) {
        if (!run.finished) {
          if (format) {
            for (const auto& [index, call] : calls)
              emit_text(run, format->tool_call(call.name, call.arguments));
            emit_text(run, format->end());
          } else {
            bool first = !content_started;
            for (const auto& [index, call] : calls) {
              if (!first) emit(run, *assistant);
              first = false;
              const std::string body_text = options_.arguments_to_body
                                                ? options_.arguments_to_body(call.name, call.arguments)
                                                : call.arguments;
              emit_text(run, call.name + "\n" + body_text);
            }
          }
          if (!calls.empty()) {
            emit(run, *observation);
          } else if (finish_reason == "length") {
            run.result.finish = FinishReason::kMaxTokens;
          } else {
            emit(run, *user);
          }
          if (!run.finished) {  // the stop id was not among request.stop_ids
            run.result.finish = calls.empty() && finish_reason == "length" ? FinishReason::kMaxTokens
                                                                           : FinishReason::kStopToken;
            run.finished = true;
          }
        }
        break;
      }
      if (sse.overflowed()) return make_error(ErrorCode::kOutOfRange, url_ + ": an SSE event exceeded 8 MiB");
      if (last.outcome == HttpAttempt::Outcome::kComplete) {
        last.outcome = HttpAttempt::Outcome::kTransport;
        last.message = "stream ended without a finish_reason or [DONE]";
      }
      if (!run.result.tokens.empty())  // a chat reply cannot be continued: the partial answer stands as an error
        return make_error(ErrorCode::kUnavailable,
                          url_ + ": connection lost after " + std::to_string(run.result.tokens.size()) +
                              " tokens of the reply: " + last.message);
      if (!retryable(last)) return attempt_error(url_, last, attempt);
    }
    run.result.timings.decode_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(run.result);
  }

  RemoteOptions options_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  ModelInfo info_;
  std::string url_;
  std::vector<TokenId> tokens_;
};

}  // namespace

Result<std::unique_ptr<LanguageModel>> make_remote_model(RemoteOptions options,
                                                         std::shared_ptr<const Tokenizer> tokenizer) {
  if (options.endpoint.empty()) return make_error(ErrorCode::kInvalidArgument, "remote model: no endpoint URL given");
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "remote model: endpoint '" + options.endpoint + "' must start with http:// or https://");
  if (tokenizer == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "remote model: a tokenizer is needed to render and read tokens");
  if (options.max_attempts < 1) options.max_attempts = 1;
  return std::unique_ptr<LanguageModel>(new RemoteModel(std::move(options), std::move(tokenizer)));
}

}  // namespace alltools::model
