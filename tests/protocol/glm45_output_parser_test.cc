// The GLM-4.5 streaming parser: segments, reasoning (shown as events, never executed), robustness, chunk
// boundaries at every byte (inside tags, <think>, <arg_key> and UTF-8 sequences), and the round trip
// render -> parse -> the same messages.
#include <gtest/gtest.h>

#include "core/protocol/glm45/chat_template.h"
#include "core/protocol/glm45/output_parser.h"
#include "core/protocol/glm45/tool_call.h"
#include "model/tokenizer/utf8_stream_decoder.h"
#include "tests/protocol/glm4_tokenizer.h"

namespace alltools::protocol::glm45 {
namespace {

using glm4::Marker;
using glm4::Message;
using glm4::ParserEvent;
using glm4::SegmentDone;
using glm4::SegmentEnd;

struct Parsed {
  std::vector<SegmentDone> segments;
  std::string answer, reasoning, call_text;
  std::vector<std::string> call_names;
  bool deltas_whole_utf8 = true;
  friend bool operator==(const Parsed&, const Parsed&) = default;
};

void collect(OutputParser& parser, Parsed& out) {
  for (ParserEvent& e : parser.take_events()) {
    if (auto* a = std::get_if<glm4::AnswerDelta>(&e)) {
      out.answer += a->text;
      out.deltas_whole_utf8 = out.deltas_whole_utf8 && model::is_valid_utf8(a->text);
    } else if (auto* r = std::get_if<glm4::ReasoningDelta>(&e)) {
      out.reasoning += r->text;
      out.deltas_whole_utf8 = out.deltas_whole_utf8 && model::is_valid_utf8(r->text);
    } else if (auto* s = std::get_if<glm4::ToolCallStart>(&e)) {
      out.call_names.push_back(s->name);
    } else if (auto* d = std::get_if<glm4::ToolCallDelta>(&e)) {
      out.call_text += d->text;
      out.deltas_whole_utf8 = out.deltas_whole_utf8 && model::is_valid_utf8(d->text);
    } else if (auto* done = std::get_if<SegmentDone>(&e)) {
      // Each segment's SegmentDone comes before the next segment's first event.
      if (!done->is_tool_call()) {
        EXPECT_TRUE(out.answer.ends_with(done->message.content)) << out.answer << " / " << done->message;
      }
      out.segments.push_back(*done);
    }
  }
}

// Feeds `chunks` then `marker` (nullopt: finish()).
Parsed parse(const std::vector<std::string>& chunks, std::optional<Marker> marker) {
  OutputParser parser;
  Parsed out;
  for (const std::string& c : chunks) {
    parser.push_text(c);
    collect(parser, out);
  }
  if (marker) {
    parser.push_marker(*marker);
  } else {
    parser.finish();
  }
  collect(parser, out);
  EXPECT_TRUE(parser.stopped());
  return out;
}

Parsed parse_whole(std::string text, std::optional<Marker> marker) {
  return parse({std::move(text)}, marker);
}

Message reasoned(Message m, std::string reasoning) {
  m.reasoning = std::move(reasoning);
  return m;
}

constexpr std::string_view kCallReply =
    "\n<think>用户要天气。<tool_call>fake\n<arg_key>a</arg_key></think>\n好的，我查一下 🌧。 "
    "\n"
    "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>北京 🌧</arg_value>\n"
    "<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>\n"
    "<tool_call>python\n<arg_key>code</arg_key>\n<arg_value>print('</arg_key>')\n</arg_value>\n</tool_call>";

TEST(Glm45OutputParser, ReasoningAnswerAndTwoCalls) {
  const Parsed p = parse_whole(std::string(kCallReply), Marker::kObservation);
  ASSERT_EQ(p.segments.size(), 3u);
  EXPECT_EQ(p.segments[0], (SegmentDone{reasoned(glm4::assistant_answer("好的，我查一下 🌧。"),
                                                 "用户要天气。<tool_call>fake\n<arg_key>a</arg_key>"),
                                        SegmentEnd::kAssistant}));
  EXPECT_EQ(p.segments[1],
            (SegmentDone{
                glm4::assistant_tool_call(
                    "get_weather",
                    "\n<arg_key>city</arg_key>\n<arg_value>北京 🌧</arg_value>\n<arg_key>days</arg_key>\n"
                    "<arg_value>3</arg_value>\n"),
                SegmentEnd::kAssistant}));
  EXPECT_EQ(
      p.segments[2],
      (SegmentDone{glm4::assistant_tool_call("python",
                                             "\n<arg_key>code</arg_key>\n<arg_value>print('</arg_key>')\n"
                                             "</arg_value>\n"),
                   SegmentEnd::kObservation}));
  // The call inside <think> was never a call.
  EXPECT_EQ(p.call_names, (std::vector<std::string>{"get_weather", "python"}));
  EXPECT_EQ(p.answer, "好的，我查一下 🌧。");
  EXPECT_EQ(p.reasoning, "用户要天气。<tool_call>fake\n<arg_key>a</arg_key>");
}

TEST(Glm45OutputParser, EveryChunkBoundary) {
  for (const std::string& text :
       {std::string(kCallReply), std::string("\n<think>\n短\n</think>\n答：é😀 ok\n\n"),
        std::string("plain ü"), std::string("<think>only thinking</thi"),
        std::string("\n<think></think>\n<tool_call>f<arg_key>k</arg_key>"
                    "<arg_value>v</arg_value></tool_call>")}) {
    for (const auto marker : {std::optional<Marker>(Marker::kObservation), std::optional<Marker>()}) {
      const Parsed whole = parse_whole(text, marker);
      ASSERT_FALSE(whole.segments.empty()) << text;
      for (std::size_t i = 1; i < text.size(); ++i) {
        const Parsed split = parse({text.substr(0, i), text.substr(i)}, marker);
        EXPECT_EQ(split, whole) << "split at byte " << i << " of " << text;
        EXPECT_TRUE(split.deltas_whole_utf8) << "split at byte " << i;
      }
      std::vector<std::string> bytes;
      for (char c : text) bytes.emplace_back(1, c);
      const Parsed byte_by_byte = parse(bytes, marker);
      EXPECT_EQ(byte_by_byte, whole) << text;
      EXPECT_TRUE(byte_by_byte.deltas_whole_utf8);
    }
  }
}

TEST(Glm45OutputParser, SegmentShapes) {
  // No <think> at all (thinking off: the prompt already closed it).
  EXPECT_EQ(parse_whole("\nHi there.\n", Marker::kUser).segments,
            (std::vector<SegmentDone>{{glm4::assistant_answer("Hi there."), SegmentEnd::kUser}}));
  // Reasoning only: an empty answer carrying it.
  EXPECT_EQ(
      parse_whole("\n<think>hmm</think>", Marker::kEndOfText).segments,
      (std::vector<SegmentDone>{{reasoned(glm4::assistant_answer(""), "hmm"), SegmentEnd::kEndOfText}}));
  // A call without an answer takes the reasoning; the GLM-4.7 layout without newlines is read too.
  EXPECT_EQ(
      parse_whole("<think>r</think><tool_call>f<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>",
                  Marker::kObservation)
          .segments,
      (std::vector<SegmentDone>{
          {reasoned(glm4::assistant_tool_call("f", "\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>\n"),
                    "r"),
           SegmentEnd::kObservation}}));
  // An unterminated call at the stop marker is still the call; a broken body is kept raw for the error
  // message.
  EXPECT_EQ(parse_whole("<tool_call>f\n<arg_key>k</arg_key>oops", Marker::kObservation).segments,
            (std::vector<SegmentDone>{
                {glm4::assistant_tool_call("f", "<arg_key>k</arg_key>oops"), SegmentEnd::kObservation}}));
  // Nothing generated: no segment.
  EXPECT_TRUE(parse({}, Marker::kUser).segments.empty());
}

TEST(Glm45OutputParser, AGeneratedAssistantTokenStartsANewBlock) {
  OutputParser parser;
  Parsed out;
  parser.push_text("\n<think>a</think>\nfirst");
  parser.push_marker(Marker::kAssistant);
  EXPECT_FALSE(parser.stopped());
  parser.push_text("\n<think>b</think>\nsecond");
  parser.push_marker(Marker::kUser);
  collect(parser, out);
  EXPECT_EQ(out.segments, (std::vector<SegmentDone>{
                              {reasoned(glm4::assistant_answer("first"), "a"), SegmentEnd::kAssistant},
                              {reasoned(glm4::assistant_answer("second"), "b"), SegmentEnd::kUser}}));
}

// Render a conversation, cut each assistant block out of the text (up to the next role token), parse it, and
// get the same messages back (answers stripped and reasoning shown, as the template stores them).
TEST(Glm45OutputParser, RoundTripRenderParse) {
  auto t = ChatTemplate::create(testing::glm4_tokenizer());
  ASSERT_TRUE(t.ok());
  auto body = [](const char* json) { return *body_from_arguments(nlohmann::ordered_json::parse(json)); };
  const std::vector<Message> conversation = {
      glm4::user_message("北京天气？"),
      reasoned(glm4::assistant_answer("我来查。"), "需要工具"),
      glm4::assistant_tool_call("get_weather",
                                body(R"({"city": "北京", "opts": {"u": "c"}, "n": [1, 2.5, null]})")),
      glm4::assistant_tool_call("python", body(R"j({"code": "x = '<arg_value>'\nprint(x)"})j")),
      glm4::observation_message("", "晴"),
      glm4::observation_message("", "<arg_value>"),
      reasoned(glm4::assistant_tool_call("python", body("{}")), "再算一次"),
      glm4::observation_message("", "ok"),
      glm4::assistant_answer("北京晴。🌞"),
  };
  const std::string text = t->render_text({}, conversation, false);
  glm4::SpecialTokenSplitter splitter;
  std::vector<glm4::StreamPiece> pieces = splitter.push(text);
  for (auto& p : splitter.finish()) pieces.push_back(p);
  std::vector<Message> parsed;
  std::optional<OutputParser> parser;
  auto drain = [&] {
    for (ParserEvent& e : parser->take_events()) {
      if (auto* done = std::get_if<SegmentDone>(&e)) parsed.push_back(done->message);
    }
  };
  for (const glm4::StreamPiece& p : pieces) {
    if (p.marker && parser) {
      parser->push_marker(*p.marker);
      drain();
      parser.reset();
    }
    if (p.marker == Marker::kAssistant) parser.emplace();
    if (!p.marker && parser) parser->push_text(p.text);
  }
  if (parser) {
    parser->finish();
    drain();
  }
  std::vector<Message> expected;
  for (const Message& m : conversation) {
    if (m.role == glm4::Role::kAssistant) expected.push_back(m);
  }
  EXPECT_EQ(parsed, expected);
}

// Random model outputs made of tag fragments: split anywhere they parse the same, and whatever they parse to
// renders to text that parses back to the same messages.
TEST(Glm45OutputParser, RandomOutputsSplitAndRoundTrip) {
  static constexpr std::string_view kFragments[] = {"<think>",
                                                    "</think>",
                                                    "<tool_call>",
                                                    "</tool_call>",
                                                    "<arg_key>",
                                                    "</arg_key>",
                                                    "<arg_value>",
                                                    "</arg_value>",
                                                    "\n",
                                                    " ",
                                                    "a",
                                                    "名",
                                                    "f",
                                                    "{\"x\": 1}",
                                                    "<",
                                                    "42",
                                                    "</",
                                                    "<tool_",
                                                    "😀"};
  auto t = ChatTemplate::create(testing::glm4_tokenizer());
  ASSERT_TRUE(t.ok());
  std::uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto next = [&seed](std::size_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return static_cast<std::size_t>(seed % n);
  };
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text;
    for (std::size_t k = next(24); k > 0; --k) text += kFragments[next(std::size(kFragments))];
    const Parsed whole = parse_whole(text, std::nullopt);
    if (!text.empty()) {
      const std::size_t cut = next(text.size());
      EXPECT_EQ(parse({text.substr(0, cut), text.substr(cut)}, std::nullopt), whole) << text << " @" << cut;
    }
    std::vector<Message> messages;
    for (const SegmentDone& d : whole.segments) messages.push_back(d.message);
    const std::string rendered = t->render_text({}, messages, false);
    std::vector<Message> again;
    std::size_t pos = 0;
    while ((pos = rendered.find("<|assistant|>", pos)) != std::string::npos) {
      pos += std::string_view("<|assistant|>").size();
      const std::size_t end = rendered.find("<|assistant|>", pos);
      for (const SegmentDone& d : parse_whole(rendered.substr(pos, end - pos), std::nullopt).segments)
        again.push_back(d.message);
    }
    ASSERT_EQ(again, messages) << "output: " << text << "\nrendered: " << rendered;
  }
}

}  // namespace
}  // namespace alltools::protocol::glm45
