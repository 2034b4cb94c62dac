// One text-to-image generation: request per backend, retries, answer parsing, download/decode, checks, saving.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

#include "tools/image/http_client.h"
#include "tools/image/image_tool.h"

namespace alltools::tools::image {

namespace {
constexpr std::chrono::seconds kMaxRetryWait{30};
constexpr std::chrono::milliseconds kSleepSlice{50};
constexpr std::size_t kMaxErrorBody = 500;  // bytes of a server's error body quoted in messages
constexpr int kMaxNameAttempts = 1000;      // fresh file names tried in save_image

std::string clip(const std::string& s, std::size_t n) { return s.size() > n ? s.substr(0, n) + "..." : s; }

std::string server_error_text(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("error")) {
      const auto& e = j["error"];
      if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
      if (e.is_string()) return e.get<std::string>();
    }
    if (j.contains("detail") && j["detail"].is_string()) return j["detail"].get<std::string>();
  }
  return clip(body, kMaxErrorBody);
}

Result<std::vector<std::uint8_t>> base64_decode(std::string_view in, std::size_t max_bytes) {
  if (in.rfind("data:", 0) == 0) {  // data URL: data:image/png;base64,....
    auto comma = in.find(',');
    if (comma == std::string_view::npos) return make_error(ErrorCode::kParse, "malformed data URL");
    in.remove_prefix(comma + 1);
  }
  if (in.size() / 4 * 3 > max_bytes + 3) {
    return make_error(ErrorCode::kOutOfRange, "the image is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::vector<std::uint8_t> out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char ch : in) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+' || ch == '-') v = 62;
    else if (ch == '/' || ch == '_') v = 63;
    else if (ch == '=') { padding = true; continue; }
    else if (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t') continue;
    else return make_error(ErrorCode::kParse, "the image data is not valid base64");
    if (padding) return make_error(ErrorCode::kParse, "the image data is not valid base64 (data after '=')");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  if (out.size() > max_bytes) {
    return make_error(ErrorCode::kOutOfRange, "the image is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

std::string api_key(const ImageConfig& c) {
  std::string var = c.api_key_env;
  if (var.empty()) {
    if (c.backend == Backend::kCogView) var = "ZHIPUAI_API_KEY";
    if (c.backend == Backend::kOpenAI) var = "OPENAI_API_KEY";
  }
  if (var.empty()) return "";
  const char* v = std::getenv(var.c_str());
  return v ? v : "";
}

// Sleeps `d`, waking every kSleepSlice to honour cancel; false if cancelled or the deadline would pass.
bool interruptible_sleep(std::chrono::milliseconds d, const ToolContext& ctx) {
  const auto until = std::chrono::steady_clock::now() + d;
  if (until >= ctx.deadline) return false;
  while (std::chrono::steady_clock::now() < until) {  // bounded by `until`
    if (ctx.cancelled()) return false;
    std::this_thread::sleep_for(std::min(kSleepSlice, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                          until - std::chrono::steady_clock::now())));
  }
  return true;
}

std::chrono::milliseconds time_left(const ImageConfig& c, const ToolContext& ctx) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - std::chrono::steady_clock::now());
  if (ctx.deadline == std::chrono::steady_clock::time_point::max()) return c.timeout;
  return std::max(std::chrono::milliseconds(1), std::min(c.timeout, left));
}

// Sends with retries on 429 / 5xx / connection failures; other statuses and timeouts are final.
Result<detail::HttpResponse> send_with_retries(const ImageConfig& c, detail::HttpRequest req, const ToolContext& ctx) {
  req.cancel = ctx.cancel;
  for (int attempt = 0;; ++attempt) {  // bounded by max_retries
    req.timeout = time_left(c, ctx);
    auto r = detail::http_request(req);
    bool retryable = false;
    std::string why;
    if (!r.ok()) {
      retryable = r.error().code == ErrorCode::kUnavailable;
      why = r.error().message;
    } else if (r.value().status == 429 || r.value().status >= 500) {
      retryable = true;
      why = "HTTP " + std::to_string(r.value().status) + ": " + server_error_text(r.value().body);
    } else {
      return r;
    }
    if (!retryable || attempt >= c.max_retries) {
      std::string msg = why + (attempt > 0 ? " (after " + std::to_string(attempt + 1) + " attempts)" : "");
      if (!r.ok()) return Error{r.error().code, msg};
      return make_error(r.value().status == 429 ? ErrorCode::kResourceExhausted : ErrorCode::kUnavailable, msg);
    }
    auto wait = c.retry_backoff * (1 << attempt);
    if (r.ok() && r.value().retry_after_seconds >= 0) {
      wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(r.value().retry_after_seconds));
    }
    wait = std::min<std::chrono::milliseconds>(wait, kMaxRetryWait);
    if (ctx.progress) ctx.progress("image service busy (" + why + "), retrying");
    if (!interruptible_sleep(wait, ctx)) {
      return make_error(ctx.cancelled() ? ErrorCode::kCancelled : ErrorCode::kTimeout, why + " (no time left to retry)");
    }
  }
}

std::string join_url(const std::string& base, const std::string& path) {
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + path;
}

Result<GeneratedImage> checked(std::vector<std::uint8_t> bytes, std::string url, const ImageConfig& c) {
  if (bytes.size() > c.max_image_bytes) {
    return make_error(ErrorCode::kOutOfRange, "the image is larger than " + std::to_string(c.max_image_bytes) + " bytes");
  }
  ALLTOOLS_ASSIGN_OR_RETURN(std::string mime, sniff_image_mime(bytes));
  return GeneratedImage{std::move(bytes), std::move(mime), std::move(url)};
}

Result<GeneratedImage> download(const std::string& url, const ImageConfig& c, const ToolContext& ctx) {
  detail::HttpRequest req;
  req.url = url;
  req.max_response_bytes = c.max_image_bytes;
  ALLTOOLS_ASSIGN_OR_RETURN(auto resp, send_with_retries(c, req, ctx));
  if (resp.status != 200) {
    return make_error(ErrorCode::kUnavailable, "downloading " + url + ": HTTP " + std::to_string(resp.status));
  }
  std::vector<std::uint8_t> bytes(resp.body.begin(), resp.body.end());
  auto img = checked(std::move(bytes), url, c);
  if (!img.ok()) return img.error().context("downloaded " + url);
  return img;
}
}  // namespace

Result<std::string> sniff_image_mime(const std::vector<std::uint8_t>& b) {
  auto starts = [&](std::initializer_list<int> magic, std::size_t at = 0) {
    if (b.size() < at + magic.size()) return false;
    std::size_t i = at;
    for (int m : magic) {
      if (b[i++] != static_cast<std::uint8_t>(m)) return false;
    }
    return true;
  };
  if (starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}) && b.size() >= 33) return std::string("image/png");
  if (starts({0xFF, 0xD8, 0xFF}) && b.size() >= 4) return std::string("image/jpeg");
  if (starts({'R', 'I', 'F', 'F'}) && starts({'W', 'E', 'B', 'P'}, 8) && b.size() >= 16) return std::string("image/webp");
  if (b.empty()) return make_error(ErrorCode::kParse, "the image is empty");
  std::size_t i = 0;
  while (i < b.size() && i < 64 && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) ++i;
  if (i < b.size() && b[i] == '<') {
    return make_error(ErrorCode::kParse, "the image is not a PNG, JPEG or WebP: it looks like HTML/XML text");
  }
  if (i < b.size() && (b[i] == '{' || b[i] == '[')) {
    return make_error(ErrorCode::kParse, "the image is not a PNG, JPEG or WebP: it looks like JSON");
  }
  char hex[3 * 8 + 1] = {};
  for (std::size_t k = 0; k < 8 && k < b.size(); ++k) std::snprintf(hex + 3 * k, 4, "%02x ", b[k]);
  return make_error(ErrorCode::kParse, std::string("the image is not a PNG, JPEG or WebP (starts with ") + hex + ")");
}

