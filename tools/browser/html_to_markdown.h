// HTML → readable markdown with gumbo-parser: title, headings, paragraphs, lists, tables, code blocks, links
// (optionally numbered as 【id†anchor†host】), images as [Image N]; script/style/nav/footer/aside, navigation
// by role or class, and (outside a main region) link-dense blocks are dropped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace alltools::tools::browser::detail {

struct PageLink {
  std::string href;  // as written in the page (resolved against base_url only when clicked)
  std::string text;  // anchor text, whitespace-collapsed
  std::string host;  // host for cross-site absolute links, "" for same-site / relative ones
};

struct ExtractOptions {
  std::string base_url;  // the page's URL (a <base href> in the page overrides it in `ExtractedPage::base_url`)
  bool number_links = true;  // true: links become 【id†anchor†host】 and are listed; false: anchor text only
  int max_depth = 256;       // element nesting bound (see html_nesting_cap.h)
};

struct ExtractedPage {
  std::string title;
  std::string markdown;
  std::string base_url;
  std::vector<PageLink> links;  // id = index
  int images = 0;
};

// `html` must be valid UTF-8 (see charset.h). Never fails: malformed HTML yields whatever text it contains.
ExtractedPage html_to_markdown(std::string_view html, const ExtractOptions& options);

}  // namespace alltools::tools::browser::detail
