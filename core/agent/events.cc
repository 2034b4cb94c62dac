#include "core/agent/events.h"

#include <array>
#include <utility>

namespace alltools::agent {
namespace {

constexpr std::array<std::pair<EventKind, std::string_view>, 17> kNames = {{
    {EventKind::kTurnStart, "turn_start"},
    {EventKind::kToken, "token"},
    {EventKind::kSegmentStart, "segment_start"},
    {EventKind::kSegmentEnd, "segment_end"},
    {EventKind::kToolCall, "tool_call"},
    {EventKind::kApproval, "approval"},
    {EventKind::kObservation, "observation"},
    {EventKind::kImage, "image"},
    {EventKind::kAnswer, "answer"},
    {EventKind::kError, "error"},
    {EventKind::kTiming, "timing"},
    {EventKind::kContextShrunk, "context_shrunk"},
    {EventKind::kMessage, "message"},
    {EventKind::kTurnEnd, "turn_end"},
    {EventKind::kReset, "reset"},
    {EventKind::kProgress, "progress"},
    {EventKind::kReasoning, "reasoning"},
}};

}  // namespace

std::string_view event_kind_name(EventKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  ALLTOOLS_CHECK_MSG(false, "event kind without a name");
  return "";
}

Result<EventKind> parse_event_kind(std::string_view name) {
  for (const auto& [k, n] : kNames)
    if (n == name) return k;
  return make_error(ErrorCode::kParse, "unknown event kind '" + std::string(name) + "'");
}

nlohmann::json event_to_json(const Event& e) {
  nlohmann::json j;
  j["event"] = event_kind_name(e.kind);
  j["t"] = e.t;
  if (!e.tool.empty()) j["tool"] = e.tool;
  if (!e.text.empty()) j["text"] = e.text;
  if (!e.data.empty()) j["data"] = e.data;
  return j;
}

Result<Event> event_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string())
    return make_error(ErrorCode::kParse, "event object without an \"event\" name");
  Event e;
  ALLTOOLS_ASSIGN_OR_RETURN(e.kind, parse_event_kind(j["event"].get<std::string>()));
  auto str = [&](const char* key, std::string* out) -> Status {
    if (!j.contains(key)) return ok_status();
    if (!j[key].is_string()) return make_error(ErrorCode::kParse, std::string("event field '") + key + "' is not a string");
    *out = j[key].get<std::string>();
    return ok_status();
  };
  ALLTOOLS_RETURN_IF_ERROR(str("text", &e.text));
  ALLTOOLS_RETURN_IF_ERROR(str("tool", &e.tool));
  if (j.contains("t") && j["t"].is_number()) e.t = j["t"].get<double>();
  if (j.contains("data")) e.data = j["data"];
  return e;
}

}  // namespace alltools::agent
