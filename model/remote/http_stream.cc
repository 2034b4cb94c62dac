#include "model/remote/http_stream.h"

#include <curl/curl.h>

#include <cstdlib>
#include <memory>
#include <mutex>

namespace alltools::model::detail {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  const std::function<bool(std::string_view)>* on_body = nullptr;
  const CancelToken* cancel = nullptr;
  long status = 0;
  size_t header_bytes = 0;
  double retry_after_s = -1;
  std::string error_body;
  bool stopped = false;
  bool cancelled = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > kMaxHeaderBytes) return 0;
  std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (also after 100-continue): reset
    t->retry_after_s = -1;
    const size_t sp = line.find(' ');
    if (sp != std::string_view::npos) t->status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    return len;
  }
  constexpr std::string_view kRetry = "retry-after:";
  if (line.size() > kRetry.size()) {
    std::string lower(line.substr(0, kRetry.size()));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kRetry) {
      const std::string value(line.substr(kRetry.size()));
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (end != value.c_str() && v >= 0) t->retry_after_s = v;
    }
  }
  return len;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->status < 200 || t->status >= 300) {
    const size_t room = kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes, t->error_body.size());
    t->error_body.append(data, std::min(room, len));
    return len;
  }
  if (!(*t->on_body)(std::string_view(data, len))) {
    t->stopped = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && t->cancel->cancelled()) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

}  // namespace

HttpAttempt http_post_stream(const HttpPost& request, const std::function<bool(std::string_view)>& on_body,
                             const CancelToken* cancel) {
  global_init_once();
  HttpAttempt result;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.message = "curl_easy_init failed";
    return result;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& h : request.headers) {
    curl_slist* grown = curl_slist_append(headers.get(), h.c_str());
    if (grown == nullptr) {
      result.message = "out of memory building headers";
      return result;
    }
    (void)headers.release();
    headers.reset(grown);
  }
  Transfer t;
  t.on_body = &on_body;
  t.cancel = cancel;
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(request.idle_timeout.count() / 1000)));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);

  const CURLcode rc = curl_easy_perform(c);
  result.status = t.status;
  result.retry_after_s = t.retry_after_s;
  if (t.cancelled) {
    result.outcome = HttpAttempt::Outcome::kCancelled;
  } else if (t.stopped) {
    result.outcome = HttpAttempt::Outcome::kStopped;
  } else if (t.status != 0 && (t.status < 200 || t.status >= 300) &&
             (rc == CURLE_OK || rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR)) {
    result.outcome = HttpAttempt::Outcome::kHttpError;
    result.error_body = std::move(t.error_body);
  } else if (rc != CURLE_OK) {
    result.outcome = HttpAttempt::Outcome::kTransport;
    result.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    result.message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  } else {
    result.outcome = HttpAttempt::Outcome::kComplete;
  }
  return result;
}

}  // namespace alltools::model::detail
