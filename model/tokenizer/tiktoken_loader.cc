// tokenizer.model (tiktoken format): one `base64(bytes) SP rank` per line; GLM-4 special tokens appended.
#include <fstream>
#include <sstream>

#include "model/tokenizer/bpe_tokenizer.h"
#include "model/tokenizer/detail/bpe_core.h"

namespace alltools::model {
namespace {

// Decodes standard base64 (with '=' padding). nullopt on any invalid character or length.
std::optional<std::string> decode_base64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    for (int k = 0; k < 4; ++k) {
      const bool padding_slot = i + 4 == in.size() && k >= 4 - static_cast<int>(pad);
      v[k] = padding_slot ? 0 : value(in[i + k]);
      if (v[k] < 0) return std::nullopt;
    }
    const std::uint32_t triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(triple >> 16));
    if (!(i + 4 == in.size() && pad >= 2)) out.push_back(static_cast<char>((triple >> 8) & 0xFF));
    if (!(i + 4 == in.size() && pad >= 1)) out.push_back(static_cast<char>(triple & 0xFF));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> load_tiktoken_model(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, file + ": cannot open tokenizer file");
  std::vector<detail::TokenEntry> tokens;
  std::vector<bool> rank_seen;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    const std::string where = file + ":" + std::to_string(line_number);
    if (space == std::string::npos) return make_error(ErrorCode::kParse, where + ": expected `base64 rank`");
    auto bytes = decode_base64(std::string_view(line).substr(0, space));
    if (!bytes) return make_error(ErrorCode::kParse, where + ": invalid base64 token");
    const std::string rank_text = line.substr(space + 1);
    long long rank = -1;
    std::size_t used = 0;
    try {
      rank = std::stoll(rank_text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != rank_text.size() || rank < 0 || rank >= detail::kMaxVocabSize) {
      return make_error(ErrorCode::kParse, where + ": invalid rank '" + rank_text + "'");
    }
    if (static_cast<std::size_t>(rank) >= rank_seen.size()) rank_seen.resize(static_cast<std::size_t>(rank) + 1, false);
    if (rank_seen[rank]) return make_error(ErrorCode::kParse, where + ": rank " + rank_text + " appears twice");
    rank_seen[rank] = true;
    tokens.push_back(detail::TokenEntry{std::move(*bytes), static_cast<std::int32_t>(rank), static_cast<TokenId>(rank)});
  }
  if (in.bad()) return make_error(ErrorCode::kIo, file + ": read error");
  if (tokens.size() != rank_seen.size()) {
    return make_error(ErrorCode::kParse, file + ": ranks are not dense (" + std::to_string(tokens.size()) +
                                             " tokens, highest rank " + std::to_string(rank_seen.size() - 1) + ")");
  }
  std::vector<detail::SpecialEntry> specials;
  const auto first_special = static_cast<TokenId>(tokens.size());
  for (std::size_t i = 0; i < glm4_special_tokens().size(); ++i) {
    specials.push_back(detail::SpecialEntry{std::string(glm4_special_tokens()[i]), first_special + static_cast<TokenId>(i)});
  }
  return detail::make_bpe_tokenizer(std::move(tokens), std::move(specials), file);
}

}  // namespace alltools::model
