#include "core/agent/json_automaton.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace alltools::agent {

namespace {

static_assert(std::has_unique_object_representations_v<Frame>, "Frame must have no padding (State::key)");

// Frame::mode values, unique across kinds so a frame's mode alone says how it reads a byte.
enum Mode : std::uint8_t {
  kRootBefore = 1, kRootAfter,
  kObjOpen, kObjKey, kObjColon, kObjValue, kObjAfter, kObjComma,
  kFreeOpen, kFreeColon, kFreeValue, kFreeAfter, kFreeComma,
  kArrOpen, kArrAfter, kArrComma,
  kStr, kStrEsc, kStrHex, kStrLowBackslash, kStrLowU, kStrUtf8,
  kNum, kLit,  // scalars from kStr on (is_scalar)
};

constexpr int kMaxRefeeds = 80;          // frames one byte can complete (> the deepest stack)
constexpr std::size_t kIntDigits = 18;   // integer digits (kMaxInteger)
constexpr std::size_t kNumDigits = 15;   // number: integer digits, and fraction digits

__extension__ typedef __int128 Int128;  // exact products of 18-digit integers and powers of ten

bool is_ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
std::uint64_t low_bits(std::size_t n) { return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1; }

// The parts of a number text: sign, integer digits, whether a '.' follows, fraction digits.
struct NumberText {
  bool negative = false;
  std::string_view integer, fraction;
  bool dot = false;
};
NumberText split_number(std::string_view t) {
  NumberText n;
  if (!t.empty() && t[0] == '-') n.negative = true, t.remove_prefix(1);
  const std::size_t dot = t.find('.');
  n.integer = t.substr(0, dot);
  if (dot != std::string_view::npos) n.dot = true, n.fraction = t.substr(dot + 1);
  return n;
}

// Whether [lo, hi] (ends included as told) meets the node's bounds in more than a point, or in a point both include.
bool meets(const SchemaNode& n, double lo, double hi, bool lo_closed, bool hi_closed) {
  const double a = std::max(lo, n.min), b = std::min(hi, n.max);
  if (a < b) return true;
  if (a > b) return false;
  return (a > lo || lo_closed) && (a < hi || hi_closed) && (a > n.min || !n.min_exclusive) &&
         (a < n.max || !n.max_exclusive);
}

// Whether some complete number extending `t` (a valid prefix) lies within the node's bounds.
bool number_possible(const SchemaNode& n, std::string_view t) {
  const NumberText p = split_number(t);
  // Magnitudes [lo, hi) reachable from the prefix; mirrored for a negative sign.
  const auto check = [&](double lo, double hi, bool hi_closed) {
    return p.negative ? meets(n, -hi, -lo, hi_closed, true) : meets(n, lo, hi, true, hi_closed);
  };
  if (p.dot) {
    char buf[kMaxNumberText + 2] = {};
    std::memcpy(buf, t.data(), t.size());
    if (p.fraction.empty()) buf[t.size()] = '0';
    const double x = std::fabs(std::strtod(buf, nullptr));
    if (p.fraction.size() >= kNumDigits) return check(x, x, true);
    return check(x, x + std::pow(10.0, -static_cast<double>(p.fraction.size())), false);
  }
  if (p.integer.empty()) return check(0.0, std::pow(10.0, kNumDigits), false);
  if (p.integer == "0") return check(0.0, 1.0, false);
  const double v = std::strtod(std::string(p.integer).c_str(), nullptr);
  for (std::size_t k = 0; p.integer.size() + k <= kNumDigits; ++k) {
    const double scale = std::pow(10.0, static_cast<double>(k));
    if (check(v * scale, (v + 1) * scale, false)) return true;
  }
  return false;
}

// The same for an integer node (exact arithmetic).
bool integer_possible(const SchemaNode& n, std::string_view t) {
  const NumberText p = split_number(t);
  const auto meets_int = [&](Int128 lo, Int128 hi) {
    if (p.negative) std::swap(lo, hi), lo = -lo, hi = -hi;
    return std::max<Int128>(lo, n.int_min) <= std::min<Int128>(hi, n.int_max);
  };
  if (p.integer.empty()) return meets_int(1, kMaxInteger);
  if (p.integer == "0") return meets_int(0, 0);
  Int128 v = 0;
  for (char c : p.integer) v = v * 10 + (c - '0');
  Int128 scale = 1;
  for (std::size_t k = 0; p.integer.size() + k <= kIntDigits; ++k, scale *= 10) {
    if (meets_int(v * scale, v * scale + scale - 1)) return true;
  }
  return false;
}

bool number_complete(const SchemaNode& n, std::string_view t, bool integer) {
  const NumberText p = split_number(t);
  if (p.integer.empty() || (p.dot && p.fraction.empty())) return false;
  if (p.negative && p.integer == "0" && !p.dot) return false;  // "-0"
  char buf[kMaxNumberText + 1] = {};
  std::memcpy(buf, t.data(), t.size());
  if (integer) {
    const long long v = std::strtoll(buf, nullptr, 10);
    return v >= n.int_min && v <= n.int_max;
  }
  const double v = std::strtod(buf, nullptr);
  return (n.min_exclusive ? v > n.min : v >= n.min) && (n.max_exclusive ? v < n.max : v <= n.max);
}

}  // namespace

