#include "core/agent/agent.h"

#include <algorithm>
#include <chrono>
#include <sstream>
#include <variant>

#include "core/agent/context_budget.h"
#include "core/agent/repeat_detector.h"
#include "core/protocol/glm4/observation.h"
#include "core/protocol/glm4/output_parser.h"
#include "core/protocol/glm4/tool_call.h"

namespace alltools::agent {

namespace glm4 = protocol::glm4;
using clock_type = std::chrono::steady_clock;
using glm4::Message;

namespace {

// Messages at the end of the conversation the context budget never shortens (the latest call and observation).
constexpr std::size_t kProtectedTail = 2;
// Hard bound on generate() calls in one turn, beyond the tool-call limit (answers, empty generations).
constexpr int kExtraGenerationsPerTurn = 4;

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

}  // namespace

std::string_view turn_status_name(TurnStatus status) {
  switch (status) {
    case TurnStatus::kAnswer: return "answer";
    case TurnStatus::kLimit: return "limit";
    case TurnStatus::kCancelled: return "cancelled";
    case TurnStatus::kError: return "error";
  }
  return "?";
}

std::vector<Message> messages_from_events(const std::vector<Event>& events) {
  std::vector<Message> out;
  for (const Event& e : events) {
    if (e.kind == EventKind::kReset) out.clear();
    if (e.kind != EventKind::kMessage || !e.data.is_object()) continue;
    const auto role = glm4::role_from_name(e.data.value("role", std::string()));
    if (!role) continue;
    out.push_back(Message{*role, e.data.value("metadata", std::string()),
                          e.data.value("content", std::string()), e.data.value("reasoning", std::string())});
  }
  return out;
}

struct Agent::Turn {
  clock_type::time_point start = clock_type::now();
  clock_type::time_point deadline;
  long tokens = 0;
  RepeatDetector repeats{2};
  int repeat_strikes = 0;
  bool ended = false;  // a limit, cancellation or error decided the outcome
  TurnResult result;

