// Loader contract for vocabularies of any size: the 14 GLM-4 specials follow the last rank; malformed files fail
// with an error naming the file and line. Plus a differential test of the BPE merge against a naive reference.
#include <random>

#include <gtest/gtest.h>

#include "model/tokenizer.h"
#include "model/tokenizer/bpe_tokenizer.h"
#include "tests/tokenizer/vocab_reference.h"

namespace alltools::model {
namespace {

std::vector<std::string> byte_tokens() {
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b) t.emplace_back(1, static_cast<char>(b));
  return t;
}

TEST(SmallVocab, SpecialsFollowTheLastRank) {
  auto tokens = byte_tokens();
  tokens.push_back("ab");   // 256
  tokens.push_back("cd");   // 257
  tokens.push_back("abcd"); // 258
  tokens.push_back(" ab");  // 259
  const auto dir = testing::temp_dir("small");
  testing::write_tiktoken(dir / "tokenizer.model", tokens);
  auto loaded = load_tokenizer(dir.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  const Tokenizer& tok = **loaded;
  EXPECT_EQ(tok.vocab_size(), 260 + 14);
  EXPECT_EQ(*tok.special_id("<|endoftext|>"), 260);
  EXPECT_EQ(*tok.special_id("[gMASK]"), 262);
  EXPECT_EQ(*tok.special_id("<|assistant|>"), 268);
  EXPECT_EQ(*tok.special_id("<|end_of_video|>"), 273);
  EXPECT_EQ(tok.encode("abcd"), (std::vector<TokenId>{258}));
  EXPECT_EQ(tok.encode("abcd ab"), (std::vector<TokenId>{258, 259}));
  EXPECT_EQ(tok.encode("abc"), (std::vector<TokenId>{256, 'c'}));
  EXPECT_EQ(tok.encode_with_special("ab<|user|>"), (std::vector<TokenId>{256, 267}));
  std::filesystem::remove_all(dir);
}

TEST(SmallVocab, MalformedFilesAreErrors) {
  const auto dir = testing::temp_dir("bad");
  {
    auto tokens = byte_tokens();
    tokens.erase(tokens.begin() + 'x');
    testing::write_tiktoken(dir / "missing_byte.model", tokens);
    auto r = load_tiktoken_model((dir / "missing_byte.model").string());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("0x"), std::string::npos) << r.error();
  }
  {
    std::ofstream(dir / "bad_b64.model") << "!!!! 0\n";
    auto r = load_tiktoken_model((dir / "bad_b64.model").string());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("bad_b64.model:1"), std::string::npos) << r.error();
  }
  {
    std::ofstream(dir / "dup.model") << "YQ== 0\nYg== 0\n";
    auto r = load_tiktoken_model((dir / "dup.model").string());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kParse);
  }
  {
    std::ofstream(dir / "huge_rank.model") << "YQ== 99999999\n";  // would need a 100M-entry table
    auto r = load_tiktoken_model((dir / "huge_rank.model").string());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("invalid rank"), std::string::npos) << r.error();
  }
  {
    std::ofstream(dir / "gap.model") << "YQ== 0\nYg== 5\n";
    auto r = load_tiktoken_model((dir / "gap.model").string());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("dense"), std::string::npos) << r.error();
  }
  std::filesystem::remove_all(dir);
}

// Random long single pieces (> the linear-merge threshold) vs the naive reference BPE over the real vocabulary.
TEST(BpeMerge, MatchesNaiveReferenceOnLongPieces) {
  const std::string model = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/tokenizer.model";
  const auto ranks = testing::read_ranks(model);
  ASSERT_GT(ranks.size(), 150000u) << "missing " << model;
  auto loaded = load_tokenizer(model);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  const Tokenizer& tok = **loaded;
  std::mt19937 rng(42);
  const std::vector<std::string> alphabets[] = {
      {"a", "b", "e", "r", "s", "t", "in", "on", "the"},
      {"你", "好", "我", "是", "人", "工", "智", "能", "的", "中", "国"},
      {"é", "ß", "ж", "ш", "λ", "α", "ب", "ت"},
  };
  for (int round = 0; round < 60; ++round) {
    const auto& alphabet = alphabets[round % 3];
    std::string piece;
    const int target = 20 + static_cast<int>(rng() % 400);
    while (static_cast<int>(piece.size()) < target) piece += alphabet[rng() % alphabet.size()];
    const auto want = testing::reference_bpe(ranks, piece);
    const auto got = tok.encode(piece);
    ASSERT_EQ(got, std::vector<TokenId>(want.begin(), want.end())) << "piece of " << piece.size() << " bytes: " << piece;
  }
}

}  // namespace
}  // namespace alltools::model
