#include "sandbox/detail/font_cache.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace alltools::sandbox::detail {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kMaxFontListBytes = 8 << 20;
constexpr const char* kPrefix = "fontlist-";
constexpr const char* kGenerateCell =
    "import glob, os, shutil\n"
    "import matplotlib.font_manager\n"
    "for f in glob.glob('/tmp/matplotlib/fontlist-*.json'):\n"
    "    shutil.copy(f, '/mnt/data/' + os.path.basename(f))\n";

fs::path cache_dir() {
  if (geteuid() == 0) return "/var/cache/alltools-sandbox";
  if (const char* xdg = getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "alltools-sandbox";
  if (const char* home = getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "alltools-sandbox";
  return {};
}

bool is_font_list(const std::string& name) {
  return name.rfind(kPrefix, 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".json" &&
         name.find('/') == std::string::npos;
}

bool valid(const std::string& bytes) {
  const auto j = nlohmann::json::parse(bytes, nullptr, false);
  return !j.is_discarded() && j.is_object() && j.contains("_version");
}

// Newest modification time of what the font list depends on.
std::int64_t source_mtime() {
  std::int64_t newest = 0;
  for (const char* p : {"/usr/lib/python3/dist-packages/matplotlib", "/usr/share/fonts",
                        "/usr/share/matplotlib/mpl-data/fonts"}) {
    struct stat st;
    if (stat(p, &st) == 0) newest = std::max<std::int64_t>(newest, st.st_mtime);
  }
  return newest;
}

std::optional<FontCache> load(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_font_list(name)) continue;
    auto bytes = read_sandbox_file(dir, name, kMaxFontListBytes);
    struct stat st;
    if (!bytes.ok() || lstat(it->path().c_str(), &st) != 0 || st.st_mtime < source_mtime() || !valid(*bytes)) {
      continue;
    }
    return FontCache{name, std::move(bytes).value()};
  }
  return std::nullopt;
}

std::optional<FontCache> generate(const fs::path& dir, const SandboxConfig& like) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::nullopt;
  chmod(dir.c_str(), 0711);  // the generating sandbox must reach dir/gen-*/files; nobody else may write
  const fs::path work = dir / ("gen-" + std::to_string(getpid()));
  SandboxConfig config = like;
  config.files_dir = work / "files";
  config.cell_timeout = std::chrono::seconds(120);
  config.preload_font_cache = false;
  std::optional<FontCache> out;
  {
    auto session = Session::create(config);
    if (session.ok()) {
      auto r = (*session)->run_cell(kGenerateCell);
      if (r.ok() && r->traceback.empty() && !r->state_lost) {
        for (fs::directory_iterator it(config.files_dir, ec), end; !ec && it != end; it.increment(ec)) {
          const std::string name = it->path().filename().string();
          if (!is_font_list(name)) continue;
          auto bytes = read_sandbox_file(config.files_dir, name, kMaxFontListBytes);
          if (!bytes.ok() || !valid(*bytes)) continue;
          const fs::path tmp = dir / (name + ".tmp" + std::to_string(getpid()));
          {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            f.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
            if (!f) continue;
          }
          fs::rename(tmp, dir / name, ec);
          if (!ec) out = FontCache{name, std::move(bytes).value()};
          break;
        }
      }
    }
  }
  fs::remove_all(work, ec);
  return out;
}

}  // namespace

std::optional<FontCache> matplotlib_font_cache(const SandboxConfig& like) {
  static std::mutex mu;
  static bool done = false;
  static std::optional<FontCache> cached;
  std::lock_guard<std::mutex> lock(mu);
  if (done) return cached;
  done = true;
  const fs::path dir = cache_dir();
  if (dir.empty() || access("/usr/lib/python3/dist-packages/matplotlib", F_OK) != 0) return cached;
  cached = load(dir);
  if (!cached) cached = generate(dir, like);
  return cached;
}

}  // namespace alltools::sandbox::detail
