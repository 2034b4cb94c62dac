#include "tools/browser/html_to_markdown.h"

#include <gumbo.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "tools/browser/html_nesting_cap.h"
#include "tools/browser/url.h"

namespace alltools::tools::browser::detail {
namespace {

// Rendering recursion bound; the nesting cap keeps real trees far below it.
constexpr int kMaxRenderDepth = 1024;
// Anchor texts longer than this are cut (bytes, at a UTF-8 boundary).
constexpr std::size_t kMaxAnchorBytes = 120;
// A region with at least this much text is taken as the page's main content.
constexpr std::size_t kMinMainTextBytes = 200;

struct GumboOutputDeleter {
  void operator()(GumboOutput* o) const { gumbo_destroy_output(&kGumboDefaultOptions, o); }
};

bool is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; }

const char* attr(const GumboNode* n, const char* name) {
  if (n->type != GUMBO_NODE_ELEMENT) return nullptr;
  const GumboAttribute* a = gumbo_get_attribute(&n->v.element.attributes, name);
  return a != nullptr ? a->value : nullptr;
}

GumboTag tag_of(const GumboNode* n) { return n->type == GUMBO_NODE_ELEMENT ? n->v.element.tag : GUMBO_TAG_UNKNOWN; }

// Whole-token match of class/id words against navigation-ish names (tokens split on space, '-' and '_').
bool has_boilerplate_token(const char* value) {
  if (value == nullptr) return false;
  static constexpr std::string_view kWords[] = {"sidebar", "sphinxsidebar", "nav",        "navbar",  "navigation",
                                                "menu",    "footer",        "breadcrumb", "breadcrumbs", "related",
                                                "cookie",  "cookies",       "advert",     "ads",     "share",
                                                "social",  "skip",          "toc-sidebar", "masthead", "banner"};
  std::string_view v(value);
  std::size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '-' || v[i] == '_')) ++i;
    std::size_t j = i;
    while (j < v.size() && v[j] != ' ' && v[j] != '-' && v[j] != '_') ++j;
    if (j > i) {
      std::string word(v.substr(i, j - i));
      for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (std::string_view w : kWords) {
        if (word == w) return true;
      }
    }
    i = j;
  }
  return false;
}

bool is_dropped(const GumboNode* n) {
  switch (tag_of(n)) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_NAV: case GUMBO_TAG_FOOTER: case GUMBO_TAG_ASIDE: case GUMBO_TAG_HEAD: case GUMBO_TAG_SVG:
    case GUMBO_TAG_CANVAS: case GUMBO_TAG_IFRAME: case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED:
    case GUMBO_TAG_INPUT: case GUMBO_TAG_BUTTON: case GUMBO_TAG_SELECT: case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_MATH: case GUMBO_TAG_MENU:
      return true;
    default:
      break;
  }
  if (n->type != GUMBO_NODE_ELEMENT) return false;
  if (const char* hidden = attr(n, "hidden"); hidden != nullptr) return true;
  if (const char* aria = attr(n, "aria-hidden"); aria != nullptr && std::strcmp(aria, "true") == 0) return true;
  if (const char* role = attr(n, "role"); role != nullptr) {
    const std::string_view r(role);
    if (r == "navigation" || r == "banner" || r == "contentinfo" || r == "complementary" || r == "search") {
      return true;
    }
  }
  const GumboTag t = tag_of(n);
  if (t == GUMBO_TAG_BODY || t == GUMBO_TAG_HTML || t == GUMBO_TAG_MAIN || t == GUMBO_TAG_ARTICLE) return false;
  return has_boilerplate_token(attr(n, "class")) || has_boilerplate_token(attr(n, "id"));
}

// Appends the whitespace-collapsed text of a subtree to `out` (iterative, bounded by `limit` bytes).
void collect_text(const GumboNode* root, std::string* out, std::size_t limit) {
  std::vector<const GumboNode*> stack{root};
  bool space = false;
  while (!stack.empty() && out->size() < limit) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
      for (const char* p = n->v.text.text; *p != '\0'; ++p) {
        if (is_ws(static_cast<unsigned char>(*p))) {
          space = !out->empty();
        } else {
          if (space) out->push_back(' ');
          space = false;
          out->push_back(*p);
        }
      }
    } else if (n->type == GUMBO_NODE_ELEMENT && !is_dropped(n)) {
      const GumboVector& ch = n->v.element.children;
      for (unsigned int k = ch.length; k > 0; --k) stack.push_back(static_cast<const GumboNode*>(ch.data[k - 1]));
    }
  }
}