std::string State::key() const {
  std::string k(sizeof(base_depth) + frames.size() * sizeof(Frame), '\0');
  std::memcpy(k.data(), &base_depth, sizeof(base_depth));
  if (!frames.empty()) std::memcpy(k.data() + sizeof(base_depth), frames.data(), frames.size() * sizeof(Frame));
  return k;
}

State JsonAutomaton::start(int node) const {
  State s;
  Frame root{};
  root.node = node;
  root.mode = kRootBefore;
  s.frames.push_back(root);
  return s;
}

bool JsonAutomaton::is_scalar(const Frame& frame) { return frame.mode >= kStr; }

bool JsonAutomaton::feed(State& state, std::string_view bytes) const {
  for (unsigned char c : bytes)
    if (step(state, c) != StepResult::kOk) return false;
  return true;
}

bool JsonAutomaton::can_end(const State& state) const {
  State copy = state;
  return step(copy, kEnd) == StepResult::kOk;
}

StepResult JsonAutomaton::step(State& state, int byte) const {
  for (int i = 0; i < kMaxRefeeds && !state.frames.empty(); ++i) {
    switch (feed_frame(state, byte)) {
      case Feed::kConsumed: return StepResult::kOk;
      case Feed::kReject: return StepResult::kReject;
      case Feed::kDoneConsumed:
        state.frames.pop_back();
        return state.frames.empty() ? StepResult::kPopped : StepResult::kOk;
      case Feed::kDoneRefeed:
        state.frames.pop_back();
        if (state.frames.empty()) return StepResult::kPopped;
        break;  // the byte goes to the enclosing value
    }
  }
  return StepResult::kReject;
}

bool JsonAutomaton::push_value(State& state, int node, int c) const {
  const SchemaNode& n = grammar_.node(node);
  Frame g{};
  g.node = node;
  switch (n.kind) {
    case NodeKind::kAny: {
      const bool room = state.depth() < kMaxAnyDepth;
      if (c == '"') return push_value(state, JsonSchemaGrammar::kAnyStringNode, c);
      if (c == '{' && room) return push_value(state, JsonSchemaGrammar::kFreeObjectNode, c);
      if (c == '[' && room) return push_value(state, JsonSchemaGrammar::kAnyArrayNode, c);
      if (c == '-' || is_digit(c)) return push_value(state, JsonSchemaGrammar::kAnyNumberNode, c);
      if (c == 't' || c == 'f' || c == 'n') return push_value(state, JsonSchemaGrammar::kScalarLiteralsNode, c);
      return false;
    }
    case NodeKind::kUnion:
      for (int a : n.alternatives)
        if (push_value(state, a, c)) return true;
      return false;
    case NodeKind::kObject:
      if (c != '{') return false;
      g.mode = kObjOpen;
      break;
    case NodeKind::kFreeObject:
      if (c != '{') return false;
      g.mode = kFreeOpen;
      break;
    case NodeKind::kArray:
      if (c != '[') return false;
      g.mode = kArrOpen;
      break;
    case NodeKind::kString:
      if (c != '"') return false;
      g.mode = kStr;
      break;
    case NodeKind::kInteger:
    case NodeKind::kNumber:
      g.mode = kNum;
      if (feed_number(g, c) != Feed::kConsumed) return false;
      break;
    case NodeKind::kLiterals:
      g.mode = kLit;
      for (std::size_t i = 0; i < n.literals.size(); ++i)
        if (static_cast<unsigned char>(n.literals[i][0]) == c) g.cand |= std::uint64_t{1} << i;
      if (g.cand == 0) return false;
      g.len = 1;
      break;
  }
  state.frames.push_back(g);
  return true;
}

