// A small blocking HTTP client over libcurl for the image backends. Internal to tools/image.
// Every request is bounded: a total timeout, a response-size cap, at most kMaxRedirects redirects,
// http/https only; `cancel` aborts a transfer in progress.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"

namespace alltools::tools::image::detail {

struct HttpRequest {
  std::string method = "GET";  // "GET" | "POST"
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{60'000};
  std::size_t max_response_bytes = 64u << 20;
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
  long retry_after_seconds = -1;  // from a Retry-After header with a number, else -1
};

// Transport failures (DNS, connect, timeout kTimeout, cap kResourceExhausted, cancel kCancelled) are errors;
// any HTTP status is a response.
Result<HttpResponse> http_request(const HttpRequest& request);

}  // namespace alltools::tools::image::detail
