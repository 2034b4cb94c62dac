#include "tools/browser/fetcher.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>

#include "tools/browser/address_guard.h"
#include "tools/browser/url.h"

namespace alltools::tools::browser::detail {
namespace {

using Clock = std::chrono::steady_clock;

// Poll interval of the multi loop: how quickly a cancel flag or the call deadline is noticed.
constexpr int kPollIntervalMs = 50;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

long ms_until(Clock::time_point t) {
  const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<long>(std::max<long long>(d, 1));
}

}  // namespace

struct Fetcher::Impl {
  AddressGuard guard;
  FetchLimits limits;
  std::unique_ptr<CURLM, MultiDeleter> multi;
};

namespace {

// One request in flight. Owned by fetch_all's vector; curl callbacks get a pointer to it.
struct Job {
  const AddressGuard* guard = nullptr;
  const FetchLimits* limits = nullptr;
  const FetchRequest* request = nullptr;
  std::unique_ptr<CURL, EasyDeleter> easy;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  Clock::time_point deadline;
  std::string current_url;
  int hops = 0;
  FetchResponse response;
  std::optional<Error> denied;  // set by the socket callback when the guard refused an address
  std::size_t header_bytes = 0;
  bool header_overflow = false;
  char error_buffer[CURL_ERROR_SIZE] = {};
  std::optional<Result<FetchResponse>> result;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* job = static_cast<Job*>(user);
  const std::size_t bytes = size * n;
  std::string& body = job->response.body;
  const std::size_t room = job->limits->max_body_bytes - std::min(body.size(), job->limits->max_body_bytes);
  if (bytes > room) {
    body.append(data, room);
    job->response.truncated = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR), handled as a truncated success
  }
  body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* job = static_cast<Job*>(user);
  const std::size_t bytes = size * n;
  job->header_bytes += bytes;
  if (job->header_bytes > job->limits->max_header_bytes) {
    job->header_overflow = true;
    return 0;
  }
  (void)data;
  return bytes;
}

curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* addr) {
  auto* job = static_cast<Job*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN || addr == nullptr) return CURL_SOCKET_BAD;
  if (job->request->untrusted) {
    Status st = job->guard->vet_address(&addr->addr, addr->addrlen);
    if (!st.ok()) {
      job->denied = st.error();
      return CURL_SOCKET_BAD;
    }
  }
  return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

// Checks scheme, userinfo and host rules of a URL about to be requested (first hop and every redirect).
Result<WebUrl> vet_url(const Job& job, std::string_view url) {
  ALLTOOLS_ASSIGN_OR_RETURN(WebUrl u, parse_web_url(url));
  if (job.request->untrusted) ALLTOOLS_RETURN_IF_ERROR(job.guard->vet_host(u.host));
  return u;
}

void setup_hop(Job& job, const std::string& url) {
  CURL* e = job.easy.get();
  job.current_url = url;
  job.response.body.clear();
  job.response.truncated = false;
  job.header_bytes = 0;
  job.denied.reset();
  job.error_buffer[0] = '\0';
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms_until(job.deadline));
}

Status setup_easy(Job& job) {
  job.easy.reset(curl_easy_init());
  if (!job.easy) return make_error(ErrorCode::kResourceExhausted, "curl_easy_init failed");
  CURL* e = job.easy.get();
  const FetchLimits& lim = *job.limits;
  curl_easy_setopt(e, CURLOPT_PRIVATE, &job);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are followed by hand, re-vetting each hop
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes (gzip, br, deflate)
  curl_easy_setopt(e, CURLOPT_USERAGENT, lim.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(lim.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(lim.max_body_bytes) * 64);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &job);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &job);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &job);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job.error_buffer);
  curl_slist* list = nullptr;
  list = curl_slist_append(list, "Accept: text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5");
  for (const std::string& h : job.request->headers) list = curl_slist_append(list, h.c_str());
  job.headers.reset(list);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  return ok_status();
}

std::string content_type_of(CURL* e) {
  char* ct = nullptr;
  curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct);
  return ct != nullptr ? std::string(ct) : std::string();
}

// Turns a finished transfer into a result, or into the next hop (returns true when the job was re-armed).
bool finish_transfer(Job& job, CURLcode code) {
  CURL* e = job.easy.get();
  const std::string& url = job.current_url;
  if (job.denied && code != CURLE_OK) {
    job.result = job.denied->context("fetching " + url);
    return false;
  }
  if (job.header_overflow) {
    job.result = make_error(ErrorCode::kResourceExhausted, "fetching " + url + ": response headers exceed " +
                                                               std::to_string(job.limits->max_header_bytes) + " bytes");
    return false;
  }
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && job.response.truncated)) {
    const std::string detail = job.error_buffer[0] != '\0' ? job.error_buffer : curl_easy_strerror(code);
    ErrorCode ec = ErrorCode::kUnavailable;
    if (code == CURLE_OPERATION_TIMEDOUT) ec = ErrorCode::kTimeout;
    if (code == CURLE_UNSUPPORTED_PROTOCOL) ec = ErrorCode::kDenied;
    if (code == CURLE_FILESIZE_EXCEEDED) ec = ErrorCode::kResourceExhausted;
    job.result = make_error(ec, "fetching " + url + ": " + detail);
    return false;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (job.request->untrusted && is_redirect(status)) {
    char* next = nullptr;
    curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &next);
    if (next == nullptr) {
      job.result = make_error(ErrorCode::kParse, "fetching " + url + ": HTTP " + std::to_string(status) +
                                                     " without a usable Location header");
      return false;
    }
    const std::string target = next;
    if (++job.hops > job.limits->max_redirects) {
      job.result = make_error(ErrorCode::kOutOfRange, "fetching " + job.request->url + ": more than " +
                                                          std::to_string(job.limits->max_redirects) +
                                                          " redirects (last to " + target + ")");
      return false;
    }
    Result<WebUrl> u = vet_url(job, target);
    if (!u.ok()) {
      job.result = u.error().context("redirect from " + url);
      return false;
    }
    setup_hop(job, u->url);
    return true;
  }
  job.response.status = status;
  job.response.url = url;
  job.response.content_type = content_type_of(e);
  job.result = std::move(job.response);
  return false;
}

}  // namespace

