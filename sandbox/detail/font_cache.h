// matplotlib's font list cache for the sandbox. Without it every fresh interpreter rebuilds the list on its
// first `import matplotlib.pyplot` (~1.2 s here). The list is generated once per machine by a sandbox that
// runs only trusted code (the import itself), kept in a root-owned (or the user's) cache folder, and copied
// into each new sandbox's /tmp/matplotlib.
#pragma once

#include <optional>
#include <string>

#include "sandbox/sandbox.h"

namespace alltools::sandbox::detail {

struct FontCache {
  std::string file_name;  // e.g. "fontlist-v330.json" (matplotlib picks the name by its cache version)
  std::string bytes;
};

// The cached font list, generating it when missing or older than the matplotlib/font installation.
// Memoized per process; std::nullopt when it cannot be produced (then matplotlib builds its own, slowly).
std::optional<FontCache> matplotlib_font_cache(const SandboxConfig& like);

}  // namespace alltools::sandbox::detail
