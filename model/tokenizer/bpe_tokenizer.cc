// BpeTokenizer: tiktoken's encoding algorithm (pre-tokenize with the cl100k regex; a piece that is itself a
// token encodes to it; otherwise merge the adjacent pair whose concatenation has the lowest rank, leftmost
// first, until no pair is a token) over a vocabulary from either loader.
#include "model/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <array>
#include <unordered_map>

#include "model/tokenizer/detail/bpe_core.h"
#include "model/tokenizer/detail/pretokenizer.h"
#include "model/tokenizer/detail/rank_table.h"

namespace alltools::model {

std::span<const std::string_view> glm4_special_tokens() {
  static constexpr std::array<std::string_view, 14> kTokens = {
      "<|endoftext|>", "[MASK]",        "[gMASK]",         "[sMASK]",          "<sop>",
      "<eop>",         "<|system|>",    "<|user|>",        "<|assistant|>",    "<|observation|>",
      "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>", "<|end_of_video|>"};
  return kTokens;
}

std::string_view glm4_pretokenizer_pattern() {
  return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
}

namespace detail {
namespace {

// Pieces up to this many bytes use the quadratic scan (fast for short pieces); longer ones a heap.
constexpr std::size_t kLinearMergeMaxBytes = 24;

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(Pretokenizer pretokenizer, RankTable table, std::array<TokenId, 256> byte_ids,
               std::vector<std::string> id_bytes, std::vector<bool> id_special,
               std::vector<SpecialEntry> specials)
      : pretokenizer_(std::move(pretokenizer)),
        table_(std::move(table)),
        byte_ids_(byte_ids),
        id_bytes_(std::move(id_bytes)),
        id_special_(std::move(id_special)),
        specials_(std::move(specials)) {
    for (const auto& s : specials_) special_first_byte_[static_cast<unsigned char>(s.text[0])] = true;
    pair_rank_.assign(1 << 16, kNoRank);
    for (int a = 0; a < 256; ++a) {
      for (int b = 0; b < 256; ++b) {
        const char two[2] = {static_cast<char>(a), static_cast<char>(b)};
        if (const RankTable::Value* v = table_.find(two, 2)) pair_rank_[(a << 8) | b] = v->rank;
      }
    }
  }

  std::vector<TokenId> encode(std::string_view text) const override {
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 4);
    encode_ordinary_into(text, out);
    return out;
  }

