// POST /v1/chat/completions and POST /v1/completions: validation, admission, generation on a pool sequence, and
// the OpenAI response shapes (one JSON object, or SSE chunks ending in `data: [DONE]`).
#include <httplib.h>

#include <chrono>
#include <random>

#include "apps/serve/chat_prompt.h"
#include "apps/serve/server.h"
#include "apps/serve/text_stops.h"
#include "model/tokenizer/utf8_stream_decoder.h"

namespace alltools::serve {
namespace {

using nlohmann::json;
using model::TokenId;

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += hex[rng() & 15];
  return id;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Sampling, stops and the token budget of a request; fails when the prompt leaves no room in the context.
std::variant<model::GenerateRequest, ApiError> generate_request(const GenerationParams& g, std::size_t prompt_tokens,
                                                                int max_context, int cap) {
  const long room = static_cast<long>(max_context) - static_cast<long>(prompt_tokens);
  if (room <= 0)
    return ApiError{400,
                    "the prompt is " + std::to_string(prompt_tokens) + " tokens; this model's context holds " +
                        std::to_string(max_context),
                    "invalid_request_error", "messages", "context_length_exceeded", 0};
  model::GenerateRequest r;
  r.sampling.temperature = g.temperature;
  r.sampling.top_p = g.top_p;
  r.sampling.seed = g.seed ? *g.seed : std::random_device{}();
  long budget = g.max_tokens > 0 ? g.max_tokens : cap;
  budget = std::min<long>({budget, cap, room});
  r.max_new_tokens = static_cast<int>(budget);
  return r;
}

json usage_json(std::size_t prompt, std::size_t completion) {
  return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

// Writes SSE events to the client; after the first failed write (the client went away) it cancels the run.
struct SseWriter {
  httplib::DataSink* sink;
  model::CancelToken* cancel;
  bool gone = false;
  bool send(const std::string& data) {
    if (gone) return false;
    const std::string frame = "data: " + data + "\n\n";
    if (!sink->write(frame.data(), frame.size())) {
      gone = true;
      cancel->cancel();
    }
    return !gone;
  }
};

void sse_headers(httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
}

// Prompt, generation and reply of one chat request; shared by the handler and its stream provider.
struct ChatJob {
  std::shared_ptr<void> flight;  // Server::track_request(); released last
  std::optional<ApiKeys::Slot> slot;
  std::unique_ptr<model::LanguageModel> seq;
  ChatRequest request;
  ChatPrompt prompt;
  model::GenerateRequest generate;
  model::CancelToken cancel;
  std::string id = random_id("chatcmpl-");
  std::int64_t created = unix_now();
};

const char* finish_name(model::FinishReason f, bool tool_calls, bool text_stop) {
  if (tool_calls) return "tool_calls";
  if (text_stop) return "stop";
  switch (f) {
    case model::FinishReason::kStopToken: return "stop";
    case model::FinishReason::kMaxTokens:
    case model::FinishReason::kContextFull: return "length";
    case model::FinishReason::kCancelled: return "stop";
  }
  return "stop";
}

// Appends what the sequence lacks of the prompt (a pool may hand out a cache that already holds a prefix).
Status feed_prompt(model::LanguageModel& seq, std::span<const TokenId> prompt, const model::CancelToken* cancel) {
  const std::size_t have = static_cast<std::size_t>(seq.position());
  if (have > prompt.size()) ALLTOOLS_RETURN_IF_ERROR(seq.rewind(static_cast<int>(prompt.size())));
  const std::size_t from = std::min(have, prompt.size());
  if (from == prompt.size() && from > 0) {
    // The whole prompt is cached: recompute its last token so generation has logits.
    ALLTOOLS_RETURN_IF_ERROR(seq.rewind(static_cast<int>(from - 1)));
    return seq.append(prompt.subspan(from - 1), cancel);
  }
  return seq.append(prompt.subspan(from), cancel);
}

ApiError generation_error(const Error& e) {
  return ApiError{500, "generation failed: " + e.message, "server_error", "", "", 0};
}

}  // namespace

void Server::handle_chat(const httplib::Request& req, httplib::Response& res) {
  auto job = std::make_shared<ChatJob>();
  job->flight = track_request();
  std::optional<json> body = open_request(req, res, &job->slot);
  if (!body) return;
  auto parsed = parse_chat_request(*body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  job->request = std::move(std::get<ChatRequest>(parsed));
  auto prompt = render_chat_prompt(job->request, template_);
  if (auto* e = std::get_if<ApiError>(&prompt)) return send_error(res, *e);
  job->prompt = std::move(std::get<ChatPrompt>(prompt));
  auto gen = generate_request(job->request.gen, job->prompt.ids.size(), backend_.pool->info().max_context,
                              options_.max_tokens_cap);
  if (auto* e = std::get_if<ApiError>(&gen)) return send_error(res, *e);
  job->generate = std::move(std::get<model::GenerateRequest>(gen));
  job->generate.stop_ids = template_.stop_ids();
  if (job->request.tool_choice.kind == ToolChoice::Kind::kRequired) {
    // The first generated token may not start an answer line ("\n...") or end the reply: a call must follow.
    auto forbidden = std::make_shared<std::vector<TokenId>>(required_tool_forbidden());
    job->generate.filter.wants = [](std::span<const TokenId> generated) { return generated.empty(); };
    job->generate.filter.apply = [forbidden](std::span<const TokenId>, std::span<float> logits) {
      for (TokenId id : *forbidden)
        if (id >= 0 && static_cast<std::size_t>(id) < logits.size())
          logits[static_cast<std::size_t>(id)] = -std::numeric_limits<float>::infinity();
    };
  }
  auto seq = admit(job->prompt.ids);
  if (auto* e = std::get_if<ApiError>(&seq)) return send_error(res, *e);
  job->seq = std::move(std::get<0>(seq));

  const std::string model_id = job->request.model.empty() ? options_.model_id : job->request.model;
  // Runs the generation; each reply piece goes to on_delta (false: stop). Returns the finish reason.
  auto generate = [job](const std::function<bool(const ChatDelta&)>& on_delta, ChatOutputReader& reader,
                              TextStopper& stopper, bool* text_stop) -> Result<model::GenerateResult> {
    ALLTOOLS_RETURN_IF_ERROR(feed_prompt(*job->seq, job->prompt.ids, &job->cancel));
    auto deliver = [&](std::vector<ChatDelta> deltas) {
      for (ChatDelta& d : deltas) {
        if (d.kind == ChatDelta::Kind::kContent) {
          d.text = stopper.push(d.text);
          if (stopper.stopped()) *text_stop = true;
          if (!d.text.empty() && !on_delta(d)) return false;
          if (*text_stop) return false;
        } else if (!on_delta(d)) {
          return false;
        }
      }
      return true;
    };
    auto r = job->seq->generate(job->generate, [&](TokenId id) { return deliver(reader.push(id)); }, &job->cancel);
    if (!r.ok()) return r.error();
    if (!*text_stop && !job->cancel.cancelled()) {
      deliver(reader.finish());
      std::string tail = stopper.finish();
      if (!tail.empty()) on_delta(ChatDelta{ChatDelta::Kind::kContent, tail, 0, "", ""});
    }
    return r;
  };

  if (!job->request.gen.stream) {
    ChatOutputReader reader(*backend_.tokenizer, job->prompt.tools, job->prompt.forced);
    TextStopper stopper(job->request.gen.stop);
    bool text_stop = false;
    std::string content;
    auto r = generate([&](const ChatDelta& d) {
      if (d.kind == ChatDelta::Kind::kContent) content += d.text;
      return true;
    }, reader, stopper, &text_stop);
    if (!r.ok()) return send_error(res, generation_error(r.error()));
    json message = {{"role", "assistant"}, {"content", content.empty() && !reader.tool_calls().empty() ? json(nullptr) : json(content)}};
    if (!reader.tool_calls().empty()) {
      json calls = json::array();
      for (const auto& c : reader.tool_calls())
        calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
      message["tool_calls"] = calls;
    }
    json out = {{"id", job->id},
                {"object", "chat.completion"},
                {"created", job->created},
                {"model", model_id},
                {"choices", json::array({{{"index", 0},
                                          {"message", message},
                                          {"logprobs", nullptr},
                                          {"finish_reason", finish_name(r->finish, !reader.tool_calls().empty(), text_stop)}}})},
                {"usage", usage_json(job->prompt.ids.size(), r->tokens.size())}};
    res.set_content(dump(out), "application/json");
    return;
  }

  sse_headers(res);
  res.set_chunked_content_provider("text/event-stream", [job, generate, model_id, tokp = backend_.tokenizer](std::size_t, httplib::DataSink& sink) {
    const model::Tokenizer& tok = *tokp;
    SseWriter out{&sink, &job->cancel};
    auto chunk = [&](json delta, json finish) {
      return dump({{"id", job->id},
                   {"object", "chat.completion.chunk"},
                   {"created", job->created},
                   {"model", model_id},
                   {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                                             {"finish_reason", std::move(finish)}}})}});
    };
    if (!out.send(chunk({{"role", "assistant"}, {"content", ""}}, nullptr))) return false;
    ChatOutputReader reader(tok, job->prompt.tools, job->prompt.forced);
    TextStopper stopper(job->request.gen.stop);
    bool text_stop = false;
    auto r = generate([&](const ChatDelta& d) {
      json delta;
      if (d.kind == ChatDelta::Kind::kContent) {
        delta = {{"content", d.text}};
      } else if (d.kind == ChatDelta::Kind::kToolCallStart) {
        delta = {{"tool_calls", json::array({{{"index", d.index}, {"id", d.id}, {"type", "function"},
                                              {"function", {{"name", d.name}, {"arguments", ""}}}}})}};
      } else {
        delta = {{"tool_calls", json::array({{{"index", d.index}, {"function", {{"arguments", d.text}}}}})}};
      }
      return out.send(chunk(std::move(delta), nullptr));
    }, reader, stopper, &text_stop);
    if (out.gone) return false;
    if (!r.ok()) {
      out.send(dump(generation_error(r.error()).body()));
    } else {
      out.send(chunk(json::object(), finish_name(r->finish, !reader.tool_calls().empty(), text_stop)));
      if (job->request.gen.include_usage)
        out.send(dump({{"id", job->id}, {"object", "chat.completion.chunk"}, {"created", job->created},
                       {"model", model_id}, {"choices", json::array()},
                       {"usage", usage_json(job->prompt.ids.size(), r->tokens.size())}}));
    }
    if (!out.send("[DONE]")) return false;
    job->seq.reset();  // the sequence returns to the pool before the connection lingers in keep-alive
    job->slot.reset();
    sink.done();
    return true;
  });
}

