// SessionStore: one session as a folder —
//   <root>/<name>/transcript.jsonl   one Event per line (token events excluded), appended and flushed as they come
//   <root>/<name>/files/             the interpreter's /mnt/data
//   <root>/<name>/images/            generated images
// Opening an existing name resumes it: load() returns its events so the loop can restore the conversation.
// Not thread-safe: one writer (the loop's thread).
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "core/agent/events.h"

namespace alltools::agent {

// Longest transcript line load() accepts, and most lines (bounds reading a damaged or hostile file).
inline constexpr size_t kMaxTranscriptLineBytes = 64u << 20;
inline constexpr size_t kMaxTranscriptLines = 1u << 20;

// $XDG_DATA_HOME/alltools/sessions; else, as root, /var/lib/alltools/sessions (the sandbox uid must reach it);
// else $HOME/.local/share/alltools/sessions; else ./.alltools/sessions.
std::filesystem::path default_sessions_root();

class SessionStore {
 public:
  // Opens <root>/<name>, creating the folders if needed. Names: 1–64 of [A-Za-z0-9._-], not starting with '.'.
  // Errors: kInvalidArgument (bad name), kIo naming the path.
  static Result<SessionStore> open(const std::filesystem::path& root, std::string_view name);

  // A fresh session named by the current UTC time ("20261127-134501-3f2a").
  static Result<SessionStore> create_new(const std::filesystem::path& root);

  SessionStore(SessionStore&&) noexcept = default;
  SessionStore& operator=(SessionStore&&) noexcept = default;
  ~SessionStore();

  const std::string& name() const { return name_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path files_dir() const { return dir_ / "files"; }
  std::filesystem::path images_dir() const { return dir_ / "images"; }
  std::filesystem::path transcript_path() const { return dir_ / "transcript.jsonl"; }
  // True when the transcript already had events when opened.
  bool resumed() const { return resumed_; }

  // Appends one event as a JSON line and flushes. Token events are skipped (they are in the segments).
  Status append(const Event& e);

  // Every event of the transcript in order. Errors: kParse naming the line number.
  Result<std::vector<Event>> load() const;

 private:
  SessionStore() = default;
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::string name_;
  std::filesystem::path dir_;
  std::unique_ptr<std::FILE, FileCloser> out_;
  bool resumed_ = false;
};

}  // namespace alltools::agent
