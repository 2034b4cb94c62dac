// Web URL parsing with curl's own parser (never a second one: parser differentials are an SSRF vector).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace alltools::tools::browser::detail {

struct WebUrl {
  std::string url;     // normalised by curl
  std::string scheme;  // "http" | "https"
  std::string host;    // lower case, IPv6 without brackets
};

// Accepts only absolute http/https URLs without user:password. Errors are kInvalidArgument or kDenied.
Result<WebUrl> parse_web_url(std::string_view url);

// Resolves `href` against `base`; error when the result is not an acceptable web URL.
Result<WebUrl> resolve_web_url(std::string_view base, std::string_view href);

// Lower-case host of an absolute URL, "" when it has none or cannot be parsed.
std::string url_host(std::string_view url);

}  // namespace alltools::tools::browser::detail

namespace alltools::tools::browser::detail {

// Resolves `href` against `base` for any scheme (file: included) and drops the #fragment; used for links of
// local documents. Callers still decide whether the result may be opened.
Result<std::string> resolve_any_url(std::string_view base, std::string_view href);

}  // namespace alltools::tools::browser::detail
