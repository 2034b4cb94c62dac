#include "core/agent/session_store.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>

namespace alltools::agent {
namespace fs = std::filesystem;

namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

fs::path default_sessions_root() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/')
    return fs::path(xdg) / "alltools" / "sessions";
  // As root, the Python sandbox runs as a dedicated uid that must be able to reach the session's files; root's
  // home (mode 700) is out of its reach, so root's sessions live in the system's state folder instead.
  if (::geteuid() == 0) return fs::path("/var/lib/alltools/sessions");
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/')
    return fs::path(home) / ".local" / "share" / "alltools" / "sessions";
  return fs::path(".alltools") / "sessions";
}

SessionStore::~SessionStore() = default;

Result<SessionStore> SessionStore::open(const fs::path& root, std::string_view name) {
  if (!valid_name(name))
    return make_error(ErrorCode::kInvalidArgument,
                      "session name '" + std::string(name) +
                          "': use 1-64 characters of A-Z a-z 0-9 . _ - (not starting with '.')");
  SessionStore s;
  s.name_ = std::string(name);
  s.dir_ = root / s.name_;
  std::error_code ec;
  for (const fs::path& d : {s.dir_, s.dir_ / "files", s.dir_ / "images"}) {
    fs::create_directories(d, ec);
    if (ec) return make_error(ErrorCode::kIo, "session folder " + d.string() + ": " + ec.message());
  }
  const fs::path transcript = s.transcript_path();
  s.resumed_ = fs::exists(transcript, ec) && fs::file_size(transcript, ec) > 0;
  s.out_.reset(std::fopen(transcript.c_str(), "ae"));
  if (!s.out_) return make_error(ErrorCode::kIo, transcript.string() + ": " + std::strerror(errno));
  return s;
}

Result<SessionStore> SessionStore::create_new(const fs::path& root) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(rd() & 0xffff));
  return open(root, std::string(stamp) + "-" + suffix);
}

Status SessionStore::append(const Event& e) {
  if (e.kind == EventKind::kToken) return ok_status();
  const std::string line = event_to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out_.get()) != line.size() || std::fflush(out_.get()) != 0)
    return make_error(ErrorCode::kIo, transcript_path().string() + ": write failed: " + std::strerror(errno));
  return ok_status();
}

Result<std::vector<Event>> SessionStore::load() const {
  std::vector<Event> events;
  std::ifstream in(transcript_path(), std::ios::binary);
  if (!in) return events;  // a new session has no transcript yet
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (number > kMaxTranscriptLines)
      return make_error(ErrorCode::kOutOfRange, transcript_path().string() + ": more than " +
                                                    std::to_string(kMaxTranscriptLines) + " lines");
    if (line.size() > kMaxTranscriptLineBytes)
      return make_error(ErrorCode::kOutOfRange,
                        transcript_path().string() + ":" + std::to_string(number) + ": line too long");
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() && in.peek() == std::char_traits<char>::eof()) break;  // a write cut short by a crash
    if (j.is_discarded())
      return make_error(ErrorCode::kParse, transcript_path().string() + ":" + std::to_string(number) + ": not JSON");
    auto e = event_from_json(j);
    if (!e.ok()) return e.error().context(transcript_path().string() + ":" + std::to_string(number));
    events.push_back(std::move(e).value());
  }
  return events;
}

}  // namespace alltools::agent
