#include "tools/browser/page_content.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tools/browser/charset.h"

namespace alltools::tools::browser::detail {
namespace {

std::string media_type(std::string_view content_type) {
  std::string m(content_type.substr(0, content_type.find(';')));
  m.erase(std::remove_if(m.begin(), m.end(), [](unsigned char c) { return std::isspace(c); }), m.end());
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  return m;
}

std::string human_bytes(std::size_t n) {
  char buf[32];
  if (n >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(n) / (1 << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%zu bytes", n);
  }
  return buf;
}

// Last path segment of a URL, for titles of non-HTML content.
std::string url_leaf(std::string_view url) {
  std::string_view u = url.substr(0, url.find_first_of("?#"));
  while (!u.empty() && u.back() == '/') u.remove_suffix(1);
  const std::size_t slash = u.rfind('/');
  std::string leaf(slash == std::string_view::npos ? u : u.substr(slash + 1));
  return leaf.empty() ? std::string(url) : leaf;
}

bool is_text_type(std::string_view m) {
  return m.starts_with("text/") || m == "application/x-sh" || m == "application/javascript" ||
         m == "application/xml" || m.ends_with("+xml");
}

bool is_json_type(std::string_view m) { return m == "application/json" || m.ends_with("+json"); }

// Written first, so that it is visible even when the page budget cuts the end.
std::string truncation_note(const FetchResponse& r) {
  return r.truncated ? "[The page was cut at " + human_bytes(r.body.size()) + ".]\n\n" : "";
}

}  // namespace

Result<Page> page_from_response(const FetchResponse& r, bool number_links) {
  if (r.status >= 400) {
    return make_error(ErrorCode::kUnavailable, "HTTP " + std::to_string(r.status) + " from " + r.url);
  }
  Page page;
  page.url = r.url;
  page.base_url = r.url;
  std::string m = media_type(r.content_type);
  const bool sniff_html = m.empty() && r.body.find('<') != std::string::npos &&
                          r.body.substr(0, 1024).find("<html") != std::string::npos;
  const bool html = m == "text/html" || m == "application/xhtml+xml" || sniff_html;
  const std::string charset = detect_charset(r.content_type, r.body, html);
  const bool utf16 = charset.starts_with("utf-16");
  if ((html || is_text_type(m) || is_json_type(m) || m.empty()) && !utf16 && looks_binary(r.body)) {
    page.title = url_leaf(r.url);
    page.markdown = "[Binary content (" + human_bytes(r.body.size()) + ") served as " +
                    (m.empty() ? std::string("an unlabelled type") : m) + "; not shown.]";
    return page;
  }
  if (html) {
    const std::string utf8 = to_utf8(r.body, charset);
    ExtractOptions opts;
    opts.base_url = r.url;
    opts.number_links = number_links;
    ExtractedPage e = html_to_markdown(utf8, opts);
    page.title = e.title.empty() ? url_leaf(r.url) : e.title;
    page.markdown = truncation_note(r) + std::move(e.markdown);
    page.base_url = e.base_url;
    page.links = std::move(e.links);
    return page;
  }
  if (is_json_type(m)) {
    page.title = url_leaf(r.url);
    std::string text = to_utf8(r.body, charset.empty() ? "utf-8" : charset);
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded() && !r.truncated) {
      text = j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    page.markdown = truncation_note(r) + "```json\n" + text + "\n```";
    return page;
  }
  if (is_text_type(m) || m.empty()) {
    page.title = url_leaf(r.url);
    page.markdown = truncation_note(r) + to_utf8(r.body, charset);
    return page;
  }
  page.title = url_leaf(r.url);
  if (m == "application/pdf") {
    page.markdown = "[PDF document (" + human_bytes(r.body.size()) + (r.truncated ? ", cut" : "") +
                    "); this build does not extract PDF text.]";
  } else {
    page.markdown = "[" + m + " content (" + human_bytes(r.body.size()) + (r.truncated ? ", cut" : "") +
                    "); not shown.]";
  }
  return page;
}

Result<FetchResponse> read_local_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open local document " + path.string());
  FetchResponse r;
  r.url = file_url(path);
  r.status = 200;
  r.body.resize(max_bytes + 1);
  in.read(r.body.data(), static_cast<std::streamsize>(r.body.size()));
  r.body.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return make_error(ErrorCode::kIo, "reading local document " + path.string() + " failed");
  if (r.body.size() > max_bytes) {
    r.body.resize(max_bytes);
    r.truncated = true;
  }
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".html" || ext == ".htm" || ext == ".xhtml") {
    r.content_type = "text/html";
  } else if (ext == ".md" || ext == ".markdown") {
    r.content_type = "text/markdown";
  } else if (ext == ".json") {
    r.content_type = "application/json";
  } else if (ext == ".pdf") {
    r.content_type = "application/pdf";
  } else {
    r.content_type = "text/plain";
  }
  return r;
}

std::string file_url(const std::filesystem::path& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "file://";
  for (unsigned char c : std::filesystem::absolute(path).lexically_normal().string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~' || c >= 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace alltools::tools::browser::detail
