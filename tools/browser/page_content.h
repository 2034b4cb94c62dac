// From fetched bytes to a readable page: content-type dispatch (HTML, text, JSON, PDF, binary), charset
// conversion and HTML extraction. Local documents (the local index) go through the same path.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "tools/browser/fetcher.h"
#include "tools/browser/html_to_markdown.h"

namespace alltools::tools::browser::detail {

struct Page {
  std::string url;
  std::string title;
  std::string markdown;  // for non-text content: a one-line description, never the bytes
  std::string base_url;  // links resolve against this
  std::vector<PageLink> links;
};

// HTTP errors (status >= 400) are errors naming the status and URL; everything else becomes a Page.
Result<Page> page_from_response(const FetchResponse& response, bool number_links);

// A local file as if fetched: content type from the extension, body capped at `max_bytes`, url = file://path.
Result<FetchResponse> read_local_file(const std::filesystem::path& path, std::size_t max_bytes);

// "file:///abs/path" with spaces and non-URL bytes percent-encoded.
std::string file_url(const std::filesystem::path& path);

}  // namespace alltools::tools::browser::detail