JsonAutomaton::Feed JsonAutomaton::feed_frame(State& state, int c) const {
  Frame& f = state.frames.back();
  switch (f.mode) {
    case kStr: case kStrEsc: case kStrHex: case kStrLowBackslash: case kStrLowU: case kStrUtf8:
      return feed_string(f, c);
    case kNum: return feed_number(f, c);
    case kLit: return feed_literals(f, c);
    default: break;
  }
  // Containers and the root: whitespace in the gaps, bounded per gap.
  if (is_ws(c) && f.mode != kObjKey) {
    if (f.ws >= kMaxWhitespaceRun) return Feed::kReject;
    ++f.ws;
    return Feed::kConsumed;
  }
  f.ws = 0;
  const SchemaNode& n = grammar_.node(f.node);
  const auto pushed = [&](int child) { return push_value(state, child, c) ? Feed::kConsumed : Feed::kReject; };
  const std::uint64_t all = low_bits(n.properties.size());
  const auto required_seen = [&](std::uint64_t seen) {
    for (std::size_t i = 0; i < n.properties.size(); ++i)
      if (n.properties[i].required && !(seen >> i & 1)) return false;
    return true;
  };
  switch (f.mode) {
    case kRootBefore: f.mode = kRootAfter; return pushed(f.node);
    case kRootAfter: return c == kEnd ? Feed::kConsumed : Feed::kReject;

    case kObjOpen:
    case kObjComma:
      if (c == '"' && (all & ~f.seen) != 0) {
        f.mode = kObjKey, f.cand = all & ~f.seen, f.len = 1;
        return Feed::kConsumed;
      }
      if (c == '}' && f.mode == kObjOpen && required_seen(0)) return Feed::kDoneConsumed;
      return Feed::kReject;
    case kObjKey: {
      std::uint64_t next = 0;
      for (std::size_t i = 0; i < n.properties.size(); ++i) {
        const std::string& k = n.properties[i].key;
        if ((f.cand >> i & 1) && k.size() > f.len && static_cast<unsigned char>(k[f.len]) == c)
          next |= std::uint64_t{1} << i;
      }
      if (next == 0) return Feed::kReject;
      f.cand = next, ++f.len;
      for (std::size_t i = 0; i < n.properties.size(); ++i) {
        if ((next >> i & 1) && n.properties[i].key.size() == f.len) {  // keys are prefix-free (closing quote)
          f.mode = kObjColon, f.cur = static_cast<std::uint16_t>(i), f.cand = 0, f.len = 0;
          break;
        }
      }
      return Feed::kConsumed;
    }
    case kObjColon:
      if (c != ':') return Feed::kReject;
      f.mode = kObjValue;
      return Feed::kConsumed;
    case kObjValue: {
      const std::size_t i = f.cur;
      f.mode = kObjAfter, f.seen |= std::uint64_t{1} << i, f.cur = 0;
      return pushed(n.properties[i].node);
    }
    case kObjAfter:
      if (c == ',' && (all & ~f.seen) != 0) {
        f.mode = kObjComma;
        return Feed::kConsumed;
      }
      if (c == '}' && required_seen(f.seen)) return Feed::kDoneConsumed;
      return Feed::kReject;

    case kFreeOpen:
    case kFreeComma:
      if (c == '"') {
        f.mode = kFreeColon;
        return pushed(JsonSchemaGrammar::kAnyStringNode);
      }
      if (c == '}' && f.mode == kFreeOpen) return Feed::kDoneConsumed;
      return Feed::kReject;
    case kFreeColon:
      if (c != ':') return Feed::kReject;
      f.mode = kFreeValue;
      return Feed::kConsumed;
    case kFreeValue: f.mode = kFreeAfter; return pushed(JsonSchemaGrammar::kAnyNode);
    case kFreeAfter:
      if (c == ',') {
        f.mode = kFreeComma;
        return Feed::kConsumed;
      }
      return c == '}' ? Feed::kDoneConsumed : Feed::kReject;

    case kArrOpen:
    case kArrComma: {
      if (c == ']' && f.mode == kArrOpen && n.min_items == 0) return Feed::kDoneConsumed;
      if (f.count >= n.max_items) return Feed::kReject;
      // Without maxItems only "at least minItems" matters: the count saturates there, so states merge.
      const std::uint32_t next = f.count + 1;
      f.count = n.max_items == kUnbounded ? std::min(next, n.min_items) : next;
      f.mode = kArrAfter;
      return pushed(n.items);
    }
    case kArrAfter:
      if (c == ',' && f.count < n.max_items) {
        f.mode = kArrComma;
        return Feed::kConsumed;
      }
      return c == ']' && f.count >= n.min_items ? Feed::kDoneConsumed : Feed::kReject;
    default: return Feed::kReject;
  }
}