// Cuts `s` to at most `max` bytes at a UTF-8 character boundary.
void cut_utf8(std::string* s, std::size_t max) {
  if (s->size() <= max) return;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
}

// Markdown text being built: whitespace collapsing, block breaks, line prefixes (list indentation, quotes)
// and lazily opened inline markers (an empty <b></b> leaves nothing behind).
class MdWriter {
 public:
  std::string out;
  std::string prefix;        // written at the start of each line
  std::string marker;        // list marker for the next line start ("- ", "1. "), with its indentation
  std::string pending_open;  // inline openers ("**", "`", "## ") not yet written
  std::size_t text_bytes = 0;
  std::size_t link_bytes = 0;
  bool single_line = false;  // table cells: breaks become spaces

  void block(int newlines) {
    if (single_line) {
      space_ = !out.empty();
      return;
    }
    pending_nl_ = std::max(pending_nl_, newlines);
    space_ = false;
  }
  void space() { space_ = !line_start_; }

  void begin_content() {
    if (pending_nl_ > 0 && !out.empty()) {
      out.append(static_cast<std::size_t>(pending_nl_), '\n');
      line_start_ = true;
    }
    pending_nl_ = 0;
    if (line_start_) {
      if (!marker.empty()) {
        out += marker;
        marker.clear();
      } else {
        out += prefix;
      }
      line_start_ = false;
      space_ = false;
    } else if (space_) {
      out.push_back(' ');
      space_ = false;
    }
    if (!pending_open.empty()) {
      out += pending_open;
      pending_open.clear();
    }
  }

  // Text with HTML whitespace rules (runs collapse to one space; U+00A0 counts as a space).
  void text(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (is_ws(c) || (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0)) {
        if (!line_start_ || pending_nl_ == 0) space_ = !out.empty() && !line_start_;
        i += c == 0xC2 ? 2 : 1;
        continue;
      }
      std::size_t j = i;
      while (j < s.size()) {
        const auto d = static_cast<unsigned char>(s[j]);
        if (is_ws(d) || (d == 0xC2 && j + 1 < s.size() && static_cast<unsigned char>(s[j + 1]) == 0xA0)) break;
        ++j;
      }
      begin_content();
      out.append(s.substr(i, j - i));
      text_bytes += j - i;
      i = j;
    }
  }

  // Preformatted text, copied as is (lines after the first get the prefix).
  void raw(std::string_view s) {
    begin_content();
    for (char c : s) {
      out.push_back(c);
      if (c == '\n' && !prefix.empty()) out += prefix;
    }
    text_bytes += s.size();
  }

  // Closes an inline marker opened with pending_open: drops it if nothing was written inside.
  void close_inline(std::string_view open, std::string_view close) {
    if (pending_open.size() >= open.size() && pending_open.ends_with(open)) {
      pending_open.resize(pending_open.size() - open.size());
      return;
    }
    out += close;
  }

  void line_break() {
    if (single_line) {
      space_ = true;
      return;
    }
    if (!out.empty()) {
      out.push_back('\n');
      line_start_ = true;
    }
  }

  std::string finish() {
    while (!out.empty() && is_ws(static_cast<unsigned char>(out.back()))) out.pop_back();
    return std::move(out);
  }

 private:
  int pending_nl_ = 0;
  bool line_start_ = true;
  bool space_ = false;
};

class Renderer {
 public:
  Renderer(const ExtractOptions& options, ExtractedPage* page) : options_(options), page_(page) {
    base_host_ = url_host(page->base_url);
  }

  void render(const GumboNode* n, MdWriter& w, int depth, bool in_main);

