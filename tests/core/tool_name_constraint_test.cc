// Constrained decoding of the tool-name header line, with the real glm-4-9b-chat tokenizer (151k ids) and the
// embedded model's (4k ids): which header is open, which tokens may extend it, and that filtering a vocabulary's
// logits leaves exactly the allowed ids.
#include "core/agent/tool_name_constraint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>

#include "tests/core/agent_test_support.h"

namespace alltools::agent {
namespace {

using model::TokenId;

class ToolNameConstraintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_ = testing::glm4_tokenizer();
    ASSERT_TRUE(tok_);
    assistant_ = *tok_->special_id("<|assistant|>");
  }
  std::vector<TokenId> ids(const std::string& text) const { return tok_->encode(text); }
  std::shared_ptr<const model::Tokenizer> tok_;
  TokenId assistant_ = 0;
};

TEST_F(ToolNameConstraintTest, FindsTheOpenHeaderLine) {
  const ToolNameConstraint c(*tok_, {"python", "get_weather"}, assistant_, /*starts_in_header=*/true);
  EXPECT_EQ(c.header({}), "");
  EXPECT_EQ(c.header(ids("get_wea")), "get_wea");
  EXPECT_FALSE(c.header(ids("python\nprint(1)")).has_value());  // header done, body is free
  EXPECT_FALSE(c.header(ids("\nThe answer")).has_value());       // an answer
  std::vector<TokenId> two = ids("\nLet me check.");
  two.push_back(assistant_);
  const std::vector<TokenId> more = ids("pyt");
  two.insert(two.end(), more.begin(), more.end());
  EXPECT_EQ(c.header(two), "pyt");  // a second segment's header
  const ToolNameConstraint mid(*tok_, {"python"}, assistant_, /*starts_in_header=*/false);
  EXPECT_FALSE(mid.header(ids("pyt")).has_value());
  std::vector<TokenId> with_special = ids("pyt");
  with_special.push_back(*tok_->special_id("<|observation|>"));
  EXPECT_FALSE(c.header(with_special).has_value());
}

TEST_F(ToolNameConstraintTest, AllowsOnlyPrefixesOfToolNamesAndTheEmptyLine) {
  const ToolNameConstraint c(*tok_, {"python", "get_weather", "api_request_stock_api"}, assistant_, true);
  const auto one = [&](const std::string& s) {
    const auto v = ids(s);
    EXPECT_EQ(v.size(), 1u) << "'" << s << "' is not one token";
    return v.empty() ? TokenId{0} : v[0];
  };
  EXPECT_TRUE(c.allowed("", one("\n")));         // an answer
  EXPECT_TRUE(c.allowed("", one("python")));
  EXPECT_TRUE(c.allowed("python", one("\n")));   // the name is complete
  EXPECT_TRUE(c.allowed("get_weathe", one("r")));
  EXPECT_FALSE(c.allowed("get_weath", one("x")));
  EXPECT_FALSE(c.allowed("", one("pi")));
  EXPECT_FALSE(c.allowed("get_", one("\n")));    // not a whole name
  EXPECT_FALSE(c.allowed("api_request_stock_", one("data")));
  EXPECT_TRUE(c.allowed("api_request_stock_", one("api")));
  EXPECT_FALSE(c.allowed("", *tok_->special_id("<|observation|>")));
  EXPECT_FALSE(c.allowed("", *tok_->special_id("<|user|>")));
}

TEST_F(ToolNameConstraintTest, FilterMasksExactlyTheForbiddenIds) {
  const ToolNameConstraint c(*tok_, {"python", "simple_browser"}, assistant_, true);
  const model::LogitsFilter f = c.filter();
  const std::vector<TokenId> generated = ids("simple_b");
  ASSERT_TRUE(f.wants(generated));
  std::vector<float> logits(static_cast<std::size_t>(tok_->vocab_size()), 1.0f);
  f.apply(generated, logits);
  int kept = 0;
  for (std::size_t id = 0; id < logits.size(); ++id) {
    const bool allowed = c.allowed("simple_b", static_cast<TokenId>(id));
    EXPECT_EQ(std::isinf(logits[id]), !allowed) << id;
    kept += allowed;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 40);  // "r", "ro", "rowser", "rowser\n", ... — a handful of 151k
  EXPECT_FALSE(f.wants(ids("simple_browser\nsearch(")));
}

// The ids a filter leaves finite for `generated`.
std::vector<TokenId> kept_ids(const model::LogitsFilter& f, std::span<const TokenId> generated, int vocab) {
  std::vector<float> logits(static_cast<std::size_t>(vocab), 0.0f);
  if (f.wants(generated)) f.apply(generated, logits);
  std::vector<TokenId> kept;
  for (std::size_t id = 0; id < logits.size(); ++id)
    if (!std::isinf(logits[id])) kept.push_back(static_cast<TokenId>(id));
  return kept;
}

