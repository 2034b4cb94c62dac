// The streaming output parser: answers, tool calls, segment boundaries, need-more-input states, arbitrary
// chunking, and the token-id path through the real tokenizer.
#include <random>

#include <gtest/gtest.h>

#include "core/protocol/glm4/output_parser.h"
#include "tests/protocol/glm4_tokenizer.h"

namespace alltools::protocol::glm4 {
namespace {

using testing::glm4_tokenizer;
using model::TokenId;

std::vector<SegmentDone> done_events(const std::vector<ParserEvent>& events) {
  std::vector<SegmentDone> out;
  for (const auto& e : events) {
    if (const auto* d = std::get_if<SegmentDone>(&e)) out.push_back(*d);
  }
  return out;
}

std::string answer_text(const std::vector<ParserEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    if (const auto* d = std::get_if<AnswerDelta>(&e)) out += d->text;
  }
  return out;
}

TEST(OutputParser, PlainAnswerStreamsAndEndsAtUser) {
  OutputParser p;
  p.push_text("\n");
  EXPECT_EQ(p.state(), OutputParser::State::kAnswer);
  p.push_text("Hello");
  auto first = p.take_events();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(std::get<AnswerDelta>(first[0]).text, "Hello");
  p.push_text(", 世界");
  p.push_marker(Marker::kUser);
  EXPECT_TRUE(p.stopped());
  const auto events = p.take_events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<AnswerDelta>(events[0]).text, ", 世界");
  EXPECT_EQ(std::get<SegmentDone>(events[1]), (SegmentDone{assistant_answer("Hello, 世界"), SegmentEnd::kUser}));
}

TEST(OutputParser, ToolCallEndsAtObservation) {
  OutputParser p;
  p.push_text("pyth");
  EXPECT_EQ(p.state(), OutputParser::State::kMetadata) << "need more input: name line not finished";
  EXPECT_TRUE(p.take_events().empty());
  p.push_text("on\nimport math\n");
  p.push_text("print(math.pi)");
  p.push_marker(Marker::kObservation);
  const auto events = p.take_events();
  ASSERT_EQ(events.size(), 3u) << ::testing::PrintToString(events);
  EXPECT_EQ(std::get<ToolCallStart>(events[0]).name, "python");
  EXPECT_EQ(std::get<ToolCallDelta>(events[1]).text, "import math\nprint(math.pi)");
  const auto& done = std::get<SegmentDone>(events[2]);
  EXPECT_TRUE(done.is_tool_call());
  EXPECT_EQ(done.tool_call(), (ToolCall{"python", "import math\nprint(math.pi)"}));
  EXPECT_EQ(done.end, SegmentEnd::kObservation);
}

TEST(OutputParser, AnswerThenCallInOneSample) {
  OutputParser p;
  p.push_text("\n我来查一下。");
  p.push_marker(Marker::kAssistant);
  EXPECT_FALSE(p.stopped());
  EXPECT_EQ(p.state(), OutputParser::State::kSegmentStart);
  p.push_text("simple_browser\nsearch(\"天气\")");
  p.push_marker(Marker::kObservation);
  const auto done = done_events(p.take_events());
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0], (SegmentDone{assistant_answer("我来查一下。"), SegmentEnd::kAssistant}));
  EXPECT_EQ(done[1], (SegmentDone{assistant_tool_call("simple_browser", "search(\"天气\")"), SegmentEnd::kObservation}));
}

TEST(OutputParser, FirstLineThatIsNoToolNameIsAnswerText) {
  OutputParser p;
  p.push_text("Sure, here");
  // The space after "Sure," rules out a tool name: streamed as answer at once.
  EXPECT_EQ(p.state(), OutputParser::State::kAnswer);
  p.push_text(" it is.\nMore.");
  p.finish();
  const auto events = p.take_events();
  EXPECT_EQ(answer_text(events), "Sure, here it is.\nMore.");
  EXPECT_EQ(done_events(events).back(), (SegmentDone{assistant_answer("Sure, here it is.\nMore."), SegmentEnd::kEndOfStream}));

  OutputParser long_name(ParserOptions{.max_tool_name_bytes = 8});
  long_name.push_text("abcdefghijk");
  EXPECT_EQ(long_name.state(), OutputParser::State::kAnswer);
}

TEST(OutputParser, EndsInsideTheFirstLine) {
  OutputParser call;
  call.push_text("cogview");
  call.push_marker(Marker::kObservation);
  EXPECT_EQ(done_events(call.take_events()).at(0).tool_call(), (ToolCall{"cogview", ""}));

  OutputParser answer;
  answer.push_text("OK");
  answer.push_marker(Marker::kEndOfText);
  const auto events = answer.take_events();
  EXPECT_EQ(answer_text(events), "OK");
  EXPECT_EQ(done_events(events).at(0), (SegmentDone{assistant_answer("OK"), SegmentEnd::kEndOfText}));

  OutputParser empty;
  empty.push_marker(Marker::kEndOfText);
  EXPECT_TRUE(empty.take_events().empty());
  EXPECT_TRUE(empty.stopped());
}