 private:
  void render_children(const GumboNode* n, MdWriter& w, int depth, bool in_main) {
    const GumboVector& ch = n->v.element.children;
    for (unsigned int k = 0; k < ch.length; ++k) render(static_cast<const GumboNode*>(ch.data[k]), w, depth + 1, in_main);
  }
  void render_link(const GumboNode* n, MdWriter& w, int depth, bool in_main);
  void render_list(const GumboNode* n, MdWriter& w, int depth, bool in_main);
  void render_table(const GumboNode* n, MdWriter& w, int depth, bool in_main);
  void render_pre(const GumboNode* n, MdWriter& w);
  void render_block_maybe_boilerplate(const GumboNode* n, MdWriter& w, int depth, bool in_main);

  const ExtractOptions& options_;
  ExtractedPage* page_;
  std::string base_host_;
  std::unordered_map<std::string, int> link_ids_;
};

void Renderer::render(const GumboNode* n, MdWriter& w, int depth, bool in_main) {
  if (depth > kMaxRenderDepth) return;
  switch (n->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_CDATA:
    case GUMBO_NODE_WHITESPACE:
      w.text(n->v.text.text);
      return;
    case GUMBO_NODE_ELEMENT:
    case GUMBO_NODE_TEMPLATE:
      break;
    default:
      return;
  }
  if (is_dropped(n)) return;
  const GumboTag t = n->v.element.tag;
  switch (t) {
    case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5:
    case GUMBO_TAG_H6: {
      const int level = static_cast<int>(t - GUMBO_TAG_H1) + 1;
      w.block(2);
      const std::string open = w.single_line ? "" : std::string(static_cast<std::size_t>(level), '#') + " ";
      w.pending_open += open;
      render_children(n, w, depth, in_main);
      if (!open.empty() && w.pending_open.ends_with(open)) w.pending_open.resize(w.pending_open.size() - open.size());
      w.block(2);
      return;
    }
    case GUMBO_TAG_P: case GUMBO_TAG_FIGURE: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_DETAILS: case GUMBO_TAG_SUMMARY: case GUMBO_TAG_DL: case GUMBO_TAG_CENTER:
    case GUMBO_TAG_FIELDSET: case GUMBO_TAG_CAPTION:
      w.block(2);
      render_children(n, w, depth, in_main);
      w.block(2);
      return;
    case GUMBO_TAG_DIV: case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_MAIN:
    case GUMBO_TAG_HEADER: case GUMBO_TAG_FORM:
      render_block_maybe_boilerplate(n, w, depth, in_main);
      return;
    case GUMBO_TAG_DT: case GUMBO_TAG_DD:
      w.block(t == GUMBO_TAG_DT ? 2 : 1);
      render_children(n, w, depth, in_main);
      w.block(1);
      return;
    case GUMBO_TAG_BLOCKQUOTE: {
      w.block(2);
      const std::size_t saved = w.prefix.size();
      if (!w.single_line) w.prefix += "> ";
      render_children(n, w, depth, in_main);
      w.prefix.resize(saved);
      w.block(2);
      return;
    }
    case GUMBO_TAG_UL: case GUMBO_TAG_OL:
      render_list(n, w, depth, in_main);
      return;
    case GUMBO_TAG_LI:  // outside a list
      w.block(1);
      render_children(n, w, depth, in_main);
      w.block(1);
      return;
    case GUMBO_TAG_TABLE:
      render_table(n, w, depth, in_main);
      return;
    case GUMBO_TAG_PRE:
      render_pre(n, w);
      return;
    case GUMBO_TAG_BR:
      w.line_break();
      return;
    case GUMBO_TAG_HR:
      w.block(2);
      if (!w.single_line) {
        w.begin_content();
        w.out += "---";
      }
      w.block(2);
      return;
    case GUMBO_TAG_IMG: {
      w.begin_content();
      w.out += "[Image " + std::to_string(++page_->images) + "]";
      return;
    }
    case GUMBO_TAG_A:
      render_link(n, w, depth, in_main);
      return;
    case GUMBO_TAG_STRONG: case GUMBO_TAG_B:
      w.pending_open += "**";
      render_children(n, w, depth, in_main);
      w.close_inline("**", "**");
      return;
    case GUMBO_TAG_EM: case GUMBO_TAG_I:
      w.pending_open += "*";
      render_children(n, w, depth, in_main);
      w.close_inline("*", "*");
      return;
    case GUMBO_TAG_CODE: case GUMBO_TAG_KBD: case GUMBO_TAG_SAMP: case GUMBO_TAG_TT:
      w.pending_open += "`";
      render_children(n, w, depth, in_main);
      w.close_inline("`", "`");
      return;
    case GUMBO_TAG_TITLE:
      return;
    default:
      render_children(n, w, depth, in_main);
      return;
  }
}

