// A linear pre-pass that bounds the element nesting depth of HTML before gumbo sees it.
//
// gumbo-parser 0.10 scans its stack of open elements for many start tags, so deep nesting is quadratic:
// measured here, 10^4 nested <div>s take 0.64 s and 10^5 take 152 s. This pass keeps a model of the open
// elements (end tags pop to the matching name, p/li/dt/dd/td/th/tr/option close their open sibling, void
// elements and raw-text elements never open) and drops start tags that would open an element deeper than
// `max_depth`; their text stays. Markup inside comments and script/style/textarea/title is copied untouched.
#pragma once

#include <string>
#include <string_view>

namespace alltools::tools::browser::detail {

// Default depth bound used by html_to_markdown.
inline constexpr int kMaxHtmlDepth = 256;

// Returns `html` with start tags beyond `max_depth` removed; `*dropped` counts them (may be null).
std::string cap_html_nesting(std::string_view html, int max_depth, std::size_t* dropped);

}  // namespace alltools::tools::browser::detail
