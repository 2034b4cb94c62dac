// Host-only pieces of the sandbox (no sandbox started): frame codec, nonces, the no-symlink file reader,
// the seccomp programs and the host probe.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "sandbox/detail/frame_codec.h"
#include "sandbox/detail/seccomp_filter.h"
#include "sandbox/sandbox.h"
#include "tests/sandbox/sandbox_test_util.h"

namespace alltools::sandbox {
namespace {

using detail::encode_frame;
using detail::FrameDecoder;

TEST(FrameCodec, RoundTripsWholeAndByteByByte) {
  const nlohmann::json a = {{"nonce", "n1"}, {"value", "1"}};
  const nlohmann::json b = {{"nonce", "n2"}, {"text", "é\n\"x\""}};
  const std::string bytes = encode_frame(a) + encode_frame(b);
  FrameDecoder whole(1024);
  whole.append(bytes.data(), bytes.size());
  auto f1 = whole.next();
  ASSERT_TRUE(f1.ok() && f1->has_value());
  EXPECT_EQ(**f1, a);
  auto f2 = whole.next();
  ASSERT_TRUE(f2.ok() && f2->has_value());
  EXPECT_EQ(**f2, b);
  auto none = whole.next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  FrameDecoder trickle(1024);
  std::vector<nlohmann::json> got;
  for (char c : bytes) {
    trickle.append(&c, 1);
    auto f = trickle.next();
    ASSERT_TRUE(f.ok());
    if (f->has_value()) got.push_back(**f);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], b);
}

TEST(FrameCodec, RejectsBadMagicOversizeAndNonObjects) {
  FrameDecoder bad_magic(1024);
  const std::string spoof = "{\"ok\": true, \"out\": \"SPOOFED\"}\n";
  bad_magic.append(spoof.data(), spoof.size());
  auto r = bad_magic.next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);

  FrameDecoder small(8);
  const std::string big = encode_frame({{"nonce", "0123456789"}});
  small.append(big.data(), big.size());
  r = small.next();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kOutOfRange);

  FrameDecoder array(1024);
  const std::string arr = encode_frame(nlohmann::json::array({1, 2}));
  array.append(arr.data(), arr.size());
  EXPECT_FALSE(array.next().ok());

  FrameDecoder junk(1024);
  std::string frame = encode_frame({{"a", 1}});
  frame[10] = '\xff';
  junk.append(frame.data(), frame.size());
  EXPECT_FALSE(junk.next().ok());
}

TEST(FrameCodec, NoncesAreFreshHex) {
  const std::string a = detail::make_nonce(), b = detail::make_nonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(SandboxFile, ReadsRegularFilesAndRefusesLinksAndEscapes) {
  testing::TempDir dir;
  const auto files = dir.path();
  std::ofstream(files / "ok.txt") << "hello";
  ASSERT_EQ(symlink("/etc/passwd", (files / "link").c_str()), 0);
  std::filesystem::create_directory(files / "sub");
  ASSERT_EQ(symlink("..", (files / "sub" / "up").c_str()), 0);

  auto ok = read_sandbox_file(files, "ok.txt", 100);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(*ok, "hello");
  auto link = read_sandbox_file(files, "link", 1 << 20);
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code, ErrorCode::kDenied) << link.error();
  EXPECT_FALSE(read_sandbox_file(files, "sub/up/ok.txt", 100).ok());
  EXPECT_EQ(read_sandbox_file(files, "../" + dir.path().filename().string() + "/ok.txt", 100).error().code,
            ErrorCode::kDenied);
  EXPECT_EQ(read_sandbox_file(files, "/etc/passwd", 100).error().code, ErrorCode::kDenied);
  EXPECT_EQ(read_sandbox_file(files, "sub", 100).error().code, ErrorCode::kDenied);
  EXPECT_EQ(read_sandbox_file(files, "ok.txt", 2).error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(read_sandbox_file(files, "missing", 2).error().code, ErrorCode::kNotFound);
}

TEST(SeccompFilter, ProgramsBuildAsWholeBpfInstructions) {
  auto main_filter = detail::main_filter_bpf();
  ASSERT_TRUE(main_filter.ok()) << main_filter.error();
  EXPECT_EQ(main_filter->size() % 8, 0u);
  EXPECT_GT(main_filter->size() / 8, 50u);
  auto exec_deny = detail::exec_deny_filter_bpf();
  ASSERT_TRUE(exec_deny.ok()) << exec_deny.error();
  EXPECT_EQ(exec_deny->size() % 8, 0u);
  EXPECT_LT(exec_deny->size(), main_filter->size());
}

TEST(IsolationProbe, ListsEveryLayerOnce) {
  const IsolationReport& report = probe_isolation();
  const std::string text = report.to_string();
  for (const char* name : {"namespaces", "network", "uid", "rlimits", "seccomp", "exec-deny", "cgroup-memory",
                           "cgroup-pids", "cgroup-cpu", "cgroup-kill", "landlock"}) {
    int count = 0;
    for (const Layer& l : report.layers) count += l.name == name;
    EXPECT_EQ(count, 1) << name << "\n" << text;
  }
}

TEST(SessionConfig, RejectsRelativeFilesDir) {
  SandboxConfig c;
  c.files_dir = "relative/files";
  auto s = Session::create(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace alltools::sandbox