void Renderer::render_block_maybe_boilerplate(const GumboNode* n, MdWriter& w, int depth, bool in_main) {
  w.block(2);
  const std::size_t out_mark = w.out.size();
  const std::size_t text_mark = w.text_bytes;
  const std::size_t link_mark = w.link_bytes;
  const std::size_t links_mark = page_->links.size();
  const std::string prefix_mark = w.prefix;
  render_children(n, w, depth, in_main);
  const std::size_t text = w.text_bytes - text_mark;
  const std::size_t linked = w.link_bytes - link_mark;
  const std::size_t n_links = page_->links.size() - links_mark;
  // Outside a main region: a block of mostly link text with several links is navigation.
  if (!in_main && n_links >= 4 && text > 0 && linked * 10 > text * 7 && text < 4000) {
    w.out.resize(out_mark);
    w.text_bytes = text_mark;
    w.link_bytes = link_mark;
    for (std::size_t k = links_mark; k < page_->links.size(); ++k) link_ids_.erase(page_->links[k].href);
    page_->links.resize(links_mark);
    w.prefix = prefix_mark;
  }
  w.block(2);
}

void Renderer::render_link(const GumboNode* n, MdWriter& w, int depth, bool in_main) {
  const char* href = attr(n, "href");
  const char* cls = attr(n, "class");
  if (cls != nullptr && std::strstr(cls, "headerlink") != nullptr) return;  // Sphinx "¶" anchors
  std::string_view h = href != nullptr ? std::string_view(href) : std::string_view();
  while (!h.empty() && is_ws(static_cast<unsigned char>(h.front()))) h.remove_prefix(1);
  const bool navigable = !h.empty() && h.front() != '#' && !h.starts_with("javascript:") &&
                         !h.starts_with("mailto:") && !h.starts_with("tel:") && !h.starts_with("data:");
  if (!options_.number_links || !navigable) {
    const std::size_t before = w.text_bytes;
    render_children(n, w, depth, in_main);
    if (navigable) w.link_bytes += w.text_bytes - before;
    return;
  }
  std::string text;
  collect_text(n, &text, kMaxAnchorBytes + 8);
  cut_utf8(&text, kMaxAnchorBytes);
  if (text.empty()) {
    // An image link: keep the image placeholder, name the link after its alt text.
    const GumboVector& ch = n->v.element.children;
    for (unsigned int k = 0; k < ch.length && text.empty(); ++k) {
      const auto* c = static_cast<const GumboNode*>(ch.data[k]);
      if (tag_of(c) == GUMBO_TAG_IMG) {
        const char* alt = attr(c, "alt");
        text = alt != nullptr && *alt != '\0' ? alt : "[Image " + std::to_string(++page_->images) + "]";
      }
    }
    if (text.empty()) return;
  }
  std::string host;
  if (h.starts_with("http://") || h.starts_with("https://") || h.starts_with("//")) {
    host = url_host(h.starts_with("//") ? "http:" + std::string(h) : std::string(h));
    if (host == base_host_) host.clear();
  }
  auto [it, inserted] = link_ids_.try_emplace(std::string(h), static_cast<int>(page_->links.size()));
  if (inserted) page_->links.push_back(PageLink{std::string(h), text, host});
  w.begin_content();
  std::string token = "【" + std::to_string(it->second) + "†" + text;
  if (!host.empty()) token += "†" + host;
  token += "】";
  w.out += token;
  w.text_bytes += text.size();
  w.link_bytes += text.size();
}

