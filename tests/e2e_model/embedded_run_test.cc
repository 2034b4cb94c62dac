// End to end with the shipped model: `alltools run` on a fresh session, no flags beyond the task — the embedded
// default model and the sandboxed Python interpreter, exactly as a user runs them. (No research test: the shipped
// checkpoint does not yet write a well-formed `search(...)` call — see training/README.md.)
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

const fs::path kAlltools = fs::path(ALLTOOLS_BINARY_DIR) / "bin" / "alltools";
constexpr std::size_t kMaxOutputBytes = 16 << 20;

struct CliRun {
  int exit_code = -1;
  std::vector<nlohmann::json> events;  // --json: one event per line
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CliRun run_cli(const std::string& args) {
  CliRun r;
  const std::string cmd = quote(kAlltools.string()) + " " + args + " 2>/dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr) << cmd;
  if (p == nullptr) return r;
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0 && out.size() < kMaxOutputBytes) out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    auto j = nlohmann::json::parse(out.substr(start, end - start), nullptr, false);
    if (!j.is_discarded()) r.events.push_back(std::move(j));
    start = end + 1;
  }
  return r;
}

std::vector<std::string> texts_of(const CliRun& r, const std::string& event, const std::string& tool = "") {
  std::vector<std::string> out;
  for (const auto& e : r.events)
    if (e.value("event", "") == event && (tool.empty() || e.value("tool", "") == tool)) out.push_back(e.value("text", ""));
  return out;
}

// The tool the model addressed first ("" = a plain answer, "(none)" = no segment at all).
std::string first_segment_tool(const CliRun& r) {
  for (const auto& e : r.events)
    if (e.value("event", "") == "segment_start") return e.value("tool", "");
  return "(none)";
}

class EmbeddedRun : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kAlltools)) << "missing " << kAlltools;
    dir_ = fs::temp_directory_path() / ("alltools-e2e-model-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// The whole default path with no model flag: the embedded model loads, its first segment is a python call that
// the protocol parses, the sandbox runs it and its output goes back to the model, and the turn ends (an answer, or a
// step limit when the tiny model keeps calling). Whether the answer is right is measured by `alltools eval`, not
// asserted here (training/README.md has the figures).
TEST_F(EmbeddedRun, MathTaskGoesThroughPythonSandbox) {
  const CliRun r = run_cli("run --json -y --threads 1 --sessions-dir " + quote(dir_.string()) + " " +
                        quote("What is 37 * 48 + 12?"));
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << "exit code " << r.exit_code;
  EXPECT_EQ(first_segment_tool(r), "python");
  EXPECT_FALSE(texts_of(r, "tool_call", "python").empty()) << "no parsed python call";
  EXPECT_FALSE(texts_of(r, "observation", "python").empty()) << "the sandbox returned nothing to the model";
  EXPECT_FALSE(texts_of(r, "turn_end").empty()) << "the turn did not end cleanly";
}

}  // namespace
