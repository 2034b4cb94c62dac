// Open-addressing hash table from token bytes to (rank, id), the hot lookup of BPE. Keys live in one arena.
// Immutable after build(); lookups are thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "model/language_model.h"

namespace alltools::model::detail {

inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  if (n != 0) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
  }
  return h * 0x9E3779B97F4A7C15ull;
}

class RankTable {
 public:
  struct Value {
    std::int32_t rank;
    TokenId id;
  };

  // Sizes the table for `count` keys; then insert() each (distinct) key once.
  void reserve(std::size_t count) {
    std::size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
  }

  // Returns false if the key is already present.
  bool insert(std::string_view key, Value value) {
    const std::uint64_t h = hash_bytes(key.data(), key.size());
    std::size_t i = static_cast<std::size_t>(h >> shift_);
    const std::size_t mask = slots_.size() - 1;
    const auto tag = static_cast<std::uint16_t>(h);
    while (slots_[i].len != 0) {
      if (equal(slots_[i], tag, key.data(), key.size())) return false;
      i = (i + 1) & mask;
    }
    slots_[i] = Slot{static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint16_t>(key.size()), tag,
                     value.rank, value.id};
    arena_.append(key);
    return true;
  }

  const Value* find(const char* p, std::size_t n) const {
    if (n == 0 || n > 0xFFFF) return nullptr;
    const std::uint64_t h = hash_bytes(p, n);
    std::size_t i = static_cast<std::size_t>(h >> shift_);
    const std::size_t mask = slots_.size() - 1;
    const auto tag = static_cast<std::uint16_t>(h);
    while (slots_[i].len != 0) {
      if (equal(slots_[i], tag, p, n)) return &slots_[i].value;
      i = (i + 1) & mask;
    }
    return nullptr;
  }

 private:
  struct Slot {
    std::uint32_t offset = 0;
    std::uint16_t len = 0;  // 0 = empty slot
    std::uint16_t tag = 0;  // low hash bits, checked before the bytes
    Value value{0, 0};
    Slot() = default;
    Slot(std::uint32_t o, std::uint16_t l, std::uint16_t t, std::int32_t r, TokenId id)
        : offset(o), len(l), tag(t), value{r, id} {}
  };
  bool equal(const Slot& s, std::uint16_t tag, const char* p, std::size_t n) const {
    return s.tag == tag && s.len == n && std::memcmp(arena_.data() + s.offset, p, n) == 0;
  }

  std::vector<Slot> slots_;
  std::string arena_;
  int shift_ = 60;
};

}  // namespace alltools::model::detail