JsonAutomaton::Feed JsonAutomaton::feed_string(Frame& f, int c) const {
  const SchemaNode& n = grammar_.node(f.node);
  const bool room = f.count < n.max_length;
  const auto add_char = [&] {
    const std::uint32_t next = f.count + 1;
    f.count = n.max_length == kUnbounded ? std::min(next, n.min_length) : next;
  };
  switch (f.mode) {
    case kStr:
      if (c == '"') return f.count >= n.min_length ? Feed::kDoneConsumed : Feed::kReject;
      if (c < 0x20 || c >= kEnd || !room) return Feed::kReject;
      if (c == '\\') {
        f.mode = kStrEsc;
        return Feed::kConsumed;
      }
      if (c < 0x80) {
        add_char();
        return Feed::kConsumed;
      }
      // A UTF-8 lead byte: how many continuation bytes, and the range of the first (no overlongs, no surrogates,
      // nothing above U+10FFFF).
      if (c >= 0xC2 && c <= 0xDF) f.utf8 = 1, f.lo = 0x80, f.hi = 0xBF;
      else if (c == 0xE0) f.utf8 = 2, f.lo = 0xA0, f.hi = 0xBF;
      else if (c == 0xED) f.utf8 = 2, f.lo = 0x80, f.hi = 0x9F;
      else if (c >= 0xE1 && c <= 0xEF) f.utf8 = 2, f.lo = 0x80, f.hi = 0xBF;
      else if (c == 0xF0) f.utf8 = 3, f.lo = 0x90, f.hi = 0xBF;
      else if (c >= 0xF1 && c <= 0xF3) f.utf8 = 3, f.lo = 0x80, f.hi = 0xBF;
      else if (c == 0xF4) f.utf8 = 3, f.lo = 0x80, f.hi = 0x8F;
      else return Feed::kReject;
      add_char();
      f.mode = kStrUtf8;
      return Feed::kConsumed;
    case kStrUtf8:
      if (c < f.lo || c > f.hi) return Feed::kReject;
      if (--f.utf8 == 0) {
        f.mode = kStr, f.lo = 0, f.hi = 0;
      } else {
        f.lo = 0x80, f.hi = 0xBF;
      }
      return Feed::kConsumed;
    case kStrEsc:
      if (c == 'u') {
        f.mode = kStrHex, f.len = 0, f.code = 0, f.cur = 0;
        return Feed::kConsumed;
      }
      if (c >= kEnd || std::strchr("\"\\/bfnrt", c) == nullptr || c == 0) return Feed::kReject;
      add_char();
      f.mode = kStr;
      return Feed::kConsumed;
    case kStrHex: {
      const int d = hex_value(c);
      if (d < 0) return Feed::kReject;
      const bool low = f.cur == 1;
      // Surrogates: a high one (D800-DBFF) must be followed by \u and a low one (DC00-DFFF); a low one alone is
      // invalid. Decided on the first two digits so no prefix is a dead end.
      if (low && f.len == 0 && d != 0xD) return Feed::kReject;
      if (low && f.len == 1 && d < 0xC) return Feed::kReject;
      if (!low && f.len == 1 && f.code == 0xD && d >= 0xC) return Feed::kReject;
      // No U+0000: validators that measure C strings (valijson's minLength) would count the string short.
      if (!low && f.len == 3 && f.code == 0 && d == 0) return Feed::kReject;
      f.code = f.code * 16 + static_cast<std::uint32_t>(d);
      if (++f.len < 4) return Feed::kConsumed;
      const bool high = !low && f.code >= 0xD800 && f.code <= 0xDBFF;
      f.len = 0, f.code = 0, f.cur = 0;
      if (high) {
        f.mode = kStrLowBackslash;
      } else {
        add_char();  // a pair counts once, as the code point it encodes
        f.mode = kStr;
      }
      return Feed::kConsumed;
    }
    case kStrLowBackslash:
      if (c != '\\') return Feed::kReject;
      f.mode = kStrLowU;
      return Feed::kConsumed;
    case kStrLowU:
      if (c != 'u') return Feed::kReject;
      f.mode = kStrHex, f.len = 0, f.code = 0, f.cur = 1;
      return Feed::kConsumed;
    default: return Feed::kReject;
  }
}

