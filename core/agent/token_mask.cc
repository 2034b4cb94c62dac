#include "core/agent/token_mask.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace alltools::agent {

namespace {

using Bits = std::vector<std::uint64_t>;

// A node of the vocabulary trie: the tokens whose bytes start with the node's prefix are order[begin, end), those
// whose bytes are exactly the prefix order[begin, here_end). Children are linked (first_child, next_sibling;
// 0 = none, the root is node 0).
struct TrieNode {
  std::uint32_t first_child = 0, next_sibling = 0;
  std::uint32_t begin = 0, here_end = 0, end = 0;
  std::uint16_t depth = 0;
  std::uint8_t byte = 0;
};

void set_bits(Bits& bits, std::span<const model::TokenId> ids) {
  for (model::TokenId id : ids) bits[static_cast<std::size_t>(id) / 64] |= std::uint64_t{1} << (id % 64);
}

}  // namespace

struct TokenMasker::Impl {
  const JsonAutomaton& automaton;
  std::vector<std::string> pieces;
  std::vector<TrieNode> nodes;
  std::vector<model::TokenId> order;
  std::size_t words = 0;
  bool all_bytes = false;

  struct Local {
    Bits accepted;
    std::vector<std::uint32_t> undecided;  // nodes whose last byte completed the frame
  };
  std::unordered_map<std::string, Local> locals;
  std::unordered_map<std::string, Bits> masks;
  std::size_t local_bytes = 0, mask_bytes = 0;
  std::vector<State> scratch;  // scratch[d]: the state after a node of depth d
  Stats stats;

  Impl(const model::Tokenizer& tokenizer, const JsonAutomaton& a) : automaton(a) {
    const int vocab = tokenizer.vocab_size();
    pieces.resize(static_cast<std::size_t>(vocab));
    std::vector<std::pair<std::string_view, model::TokenId>> sorted;
    for (int id = 0; id < vocab; ++id) {
      if (tokenizer.is_special(id)) continue;
      const model::TokenId one[] = {id};
      pieces[id] = tokenizer.decode_bytes(one);
    }
    for (int id = 0; id < vocab; ++id)
      if (!pieces[id].empty()) sorted.emplace_back(pieces[id], id);
    std::sort(sorted.begin(), sorted.end());
    words = (static_cast<std::size_t>(vocab) + 63) / 64;
    build(sorted);
    std::size_t singles = 0;
    for (std::uint32_t c = nodes[0].first_child; c != 0; c = nodes[c].next_sibling)
      singles += nodes[c].here_end > nodes[c].begin ? 1 : 0;
    all_bytes = singles == 256;
    std::size_t longest = 0;
    for (const auto& [piece, id] : sorted) longest = std::max(longest, piece.size());
    scratch.resize(longest + 2);
    stats.trie_nodes = nodes.size();
    // The one walk over (nearly) the whole trie most bodies need: inside a plain string. Done here, so the first
    // string of a generation costs no more than later ones.
    State string = automaton.start(JsonSchemaGrammar::kAnyStringNode);
    if (automaton.step(string, '"') == StepResult::kOk) local(string);
  }

  // The trie in preorder from the sorted pieces: each piece shares its longest common prefix with the path of the
  // previous one.
  void build(const std::vector<std::pair<std::string_view, model::TokenId>>& sorted) {
    nodes.emplace_back();
    std::vector<std::uint32_t> path = {0}, last_child = {0};
    std::string_view prev;
    const auto close_to = [&](std::size_t length) {
      while (path.size() > length + 1) {
        nodes[path.back()].end = static_cast<std::uint32_t>(order.size());
        path.pop_back();
      }
    };
    for (const auto& [piece, id] : sorted) {
      std::size_t common = 0;
      while (common < prev.size() && common < piece.size() && prev[common] == piece[common]) ++common;
      close_to(std::min(common, path.size() - 1));
      for (std::size_t j = path.size() - 1; j < piece.size(); ++j) {
        const auto index = static_cast<std::uint32_t>(nodes.size());
        TrieNode n;
        n.begin = n.here_end = static_cast<std::uint32_t>(order.size());
        n.depth = static_cast<std::uint16_t>(j + 1);
        n.byte = static_cast<std::uint8_t>(piece[j]);
        nodes.push_back(n);
        last_child.push_back(0);
        const std::uint32_t parent = path.back();
        if (last_child[parent] == 0) {
          nodes[parent].first_child = index;
        } else {
          nodes[last_child[parent]].next_sibling = index;
        }
        last_child[parent] = index;
        path.push_back(index);
      }
      order.push_back(id);
      nodes[path.back()].here_end = static_cast<std::uint32_t>(order.size());
      prev = piece;
    }
    close_to(0);
    nodes[0].end = static_cast<std::uint32_t>(order.size());
  }

