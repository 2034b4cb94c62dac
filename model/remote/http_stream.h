// One streaming HTTP POST with libcurl: the response body is handed over as it arrives when the status is 2xx;
// otherwise up to kMaxErrorBodyBytes of it are kept for the error message. No retries here (remote_model.cc
// decides, because a retry depends on what was already streamed).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/language_model.h"

namespace alltools::model::detail {

inline constexpr size_t kMaxErrorBodyBytes = 16u << 10;
inline constexpr size_t kMaxHeaderBytes = 64u << 10;

struct HttpPost {
  std::string url;
  std::string body;                  // JSON
  std::vector<std::string> headers;  // "Name: value"
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds total_timeout{600000};
};

struct HttpAttempt {
  enum class Outcome {
    kComplete,    // 2xx and the body ended normally
    kHttpError,   // non-2xx status (status, error_body)
    kTransport,   // could not connect, connection dropped, timed out (message)
    kStopped,     // the body callback returned false
    kCancelled,   // the CancelToken fired
  };
  Outcome outcome = Outcome::kTransport;
  long status = 0;
  std::string message;        // curl's error text for kTransport
  std::string error_body;     // for kHttpError
  double retry_after_s = -1;  // from a Retry-After header (seconds form), -1 when absent
  bool timed_out = false;
};

// Returning false from on_body stops the transfer (kStopped).
HttpAttempt http_post_stream(const HttpPost& request, const std::function<bool(std::string_view)>& on_body,
                             const CancelToken* cancel);

}  // namespace alltools::model::detail
