// Every line of ../shared/tokenizers/glm-4-9b-chat/golden-encodings.jsonl (ids produced by tiktoken's own core with
// the GLM-4 vocabulary) must encode to exactly its ids, and decode back to its text.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/tokenizer.h"
#include "model/tokenizer/bpe_tokenizer.h"

namespace alltools::model {
namespace {

const std::string kVocabDir = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat";

const Tokenizer& glm4() {
  static std::unique_ptr<Tokenizer> tok = [] {
    auto r = load_tokenizer(kVocabDir);
    if (!r.ok()) {
      ADD_FAILURE() << "cannot load " << kVocabDir << ": " << r.error();
      std::abort();
    }
    return std::move(r).value();
  }();
  return *tok;
}

std::string first_difference(const std::vector<TokenId>& got, const std::vector<int>& want) {
  std::size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  std::ostringstream os;
  os << "first difference at index " << i << ": got " << (i < got.size() ? std::to_string(got[i]) : "end") << ", want "
     << (i < want.size() ? std::to_string(want[i]) : "end") << " (lengths " << got.size() << " vs " << want.size() << ")";
  return os.str();
}

TEST(TokenizerGolden, EveryLineMatchesAndRoundTrips) {
  const std::string path = kVocabDir + "/golden-encodings.jsonl";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path;
  const Tokenizer& tok = glm4();
  std::string line;
  int lines = 0, mismatches = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++lines;
    const auto j = nlohmann::json::parse(line);
    const std::string text = j.at("text");
    const std::vector<int> want = j.at("ids");
    const bool special = j.value("allow_special", false);
    const auto got = special ? tok.encode_with_special(text) : tok.encode(text);
    if (!std::equal(got.begin(), got.end(), want.begin(), want.end())) {
      ++mismatches;
      ADD_FAILURE() << "tag " << j.value("tag", "?") << ": " << first_difference(got, want);
    }
    EXPECT_EQ(tok.decode_bytes(got), text) << "round trip, tag " << j.value("tag", "?");
  }
  EXPECT_GT(lines, 50);
  EXPECT_EQ(mismatches, 0);
}

TEST(TokenizerGolden, KnownIdsAndSpecials) {
  const Tokenizer& tok = glm4();
  EXPECT_EQ(tok.encode("\n"), (std::vector<TokenId>{198}));
  EXPECT_EQ(tok.encode("\n\n"), (std::vector<TokenId>{271}));
  EXPECT_EQ(tok.encode("你好"), (std::vector<TokenId>{109377}));
  EXPECT_EQ(tok.encode("python"), (std::vector<TokenId>{12663}));
  EXPECT_EQ(tok.vocab_size(), 151343);
  const auto names = glm4_special_tokens();
  ASSERT_EQ(names.size(), 14u);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto id = tok.special_id(names[i]);
    ASSERT_TRUE(id.has_value()) << names[i];
    EXPECT_EQ(*id, 151329 + static_cast<TokenId>(i)) << names[i];
    EXPECT_TRUE(tok.is_special(*id));
    const TokenId one[1] = {*id};
    EXPECT_EQ(tok.decode_bytes(one), names[i]);
  }
  EXPECT_FALSE(tok.is_special(198));
  EXPECT_FALSE(tok.special_id("<|nope|>").has_value());
}

// Prompt-injection safety: special-token strings typed in text stay text.
TEST(TokenizerGolden, LiteralSpecialTokensInTextAreOrdinary) {
  const Tokenizer& tok = glm4();
  for (std::string_view s : glm4_special_tokens()) {
    const std::string text = "hi " + std::string(s) + " there";
    const auto ids = tok.encode(text);
    for (TokenId id : ids) EXPECT_FALSE(tok.is_special(id)) << s << " became special id " << id;
    EXPECT_EQ(tok.decode_bytes(ids), text);
  }
  const auto with = tok.encode_with_special("a<|user|>b");
  EXPECT_NE(std::find(with.begin(), with.end(), *tok.special_id("<|user|>")), with.end());
}

TEST(TokenizerGolden, LongPiecesUseTheSameMerges) {
  // Long single pieces (letters without spaces, CJK runs, symbol runs) take the heap merge path; they must
  // round-trip (vocab_reference.h's differential test checks the ids).
  const Tokenizer& tok = glm4();
  std::string cjk;
  for (int i = 0; i < 100; ++i) cjk += "晚上睡不着应该怎么办";
  std::string letters;
  for (int i = 0; i < 300; ++i) letters += "abcxyz";
  for (const std::string& s : {cjk, letters, std::string(1000, ' ') + "x", std::string(500, '!')}) {
    const auto ids = tok.encode(s);
    EXPECT_EQ(tok.decode_bytes(ids), s);
  }
}

TEST(TokenizerGolden, InvalidUtf8IsEncodedByteWise) {
  const Tokenizer& tok = glm4();
  const std::string text = std::string("ok \xff\xfe bad \xe4\xbd") + " end";
  EXPECT_EQ(tok.decode_bytes(tok.encode(text)), text);
}

TEST(TokenizerLoad, PicksTheFileAndReportsMissingOnes) {
  auto from_file = load_tokenizer(kVocabDir + "/tokenizer.model");
  ASSERT_TRUE(from_file.ok()) << from_file.error();
  EXPECT_EQ((*from_file)->vocab_size(), 151343);
  auto missing = load_tokenizer("/nonexistent/folder");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto empty_dir = load_tokenizer(ALLTOOLS_SOURCE_DIR "/tests/tokenizer");
  ASSERT_FALSE(empty_dir.ok());
  EXPECT_NE(empty_dir.error().message.find("tokenizer.model"), std::string::npos);
}

}  // namespace
}  // namespace alltools::model