void Renderer::render_list(const GumboNode* n, MdWriter& w, int depth, bool in_main) {
  const bool ordered = tag_of(n) == GUMBO_TAG_OL;
  w.block(w.prefix.empty() ? 2 : 1);
  int number = 1;
  if (const char* start = attr(n, "start"); start != nullptr) number = std::atoi(start);
  const GumboVector& ch = n->v.element.children;
  const std::string saved_prefix = w.prefix;
  for (unsigned int k = 0; k < ch.length; ++k) {
    const auto* c = static_cast<const GumboNode*>(ch.data[k]);
    if (tag_of(c) != GUMBO_TAG_LI) {
      render(c, w, depth + 1, in_main);
      continue;
    }
    if (is_dropped(c)) continue;
    const std::string mark = ordered ? std::to_string(number++) + ". " : "- ";
    w.block(1);
    if (!w.single_line) {
      w.marker = saved_prefix + mark;
      w.prefix = saved_prefix + std::string(mark.size(), ' ');
    }
    render_children(c, w, depth + 1, in_main);
    w.marker.clear();
    w.prefix = saved_prefix;
    w.block(1);
  }
  w.block(w.prefix.empty() ? 2 : 1);
}

void Renderer::render_table(const GumboNode* n, MdWriter& w, int depth, bool in_main) {
  std::vector<std::vector<std::string>> rows;
  // Rows of this table only (thead/tbody/tfoot one level down), not of nested tables.
  std::vector<const GumboNode*> trs;
  const GumboVector& ch = n->v.element.children;
  for (unsigned int k = 0; k < ch.length; ++k) {
    const auto* c = static_cast<const GumboNode*>(ch.data[k]);
    const GumboTag t = tag_of(c);
    if (t == GUMBO_TAG_TR) {
      trs.push_back(c);
    } else if (t == GUMBO_TAG_THEAD || t == GUMBO_TAG_TBODY || t == GUMBO_TAG_TFOOT) {
      const GumboVector& g = c->v.element.children;
      for (unsigned int j = 0; j < g.length; ++j) {
        const auto* r = static_cast<const GumboNode*>(g.data[j]);
        if (tag_of(r) == GUMBO_TAG_TR) trs.push_back(r);
      }
    } else if (t == GUMBO_TAG_CAPTION) {
      render(c, w, depth + 1, in_main);
    }
  }
  std::size_t columns = 0;
  for (const GumboNode* tr : trs) {
    std::vector<std::string> cells;
    const GumboVector& tc = tr->v.element.children;
    for (unsigned int k = 0; k < tc.length; ++k) {
      const auto* c = static_cast<const GumboNode*>(tc.data[k]);
      if (tag_of(c) != GUMBO_TAG_TD && tag_of(c) != GUMBO_TAG_TH) continue;
      MdWriter cell;
      cell.single_line = true;
      render_children(c, cell, depth + 1, in_main);
      w.text_bytes += cell.text_bytes;
      w.link_bytes += cell.link_bytes;
      std::string text = cell.finish();
      std::string escaped;
      escaped.reserve(text.size());
      for (char ch2 : text) {
        if (ch2 == '|') escaped += "\\|";
        else if (ch2 == '\n') escaped += ' ';
        else escaped += ch2;
      }
      cells.push_back(std::move(escaped));
    }
    if (cells.empty()) continue;
    columns = std::max(columns, cells.size());
    rows.push_back(std::move(cells));
  }
  if (rows.empty()) return;
  w.block(2);
  // A one-column table is layout, not data: its cells become paragraphs.
  if (columns == 1) {
    for (const auto& r : rows) {
      if (r[0].empty()) continue;
      w.begin_content();
      w.out += r[0];
      w.block(2);
    }
    return;
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string line = "|";
    for (std::size_t c = 0; c < columns; ++c) line += " " + (c < rows[i].size() ? rows[i][c] : std::string()) + " |";
    w.begin_content();
    w.out += line;
    w.block(1);
    if (i == 0) {
      std::string sep = "|";
      for (std::size_t c = 0; c < columns; ++c) sep += " --- |";
      w.begin_content();
      w.out += sep;
      w.block(1);
    }
  }
  w.block(2);
}

