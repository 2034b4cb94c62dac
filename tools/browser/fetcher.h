// Fetcher: libcurl (multi interface) with the SSRF guard, byte caps and deadlines. One per browser session;
// the multi handle keeps connections alive between calls. Not thread-safe: one call at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "tools/browser/browser_tool.h"
#include "tools/tool.h"

namespace alltools::tools::browser::detail {

struct FetchRequest {
  std::string url;
  // true: page fetch (AddressGuard on every connection, host rules, redirects followed and re-vetted).
  // false: operator-configured provider endpoint (no address vetting, no redirects).
  bool untrusted = true;
  std::vector<std::string> headers;  // extra request headers, "Name: value"
};

struct FetchResponse {
  std::string url;           // final URL, after redirects
  long status = 0;           // HTTP status of the final hop
  std::string content_type;  // as sent (may be empty)
  std::string body;          // decoded bytes, at most FetchLimits::max_body_bytes
  bool truncated = false;    // the body hit the byte cap
};

class Fetcher {
 public:
  static Result<std::unique_ptr<Fetcher>> create(const NetworkPolicy& policy, const FetchLimits& limits);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Fetches all requests concurrently (per-host and total connection limits apply); results in request order.
  // Bounded by FetchLimits::request_timeout per request and by min(ctx.deadline, call_timeout) overall;
  // ctx.cancel abandons the rest.
  std::vector<Result<FetchResponse>> fetch_all(const std::vector<FetchRequest>& requests, const ToolContext& ctx);
  Result<FetchResponse> fetch(const FetchRequest& request, const ToolContext& ctx);

 private:
  struct Impl;
  explicit Fetcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace alltools::tools::browser::detail