JsonAutomaton::Feed JsonAutomaton::feed_number(Frame& f, int c) const {
  const SchemaNode& n = grammar_.node(f.node);
  const bool integer = n.kind == NodeKind::kInteger;
  const std::string_view text(f.text, f.len);
  const NumberText p = split_number(text);
  bool extends = false;
  if (c == '-') {
    extends = text.empty();
  } else if (c == '.') {
    extends = !integer && !p.dot && !p.integer.empty();
  } else if (is_digit(c)) {
    if (p.dot) {
      extends = p.fraction.size() < kNumDigits;
    } else if (p.integer != "0") {
      extends = p.integer.size() < (integer ? kIntDigits : kNumDigits) &&
                !(integer && p.negative && p.integer.empty() && c == '0');  // no "-0" integers
    }
  }
  if (extends && text.size() < kMaxNumberText) {
    char next[kMaxNumberText + 1] = {};
    std::memcpy(next, f.text, f.len);
    next[f.len] = static_cast<char>(c);
    const std::string_view t(next, f.len + 1u);
    if (integer ? integer_possible(n, t) : number_possible(n, t)) {
      f.text[f.len++] = static_cast<char>(c);
      return Feed::kConsumed;
    }
  }
  return number_complete(n, text, integer) ? Feed::kDoneRefeed : Feed::kReject;
}

JsonAutomaton::Feed JsonAutomaton::feed_literals(Frame& f, int c) const {
  const SchemaNode& n = grammar_.node(f.node);
  std::uint64_t next = 0;
  bool complete = false;
  for (std::size_t i = 0; i < n.literals.size(); ++i) {
    if (!(f.cand >> i & 1)) continue;
    const std::string& l = n.literals[i];
    if (l.size() == f.len) complete = true;
    if (l.size() > f.len && c < kEnd && static_cast<unsigned char>(l[f.len]) == c) next |= std::uint64_t{1} << i;
  }
  if (next != 0) {
    f.cand = next, ++f.len;
    return Feed::kConsumed;
  }
  return complete ? Feed::kDoneRefeed : Feed::kReject;
}

}  // namespace alltools::agent
