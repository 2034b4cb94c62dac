// TokenMasker: the set of a vocabulary's ordinary tokens that a JsonAutomaton state allows next (every byte of the
// token advances the state), computed without a pass over the whole vocabulary in the common case:
// - the vocabulary is a byte trie, walked against the automaton with pruning (a rejected prefix skips its subtree);
// - per top frame (the open value alone, e.g. "inside a string of at most 20 characters"), a local analysis splits
//   the tokens into accepted inside that frame, rejected, and undecided (the frame completes inside the token, so
//   the rest depends on the enclosing values). It is cached by the frame's bytes: all strings of one kind share it;
// - per full state, the mask is that local set plus the undecided subtrees walked with the whole stack (few:
//   tokens that close a string and go on), and is cached by the state's bytes.
// So a string value costs one walk over the trie the first time a string of its kind is seen and a few hundred
// steps per new state afterwards; a cached state costs a hash lookup. Caches are bounded (kMaxCacheBytes each;
// full ones are cleared).
//
// Thread-safety: none (caches); one masker per agent, used by one generate() at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/agent/json_automaton.h"
#include "model/tokenizer.h"

namespace alltools::agent {

inline constexpr std::size_t kMaxCacheBytes = std::size_t{64} << 20;

class TokenMasker {
 public:
  // `tokenizer` is read here only; `automaton` must outlive the masker.
  TokenMasker(const model::Tokenizer& tokenizer, const JsonAutomaton& automaton);
  ~TokenMasker();
  TokenMasker(const TokenMasker&) = delete;
  TokenMasker& operator=(const TokenMasker&) = delete;

  // Bit i of word i / 64 is set iff ordinary token i may follow `state`. Valid until the next call.
  const std::vector<std::uint64_t>& allowed(const State& state);
  static bool test(std::span<const std::uint64_t> bits, std::size_t id) {
    return id / 64 < bits.size() && (bits[id / 64] >> (id % 64) & 1);
  }

  // The bytes of each token id ("" for special tokens).
  const std::vector<std::string>& pieces() const;
  // Whether every single byte is a token of its own (byte-level BPE): then no reachable state has an empty mask.
  bool has_all_bytes() const;

  struct Stats {
    long lookups = 0, full_misses = 0, local_misses = 0;
    long nodes_visited = 0;  // trie nodes walked, over all misses
    std::size_t trie_nodes = 0;
  };
  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace alltools::agent
