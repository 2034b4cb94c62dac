#include "tools/browser/html_nesting_cap.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace alltools::tools::browser::detail {
namespace {

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_';
}

std::string lower_name(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_void(std::string_view n) {
  return one_of(n, {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                    "track", "wbr", "keygen", "basefont", "bgsound", "frame", "image"});
}

bool is_raw_text(std::string_view n) {
  return one_of(n, {"script", "style", "textarea", "title", "xmp", "noembed", "noframes", "iframe", "plaintext"});
}

// Case-insensitive search for `</name` starting at `from`; npos when absent.
std::size_t find_end_tag(std::string_view html, std::string_view name, std::size_t from) {
  for (std::size_t pos = html.find("</", from); pos != std::string_view::npos; pos = html.find("</", pos + 2)) {
    if (pos + 2 + name.size() > html.size()) return std::string_view::npos;
    bool match = true;
    for (std::size_t k = 0; k < name.size() && match; ++k) {
      match = std::tolower(static_cast<unsigned char>(html[pos + 2 + k])) == name[k];
    }
    if (match) return pos;
  }
  return std::string_view::npos;
}

// End of a tag starting at `pos` ('<'), honouring quoted attribute values; index just past '>' or size().
std::size_t tag_end(std::string_view html, std::size_t pos) {
  char quote = 0;
  for (std::size_t i = pos + 1; i < html.size(); ++i) {
    const char c = html[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      // Quotes only delimit values after '='.
      std::size_t j = i;
      while (j > pos && (html[j - 1] == ' ' || html[j - 1] == '\t' || html[j - 1] == '\n')) --j;
      if (j > pos && html[j - 1] == '=') quote = c;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return html.size();
}

// Elements an opening `name` implicitly closes when one of them is on top of the stack.
void implied_end(std::vector<std::string>& stack, std::string_view name) {
  auto top_is = [&](std::initializer_list<std::string_view> names) {
    return !stack.empty() && one_of(stack.back(), names);
  };
  if (name == "li") {
    while (top_is({"li", "p"})) stack.pop_back();
  } else if (name == "dt" || name == "dd") {
    while (top_is({"dt", "dd", "p"})) stack.pop_back();
  } else if (name == "td" || name == "th") {
    while (top_is({"td", "th"})) stack.pop_back();
  } else if (name == "tr") {
    while (top_is({"td", "th", "tr"})) stack.pop_back();
  } else if (name == "option") {
    while (top_is({"option"})) stack.pop_back();
  } else if (one_of(name, {"p", "div", "ul", "ol", "dl", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
                           "blockquote", "section", "article", "form", "header", "footer", "nav", "aside"})) {
    if (top_is({"p"})) stack.pop_back();
  }
}

}  // namespace

std::string cap_html_nesting(std::string_view html, int max_depth, std::size_t* dropped) {
  std::string out;
  out.reserve(html.size());
  std::vector<std::string> stack;
  std::size_t n_dropped = 0;
  std::size_t i = 0;
  // Bounded: every iteration advances i by at least one byte.
  while (i < html.size()) {
    const std::size_t lt = html.find('<', i);
    if (lt == std::string_view::npos) {
      out.append(html.substr(i));
      break;
    }
    out.append(html.substr(i, lt - i));
    i = lt;
    const std::string_view rest = html.substr(i);
    if (rest.starts_with("<!--")) {
      const std::size_t end = html.find("-->", i + 4);
      const std::size_t stop = end == std::string_view::npos ? html.size() : end + 3;
      out.append(html.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (rest.size() >= 2 && (rest[1] == '!' || rest[1] == '?')) {
      const std::size_t end = html.find('>', i);
      const std::size_t stop = end == std::string_view::npos ? html.size() : end + 1;
      out.append(html.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (rest.size() >= 3 && rest[1] == '/' && std::isalpha(static_cast<unsigned char>(rest[2]))) {
      std::size_t k = 2;
      while (k < rest.size() && is_name_char(rest[k])) ++k;
      const std::string name = lower_name(rest.substr(2, k - 2));
      const auto it = std::find(stack.rbegin(), stack.rend(), name);
      if (it != stack.rend()) stack.erase(std::next(it).base(), stack.end());
      const std::size_t stop = tag_end(html, i);
      out.append(html.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (rest.size() >= 2 && std::isalpha(static_cast<unsigned char>(rest[1]))) {
      std::size_t k = 1;
      while (k < rest.size() && is_name_char(rest[k])) ++k;
      const std::string name = lower_name(rest.substr(1, k - 1));
      const std::size_t stop = tag_end(html, i);
      const bool self_closing = stop >= 2 && stop - i >= 2 && html[stop - 2] == '/';
      if (is_raw_text(name)) {
        const std::size_t end = find_end_tag(html, name, stop);
        const std::size_t close = end == std::string_view::npos ? html.size() : tag_end(html, end);
        out.append(html.substr(i, close - i));
        i = close;
        continue;
      }
      if (is_void(name) || self_closing) {
        out.append(html.substr(i, stop - i));
        i = stop;
        continue;
      }
      implied_end(stack, name);
      if (static_cast<int>(stack.size()) >= max_depth) {
        ++n_dropped;  // the tag is dropped, its content is kept
      } else {
        stack.push_back(name);
        out.append(html.substr(i, stop - i));
      }
      i = stop;
      continue;
    }
    out.push_back('<');
    ++i;
  }
  if (dropped != nullptr) *dropped = n_dropped;
  return out;
}

}  // namespace alltools::tools::browser::detail