namespace {

struct CompletionJob {
  std::shared_ptr<void> flight;  // Server::track_request(); released last
  std::optional<ApiKeys::Slot> slot;
  std::unique_ptr<model::LanguageModel> seq;
  CompletionRequest request;
  std::vector<TokenId> prompt;
  model::GenerateRequest generate;
  std::vector<std::string> text_stops;
  model::CancelToken cancel;
  std::string id = random_id("cmpl-");
  std::int64_t created = unix_now();
};

struct CompletionOutcome {
  model::FinishReason finish = model::FinishReason::kMaxTokens;
  std::string stop_reason;  // the stop string that ended it ("" if none)
  std::size_t tokens = 0;
};

}  // namespace

void Server::handle_completion(const httplib::Request& req, httplib::Response& res) {
  auto job = std::make_shared<CompletionJob>();
  job->flight = track_request();
  std::optional<json> body = open_request(req, res, &job->slot);
  if (!body) return;
  auto parsed = parse_completion_request(*body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  job->request = std::move(std::get<CompletionRequest>(parsed));
  const model::Tokenizer& tkn = *backend_.tokenizer;
  // GLM-4 prompts rendered by the client carry their special tokens as text (vLLM reads them as specials).
  job->prompt = tkn.encode_with_special(job->request.prompt);
  auto gen = generate_request(job->request.gen, job->prompt.size(), backend_.pool->info().max_context,
                              options_.max_tokens_cap);
  if (auto* e = std::get_if<ApiError>(&gen)) {
    e->param = "prompt";
    return send_error(res, *e);
  }
  job->generate = std::move(std::get<model::GenerateRequest>(gen));
  // A stop that is a special token's string stops on that token; others are matched in the text. <|endoftext|>
  // always ends a completion (the model's EOS).
  if (auto eos = tkn.special_id("<|endoftext|>")) job->generate.stop_ids.push_back(*eos);
  for (const std::string& s : job->request.gen.stop) {
    if (auto id = tkn.special_id(s)) job->generate.stop_ids.push_back(*id);
    else job->text_stops.push_back(s);
  }
  auto seq = admit(job->prompt);
  if (auto* e = std::get_if<ApiError>(&seq)) return send_error(res, *e);
  job->seq = std::move(std::get<0>(seq));
  const std::string model_id = job->request.model.empty() ? options_.model_id : job->request.model;

  // Generates; text pieces go to on_text (false: stop).
  auto generate = [job, tokp = backend_.tokenizer](const std::function<bool(const std::string&)>& on_text) -> Result<CompletionOutcome> {
    const model::Tokenizer& tok = *tokp;
    ALLTOOLS_RETURN_IF_ERROR(feed_prompt(*job->seq, job->prompt, &job->cancel));
    CompletionOutcome out;
    model::TokenStreamDecoder decoder(tok);
    TextStopper stopper(job->text_stops);
    bool stop_token = false;
    auto on_token = [&](TokenId id) {
      if (std::find(job->generate.stop_ids.begin(), job->generate.stop_ids.end(), id) != job->generate.stop_ids.end()) {
        stop_token = true;
        out.stop_reason = tok.decode_bytes(std::span<const TokenId>(&id, 1));
        std::string rest = stopper.push(decoder.flush());
        if (stopper.stopped()) out.stop_reason = stopper.matched();
        else rest += stopper.finish();
        return rest.empty() || on_text(rest);
      }
      std::string text;
      if (tok.is_special(id)) {
        text = decoder.flush();
        if (!job->request.skip_special_tokens) text += tok.decode_bytes(std::span<const TokenId>(&id, 1));
      } else {
        text = decoder.push(id);
      }
      text = stopper.push(text);
      if (!text.empty() && !on_text(text)) return false;
      return !stopper.stopped();
    };
    auto r = job->seq->generate(job->generate, on_token, &job->cancel);
    if (!r.ok()) return r.error();
    out.tokens = r->tokens.size();
    out.finish = r->finish;
    if (stopper.stopped()) {
      out.finish = model::FinishReason::kStopToken;
      out.stop_reason = stopper.matched();
    } else if (!stop_token && !job->cancel.cancelled()) {
      std::string tail = stopper.push(decoder.flush());
      tail += stopper.finish();
      if (!tail.empty()) on_text(tail);
    }
    return out;
  };
  auto choice = [](std::string text, const CompletionOutcome* o) {
    json c = {{"text", std::move(text)}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (o != nullptr) {
      c["finish_reason"] = finish_name(o->finish, false, false);
      c["stop_reason"] = o->stop_reason.empty() ? json(nullptr) : json(o->stop_reason);
    }
    return c;
  };

  if (!job->request.gen.stream) {
    std::string text;
    auto r = generate([&](const std::string& t) {
      text += t;
      return true;
    });
    if (!r.ok()) return send_error(res, generation_error(r.error()));
    json out = {{"id", job->id}, {"object", "text_completion"}, {"created", job->created}, {"model", model_id},
                {"choices", json::array({choice(text, &*r)})}, {"usage", usage_json(job->prompt.size(), r->tokens)}};
    res.set_content(dump(out), "application/json");
    return;
  }
  sse_headers(res);
  res.set_chunked_content_provider("text/event-stream", [job, generate, choice, model_id](std::size_t, httplib::DataSink& sink) {
    SseWriter out{&sink, &job->cancel};
    auto chunk = [&](json c) {
      return dump({{"id", job->id}, {"object", "text_completion"}, {"created", job->created}, {"model", model_id},
                   {"choices", json::array({std::move(c)})}});
    };
    auto r = generate([&](const std::string& t) { return out.send(chunk(choice(t, nullptr))); });
    if (out.gone) return false;
    if (!r.ok()) {
      out.send(dump(generation_error(r.error()).body()));
    } else {
      out.send(chunk(choice("", &*r)));
      if (job->request.gen.include_usage)
        out.send(dump({{"id", job->id}, {"object", "text_completion"}, {"created", job->created}, {"model", model_id},
                       {"choices", json::array()}, {"usage", usage_json(job->prompt.size(), r->tokens)}}));
    }
    if (!out.send("[DONE]")) return false;
    job->seq.reset();
    job->slot.reset();
    sink.done();
    return true;
  });
}

}  // namespace alltools::serve