  void end(TurnStatus status, std::string reason) {
    if (ended) return;
    ended = true;
    result.status = status;
    result.reason = std::move(reason);
  }
};

Agent::Agent(model::LanguageModel& model, const model::Tokenizer& tokenizer, Dispatcher& dispatcher,
             AgentOptions options, EventSink sink, std::unique_ptr<protocol::FormatProfile> profile)
    : model_(model),
      tokenizer_(tokenizer),
      dispatcher_(dispatcher),
      options_(std::move(options)),
      sink_(std::move(sink)),
      profile_(std::move(profile)),
      renderer_(profile_->make_renderer()),
      specs_(dispatcher.specs()) {}

Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::create(model::LanguageModel& model, const model::Tokenizer& tokenizer,
                                             Dispatcher& dispatcher, AgentOptions options, EventSink sink) {
  ALLTOOLS_ASSIGN_OR_RETURN(
      std::unique_ptr<protocol::FormatProfile> profile,
      protocol::make_format_profile(tokenizer, {options.format, options.template_options,
                                                options.glm45_template_options}));
  return std::unique_ptr<Agent>(
      new Agent(model, tokenizer, dispatcher, std::move(options), std::move(sink), std::move(profile)));
}

void Agent::emit(Event e) {
  e.t = wall_now();
  if (sink_) sink_(e);
}

void Agent::push_message(Message m) {
  nlohmann::json data = {{"role", glm4::role_name(m.role)}, {"metadata", m.metadata}, {"content", m.content}};
  if (!m.reasoning.empty()) data["reasoning"] = m.reasoning;
  emit(Event{EventKind::kMessage, "", "", std::move(data), 0});
  messages_.push_back(std::move(m));
}

void Agent::cancel() {
  model_cancel_.cancel();
  tool_cancel_.store(true);
}

void Agent::restore(std::vector<Message> messages) { messages_ = std::move(messages); }

void Agent::reset() {
  messages_.clear();
  emit(Event{EventKind::kReset, "", "", nlohmann::json::object(), 0});
}

Status Agent::sync_model(Turn& turn) {
  // Tokens the renderer believes cached but the model lost (a failed append/generate) are forgotten first.
  if (renderer_->cached().size() > static_cast<std::size_t>(model_.position()))
    renderer_->rewind(model_.position());
  glm4::RenderDelta delta = renderer_->update(specs_, messages_, /*add_generation_prompt=*/true);
  const int max_context = model_.info().max_context;
  while (max_context > 0 &&
         renderer_->cached().size() + static_cast<std::size_t>(options_.limits.context_reserve_tokens) >
             static_cast<std::size_t>(max_context)) {
    const std::size_t total = renderer_->cached().size();
    const auto step = shrink_oldest_observation(messages_, kProtectedTail, options_.limits.shrunk_observation_bytes);
    if (!step)
      return make_error(ErrorCode::kOutOfRange,
                        "the conversation (" + std::to_string(total) + " tokens + " +
                            std::to_string(options_.limits.context_reserve_tokens) +
                            " reserved for the reply) does not fit the model's context of " +
                            std::to_string(max_context) + " tokens, even with every older observation shortened");
    renderer_->rewind(delta.keep);
    delta = renderer_->update(specs_, messages_, true);
    emit(Event{EventKind::kContextShrunk,
               "shortened observation #" + std::to_string(step->index) + " by " +
                   std::to_string(step->removed_bytes) + " bytes to fit the context",
               "",
               {{"message", step->index},
                {"removed_bytes", step->removed_bytes},
                {"tokens_before", total},
                {"tokens_after", renderer_->cached().size()}},
               0});
  }
  if (delta.keep < model_.position()) ALLTOOLS_RETURN_IF_ERROR(model_.rewind(delta.keep));
  const auto t0 = clock_type::now();
  Status s = model_.append(delta.append, &model_cancel_);
  if (!s.ok()) {
    renderer_->rewind(std::min<int>(delta.keep, model_.position()));
    return s;
  }
  emit(Event{EventKind::kTiming, "", "",
             {{"prefill_tokens", delta.append.size()}, {"prefill_seconds", since(t0)}, {"reused_tokens", delta.keep}},
             0});
  (void)turn;
  return ok_status();
}

Result<std::vector<Message>> Agent::generate_step(Turn& turn) {
  ALLTOOLS_RETURN_IF_ERROR(sync_model(turn));
  model::GenerateRequest request;
  request.sampling = options_.sampling;
  request.stop_ids = profile_->stop_ids();
  long budget = std::min<long>(options_.limits.max_new_tokens_per_step, options_.limits.tokens_per_turn - turn.tokens);
  if (model_.info().max_context > 0) budget = std::min<long>(budget, model_.info().max_context - model_.position());
  if (budget <= 0) return make_error(ErrorCode::kOutOfRange, "no tokens left for the reply in this turn");
  request.max_new_tokens = static_cast<int>(budget);
  // Both constraints read GLM-4's header line and JSON body; GLM-4.5 writes <tool_call> and <arg_key> pairs.
  const bool glm4_header =
      !options_.template_options.generation_prompt_newline && profile_->format() == protocol::Format::kGlm4;
  if (options_.constrain_tool_names && glm4_header) {
    if (!tool_names_) {
      std::vector<std::string> names;
      for (const tools::ToolSpec& s : specs_) names.push_back(s.name);
      if (auto assistant = tokenizer_.special_id("<|assistant|>")) {
        tool_names_.emplace(tokenizer_, std::move(names), *assistant, /*starts_in_header=*/true);
      }
    }
    if (tool_names_) {
      // The first header line is chosen over whole lines where the backend has logits; a remote model gets the
      // token-by-token filter (which it ignores).
      const auto t_choice = clock_type::now();
      auto line = tool_names_->choose(model_, &model_cancel_);
      if (line.ok()) {
        emit(Event{EventKind::kTiming, "", "",
                   {{"header_choice", line->line},
                    {"header_choice_scored", line->scored},
                    {"header_choice_seconds", since(t_choice)}},
                   0});
        request.filter = tool_names_->filter(std::move(line->line));
      } else if (line.error().code == ErrorCode::kUnsupported || line.error().code == ErrorCode::kOutOfRange) {
        request.filter = tool_names_->filter();  // no logits (remote), or no room left to try a name
      } else {
        return line.error();
      }
    }
  }
  if (options_.constrain_arguments && glm4_header) {
    const bool functions = std::any_of(specs_.begin(), specs_.end(), [](const tools::ToolSpec& s) {
      return s.kind == tools::ToolSpec::Kind::kFunction;
    });
    if (!arguments_ && functions) {
      const auto t_build = clock_type::now();
      auto built = ArgumentConstraint::create(tokenizer_, specs_, /*starts_in_header=*/true);
      if (built.ok()) {
        arguments_ = std::move(built).value();
        emit(Event{EventKind::kTiming, "", "",
                   {{"arg_constraint_seconds", since(t_build)}, {"arg_constraint_notes", arguments_->notes()}}, 0});
      }
    }
    if (arguments_) request.filter = combine_filters(std::move(request.filter), arguments_->filter());
  }

  std::unique_ptr<glm4::StreamParser> parser = profile_->make_parser();
  glm4::TokenFeeder feeder(tokenizer_, *parser);
  std::vector<Message> segments;
  bool answer_open = false;
  auto drain = [&] {
    for (glm4::ParserEvent& ev : parser->take_events()) {
      if (auto* r = std::get_if<glm4::ReasoningDelta>(&ev)) {
        if (options_.show_reasoning)
          emit(Event{EventKind::kReasoning, std::move(r->text), "", nlohmann::json::object(), 0});
      } else if (auto* d = std::get_if<glm4::AnswerDelta>(&ev)) {
        if (!answer_open) emit(Event{EventKind::kSegmentStart, "", "", nlohmann::json::object(), 0});
        answer_open = true;
        emit(Event{EventKind::kToken, std::move(d->text), "", nlohmann::json::object(), 0});
      } else if (auto* s = std::get_if<glm4::ToolCallStart>(&ev)) {
        emit(Event{EventKind::kSegmentStart, "", s->name, nlohmann::json::object(), 0});
      } else if (auto* done = std::get_if<glm4::SegmentDone>(&ev)) {
        answer_open = false;
        emit(Event{EventKind::kSegmentEnd, done->message.content, done->message.metadata,
                   {{"end", (std::ostringstream() << done->end).str()}}, 0});
        segments.push_back(std::move(done->message));
      }
    }
  };
  const auto t0 = clock_type::now();
  auto result = model_.generate(
      request,
      [&](model::TokenId id) {
        feeder.push(id);
        drain();
        return !model_cancel_.cancelled();
      },
      &model_cancel_);
  if (!result.ok()) return result.error();
  renderer_->append_generated(result->tokens);
  turn.tokens += static_cast<long>(result->tokens.size());
  emit(Event{EventKind::kTiming, "", "",
             {{"decode_tokens", result->tokens.size()}, {"decode_seconds", since(t0)}}, 0});
  if (result->finish == model::FinishReason::kCancelled || model_cancel_.cancelled())
    return make_error(ErrorCode::kCancelled, "generation cancelled");
  if (!parser->stopped()) feeder.finish();
  drain();
  return segments;
}

void Agent::append_observation(Turn& turn, const std::string& tool, tools::Observation obs) {
  const std::size_t cut = truncate_utf8(obs.text, static_cast<std::size_t>(options_.limits.observation_bytes));
  if (cut > 0) obs.text += "\n[… " + std::to_string(cut) + " more bytes not shown]";
  for (const tools::Artifact& a : obs.artifacts) {
    emit(Event{EventKind::kImage, "", tool, {{"path", a.path.string()}, {"mime", a.mime}, {"url", a.url}}, 0});
    turn.result.artifacts.push_back(a);
  }
  emit(Event{EventKind::kObservation, obs.text, tool,
             {{"metadata", obs.metadata}, {"is_error", obs.is_error}, {"truncated_bytes", cut}}, 0});
  push_message(glm4::observation_to_message(obs));
}

void Agent::run_tool_call(Turn& turn, const Message& call_message) {
  const glm4::ToolCall call{call_message.metadata, call_message.content};
  ++turn.result.tool_calls;
  auto args = profile_->tool_call_arguments(call, specs_);
  if (!args.ok()) {
    emit(Event{EventKind::kError, args.error().message, call.name,
               {{"code", error_code_name(args.error().code)}, {"stage", "parse"}}, 0});
    append_observation(turn, call.name, glm4::tool_call_error_observation(call, args.error()));
    return;
  }
  emit(Event{EventKind::kToolCall, call.body, call.name, {{"args", *args}, {"step", turn.result.tool_calls}}, 0});

  const Permission permission = options_.permission ? options_.permission(call.name) : Permission::kAllow;
  if (permission == Permission::kDeny) {
    emit(Event{EventKind::kApproval, "", call.name, {{"approved", false}, {"by", "policy"}}, 0});
    append_observation(turn, call.name,
                       tools::error_observation("The tool '" + call.name + "' is disabled by the policy."));
    return;
  }
  if (permission == Permission::kAsk) {
    const bool approved = options_.approver && options_.approver(ApprovalRequest{call.name, *args, call.body});
    emit(Event{EventKind::kApproval, "", call.name,
               {{"approved", approved}, {"by", options_.approver ? "user" : "policy"}}, 0});
    if (!approved) {
      append_observation(turn, call.name,
                         tools::error_observation(options_.approver
                                                      ? "The user declined this call of '" + call.name + "'."
                                                      : "Calls of '" + call.name +
                                                            "' need a person's approval, which is not available "
                                                            "in this mode; the call was not run."));
      return;
    }
  }

  const int count = turn.repeats.record(call.name, *args);
  if (turn.repeats.exceeded(count)) {
    ++turn.repeat_strikes;
    emit(Event{EventKind::kError, "repeated call", call.name, {{"code", "repeat"}, {"count", count}}, 0});
    append_observation(turn, call.name,
                       tools::error_observation("This exact call was already made " + std::to_string(count - 1) +
                                                " times in this turn and its result will not change. Use the "
                                                "results above, or try something different."));
    if (turn.repeat_strikes >= 2) turn.end(TurnStatus::kLimit, "the model kept repeating the same tool call");
    return;
  }

  CallOptions o;
  const auto per_call = std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(options_.limits.tool_call_seconds));
  o.deadline = std::min(clock_type::now() + per_call, turn.deadline);
  o.cancel = &tool_cancel_;
  o.session_dir = options_.session_dir;
  o.progress = [this, name = call.name](const std::string& line) {
    emit(Event{EventKind::kProgress, line, name, nlohmann::json::object(), 0});
  };
  CallResult r = dispatcher_.call(call.name, *args, o);
  emit(Event{EventKind::kTiming, "", call.name, {{"tool_seconds", r.seconds}}, 0});
  for (tools::Observation& obs : r.observations) append_observation(turn, call.name, std::move(obs));
  if (r.status == CallStatus::kCancelled) turn.end(TurnStatus::kCancelled, "cancelled during a call of " + call.name);
}

