// Citation markers in answers: single and multiple ids (ASCII and full-width commas), labels with a host, and
// bracketed text that is not a citation.
#include "core/protocol/glm4/citations.h"

#include <gtest/gtest.h>

namespace alltools::protocol::glm4 {
namespace {

TEST(Citations, SingleMultipleAndLabelled) {
  const std::string text = "A【3†source】, B【0, 2†source】 C【1，4†Title†example.org】 D【12†】";
  const auto cs = find_citations(text);
  ASSERT_EQ(cs.size(), 4u);
  EXPECT_EQ(cs[0].ids, (std::vector<int>{3}));
  EXPECT_EQ(cs[0].label, "source");
  EXPECT_EQ(text.substr(cs[0].begin, cs[0].end - cs[0].begin), "【3†source】");
  EXPECT_EQ(cs[1].ids, (std::vector<int>{0, 2}));
  EXPECT_EQ(cs[2].ids, (std::vector<int>{1, 4}));
  EXPECT_EQ(cs[2].label, "Title");
  EXPECT_EQ(cs[3].ids, (std::vector<int>{12}));
  EXPECT_EQ(cs[3].label, "");
}

TEST(Citations, TextThatIsNotACitationIsLeftAlone) {
  EXPECT_TRUE(find_citations("【note】 【a†b】 【3 4†x】 【,3†x】 【3,†x】 【3,,4†x】 【】 【3†x").empty());
  EXPECT_TRUE(find_citations("【99999999†x】").empty());  // beyond any result list
  const auto cs = find_citations("【x 【5†source】");        // an unclosed 【 before a real one
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].ids, (std::vector<int>{5}));
}

}  // namespace
}  // namespace alltools::protocol::glm4