  std::span<const model::TokenId> here(const TrieNode& n) const {
    return std::span<const model::TokenId>(order).subspan(n.begin, n.here_end - n.begin);
  }

  // Walks the children of `node` from scratch[depth]. With `undecided`, a completed bottom frame records the node
  // there instead of descending (a local analysis).
  void walk(std::uint32_t node, std::size_t depth, Bits& out, std::vector<std::uint32_t>* undecided) {
    for (std::uint32_t c = nodes[node].first_child; c != 0; c = nodes[c].next_sibling) {
      ++stats.nodes_visited;
      State& next = scratch[depth + 1];
      next.frames.assign(scratch[depth].frames.begin(), scratch[depth].frames.end());
      next.base_depth = scratch[depth].base_depth;
      const StepResult r = automaton.step(next, nodes[c].byte);
      if (r == StepResult::kReject) continue;
      if (r == StepResult::kPopped) {
        if (undecided != nullptr) undecided->push_back(c);
        continue;
      }
      set_bits(out, here(nodes[c]));
      if (nodes[c].first_child != 0) walk(c, depth + 1, out, undecided);
    }
  }

  const Local& local(const State& state) {
    State top;
    top.frames.push_back(state.frames.back());
    // A scalar's analysis does not depend on its depth: one entry serves it everywhere.
    top.base_depth = JsonAutomaton::is_scalar(top.frames[0]) ? 0 : static_cast<std::uint32_t>(state.depth() - 1);
    std::string key = top.key();
    if (auto it = locals.find(key); it != locals.end()) return it->second;
    ++stats.local_misses;
    Local l;
    l.accepted.assign(words, 0);
    scratch[0] = std::move(top);
    walk(0, 0, l.accepted, &l.undecided);
    const std::size_t bytes = key.size() + l.accepted.size() * 8 + l.undecided.size() * 4;
    if (local_bytes + bytes > kMaxCacheBytes) locals.clear(), local_bytes = 0;
    local_bytes += bytes;
    return locals.emplace(std::move(key), std::move(l)).first->second;
  }

  const Bits& allowed(const State& state) {
    ++stats.lookups;
    std::string key = state.key();
    if (auto it = masks.find(key); it != masks.end()) return it->second;
    ++stats.full_misses;
    const Local& l = local(state);
    Bits mask = l.accepted;
    for (std::uint32_t u : l.undecided) {
      const TrieNode& n = nodes[u];
      const std::string_view prefix = std::string_view(pieces[order[n.begin]]).substr(0, n.depth);
      State& s = scratch[n.depth];
      s = state;
      if (!automaton.feed(s, prefix)) continue;
      set_bits(mask, here(n));
      walk(u, n.depth, mask, nullptr);
    }
    const std::size_t bytes = key.size() + mask.size() * 8;
    if (mask_bytes + bytes > kMaxCacheBytes) masks.clear(), mask_bytes = 0;
    mask_bytes += bytes;
    return masks.emplace(std::move(key), std::move(mask)).first->second;
  }
};

TokenMasker::TokenMasker(const model::Tokenizer& tokenizer, const JsonAutomaton& automaton)
    : impl_(std::make_unique<Impl>(tokenizer, automaton)) {}
TokenMasker::~TokenMasker() = default;

const std::vector<std::uint64_t>& TokenMasker::allowed(const State& state) { return impl_->allowed(state); }
const std::vector<std::string>& TokenMasker::pieces() const { return impl_->pieces; }
bool TokenMasker::has_all_bytes() const { return impl_->all_bytes; }
const TokenMasker::Stats& TokenMasker::stats() const { return impl_->stats; }

}  // namespace alltools::agent
