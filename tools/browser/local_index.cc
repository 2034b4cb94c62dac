#include "tools/browser/local_index.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <system_error>

#include "tools/browser/page_content.h"

namespace alltools::tools::browser {
namespace detail {
namespace {

constexpr std::string_view kMagic = "ALLTOOLS-BM25 1";
constexpr double kK1 = 1.2;
constexpr double kB = 0.75;
constexpr std::size_t kMaxWordBytes = 64;  // longer "words" (hashes, base64) are not indexed

// Decodes one UTF-8 code point at s[i]; returns its length (1 for invalid bytes, with cp = 0xFFFD).
std::size_t decode(std::string_view s, std::size_t i, char32_t* cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c < 0xE0 && cont(1)) {
    *cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c < 0xF0 && cont(1) && cont(2)) {
    *cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    return 3;
  }
  if (c >= 0xF0 && c < 0xF5 && cont(1) && cont(2) && cont(3)) {
    *cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
    return 4;
  }
  *cp = 0xFFFD;
  return 1;
}

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x20000 && c <= 0x2FA1F);
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return std::isalnum(static_cast<int>(c)) || c == '_';
  // Letters outside ASCII and CJK (Latin accents, Greek, Cyrillic, ...): part of words. Punctuation blocks are not.
  return c >= 0xC0 && c != 0xD7 && c != 0xF7 && !(c >= 0x2000 && c <= 0x2BFF) && !(c >= 0x3000 && c <= 0x303F) &&
         !(c >= 0xFF00 && c <= 0xFF0F) && c != 0xFFFD;
}

void put_u64(std::string* out, std::uint64_t v) { *out += std::to_string(v); }

std::string clean_field(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

template <class T>
bool parse_num(std::string_view s, T* v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::vector<std::string> search_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  std::string_view prev_cjk;  // the previous character when it was CJK, for bigrams
  auto flush = [&] {
    if (!word.empty() && word.size() <= kMaxWordBytes) out.push_back(word);
    word.clear();
  };
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = decode(text, i, &cp);
    const std::string_view ch = text.substr(i, n);
    if (is_cjk(cp)) {
      flush();
      out.emplace_back(ch);
      if (!prev_cjk.empty()) out.push_back(std::string(prev_cjk) + std::string(ch));
      prev_cjk = ch;
    } else {
      prev_cjk = {};
      if (is_word_char(cp)) {
        if (cp < 0x80) {
          word.push_back(static_cast<char>(std::tolower(static_cast<int>(cp))));
        } else {
          word.append(ch);
        }
      } else {
        flush();
      }
    }
    i += n;
  }
  flush();
  return out;
}

void LocalIndex::add(Doc doc, const std::vector<std::string>& tokens) {
  const auto id = static_cast<std::uint32_t>(docs_.size());
  std::unordered_map<std::string_view, std::uint32_t> tf;
  for (const std::string& t : tokens) ++tf[t];
  for (const auto& [term, count] : tf) postings_[std::string(term)].push_back(Posting{id, count});
  doc.length = static_cast<std::uint32_t>(tokens.size());
  total_length_ += doc.length;
  docs_.push_back(std::move(doc));
}

std::vector<std::pair<std::size_t, double>> LocalIndex::query(std::string_view q, std::size_t k) const {
  std::vector<std::string> terms = search_tokens(q);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  const double n_docs = static_cast<double>(docs_.size());
  if (docs_.empty()) return {};
  const double avg_len = static_cast<double>(total_length_) / n_docs;
  std::vector<double> score(docs_.size(), 0.0);
  for (const std::string& t : terms) {
    auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    const double df = static_cast<double>(it->second.size());
    const double idf = std::log(1.0 + (n_docs - df + 0.5) / (df + 0.5));
    for (const Posting& p : it->second) {
      const double tf = p.tf;
      const double len = docs_[p.doc].length;
      score[p.doc] += idf * tf * (kK1 + 1) / (tf + kK1 * (1 - kB + kB * len / std::max(avg_len, 1.0)));
    }
  }
  std::vector<std::pair<std::size_t, double>> hits;
  for (std::size_t d = 0; d < score.size(); ++d) {
    if (score[d] > 0) hits.emplace_back(d, score[d]);
  }
  const std::size_t top = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(top), hits.end(),
                    [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
  hits.resize(top);
  return hits;
}

Status LocalIndex::save(const std::filesystem::path& file) const {
  std::string out;
  out += kMagic;
  out += "\nD ";
  put_u64(&out, docs_.size());
  out += '\n';
  for (const Doc& d : docs_) {
    put_u64(&out, d.length);
    out += '\t' + clean_field(d.path) + '\t' + clean_field(d.title) + '\n';
  }
  out += "T ";
  put_u64(&out, postings_.size());
  out += '\n';
  std::vector<const std::pair<const std::string, std::vector<Posting>>*> sorted;
  sorted.reserve(postings_.size());
  for (const auto& e : postings_) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* e : sorted) {
    out += e->first;
    out += '\t';
    bool first = true;
    for (const Posting& p : e->second) {
      if (!first) out += ',';
      first = false;
      put_u64(&out, p.doc);
      out += ':';
      put_u64(&out, p.tf);
    }
    out += '\n';
  }
  const std::filesystem::path tmp = file.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return make_error(ErrorCode::kIo, "cannot write index file " + tmp.string());
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) return make_error(ErrorCode::kIo, "writing index file " + tmp.string() + " failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return make_error(ErrorCode::kIo, "renaming " + tmp.string() + " to " + file.string() + ": " + ec.message());
  return ok_status();
}