TurnResult Agent::run_turn(std::string_view user_text) { return run(std::string(user_text)); }

TurnResult Agent::continue_turn() { return run(std::nullopt); }

TurnResult Agent::run(std::optional<std::string> user_text) {
  model_cancel_.reset();
  tool_cancel_.store(false);
  Turn turn;
  turn.repeats = RepeatDetector(options_.limits.repeated_calls);
  turn.deadline = turn.start + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(options_.limits.turn_seconds));
  emit(Event{EventKind::kTurnStart, user_text.value_or(""), "", nlohmann::json::object(), 0});
  if (user_text) {
    push_message(glm4::user_message(std::move(*user_text)));
  } else if (!messages_.empty() && messages_.back().is_tool_call()) {
    const Message pending = messages_.back();  // a call restored without its observation: it runs first
    run_tool_call(turn, pending);
    if (tool_cancel_.load()) turn.end(TurnStatus::kCancelled, "cancelled");
  }

  const int max_generations = options_.limits.tool_calls_per_turn + kExtraGenerationsPerTurn;
  for (int generation = 0; !turn.ended; ++generation) {
    if (model_cancel_.cancelled()) {
      turn.end(TurnStatus::kCancelled, "cancelled");
      break;
    }
    if (clock_type::now() >= turn.deadline) {
      turn.end(TurnStatus::kLimit, "the turn's time limit of " + std::to_string(options_.limits.turn_seconds) +
                                       " s was reached");
      break;
    }
    if (turn.tokens >= options_.limits.tokens_per_turn || generation >= max_generations) {
      turn.end(TurnStatus::kLimit,
               "the turn's token limit of " + std::to_string(options_.limits.tokens_per_turn) + " was reached");
      break;
    }
    auto segments = generate_step(turn);
    if (!segments.ok()) {
      const bool cancelled = segments.error().code == ErrorCode::kCancelled;
      if (!cancelled)
        emit(Event{EventKind::kError, segments.error().message, "",
                   {{"code", error_code_name(segments.error().code)}, {"stage", "model"}}, 0});
      turn.end(cancelled ? TurnStatus::kCancelled : TurnStatus::kError, segments.error().message);
      break;
    }
    std::vector<Message> calls;
    std::string answer;
    for (Message& m : *segments) {
      if (m.is_tool_call()) {
        calls.push_back(m);
      } else if (!m.content.empty()) {
        answer += (answer.empty() ? "" : "\n\n") + m.content;
      }
      push_message(std::move(m));
    }
    if (calls.empty()) {
      turn.result.answer = answer;
      emit(Event{EventKind::kAnswer, answer, "", nlohmann::json::object(), 0});
      turn.end(TurnStatus::kAnswer, "");
      break;
    }
    for (const Message& call : calls) {
      if (turn.ended) break;
      if (turn.result.tool_calls >= options_.limits.tool_calls_per_turn) {
        turn.end(TurnStatus::kLimit, "the limit of " + std::to_string(options_.limits.tool_calls_per_turn) +
                                         " tool calls per turn was reached");
        break;
      }
      run_tool_call(turn, call);
      if (tool_cancel_.load()) turn.end(TurnStatus::kCancelled, "cancelled");
    }
  }
  turn.result.seconds = since(turn.start);
  if (turn.result.status == TurnStatus::kLimit)
    emit(Event{EventKind::kError, turn.result.reason, "", {{"code", "limit"}, {"stage", "loop"}}, 0});
  emit(Event{EventKind::kTurnEnd, turn.result.reason, "",
             {{"status", turn_status_name(turn.result.status)},
              {"tool_calls", turn.result.tool_calls},
              {"seconds", turn.result.seconds}},
             0});
  return turn.result;
}

}  // namespace alltools::agent