TEST_F(ToolNameConstraintTest, ChosenFirstLineHoldsOnlyTheFirstHeader) {
  const ToolNameConstraint c(*tok_, {"python", "get_weather", "get_weather_v2"}, assistant_, true);
  const int vocab = tok_->vocab_size();
  const model::LogitsFilter weather = c.filter(std::string("get_weather"));
  for (TokenId id : kept_ids(weather, {}, vocab)) {
    const TokenId one[] = {id};
    const std::string piece = tok_->decode_bytes(one);
    EXPECT_EQ(std::string("get_weather").rfind(piece, 0), 0u) << "'" << piece << "' is not a prefix of get_weather";
  }
  // At the end of the chosen name only the line end is left (not the longer get_weather_v2).
  for (TokenId id : kept_ids(weather, ids("get_weather"), vocab)) {
    const TokenId one[] = {id};
    EXPECT_EQ(tok_->decode_bytes(one).front(), '\n');
  }
  // The chosen answer line: the first token must end the (empty) line.
  const std::vector<TokenId> answer = kept_ids(c.filter(std::string()), {}, vocab);
  ASSERT_FALSE(answer.empty());
  for (TokenId id : answer) {
    const TokenId one[] = {id};
    EXPECT_EQ(tok_->decode_bytes(one).front(), '\n');
  }
  // A header the model opens itself later in the same generation may name any tool again.
  std::vector<TokenId> later = ids("get_weather\n{\"city\": \"Oslo\"}");
  later.push_back(assistant_);
  const std::vector<TokenId> again = kept_ids(weather, later, vocab);
  EXPECT_EQ(again, kept_ids(c.filter(), later, vocab));
  EXPECT_NE(std::find(again.begin(), again.end(), ids("python")[0]), again.end());
}

TEST_F(ToolNameConstraintTest, LineScoreIsTheLengthNormalisedLogProbabilityOfTokensAndLineEnd) {
  const ToolNameConstraint c(*tok_, {"python"}, assistant_, true);
  const std::vector<TokenId> line = ids("python");
  ASSERT_EQ(line.size(), 1u);
  // Rows wider than the tokenizer (GLM-4 pads its output layer): uniform logits, except that the name's token
  // gets e^2 times the weight in the first row.
  const std::size_t width = static_cast<std::size_t>(tok_->vocab_size()) + 64;
  std::vector<float> rows(2 * width, 0.0f);
  rows[static_cast<std::size_t>(line[0])] = 2.0f;
  int line_ends = 0;
  for (int id = 0; id < tok_->vocab_size(); ++id) {
    const TokenId one[] = {id};
    if (!tok_->is_special(id) && tok_->decode_bytes(one).rfind('\n', 0) == 0) ++line_ends;
  }
  ASSERT_GT(line_ends, 0);
  const double first = 2.0 - std::log(static_cast<double>(width) - 1.0 + std::exp(2.0));
  const double end = std::log(static_cast<double>(line_ends)) - std::log(static_cast<double>(width));
  EXPECT_NEAR(c.line_score(rows, line), (first + end) / std::sqrt(2.0), 1e-9);
  // The empty line (an answer) is the line-end mass alone.
  EXPECT_NEAR(c.line_score(std::span<const float>(rows).subspan(width), {}), end, 1e-9);
  // Rows that do not fit the line's length score -infinity instead of reading out of bounds.
  EXPECT_TRUE(std::isinf(c.line_score(std::span<const float>(rows).first(2 * width - 1), line)));
}

TEST(ToolNameConstraintEmbedded, WorksWithTheEmbeddedModelsTokenizer) {
  auto tok = model::load_tokenizer(std::string(ALLTOOLS_SOURCE_DIR) + "/models/glm4-alltools-tiny/tokenizer.model");
  ASSERT_TRUE(tok.ok()) << tok.error();
  const TokenId assistant = *tok.value()->special_id("<|assistant|>");
  const ToolNameConstraint c(**tok, {"svc_fetch_employee_email_api"}, assistant, true);
  // A path through the constraint: the longest allowed piece without a newline, else one with it; the header
  // it spells must be the name.
  std::vector<TokenId> generated;
  for (int step = 0; step < 64; ++step) {
    const auto h = c.header(generated);
    if (!h) break;
    TokenId best = -1, newline = -1;
    std::size_t best_len = 0;
    for (int id = 0; id < tok.value()->vocab_size(); ++id) {
      if (!c.allowed(*h, id)) continue;
      const TokenId one[] = {id};
      const std::string piece = tok.value()->decode_bytes(one);
      if (piece.find('\n') != std::string::npos) {
        newline = id;
      } else if (piece.size() > best_len) {
        best = id;
        best_len = piece.size();
      }
    }
    if (best < 0) best = newline;
    ASSERT_GE(best, 0);
    generated.push_back(best);
  }
  const std::string text = tok.value()->decode_bytes(generated);
  EXPECT_EQ(text.substr(0, text.find('\n')), "svc_fetch_employee_email_api") << text;
}

}  // namespace
}  // namespace alltools::agent
