// Shared helpers for the sandbox tests: a temporary session folder and a session with short limits.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "sandbox/sandbox.h"

namespace alltools::sandbox::testing {

// A fresh folder under /tmp, removed at destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/alltools-sandbox-test-XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Short limits so timeout and exhaustion cases finish quickly.
inline SandboxConfig test_config(const std::filesystem::path& files_dir) {
  SandboxConfig c;
  c.files_dir = files_dir;
  c.cell_timeout = std::chrono::milliseconds(2000);
  c.interrupt_grace = std::chrono::milliseconds(1500);  // generous: CI runs many tests at once on 2 cores
  c.limits.memory_bytes = 512ull << 20;
  c.limits.max_pids = 64;
  c.limits.tmpfs_bytes = 16ull << 20;
  c.limits.file_size_bytes = 8ull << 20;
  c.limits.max_open_files = 64;
  c.limits.output_cap_bytes = 16 << 10;
  return c;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override { open_session(test_config(dir_.path() / "files")); }

  void open_session(const SandboxConfig& config) {
    session_.reset();
    auto s = Session::create(config);
    ASSERT_TRUE(s.ok()) << s.error();
    session_ = std::move(s).value();
  }

  // Runs a cell that must produce a result (not a start-up error).
  CellResult run(const std::string& code) {
    auto r = session_->run_cell(code);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : CellResult{};
  }

  // The interpreter answers a fresh cell correctly.
  void expect_healthy() {
    CellResult r = run("6 * 7");
    EXPECT_EQ(r.value_repr, "42") << r.traceback << r.notice;
    EXPECT_FALSE(r.state_lost);
  }

  const std::filesystem::path files() const { return dir_.path() / "files"; }

  TempDir dir_;
  std::unique_ptr<Session> session_;
};

inline std::string describe(const CellResult& r) {
  return "stdout[" + r.stdout_text + "] stderr[" + r.stderr_text + "] value[" + r.value_repr + "] traceback[" +
         r.traceback + "] notice[" + r.notice + "]";
}

}  // namespace alltools::sandbox::testing
