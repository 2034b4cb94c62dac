#include "tools/browser/url.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

namespace alltools::tools::browser::detail {
namespace {

struct UrlDeleter {
  void operator()(CURLU* h) const { curl_url_cleanup(h); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlString {
  char* p = nullptr;
  ~CurlString() { curl_free(p); }
};

bool get_part(CURLU* h, CURLUPart part, std::string* out) {
  CurlString s;
  if (curl_url_get(h, part, &s.p, 0) != CURLUE_OK || s.p == nullptr) return false;
  *out = s.p;
  return true;
}

Result<WebUrl> finish(CURLU* h, std::string_view shown) {
  WebUrl u;
  if (!get_part(h, CURLUPART_SCHEME, &u.scheme)) {
    return make_error(ErrorCode::kInvalidArgument, "URL '" + std::string(shown) + "' has no scheme");
  }
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (u.scheme != "http" && u.scheme != "https") {
    return make_error(ErrorCode::kDenied,
                      "URL scheme '" + u.scheme + "' is not allowed (only http and https): " + std::string(shown));
  }
  std::string user;
  if (get_part(h, CURLUPART_USER, &user)) {
    return make_error(ErrorCode::kDenied, "URLs with user:password@ are not allowed: " + std::string(shown));
  }
  if (!get_part(h, CURLUPART_HOST, &u.host) || u.host.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "URL '" + std::string(shown) + "' has no host");
  }
  std::transform(u.host.begin(), u.host.end(), u.host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (u.host.size() >= 2 && u.host.front() == '[' && u.host.back() == ']') u.host = u.host.substr(1, u.host.size() - 2);
  if (!get_part(h, CURLUPART_URL, &u.url)) {
    return make_error(ErrorCode::kInvalidArgument, "URL '" + std::string(shown) + "' cannot be normalised");
  }
  return u;
}

}  // namespace

Result<WebUrl> parse_web_url(std::string_view url) {
  UrlHandle h(curl_url());
  if (!h) return make_error(ErrorCode::kResourceExhausted, "curl_url() failed");
  const std::string s(url);
  const CURLUcode rc = curl_url_set(h.get(), CURLUPART_URL, s.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + s + "' is not a valid URL (" + curl_url_strerror(rc) + ")");
  }
  return finish(h.get(), url);
}

Result<WebUrl> resolve_web_url(std::string_view base, std::string_view href) {
  UrlHandle h(curl_url());
  if (!h) return make_error(ErrorCode::kResourceExhausted, "curl_url() failed");
  const std::string b(base);
  const std::string r(href);
  if (curl_url_set(h.get(), CURLUPART_URL, b.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return make_error(ErrorCode::kInvalidArgument, "base URL '" + b + "' is not valid");
  }
  const CURLUcode rc = curl_url_set(h.get(), CURLUPART_URL, r.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) {
    return make_error(ErrorCode::kInvalidArgument,
                      "link '" + r + "' is not a valid URL (" + curl_url_strerror(rc) + ")");
  }
  return finish(h.get(), href);
}

std::string url_host(std::string_view url) {
  UrlHandle h(curl_url());
  if (!h) return "";
  const std::string s(url);
  if (curl_url_set(h.get(), CURLUPART_URL, s.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) return "";
  std::string host;
  if (!get_part(h.get(), CURLUPART_HOST, &host)) return "";
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host;
}

}  // namespace alltools::tools::browser::detail

namespace alltools::tools::browser::detail {

Result<std::string> resolve_any_url(std::string_view base, std::string_view href) {
  std::unique_ptr<CURLU, UrlDeleter> h(curl_url());
  if (!h) return make_error(ErrorCode::kResourceExhausted, "curl_url() failed");
  const std::string b(base);
  const std::string r(href);
  if (curl_url_set(h.get(), CURLUPART_URL, b.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
      curl_url_set(h.get(), CURLUPART_URL, r.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return make_error(ErrorCode::kInvalidArgument, "link '" + r + "' cannot be resolved against '" + b + "'");
  }
  curl_url_set(h.get(), CURLUPART_FRAGMENT, nullptr, 0);
  std::string out;
  if (!get_part(h.get(), CURLUPART_URL, &out)) {
    return make_error(ErrorCode::kInvalidArgument, "link '" + r + "' cannot be normalised");
  }
  return out;
}

}  // namespace alltools::tools::browser::detail