Result<GeneratedImage> generate_image(const ImageConfig& c, const std::string& prompt, const ToolContext& ctx) {
  if (prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the image prompt is empty");
  const std::string base = c.base_url.empty() ? default_base_url(c.backend) : c.base_url;
  const std::string key = api_key(c);
  detail::HttpRequest req;
  req.method = "POST";
  req.headers = {"Content-Type: application/json", "Accept: application/json"};
  if (!key.empty()) req.headers.push_back("Authorization: Bearer " + key);
  req.max_response_bytes = c.max_response_bytes;
  nlohmann::json body;
  if (c.backend == Backend::kAutomatic1111) {
    req.url = join_url(base, "/sdapi/v1/txt2img");
    int w = 512, h = 512;
    if (std::sscanf(c.size.c_str(), "%dx%d", &w, &h) != 2 || w <= 0 || h <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "image size '" + c.size + "' is not WIDTHxHEIGHT");
    }
    body = {{"prompt", prompt}, {"width", w}, {"height", h}, {"batch_size", 1}, {"n_iter", 1}};
  } else {
    if (key.empty() && c.backend == Backend::kCogView) {
      return make_error(ErrorCode::kUnavailable,
                        "no API key: set " + (c.api_key_env.empty() ? std::string("ZHIPUAI_API_KEY") : c.api_key_env));
    }
    req.url = join_url(base, "/images/generations");
    const std::string model = !c.model.empty() ? c.model : c.backend == Backend::kCogView ? "cogview-3-flash" : "dall-e-3";
    body = {{"model", model}, {"prompt", prompt}, {"size", c.size}};
    if (c.backend == Backend::kOpenAI) {
      body["n"] = 1;
      if (!c.response_format.empty()) body["response_format"] = c.response_format;
    }
  }
  req.body = body.dump();
  ALLTOOLS_ASSIGN_OR_RETURN(auto resp, send_with_retries(c, req, ctx));
  const std::string where = std::string(backend_name(c.backend)) + " " + req.url;
  if (resp.status != 200) {
    return make_error(resp.status == 401 || resp.status == 403 ? ErrorCode::kDenied : ErrorCode::kInvalidArgument,
                      where + ": HTTP " + std::to_string(resp.status) + ": " + server_error_text(resp.body));
  }
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
  if (!j.is_object()) return make_error(ErrorCode::kParse, where + ": the answer is not a JSON object: " + clip(resp.body, 200));
  if (c.backend == Backend::kAutomatic1111) {
    if (!j.contains("images") || !j["images"].is_array() || j["images"].empty() || !j["images"][0].is_string()) {
      return make_error(ErrorCode::kParse, where + ": the answer has no images[0] base64 string");
    }
    ALLTOOLS_ASSIGN_OR_RETURN(auto bytes, base64_decode(j["images"][0].get<std::string>(), c.max_image_bytes));
    return checked(std::move(bytes), "", c);
  }
  if (!j.contains("data") || !j["data"].is_array() || j["data"].empty() || !j["data"][0].is_object()) {
    return make_error(ErrorCode::kParse, where + ": the answer has no data[0] object");
  }
  const auto& d = j["data"][0];
  if (d.contains("b64_json") && d["b64_json"].is_string()) {
    ALLTOOLS_ASSIGN_OR_RETURN(auto bytes, base64_decode(d["b64_json"].get<std::string>(), c.max_image_bytes));
    return checked(std::move(bytes), "", c);
  }
  if (d.contains("url") && d["url"].is_string()) return download(d["url"].get<std::string>(), c, ctx);
  return make_error(ErrorCode::kParse, where + ": data[0] has neither url nor b64_json");
}

Result<Artifact> save_image(const GeneratedImage& image, const std::filesystem::path& session_dir) {
  if (session_dir.empty()) return make_error(ErrorCode::kInvalidArgument, "no session folder to save the image in");
  const std::filesystem::path dir = session_dir / "images";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  const std::string ext = image.mime == "image/png" ? ".png" : image.mime == "image/jpeg" ? ".jpg" : ".webp";
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  for (int n = 1; n <= kMaxNameAttempts; ++n) {
    std::filesystem::path p = dir / ("cogview-" + std::string(stamp) + "-" + std::to_string(n) + ext);
    std::FILE* f = std::fopen(p.c_str(), "wbx");  // x: fails if it exists
    if (f == nullptr) {
      if (errno == EEXIST) continue;
      return make_error(ErrorCode::kIo, "cannot write " + p.string() + ": " + std::strerror(errno));
    }
    const bool ok = std::fwrite(image.bytes.data(), 1, image.bytes.size(), f) == image.bytes.size();
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) return make_error(ErrorCode::kIo, "cannot write " + p.string());
    return Artifact{p, image.mime, image.url};
  }
  return make_error(ErrorCode::kIo, "no free file name in " + dir.string());
}

}  // namespace alltools::tools::image
