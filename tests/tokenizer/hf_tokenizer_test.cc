// The HF tokenizer.json loader: a tokenizer.json equivalent to the glm-4-9b-chat vocabulary is written here (GPT-2
// byte-level strings, one merge per multi-byte token, in rank order), loaded
// back, and must encode every golden line exactly like the tiktoken file.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/tokenizer.h"
#include "model/tokenizer/bpe_tokenizer.h"
#include "tests/tokenizer/vocab_reference.h"

namespace alltools::model {
namespace {

std::string byte_level(const std::string& bytes) {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool direct = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const unsigned cp = direct ? static_cast<unsigned>(b) : 256u + static_cast<unsigned>(extra++);
      std::string s;
      if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
      } else {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      t[b] = s;
    }
    return t;
  }();
  std::string out;
  for (unsigned char c : bytes) out += table[c];
  return out;
}

// A split of `token` into two tokens (the merge that makes it). The loader ranks a token by its first merge and,
// like tiktoken, merges any adjacent pair whose concatenation is ranked, so any split gives the same encoder.
std::pair<std::string, std::string> merge_of(const std::unordered_map<std::string, int>& ranks,
                                             const std::string& token) {
  for (std::size_t i = 1; i < token.size(); ++i) {
    auto a = ranks.find(token.substr(0, i));
    auto b = ranks.find(token.substr(i));
    if (a != ranks.end() && b != ranks.end()) return {a->first, b->first};
  }
  return {};
}

TEST(HfTokenizerJson, EquivalentVocabularyEncodesGoldensIdentically) {
  const std::string dir = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat";
  const auto ranks = testing::read_ranks(dir + "/tokenizer.model");
  ASSERT_GT(ranks.size(), 150000u) << "missing " << dir << "/tokenizer.model";
  std::vector<const std::string*> by_rank(ranks.size());
  for (const auto& [bytes, r] : ranks) by_rank[static_cast<std::size_t>(r)] = &bytes;

  nlohmann::json vocab = nlohmann::json::object();  // std::map: ordered_json's linear lookup is O(n^2) here
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  for (std::size_t r = 0; r < by_rank.size(); ++r) {
    const std::string& bytes = *by_rank[r];
    vocab[byte_level(bytes)] = r;
    if (bytes.size() < 2) continue;
    const auto [a, b] = merge_of(ranks, bytes);
    if (!a.empty()) merges.push_back(byte_level(a) + " " + byte_level(b));
  }
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  const auto names = glm4_special_tokens();
  for (std::size_t i = 0; i < names.size(); ++i) {
    added.push_back({{"id", by_rank.size() + i}, {"content", std::string(names[i])}, {"special", true}});
    vocab[std::string(names[i])] = by_rank.size() + i;  // real HF files list added tokens in the vocab too
  }
  const nlohmann::ordered_json doc = {{"version", "1.0"},
                                      {"added_tokens", added},
                                      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
  const auto out_dir = testing::temp_dir("hf");
  {
    std::ofstream out(out_dir / "tokenizer.json", std::ios::binary);
    out << doc.dump();
  }
  auto hf = load_tokenizer(out_dir.string());  // folder without tokenizer.model -> tokenizer.json
  std::filesystem::remove_all(out_dir);
  ASSERT_TRUE(hf.ok()) << hf.error();
  auto tk = load_tokenizer(dir);
  ASSERT_TRUE(tk.ok()) << tk.error();
  EXPECT_EQ((*hf)->vocab_size(), (*tk)->vocab_size());
  EXPECT_EQ(*(*hf)->special_id("<|observation|>"), 151338);

  std::ifstream in(dir + "/golden-encodings.jsonl");
  ASSERT_TRUE(in);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    const std::string text = j.at("text");
    const std::vector<int> want = j.at("ids");
    const auto got = j.value("allow_special", false) ? (*hf)->encode_with_special(text) : (*hf)->encode(text);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin(), want.end())) << "tag " << j.value("tag", "?");
    ++lines;
  }
  EXPECT_GT(lines, 50);
}

TEST(HfTokenizerJson, RejectsOtherModelsAndBrokenFiles) {
  const auto dir = testing::temp_dir("hfbad");
  std::ofstream(dir / "wp.json") << R"({"model": {"type": "WordPiece", "vocab": {}}})";
  auto r = load_hf_tokenizer_json((dir / "wp.json").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  std::ofstream(dir / "broken.json") << "{not json";
  auto b = load_hf_tokenizer_json((dir / "broken.json").string());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kParse);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace alltools::model
