// simple_browser bodies: one Python-style call per line. A small hand-written lexer, so string literals are
// real literals (escapes, commas, parentheses, any Unicode inside) — not the reference demo's regex.
//   line   := ws name ws '(' ws [arg (ws ',' ws arg)* [ws ',']] ws ')' ws
//   arg    := [name ws '=' ws] value
//   value  := string | int | '[' ws [int (ws ',' ws int)* [ws ',']] ws ']'
//   string := '"' chars '"' | "'" chars "'"   escapes: \\ \" \' \n \r \t \b \f \0 \xHH \uXXXX \UXXXXXXXX
#include <cstdint>
#include <variant>

#include "core/protocol/glm4/tool_call.h"
#include "model/tokenizer/utf8_stream_decoder.h"

namespace alltools::protocol::glm4 {
namespace {

using nlohmann::json;

struct Value {
  enum class Kind { kString, kInt, kIntList } kind = Kind::kString;
  std::string text;
  std::int64_t number = 0;
  std::vector<std::int64_t> list;
};
struct Arg {
  std::string keyword;  // empty = positional
  Value value;
};

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class LineParser {
 public:
  explicit LineParser(std::string_view line) : s_(line) {}

  Result<json> parse() {
    skip_ws();
    const std::string name = identifier();
    if (name.empty()) return fail("expected a function name such as search, mclick or open_url");
    skip_ws();
    if (!eat('(')) return fail("expected '(' after " + name);
    std::vector<Arg> args;
    skip_ws();
    if (!eat(')')) {
      while (true) {
        skip_ws();
        if (peek() == ')' && !args.empty()) {  // trailing comma
          ++pos_;
          break;
        }
        Arg arg;
        const std::size_t save = pos_;
        const std::string word = identifier();
        skip_ws();
        if (!word.empty() && eat('=')) {
          arg.keyword = word;
          skip_ws();
        } else {
          pos_ = save;
        }
        auto value = parse_value();
        if (!value.ok()) return value.error();
        arg.value = std::move(value).value();
        args.push_back(std::move(arg));
        skip_ws();
        if (eat(',')) continue;
        if (eat(')')) break;
        return fail("expected ',' or ')' in the arguments of " + name);
      }
    }
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected text after the closing ')'");
    return build(name, args);
  }

 private:
  Error fail(const std::string& what) const {
    return make_error(ErrorCode::kParse, what + " (at column " + std::to_string(pos_ + 1) + ")");
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  std::string identifier() {
    const std::size_t start = pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (pos_ > start && c >= '0' && c <= '9');
      if (!ok) break;
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  Result<std::int64_t> parse_int() {
    const std::size_t start = pos_;
    bool negative = false;
    if (peek() == '-' || peek() == '+') negative = s_[pos_++] == '-';
    std::int64_t v = 0;
    std::size_t digits = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (v > 999'999'999'999LL) return fail("integer too large");
      v = v * 10 + (s_[pos_] - '0');
      ++pos_;
      ++digits;
    }
    if (digits == 0) {
      pos_ = start;
      return fail("expected an integer");
    }
    return negative ? -v : v;
  }

  Result<std::uint32_t> hex_digits(int count) {
    std::uint32_t v = 0;
    for (int k = 0; k < count; ++k) {
      const char c = peek();
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) return fail("bad hexadecimal escape in a string");
      v = v * 16 + static_cast<std::uint32_t>(d);
      ++pos_;
    }
    return v;
  }

  Result<std::string> parse_string() {
    const char quote = s_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      const char c = s_[pos_++];
      if (c == quote) {
        if (!model::is_valid_utf8(out)) return fail("string is not valid UTF-8");
        return out;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return fail("unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '\\': out.push_back('\\'); break;
        case '"': out.push_back('"'); break;
        case '\'': out.push_back('\''); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case '0': out.push_back('\0'); break;
        case 'x':
        case 'u':
        case 'U': {
          auto cp = hex_digits(e == 'x' ? 2 : e == 'u' ? 4 : 8);
          if (!cp.ok()) return cp.error();
          std::uint32_t v = *cp;
          if (e == 'u' && v >= 0xD800 && v <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            // A JSON-style surrogate pair.
            pos_ += 2;
            auto low = hex_digits(4);
            if (!low.ok()) return low.error();
            if (*low < 0xDC00 || *low > 0xDFFF) return fail("unpaired surrogate in a \\u escape");
            v = 0x10000 + ((v - 0xD800) << 10) + (*low - 0xDC00);
          }
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return fail("escape is not a Unicode scalar value");
          append_utf8(out, v);
          break;
        }
        default:  // Python keeps unknown escapes literally
          out.push_back('\\');
          out.push_back(e);
      }
    }
  }

  Result<Value> parse_value() {
    Value v;
    const char c = peek();
    if (c == '"' || c == '\'') {
      auto s = parse_string();
      if (!s.ok()) return s.error();
      v.kind = Value::Kind::kString;
      v.text = std::move(s).value();
      return v;
    }
    if (c == '[') {
      ++pos_;
      v.kind = Value::Kind::kIntList;
      skip_ws();
      if (eat(']')) return v;
      while (true) {
        skip_ws();
        if (peek() == ']' && !v.list.empty()) {
          ++pos_;
          return v;
        }
        auto n = parse_int();
        if (!n.ok()) return make_error(ErrorCode::kInvalidArgument, n.error().message + ": list elements must be integers");
        v.list.push_back(*n);
        if (v.list.size() > 1000) return fail("list too long");
        skip_ws();
        if (eat(',')) continue;
        if (eat(']')) return v;
        return fail("expected ',' or ']' in a list");
      }
    }
    auto n = parse_int();
    if (!n.ok()) return fail("expected a string, an integer or a list of integers");
    v.kind = Value::Kind::kInt;
    v.number = *n;
    return v;
  }

  static Error type_error(const std::string& fn, const std::string& param, const char* want) {
    return make_error(ErrorCode::kInvalidArgument, fn + ": argument '" + param + "' must be " + want);
  }

  Result<json> build(const std::string& fn, const std::vector<Arg>& args) {
    struct Param {
      const char* name;
      Value::Kind kind;
      bool required;
    };
    std::vector<Param> params;
    if (fn == "search") {
      params = {{"query", Value::Kind::kString, true}, {"recency_days", Value::Kind::kInt, false}};
    } else if (fn == "mclick") {
      params = {{"ids", Value::Kind::kIntList, true}};
    } else if (fn == "open_url") {
      params = {{"url", Value::Kind::kString, true}};
    } else {
      return make_error(ErrorCode::kNotFound, "simple_browser has no function '" + fn +
                                                  "'; use search(query, recency_days), mclick(ids) or open_url(url)");
    }
    json out = {{"fn", fn}};
    std::vector<bool> seen(params.size(), false);
    std::size_t positional = 0;
    bool saw_keyword = false;
    for (const Arg& a : args) {
      std::size_t index = params.size();
      if (a.keyword.empty()) {
        if (saw_keyword) return make_error(ErrorCode::kParse, fn + ": positional argument after a keyword argument");
        index = positional++;
        if (index >= params.size()) {
          return make_error(ErrorCode::kInvalidArgument, fn + ": too many arguments (takes " +
                                                             std::to_string(params.size()) + ")");
        }
      } else {
        saw_keyword = true;
        for (std::size_t k = 0; k < params.size(); ++k) {
          if (a.keyword == params[k].name) index = k;
        }
        if (index == params.size()) {
          return make_error(ErrorCode::kInvalidArgument, fn + ": unknown argument '" + a.keyword + "'");
        }
      }
      const Param& p = params[index];
      if (seen[index]) return make_error(ErrorCode::kInvalidArgument, fn + ": argument '" + p.name + "' given twice");
      seen[index] = true;
      if (a.value.kind != p.kind) {
        return type_error(fn, p.name,
                          p.kind == Value::Kind::kString ? "a string"
                          : p.kind == Value::Kind::kInt  ? "an integer"
                                                         : "a list of integers");
      }
      switch (p.kind) {
        case Value::Kind::kString: out[p.name] = a.value.text; break;
        case Value::Kind::kInt: out[p.name] = a.value.number; break;
        case Value::Kind::kIntList: out[p.name] = a.value.list; break;
      }
    }
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (params[k].required && !seen[k]) {
        return make_error(ErrorCode::kInvalidArgument, fn + ": missing argument '" + params[k].name + "'");
      }
    }
    return out;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<json> try_parse_browser_call(std::string_view line) {
  if (line.size() > kMaxToolBodyBytes) return make_error(ErrorCode::kOutOfRange, "simple_browser: call too long");
  return LineParser(line).parse();
}

}  // namespace alltools::protocol::glm4
