// A remote text stream in which special tokens arrive as literal strings, split across chunks anywhere.
#include <random>

#include <gtest/gtest.h>

#include "core/protocol/glm4/output_parser.h"

namespace alltools::protocol::glm4 {
namespace {

std::vector<StreamPiece> split_all(const std::string& text, const std::vector<std::size_t>& cuts) {
  SpecialTokenSplitter s;
  std::vector<StreamPiece> pieces;
  auto add = [&](std::vector<StreamPiece> more) {
    for (auto& p : more) {
      if (!p.marker && !pieces.empty() && !pieces.back().marker) {
        pieces.back().text += p.text;
      } else {
        pieces.push_back(std::move(p));
      }
    }
  };
  std::size_t pos = 0;
  for (std::size_t c : cuts) {
    add(s.push(std::string_view(text).substr(pos, c - pos)));
    pos = c;
  }
  add(s.push(std::string_view(text).substr(pos)));
  add(s.finish());
  return pieces;
}

TEST(SpecialTokenSplitter, HoldsBackAPossibleMarker) {
  SpecialTokenSplitter s;
  auto a = s.push("abc<|obs");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].text, "abc");
  EXPECT_TRUE(s.has_pending()) << "need more input to decide";
  auto b = s.push("ervation|>x");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].marker, Marker::kObservation);
  EXPECT_EQ(b[1].text, "x");
  EXPECT_FALSE(s.has_pending());
}

TEST(SpecialTokenSplitter, NonMarkersComeBackAsText) {
  SpecialTokenSplitter s;
  auto a = s.push("a < b <|notamarker|> <|user");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].text, "a < b <|notamarker|> ");
  auto f = s.finish();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].text, "<|user");
}

TEST(SpecialTokenSplitter, AnySplitGivesTheSamePieces) {
  const std::string text = "\n答案 <b>粗体</b><|assistant|>python\nprint('<|')<|observation|><|user|><|endoftext|><";
  const auto whole = split_all(text, {});
  const std::vector<StreamPiece> want = {
      {"\n答案 <b>粗体</b>", std::nullopt}, {"", Marker::kAssistant}, {"python\nprint('<|')", std::nullopt},
      {"", Marker::kObservation},          {"", Marker::kUser},      {"", Marker::kEndOfText},
      {"<", std::nullopt}};
  ASSERT_EQ(whole, want);
  std::mt19937 rng(11);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < text.size(); ++i) {
      if (rng() % 4 == 0) cuts.push_back(i);
    }
    ASSERT_EQ(split_all(text, cuts), want) << "round " << round;
  }
}

TEST(SpecialTokenSplitter, FeedsTheParser) {
  SpecialTokenSplitter s;
  OutputParser p;
  feed(p, s.push("cogview\nA red fox<|obse"));
  EXPECT_FALSE(p.stopped());
  feed(p, s.push("rvation|>"));
  feed(p, s.finish());
  EXPECT_TRUE(p.stopped());
  const auto events = p.take_events();
  const auto& done = std::get<SegmentDone>(events.back());
  EXPECT_EQ(done.tool_call(), (ToolCall{"cogview", "A red fox"}));
}

}  // namespace
}  // namespace alltools::protocol::glm4