  std::vector<TokenId> encode_with_special(std::string_view text) const override {
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 4);
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (!special_first_byte_[static_cast<unsigned char>(text[i])]) continue;
      const SpecialEntry* hit = nullptr;
      for (const auto& s : specials_) {
        if (text.substr(i, s.text.size()) == s.text && (hit == nullptr || s.text.size() > hit->text.size())) hit = &s;
      }
      if (hit == nullptr) continue;
      encode_ordinary_into(text.substr(start, i - start), out);
      out.push_back(hit->id);
      i += hit->text.size() - 1;
      start = i + 1;
    }
    encode_ordinary_into(text.substr(start), out);
    return out;
  }

  std::string decode_bytes(std::span<const TokenId> ids) const override {
    std::string out;
    for (TokenId id : ids) {
      if (id >= 0 && static_cast<std::size_t>(id) < id_bytes_.size()) out += id_bytes_[id];
    }
    return out;
  }

  std::optional<TokenId> special_id(std::string_view token) const override {
    for (const auto& s : specials_) {
      if (s.text == token) return s.id;
    }
    return std::nullopt;
  }

  bool is_special(TokenId id) const override {
    return id >= 0 && static_cast<std::size_t>(id) < id_special_.size() && id_special_[id];
  }

  int vocab_size() const override { return static_cast<int>(id_bytes_.size()); }

 private:
  void encode_ordinary_into(std::string_view text, std::vector<TokenId>& out) const {
    if (text.empty()) return;
    pretokenizer_.split(text, [&](std::string_view piece) { encode_piece(piece, out); });
  }

  // Rank of the two bytes at p, from the direct table (the first and most frequent lookup of every merge).
  std::int32_t pair_rank(const char* p) const {
    return pair_rank_[(static_cast<unsigned char>(p[0]) << 8) | static_cast<unsigned char>(p[1])];
  }

  std::int32_t rank_of(const char* p, std::size_t n) const {
    if (n == 2) return pair_rank(p);
    const RankTable::Value* v = table_.find(p, n);
    return v == nullptr ? kNoRank : v->rank;
  }

  TokenId id_of(const char* p, std::size_t n) const {
    if (n == 1) return byte_ids_[static_cast<unsigned char>(*p)];
    const RankTable::Value* v = table_.find(p, n);
    ALLTOOLS_CHECK_MSG(v != nullptr, "BPE produced a part that is not a token");
    return v->id;
  }

  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
    if (piece.size() == 1) {
      out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
      return;
    }
    if (const RankTable::Value* v = table_.find(piece.data(), piece.size())) {
      out.push_back(v->id);
      return;
    }
    if (piece.size() <= kLinearMergeMaxBytes) {
      merge_linear(piece, out);
    } else {
      merge_heap(piece, out);
    }
  }

  // tiktoken's byte_pair_merge: parts[i] = (start, rank of the pair starting at part i).
  void merge_linear(std::string_view piece, std::vector<TokenId>& out) const {
    struct Part {
      std::uint32_t start;
      std::int32_t rank;
    };
    std::array<Part, kLinearMergeMaxBytes + 1> parts_storage;
    Part* parts = parts_storage.data();
    std::size_t count = piece.size() + 1;
    const char* p = piece.data();
    for (std::size_t i = 0; i < count; ++i) parts[i] = Part{static_cast<std::uint32_t>(i), kNoRank};
    for (std::size_t i = 0; i + 2 < count; ++i) parts[i].rank = pair_rank(p + i);
    auto pair_rank = [&](std::size_t i) -> std::int32_t {
      if (i + 3 >= count) return kNoRank;
      return rank_of(p + parts[i].start, parts[i + 3].start - parts[i].start);
    };
    while (count > 2) {
      std::int32_t best = kNoRank;
      std::size_t best_i = 0;
      for (std::size_t i = 0; i + 2 < count; ++i) {
        if (parts[i].rank < best) {
          best = parts[i].rank;
          best_i = i;
        }
      }
      if (best == kNoRank) break;
      parts[best_i].rank = pair_rank(best_i);
      if (best_i > 0) parts[best_i - 1].rank = pair_rank(best_i - 1);
      std::copy(parts + best_i + 2, parts + count, parts + best_i + 1);
      --count;
    }
    for (std::size_t i = 0; i + 1 < count; ++i) out.push_back(id_of(p + parts[i].start, parts[i + 1].start - parts[i].start));
  }

  // Same result as merge_linear in O(n log n): a linked list of parts and a min-heap of (pair rank, part start)
  // with lazy deletion. Equal ranks pop leftmost first, as the linear scan picks them. Scratch buffers are
  // per thread and reused, so long pieces cost no allocation after the first.
  void merge_heap(std::string_view piece, std::vector<TokenId>& out) const {
    struct Scratch {
      std::vector<std::uint32_t> next, prev;
      std::vector<std::int32_t> rank;
      std::vector<std::uint64_t> heap;  // (rank << 32 | start), min-heap via std::greater
    };
    thread_local Scratch scratch;
    const std::size_t n = piece.size();
    const char* p = piece.data();
    auto& next = scratch.next;
    auto& prev = scratch.prev;
    auto& rank = scratch.rank;
    auto& heap = scratch.heap;
    next.resize(n);
    prev.resize(n);
    rank.assign(n, kNoRank);
    heap.clear();
    for (std::size_t i = 0; i < n; ++i) {
      next[i] = static_cast<std::uint32_t>(i + 1);
      prev[i] = static_cast<std::uint32_t>(i == 0 ? n : i - 1);
    }
    auto key = [](std::int32_t r, std::uint32_t i) {
      return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(r)) << 32) | i;
    };
    auto push = [&](std::int32_t r, std::uint32_t i) {
      heap.push_back(key(r, i));
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    };
    auto compute = [&](std::uint32_t i) -> std::int32_t {
      const std::uint32_t j = next[i];
      if (j >= n) return kNoRank;
      return rank_of(p + i, next[j] - i);  // part i followed by part j, which ends where next[j] starts
    };
    for (std::uint32_t i = 0; i + 1 < n; ++i) {
      rank[i] = pair_rank(p + i);
      if (rank[i] != kNoRank) heap.push_back(key(rank[i], i));
    }
    std::make_heap(heap.begin(), heap.end(), std::greater<>());
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      const std::uint64_t top = heap.back();
      heap.pop_back();
      const auto r = static_cast<std::int32_t>(top >> 32);
      const auto i = static_cast<std::uint32_t>(top & 0xFFFFFFFFu);
      if (rank[i] != r) continue;  // stale: part i changed (or was absorbed: its rank is kNoRank then)
      const std::uint32_t j = next[i];
      rank[j] = kNoRank;
      next[i] = next[j];
      if (next[j] < n) prev[next[j]] = i;
      rank[i] = compute(i);
      if (rank[i] != kNoRank) push(rank[i], i);
      if (i != 0) {
        const std::uint32_t h = prev[i];
        rank[h] = compute(h);
        if (rank[h] != kNoRank) push(rank[h], h);
      }
    }
    for (std::uint32_t i = 0; i < n; i = next[i]) out.push_back(id_of(p + i, next[i] - i));
  }

  Pretokenizer pretokenizer_;
  RankTable table_;
  std::array<TokenId, 256> byte_ids_;
  std::vector<std::string> id_bytes_;  // decode table, indexed by id; empty for unused ids
  std::vector<bool> id_special_;
  std::vector<SpecialEntry> specials_;
  std::array<bool, 256> special_first_byte_{};
  std::vector<std::int32_t> pair_rank_;  // [first byte << 8 | second byte] -> rank of that 2-byte token
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> make_bpe_tokenizer(std::vector<TokenEntry> tokens,
                                                      std::vector<SpecialEntry> specials, const std::string& source) {
  ALLTOOLS_ASSIGN_OR_RETURN(Pretokenizer pre, Pretokenizer::create(glm4_pretokenizer_pattern()));
  TokenId max_id = -1;
  for (const auto& t : tokens) max_id = std::max(max_id, t.id);
  for (const auto& s : specials) max_id = std::max(max_id, s.id);
  if (max_id < 0) return make_error(ErrorCode::kParse, source + ": the vocabulary is empty");
  if (max_id >= kMaxVocabSize) {
    return make_error(ErrorCode::kOutOfRange, source + ": token id " + std::to_string(max_id) + " is beyond the limit of " +
                                                  std::to_string(kMaxVocabSize) + " ids");
  }
  std::vector<std::string> id_bytes(static_cast<std::size_t>(max_id) + 1);
  std::vector<bool> id_used(id_bytes.size(), false);
  std::vector<bool> id_special(id_bytes.size(), false);
  std::array<TokenId, 256> byte_ids;
  std::array<bool, 256> have_byte{};
  RankTable table;
  table.reserve(tokens.size());
  for (auto& t : tokens) {
    if (t.id < 0) return make_error(ErrorCode::kParse, source + ": negative token id " + std::to_string(t.id));
    if (t.bytes.empty() || t.bytes.size() > kMaxTokenBytes) {
      return make_error(ErrorCode::kParse,
                        source + ": token id " + std::to_string(t.id) + " has " + std::to_string(t.bytes.size()) +
                            " bytes (allowed 1.." + std::to_string(kMaxTokenBytes) + ")");
    }
    if (id_used[t.id]) return make_error(ErrorCode::kParse, source + ": token id " + std::to_string(t.id) + " appears twice");
    id_used[t.id] = true;
    if (!table.insert(t.bytes, RankTable::Value{t.rank, t.id})) {
      return make_error(ErrorCode::kParse, source + ": token id " + std::to_string(t.id) + " repeats the bytes of another token");
    }
    if (t.bytes.size() == 1) {
      byte_ids[static_cast<unsigned char>(t.bytes[0])] = t.id;
      have_byte[static_cast<unsigned char>(t.bytes[0])] = true;
    }
    id_bytes[t.id] = std::move(t.bytes);
  }
  for (int b = 0; b < 256; ++b) {
    if (!have_byte[b]) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", b);
      return make_error(ErrorCode::kParse, source + ": no token for the single byte " + hex +
                                               " (byte-level BPE needs all 256)");
    }
  }
  for (const auto& s : specials) {
    if (s.text.empty()) return make_error(ErrorCode::kParse, source + ": empty special token");
    if (s.id < 0) return make_error(ErrorCode::kParse, source + ": special token " + s.text + " has a negative id");
    if (id_used[s.id]) {
      return make_error(ErrorCode::kParse, source + ": special token " + s.text + " has id " + std::to_string(s.id) +
                                               ", already used by an ordinary token");
    }
    id_used[s.id] = true;
    id_special[s.id] = true;
    id_bytes[s.id] = s.text;
  }
  return std::unique_ptr<Tokenizer>(std::make_unique<BpeTokenizer>(
      std::move(pre), std::move(table), byte_ids, std::move(id_bytes), std::move(id_special), std::move(specials)));
}

}  // namespace detail
}  // namespace alltools::model
