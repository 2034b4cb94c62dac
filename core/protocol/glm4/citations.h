// Citations in GLM-4 answers: `【3†source】`, `【3†title†host】`, and several pages at once, `【0, 2†source】` or
// `【1，4†source】` (the model writes both commas). find_citations() returns each well-formed one with its span, so
// callers can resolve ids to pages (the browser's citation table) or rewrite them for display; text in 【】 that
// is not a citation (no dagger, or something other than numbers before it) is left alone.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace alltools::protocol::glm4 {

struct Citation {
  std::size_t begin = 0;  // byte offset of 【
  std::size_t end = 0;    // one past 】
  std::vector<int> ids;   // in the order written, at least one
  std::string label;      // the text after the first dagger, up to the next dagger or 】 ("source", a title, …)
};

std::vector<Citation> find_citations(std::string_view text);

}  // namespace alltools::protocol::glm4
