#include "tools/browser/charset.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace alltools::tools::browser::detail {
namespace {

constexpr std::size_t kSniffBytes = 4096;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Value of `charset=` inside `text` (a Content-Type or a meta content attribute), "" when absent.
std::string charset_param(std::string_view text) {
  const std::string l = lower(text);
  std::size_t pos = l.find("charset");
  if (pos == std::string::npos) return "";
  pos += 7;
  while (pos < l.size() && (l[pos] == ' ' || l[pos] == '\t')) ++pos;
  if (pos >= l.size() || l[pos] != '=') return "";
  ++pos;
  while (pos < l.size() && (l[pos] == ' ' || l[pos] == '"' || l[pos] == '\'')) ++pos;
  std::size_t end = pos;
  while (end < l.size() && (std::isalnum(static_cast<unsigned char>(l[end])) || l[end] == '-' || l[end] == '_' ||
                            l[end] == '.' || l[end] == ':')) {
    ++end;
  }
  return l.substr(pos, end - pos);
}

// Length of the valid UTF-8 sequence at s[i], 0 when invalid (overlongs, surrogates, > U+10FFFF rejected).
std::size_t utf8_seq_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return c == 0 ? 0 : 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return n;
}

std::string iconv_label(const std::string& cs) {
  if (cs == "gb2312" || cs == "gbk" || cs == "gb18030" || cs == "x-gbk" || cs == "cp936" || cs == "euc-cn") {
    return "GB18030";
  }
  if (cs == "big5" || cs == "big5-hkscs" || cs == "x-x-big5" || cs == "cn-big5") return "BIG5-HKSCS";
  if (cs == "shift_jis" || cs == "shift-jis" || cs == "sjis" || cs == "x-sjis" || cs == "ms_kanji" ||
      cs == "windows-31j" || cs == "cp932") {
    return "CP932";
  }
  if (cs == "iso-8859-1" || cs == "latin1" || cs == "us-ascii" || cs == "ascii") return "WINDOWS-1252";
  return cs;
}

// iconv loop; undecodable input bytes become U+FFFD. Output grows by at most 4x input + slack per call.
bool convert(std::string_view in, const std::string& from, std::string* out) {
  iconv_t cd = iconv_open("UTF-8", from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  out->clear();
  out->reserve(in.size() + in.size() / 2);
  char* src = const_cast<char*>(in.data());
  std::size_t src_left = in.size();
  char buf[16384];
  // Bounded: each iteration consumes input, produces output, or skips one bad byte.
  while (src_left > 0) {
    char* dst = buf;
    std::size_t dst_left = sizeof buf;
    const std::size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
    out->append(buf, static_cast<std::size_t>(dst - buf));
    if (rc == static_cast<std::size_t>(-1)) {
      if (errno == E2BIG) continue;
      // EILSEQ or EINVAL (truncated sequence at the end): replace one byte and resynchronise.
      out->append(kReplacement);
      ++src;
      --src_left;
      iconv(cd, nullptr, nullptr, nullptr, nullptr);
    }
  }
  iconv_close(cd);
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80 && c != 0) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_seq_len(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80 && c != 0) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t n = utf8_seq_len(text, i);
    if (n == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string detect_charset(std::string_view content_type, std::string_view body, bool is_html) {
  std::string cs = charset_param(content_type);
  if (!cs.empty()) return cs;
  if (body.starts_with("\xEF\xBB\xBF")) return "utf-8";
  if (body.starts_with("\xFF\xFE")) return "utf-16le";
  if (body.starts_with("\xFE\xFF")) return "utf-16be";
  if (!is_html) return "";
  const std::string head = lower(body.substr(0, std::min(body.size(), kSniffBytes)));
  // Bounded by the sniff window: each <meta found advances pos.
  for (std::size_t pos = head.find("<meta"); pos != std::string::npos; pos = head.find("<meta", pos + 5)) {
    const std::size_t end = head.find('>', pos);
    const std::string_view tag =
        std::string_view(head).substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    cs = charset_param(tag);
    if (!cs.empty()) return cs;
  }
  return "";
}

std::string to_utf8(std::string_view body, std::string_view charset) {
  std::string cs = lower(charset);
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  if (cs.empty()) {
    if (is_valid_utf8(body)) return std::string(body);
    cs = "windows-1252";
  }
  if (cs == "utf-8" || cs == "utf8" || cs == "unicode-1-1-utf-8") return sanitize_utf8(body);
  std::string out;
  if (!convert(body, iconv_label(cs), &out)) return sanitize_utf8(body);  // unknown label
  return sanitize_utf8(out);
}

bool looks_binary(std::string_view body) {
  const std::string_view head = body.substr(0, std::min(body.size(), kSniffBytes));
  std::size_t control = 0;
  for (unsigned char c : head) {
    if (c == 0) return true;
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') ++control;
  }
  return head.size() > 0 && control * 20 > head.size();  // more than 5% control bytes
}

}  // namespace alltools::tools::browser::detail
