// Paths of the shared fixtures and a scratch folder for tests of the model module.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace alltools::model::testing {

// The environment variable ALLTOOLS_SHARED_DIR, when set, overrides the path compiled in (binaries built on one
// machine and run on another, e.g. the GPU checks in bench/gpu/run.sh).
inline std::string fixture_dir(const std::string& name) {
  const char* env = std::getenv("ALLTOOLS_SHARED_DIR");
  return std::string(env != nullptr && *env != '\0' ? env : ALLTOOLS_SHARED_DIR) + "/fixtures/glm-fixtures/" + name;
}

// A fresh folder under the temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "alltools-model-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    path_ = made != nullptr ? made : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace alltools::model::testing