void Renderer::render_pre(const GumboNode* n, MdWriter& w) {
  std::string code;
  std::vector<const GumboNode*> stack{n};
  // Iterative: the raw text of the subtree, whitespace kept.
  while (!stack.empty()) {
    const GumboNode* c = stack.back();
    stack.pop_back();
    if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE || c->type == GUMBO_NODE_CDATA) {
      code += c->v.text.text;
    } else if (c->type == GUMBO_NODE_ELEMENT) {
      if (c->v.element.tag == GUMBO_TAG_BR) code += '\n';
      const GumboVector& ch = c->v.element.children;
      for (unsigned int k = ch.length; k > 0; --k) stack.push_back(static_cast<const GumboNode*>(ch.data[k - 1]));
    }
  }
  while (!code.empty() && code.back() == '\n') code.pop_back();
  if (code.empty()) return;
  if (w.single_line) {
    w.text(code);
    return;
  }
  std::string lang;
  const GumboNode* p = n;
  for (int up = 0; up < 3 && p != nullptr && lang.empty(); ++up, p = p->parent) {
    const char* cls = attr(p, "class");
    if (cls == nullptr) continue;
    for (std::string_view key : {"highlight-", "language-", "lang-"}) {
      const char* at = std::strstr(cls, key.data());
      if (at == nullptr) continue;
      at += key.size();
      while (*at != '\0' && *at != ' ') lang.push_back(*at++);
      break;
    }
  }
  if (lang == "default" || lang == "none" || lang == "text") lang.clear();
  w.block(2);
  w.begin_content();
  w.out += "```" + lang + "\n";
  w.raw(code);
  w.out += "\n" + w.prefix + "```";
  w.block(2);
}

const GumboNode* find_first(const GumboNode* root, bool (*pred)(const GumboNode*)) {
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type != GUMBO_NODE_ELEMENT) continue;
    if (pred(n)) return n;
    const GumboVector& ch = n->v.element.children;
    for (unsigned int k = ch.length; k > 0; --k) stack.push_back(static_cast<const GumboNode*>(ch.data[k - 1]));
  }
  return nullptr;
}

bool is_main_region(const GumboNode* n) {
  if (tag_of(n) == GUMBO_TAG_MAIN) return true;
  const char* role = attr(n, "role");
  return role != nullptr && std::strcmp(role, "main") == 0;
}

}  // namespace

ExtractedPage html_to_markdown(std::string_view html, const ExtractOptions& options) {
  ExtractedPage page;
  page.base_url = options.base_url;
  const std::string capped = cap_html_nesting(html, options.max_depth, nullptr);
  GumboOptions gopts = kGumboDefaultOptions;
  gopts.max_errors = 0;  // gumbo otherwise copies its open-element stack into every parse error (quadratic memory)
  std::unique_ptr<GumboOutput, GumboOutputDeleter> doc(gumbo_parse_with_options(&gopts, capped.data(), capped.size()));
  if (!doc) return page;
  const GumboNode* root = doc->root;

  if (const GumboNode* t = find_first(root, [](const GumboNode* n) { return tag_of(n) == GUMBO_TAG_TITLE; })) {
    collect_text(t, &page.title, 1024);
  }
  if (const GumboNode* b = find_first(root, [](const GumboNode* n) {
        return tag_of(n) == GUMBO_TAG_BASE && attr(n, "href") != nullptr;
      })) {
    Result<WebUrl> u = resolve_web_url(options.base_url, attr(b, "href"));
    if (u.ok()) page.base_url = u->url;
  }
  Renderer renderer(options, &page);
  MdWriter w;
  const GumboNode* main = find_first(root, is_main_region);
  bool used_main = false;
  if (main != nullptr) {
    std::string probe;
    collect_text(main, &probe, kMinMainTextBytes);
    if (probe.size() >= kMinMainTextBytes) {
      renderer.render(main, w, 0, /*in_main=*/true);
      used_main = true;
    }
  }
  if (!used_main) renderer.render(root, w, 0, /*in_main=*/false);
  page.markdown = w.finish();
  if (page.title.empty()) {
    if (const GumboNode* h1 = find_first(root, [](const GumboNode* n) { return tag_of(n) == GUMBO_TAG_H1; })) {
      collect_text(h1, &page.title, 1024);
    }
  }
  cut_utf8(&page.title, 1024);
  return page;
}

}  // namespace alltools::tools::browser::detail