Fetcher::Fetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fetcher::~Fetcher() = default;

Result<std::unique_ptr<Fetcher>> Fetcher::create(const NetworkPolicy& policy, const FetchLimits& limits) {
  global_init_once();
  ALLTOOLS_ASSIGN_OR_RETURN(AddressGuard guard, AddressGuard::create(policy));
  if (limits.max_body_bytes == 0 || limits.max_redirects < 0 || limits.max_connections_per_host <= 0 ||
      limits.max_total_connections <= 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "browser limits: max_body_bytes and connection limits must be positive, max_redirects >= 0");
  }
  auto impl = std::make_unique<Impl>(Impl{std::move(guard), limits, nullptr});
  impl->multi.reset(curl_multi_init());
  if (!impl->multi) return make_error(ErrorCode::kResourceExhausted, "curl_multi_init failed");
  CURLM* m = impl->multi.get();
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(limits.max_connections_per_host));
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(limits.max_total_connections));
  curl_multi_setopt(m, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  return std::unique_ptr<Fetcher>(new Fetcher(std::move(impl)));
}

Result<FetchResponse> Fetcher::fetch(const FetchRequest& request, const ToolContext& ctx) {
  std::vector<Result<FetchResponse>> all = fetch_all({request}, ctx);
  return std::move(all.front());
}

std::vector<Result<FetchResponse>> Fetcher::fetch_all(const std::vector<FetchRequest>& requests,
                                                       const ToolContext& ctx) {
  CURLM* m = impl_->multi.get();
  const Clock::time_point start = Clock::now();
  const Clock::time_point call_deadline = std::min(ctx.deadline, start + impl_->limits.call_timeout);
  std::vector<std::unique_ptr<Job>> jobs;
  jobs.reserve(requests.size());
  std::size_t running = 0;
  for (const FetchRequest& req : requests) {
    auto job = std::make_unique<Job>();
    job->guard = &impl_->guard;
    job->limits = &impl_->limits;
    job->request = &req;
    job->deadline = std::min(call_deadline, start + impl_->limits.request_timeout);
    Result<WebUrl> u = vet_url(*job, req.url);
    if (!u.ok()) {
      job->result = u.error();
    } else if (Status st = setup_easy(*job); !st.ok()) {
      job->result = st.error();
    } else {
      setup_hop(*job, u->url);
      if (curl_multi_add_handle(m, job->easy.get()) != CURLM_OK) {
        job->result = make_error(ErrorCode::kInternal, "curl_multi_add_handle failed for " + req.url);
      } else {
        ++running;
      }
    }
    jobs.push_back(std::move(job));
  }
  // Bounded by call_deadline: every iteration either finishes transfers or waits at most kPollIntervalMs.
  while (running > 0) {
    if (ctx.cancelled() || Clock::now() >= call_deadline) break;
    int still = 0;
    curl_multi_perform(m, &still);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* e = msg->easy_handle;
      const CURLcode code = msg->data.result;
      Job* job = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, reinterpret_cast<char**>(&job));
      curl_multi_remove_handle(m, e);
      if (finish_transfer(*job, code)) {
        if (curl_multi_add_handle(m, e) != CURLM_OK) {
          job->result = make_error(ErrorCode::kInternal, "curl_multi_add_handle failed for " + job->current_url);
          --running;
        }
      } else {
        --running;
      }
    }
    if (running == 0) break;
    const int wait_ms = static_cast<int>(std::min<long>(kPollIntervalMs, ms_until(call_deadline)));
    curl_multi_poll(m, nullptr, 0, wait_ms, nullptr);
  }
  std::vector<Result<FetchResponse>> out;
  out.reserve(jobs.size());
  for (auto& job : jobs) {
    if (!job->result) {
      curl_multi_remove_handle(m, job->easy.get());
      job->result = ctx.cancelled()
                        ? make_error(ErrorCode::kCancelled, "fetching " + job->current_url + ": cancelled")
                        : make_error(ErrorCode::kTimeout, "fetching " + job->current_url +
                                                              ": the tool call's deadline passed");
    }
    out.push_back(std::move(*job->result));
  }
  return out;
}

}  // namespace alltools::tools::browser::detail
