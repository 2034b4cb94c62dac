// tokenizer.json (HF tokenizers, byte-level BPE as glm-4-9b-chat-hf and GLM-4-0414 ship it).
// Token strings use GPT-2's byte<->unicode mapping: bytes 0x21..0x7E, 0xA1..0xAC, 0xAE..0xFF stand for
// themselves as code points; the other 68 bytes map, in byte order, to U+0100, U+0101, ...
#include <array>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "model/tokenizer/bpe_tokenizer.h"
#include "model/tokenizer/detail/bpe_core.h"

namespace alltools::model {
namespace {

// code point -> byte for the 256 code points of the byte-level alphabet; -1 elsewhere.
const std::unordered_map<char32_t, int>& unicode_to_byte() {
  static const auto* table = [] {
    auto* m = new std::unordered_map<char32_t, int>();
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool direct = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      (*m)[direct ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++)] = b;
    }
    return m;
  }();
  return *table;
}

// Decodes a byte-level token string into its bytes; nullopt if a character is outside the alphabet.
std::optional<std::string> byte_level_decode(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    char32_t cp = 0;
    int len = 0;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else {
      return std::nullopt;  // the alphabet has no 4-byte characters
    }
    if (i + len > s.size()) return std::nullopt;
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    const auto it = unicode_to_byte().find(cp);
    if (it == unicode_to_byte().end()) return std::nullopt;
    out.push_back(static_cast<char>(it->second));
    i += len;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_hf_tokenizer_json(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, file + ": cannot open tokenizer file");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kParse, file + ": not valid JSON: " + e.what());
  }
  try {
    const auto& model = doc.at("model");
    if (model.value("type", std::string("BPE")) != "BPE") {
      return make_error(ErrorCode::kUnsupported, file + ": model.type is " + model.at("type").dump() + ", only BPE is supported");
    }
    // Special added tokens; HF files often list them in model.vocab too, where they are not ordinary tokens.
    std::vector<detail::SpecialEntry> specials;
    std::unordered_map<TokenId, bool> special_ids;
    if (doc.contains("added_tokens")) {
      for (const auto& t : doc.at("added_tokens")) {
        if (!t.value("special", false)) continue;
        specials.push_back(detail::SpecialEntry{t.at("content").get<std::string>(), t.at("id").get<TokenId>()});
        special_ids[specials.back().id] = true;
      }
    }
    std::unordered_map<std::string, detail::TokenEntry> by_bytes;
    by_bytes.reserve(model.at("vocab").size());
    for (const auto& [text, id] : model.at("vocab").items()) {
      if (special_ids.count(id.get<TokenId>()) != 0) continue;
      auto bytes = byte_level_decode(text);
      if (!bytes) return make_error(ErrorCode::kParse, file + ": vocab entry " + nlohmann::json(text).dump() + " is not byte-level");
      auto& e = by_bytes[*bytes];
      e.bytes = *bytes;
      e.id = id.get<TokenId>();
    }
    // A merge's rank is its position; a token made by several merges keeps the first.
    std::int32_t index = 0;
    for (const auto& merge : model.at("merges")) {
      std::string left, right;
      if (merge.is_string()) {
        const std::string m = merge.get<std::string>();
        const std::size_t space = m.find(' ');
        if (space == std::string::npos) return make_error(ErrorCode::kParse, file + ": merge " + merge.dump() + " has no space");
        left = m.substr(0, space);
        right = m.substr(space + 1);
      } else {
        left = merge.at(0).get<std::string>();
        right = merge.at(1).get<std::string>();
      }
      auto l = byte_level_decode(left), r = byte_level_decode(right);
      if (!l || !r) return make_error(ErrorCode::kParse, file + ": merge " + merge.dump() + " is not byte-level");
      auto it = by_bytes.find(*l + *r);
      if (it == by_bytes.end()) return make_error(ErrorCode::kParse, file + ": merge " + merge.dump() + " makes no vocab token");
      if (it->second.rank == detail::kNoRank) it->second.rank = index;
      ++index;
    }
    std::vector<detail::TokenEntry> tokens;
    tokens.reserve(by_bytes.size());
    for (auto& [bytes, entry] : by_bytes) tokens.push_back(std::move(entry));
    return detail::make_bpe_tokenizer(std::move(tokens), std::move(specials), file);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kParse, file + ": unexpected tokenizer.json layout: " + e.what());
  }
}

}  // namespace alltools::model
