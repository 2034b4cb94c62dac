// libFuzzer target for what the model (or a remote server) can send us. Input layout: byte 0 picks the chunk size
// for streaming; the rest is model output in which the bytes 0x01..0x05 stand for the markers <|endoftext|>,
// <|user|>, <|assistant|>, <|observation|>, <|system|> (literal marker strings inside the text are exercised too,
// through the SpecialTokenSplitter). Checked invariants (abort = finding):
//   - the parser never crashes, its events are consistent (a SegmentDone for every started segment; answer
//     deltas concatenate to the answer; every streamed text is valid UTF-8 when the input is),
//   - feeding the same text through SpecialTokenSplitter in chunks equals feeding it whole,
//   - every tool call yields arguments or an Error (never an exception), and for simple_browser the arguments
//     format back into a body that parses to the same arguments.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/protocol/glm4/output_parser.h"
#include "core/protocol/glm4/tool_call.h"

using namespace alltools::protocol::glm4;

namespace {

const std::vector<alltools::tools::ToolSpec>& specs() {
  static const auto* s = [] {
    auto* v = new std::vector<alltools::tools::ToolSpec>();
    for (const char* n : {"python", "simple_browser", "cogview"}) v->push_back({n, alltools::tools::ToolSpec::Kind::kBuiltin, {}});
    v->push_back({"get_weather", alltools::tools::ToolSpec::Kind::kFunction, nlohmann::ordered_json::object()});
    return v;
  }();
  return *s;
}

void check_call(const ToolCall& call) {
  auto args = tool_call_arguments(call, specs());
  if (!args.ok()) {
    const auto obs = tool_call_error_observation(call, args.error());
    ALLTOOLS_CHECK(obs.is_error && !obs.text.empty());
    return;
  }
  (void)args->dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);  // must be valid UTF-8 JSON
  if (call.name == "simple_browser") {
    auto body = format_tool_call_body(call.name, *args, alltools::tools::ToolSpec::Kind::kBuiltin);
    ALLTOOLS_CHECK_MSG(body.ok(), "parsed browser arguments do not format");
    auto again = parse_browser_body(*body);
    ALLTOOLS_CHECK_MSG(again.ok() && *again == *args, "browser body does not round-trip");
  }
}

std::vector<SegmentDone> run_parser(const std::vector<StreamPiece>& pieces, std::size_t chunk) {
  OutputParser parser;
  std::vector<SegmentDone> done;
  std::string answer;
  auto drain = [&] {
    for (auto& e : parser.take_events()) {
      if (auto* a = std::get_if<AnswerDelta>(&e)) answer += a->text;
      if (auto* d = std::get_if<SegmentDone>(&e)) {
        if (!d->is_tool_call()) {
          ALLTOOLS_CHECK_MSG(answer == d->message.content, "answer deltas differ from the answer");
        }
        answer.clear();
        done.push_back(std::move(*d));
      }
    }
  };
  for (const StreamPiece& p : pieces) {
    if (p.marker) {
      parser.push_marker(*p.marker);
    } else {
      for (std::size_t i = 0; i < p.text.size(); i += chunk) parser.push_text(std::string_view(p.text).substr(i, chunk));
    }
    drain();
  }
  parser.finish();
  drain();
  ALLTOOLS_CHECK(parser.stopped());
  return done;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 64 * 1024) return 0;
  const std::size_t chunk = 1 + data[0] % 17;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);

  // Markers given as control bytes (the local-model path).
  std::vector<StreamPiece> pieces;
  std::string text;
  for (char c : input) {
    if (c >= 1 && c <= 5) {
      if (!text.empty()) pieces.push_back({std::move(text), std::nullopt});
      text.clear();
      pieces.push_back({"", static_cast<Marker>(c - 1)});
    } else {
      text.push_back(c);
    }
  }
  if (!text.empty()) pieces.push_back({text, std::nullopt});
  const auto segments = run_parser(pieces, chunk);
  for (const auto& s : segments) {
    if (s.is_tool_call()) check_call(s.tool_call());
  }

  // The same bytes as a remote text stream: literal markers cut out by the splitter, chunked vs whole.
  SpecialTokenSplitter whole, chunked;
  std::vector<StreamPiece> a = whole.push(input), b;
  for (auto& p : whole.finish()) a.push_back(std::move(p));
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    for (auto& p : chunked.push(std::string_view(input).substr(i, chunk))) b.push_back(std::move(p));
  }
  for (auto& p : chunked.finish()) b.push_back(std::move(p));
  ALLTOOLS_CHECK_MSG(run_parser(a, 1 << 20) == run_parser(b, chunk), "splitter chunking changed the result");

  // Each body grammar directly on the whole input.
  for (const char* name : {"python", "simple_browser", "cogview", "get_weather", "unknown"}) check_call(ToolCall{name, input});
  return 0;
}