Result<LocalIndex> LocalIndex::load(const std::filesystem::path& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) return make_error(ErrorCode::kNotFound, "cannot open local search index " + file.string());
  std::string line;
  std::size_t line_no = 0;
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kParse,
                      "local search index " + file.string() + ", line " + std::to_string(line_no) + ": " + std::string(why));
  };
  auto next = [&] {
    ++line_no;
    return static_cast<bool>(std::getline(f, line));
  };
  if (!next() || line != kMagic) return bad("not an index written by `alltools index build` (bad header)");
  std::size_t n_docs = 0;
  if (!next() || !line.starts_with("D ") || !parse_num(std::string_view(line).substr(2), &n_docs)) {
    return bad("expected 'D <count>'");
  }
  LocalIndex idx;
  for (std::size_t d = 0; d < n_docs; ++d) {
    if (!next()) return bad("truncated document list");
    const std::size_t t1 = line.find('\t');
    const std::size_t t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    Doc doc;
    if (t2 == std::string::npos || !parse_num(std::string_view(line).substr(0, t1), &doc.length)) {
      return bad("expected '<length>\\t<path>\\t<title>'");
    }
    doc.path = line.substr(t1 + 1, t2 - t1 - 1);
    doc.title = line.substr(t2 + 1);
    idx.total_length_ += doc.length;
    idx.docs_.push_back(std::move(doc));
  }
  std::size_t n_terms = 0;
  if (!next() || !line.starts_with("T ") || !parse_num(std::string_view(line).substr(2), &n_terms)) {
    return bad("expected 'T <count>'");
  }
  idx.postings_.reserve(n_terms);
  for (std::size_t t = 0; t < n_terms; ++t) {
    if (!next()) return bad("truncated term list");
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) return bad("expected '<term>\\t<doc>:<tf>,...'");
    std::vector<Posting>& list = idx.postings_[line.substr(0, tab)];
    std::string_view rest = std::string_view(line).substr(tab + 1);
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      const std::size_t colon = item.find(':');
      Posting p{};
      if (colon == std::string_view::npos || !parse_num(item.substr(0, colon), &p.doc) ||
          !parse_num(item.substr(colon + 1), &p.tf) || p.doc >= n_docs) {
        return bad("bad posting '" + std::string(item) + "'");
      }
      list.push_back(p);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return idx;
}

}  // namespace detail

Result<IndexBuildStats> build_local_index(const std::filesystem::path& dir, const std::filesystem::path& out,
                                          const IndexLimits& limits) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return make_error(ErrorCode::kNotFound, "index build: " + dir.string() + " is not a directory");
  }
  std::vector<fs::path> files;
  IndexBuildStats stats;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return make_error(ErrorCode::kIo, "index build: cannot list " + dir.string() + ": " + ec.message());
  // Bounded by max_documents (files past it are counted as skipped).
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext != ".html" && ext != ".htm" && ext != ".md" && ext != ".markdown" && ext != ".txt" && ext != ".rst") {
      continue;
    }
    if (files.size() >= limits.max_documents || it->file_size(ec) > limits.max_file_bytes) {
      ++stats.skipped;
      continue;
    }
    files.push_back(fs::absolute(it->path()).lexically_normal());
  }
  std::sort(files.begin(), files.end());
  detail::LocalIndex index;
  for (const fs::path& p : files) {
    Result<detail::FetchResponse> r = detail::read_local_file(p, limits.max_file_bytes);
    if (!r.ok()) {
      ++stats.skipped;
      continue;
    }
    stats.bytes += r->body.size();
    Result<detail::Page> page = detail::page_from_response(*r, /*number_links=*/false);
    if (!page.ok()) {
      ++stats.skipped;
      continue;
    }
    std::vector<std::string> tokens = detail::search_tokens(page->title);
    std::vector<std::string> body = detail::search_tokens(page->markdown);
    tokens.insert(tokens.end(), body.begin(), body.end());
    index.add(detail::LocalIndex::Doc{p.string(), page->title, 0}, tokens);
    ++stats.documents;
  }
  stats.terms = index.term_count();
  ALLTOOLS_RETURN_IF_ERROR(index.save(out));
  return stats;
}

}  // namespace alltools::tools::browser