TEST(OutputParser, WithoutMetadataLineEverythingIsAnswer) {
  OutputParser p(ParserOptions{.metadata_line = false});
  p.push_text("python\nprint(1)");
  p.finish();
  EXPECT_EQ(done_events(p.take_events()).at(0).message, assistant_answer("python\nprint(1)"));
}

// Property: however the text is chunked, the completed segments are the same.
TEST(OutputParser, ChunkingDoesNotChangeTheResult) {
  const std::string sample = "\n先回答。\n第二行<A>get_weather\n{\"city_name\": \"曼谷\"}<O>";
  auto run = [&](const std::vector<std::size_t>& cuts) {
    OutputParser p;
    std::size_t pos = 0;
    auto emit = [&](std::string_view s) {
      // "<A>" and "<O>" stand for the markers in this test's sample.
      while (!s.empty()) {
        const std::size_t m = s.find('<');
        if (m != 0) {
          p.push_text(s.substr(0, m));
          if (m == std::string_view::npos) return;
          s.remove_prefix(m);
        }
        p.push_marker(s[1] == 'A' ? Marker::kAssistant : Marker::kObservation);
        s.remove_prefix(3);
      }
    };
    for (std::size_t cut : cuts) {
      emit(std::string_view(sample).substr(pos, cut - pos));
      pos = cut;
    }
    emit(std::string_view(sample).substr(pos));
    p.finish();
    return done_events(p.take_events());
  };
  const auto whole = run({});
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_EQ(whole[0].message, assistant_answer("先回答。\n第二行"));
  EXPECT_EQ(whole[1].message, assistant_tool_call("get_weather", "{\"city_name\": \"曼谷\"}"));
  // Cut anywhere except inside the 3-byte marker stand-ins.
  std::vector<std::size_t> allowed;
  for (std::size_t i = 1; i < sample.size(); ++i) {
    bool inside_marker = false;
    for (std::size_t m = sample.find('<'); m != std::string::npos; m = sample.find('<', m + 1)) {
      if (i > m && i < m + 3) inside_marker = true;
    }
    if (!inside_marker) allowed.push_back(i);
  }
  std::mt19937 rng(3);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::size_t> cuts;
    for (std::size_t c : allowed) {
      if (rng() % 3 == 0) cuts.push_back(c);
    }
    ASSERT_EQ(run(cuts), whole) << "round " << round;
  }
}

TEST(TokenFeeder, TokenIdsOfTheRealVocabulary) {
  const auto& tok = glm4_tokenizer();
  OutputParser p;
  TokenFeeder feeder(tok, p);
  std::vector<TokenId> ids = tok.encode("\n你好👋！emoji 👨‍👩‍👧 ok");
  ids.push_back(*tok.special_id("<|assistant|>"));
  const auto call = tok.encode("get_weather\n{\"city_name\": \"曼谷\"}");
  ids.insert(ids.end(), call.begin(), call.end());
  ids.push_back(*tok.special_id("<|observation|>"));
  std::string streamed;
  for (TokenId id : ids) {
    feeder.push(id);
    for (const auto& e : p.take_events()) {
      if (const auto* d = std::get_if<AnswerDelta>(&e)) {
        EXPECT_TRUE(model::is_valid_utf8(d->text)) << "split character streamed";
        streamed += d->text;
      }
      if (const auto* d = std::get_if<SegmentDone>(&e)) {
        if (d->is_tool_call()) {
          EXPECT_EQ(d->tool_call(), (ToolCall{"get_weather", "{\"city_name\": \"曼谷\"}"}));
        } else {
          EXPECT_EQ(d->message.content, "你好👋！emoji 👨‍👩‍👧 ok");
        }
      }
    }
  }
  feeder.finish();
  EXPECT_EQ(streamed, "你好👋！emoji 👨‍👩‍👧 ok");
  EXPECT_TRUE(p.stopped());
}

TEST(TokenFeeder, OtherSpecialTokensAreText) {
  const auto& tok = glm4_tokenizer();
  OutputParser p;
  TokenFeeder feeder(tok, p);
  feeder.push(198);
  feeder.push(*tok.special_id("<|begin_of_image|>"));
  feeder.finish();
  EXPECT_EQ(done_events(p.take_events()).at(0).message.content, "<|begin_of_image|>");
}

}  // namespace
}  // namespace alltools::protocol::glm4
