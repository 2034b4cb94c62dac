// Notebook semantics of a sandboxed session: state, values, tracebacks, output capture, plots, files,
// timeouts and restarts, crashes, and isolation between concurrent sessions.
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/sandbox/sandbox_test_util.h"

namespace alltools::sandbox::testing {
namespace {

using namespace std::chrono_literals;

class NotebookTest : public SandboxTest {};

TEST_F(NotebookTest, StatePersistsAcrossCells) {
  run("import math\nx = 40\ndef f(v):\n    return v + 2\n");
  CellResult r = run("f(x) + int(math.sqrt(0))");
  EXPECT_TRUE(r.has_value);
  EXPECT_EQ(r.value_repr, "42") << describe(r);
}

TEST_F(NotebookTest, LastExpressionValueIsShownAsRepr) {
  CellResult r = run("a = 'hi'\na");
  EXPECT_EQ(r.value_repr, "'hi'");
  r = run("None");
  EXPECT_FALSE(r.has_value);
  EXPECT_EQ(r.value_repr, "");
  r = run("x = 3");
  EXPECT_FALSE(r.has_value);
  r = run("print('out')\n[1, 2]");
  EXPECT_EQ(r.stdout_text, "out\n");
  EXPECT_EQ(r.value_repr, "[1, 2]");
}

TEST_F(NotebookTest, StdoutAndStderrAreCapturedSeparately) {
  CellResult r = run("import sys, os\nprint('to out')\nprint('to err', file=sys.stderr)\nos.write(1, b'raw\\n')");
  EXPECT_EQ(r.stdout_text, "to out\nraw\n") << describe(r);
  EXPECT_EQ(r.stderr_text, "to err\n");
}

TEST_F(NotebookTest, ExceptionsGiveTrimmedTracebacksAndKeepState) {
  run("y = 7");
  CellResult r = run("def g():\n    return 1 / 0\ng()");
  EXPECT_NE(r.traceback.find("ZeroDivisionError: division by zero"), std::string::npos) << r.traceback;
  EXPECT_NE(r.traceback.find("<cell-2>"), std::string::npos) << r.traceback;
  EXPECT_NE(r.traceback.find("return 1 / 0"), std::string::npos) << r.traceback;  // cell source lines shown
  EXPECT_EQ(r.traceback.find("alltools-worker"), std::string::npos) << r.traceback;  // worker frames trimmed
  EXPECT_FALSE(r.state_lost);
  EXPECT_EQ(run("y").value_repr, "7");
}

TEST_F(NotebookTest, SyntaxErrorAndSystemExitDoNotKillTheInterpreter) {
  CellResult r = run("def (:");
  EXPECT_NE(r.traceback.find("SyntaxError"), std::string::npos) << r.traceback;
  // A cell that does not compile shows Python's own short report (what the embedded model is trained on), not the
  // parser's frames: `  File "<cell-N>", line 1`, the line, the caret, the message.
  EXPECT_EQ(r.traceback.rfind("  File \"<cell-", 0), 0u) << r.traceback;
  EXPECT_EQ(r.traceback.find("ast.py"), std::string::npos) << r.traceback;
  EXPECT_EQ(r.traceback.find("Traceback (most recent call last)"), std::string::npos) << r.traceback;
  r = run("import sys\nsys.exit(3)");
  EXPECT_NE(r.traceback.find("SystemExit: 3"), std::string::npos) << r.traceback;
  EXPECT_FALSE(r.state_lost);
  expect_healthy();
}

TEST_F(NotebookTest, OutputFloodIsTruncatedToTheCap) {
  CellResult r = run("print('x' * 5_000_000)\n'done'");
  EXPECT_EQ(r.stdout_text.size(), session_->config().limits.output_cap_bytes);
  EXPECT_EQ(r.stdout_dropped + r.stdout_text.size(), 5'000'001u);
  EXPECT_EQ(r.value_repr, "'done'");
  // A huge final value is clipped inside the worker.
  r = run("'y' * 1_000_000");
  EXPECT_LT(r.value_repr.size(), 2 * session_->config().limits.output_cap_bytes);
  EXPECT_NE(r.value_repr.find("characters omitted"), std::string::npos);
}

TEST_F(NotebookTest, MatplotlibFiguresAreSavedAsPng) {
  SandboxConfig c = test_config(files());
  c.cell_timeout = std::chrono::seconds(30);  // the first pyplot import may build matplotlib's font cache
  open_session(c);
  CellResult r = run(
      "import matplotlib.pyplot as plt\n"
      "plt.plot([1, 2, 3], [1, 4, 9])\n"
      "plt.figure()\nplt.bar([1, 2], [3, 4])\n"
      "'plotted'");
  ASSERT_EQ(r.files.size(), 2u) << describe(r);
  EXPECT_EQ(r.files[0].mime, "image/png");
  for (const ProducedFile& f : r.files) {
    auto bytes = read_sandbox_file(files(), f.name, 10 << 20);
    ASSERT_TRUE(bytes.ok()) << bytes.error();
    EXPECT_EQ(bytes->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  }
  // Figures are closed after being saved: the next cell produces none.
  EXPECT_TRUE(run("1").files.empty());
  // Names never overwrite earlier figures.
  r = run("import matplotlib.pyplot as plt\nplt.plot([0, 1])");
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].name, "figure_3.png");
}

TEST_F(NotebookTest, FilesPersistAcrossCellsAndRestarts) {
  run("with open('/mnt/data/notes.txt', 'w') as f:\n    f.write('kept')\nv = 1");
  EXPECT_EQ(run("open('notes.txt').read()").value_repr, "'kept'");  // cwd is /mnt/data
  session_->restart();
  CellResult r = run("open('/mnt/data/notes.txt').read()");
  EXPECT_EQ(r.value_repr, "'kept'") << describe(r);
  r = run("v");
  EXPECT_NE(r.traceback.find("NameError"), std::string::npos);  // variables did not survive the restart
  std::ifstream host(files() / "notes.txt");
  std::string content((std::istreambuf_iterator<char>(host)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "kept");
}

TEST_F(NotebookTest, TimeoutInterruptsAndKeepsState) {
  run("x = 41");
  CellResult r = run("while True:\n    pass");
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.interrupted);
  EXPECT_FALSE(r.state_lost) << describe(r);
  EXPECT_NE(r.traceback.find("KeyboardInterrupt"), std::string::npos);
  EXPECT_NE(r.notice.find("time limit"), std::string::npos);
  EXPECT_EQ(run("x + 1").value_repr, "42");
}

TEST_F(NotebookTest, TimeoutThatIgnoresInterruptRestartsWithStateLostNotice) {
  run("x = 41");
  const auto t0 = std::chrono::steady_clock::now();
  CellResult r = run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.state_lost) << describe(r);
  EXPECT_NE(r.notice.find("were lost"), std::string::npos) << r.notice;
  EXPECT_LT(took, 10s);  // containment bound, not a speed check: timeout 2 s + grace 0.5 s + restart
  EXPECT_FALSE(session_->running());
  r = run("x");
  EXPECT_NE(r.traceback.find("NameError"), std::string::npos) << describe(r);
  expect_healthy();
}

TEST_F(NotebookTest, CrashIsReportedAndTheNextCellGetsAFreshInterpreter) {
  run("z = 1");
  CellResult r = run("import os\nos._exit(3)");
  EXPECT_TRUE(r.state_lost);
  EXPECT_NE(r.notice.find("status 3"), std::string::npos) << r.notice;
  expect_healthy();
  r = run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)");
  EXPECT_TRUE(r.state_lost);
  EXPECT_NE(r.notice.find("SIGSEGV"), std::string::npos) << r.notice;
  expect_healthy();
}

TEST_F(NotebookTest, CancelFlagInterruptsTheCell) {
  ASSERT_TRUE(session_->start().ok());
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    cancel = true;
  });
  auto r = session_->run_cell("import time\ntime.sleep(30)", std::chrono::steady_clock::time_point::max(), &cancel);
  canceller.join();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  EXPECT_TRUE(r->interrupted) << describe(*r);
  EXPECT_NE(r->notice.find("cancelled"), std::string::npos);
}

TEST_F(NotebookTest, OversizedCellIsRejected) {
  auto r = session_->run_cell(std::string(session_->config().limits.code_cap_bytes + 1, '#'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kOutOfRange);
}

TEST_F(NotebookTest, ConcurrentSessionsAreIsolated) {
  TempDir other_dir;
  auto other = Session::create(test_config(other_dir.path() / "files"));
  ASSERT_TRUE(other.ok()) << other.error();
  CellResult a, b;
  std::thread ta([&] { a = run("secret = 'alpha'\nopen('/mnt/data/mine.txt', 'w').write('alpha')\nsecret"); });
  auto rb = (*other)->run_cell("secret = 'beta'\nsecret");
  ta.join();
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(a.value_repr, "'alpha'");
  EXPECT_EQ(rb->value_repr, "'beta'");
  EXPECT_NE(session_->sandbox_uid(), (*other)->sandbox_uid());
  EXPECT_EQ(run("secret").value_repr, "'alpha'");
  auto seen = (*other)->run_cell("import os\nsorted(os.listdir('/mnt/data'))");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->value_repr, "[]");
  // The other sandbox cannot see or signal this one's interpreter (separate pid namespaces).
  auto procs = (*other)->run_cell("import os\nsorted(int(p) for p in os.listdir('/proc') if p.isdigit())");
  ASSERT_TRUE(procs.ok());
  EXPECT_EQ(procs->value_repr, "[1, 2]") << describe(*procs);
}

TEST_F(NotebookTest, ReportsActiveLayersAfterStart) {
  ASSERT_TRUE(session_->start().ok());
  const IsolationReport& report = session_->isolation();
  EXPECT_EQ(report.missing_required(), "") << report.to_string();
  for (const char* name : {"namespaces", "network", "uid", "rlimits", "seccomp", "exec-deny"}) {
    bool found = false;
    for (const Layer& l : report.layers) found = found || (l.name == name && l.active);
    EXPECT_TRUE(found) << name << "\n" << report.to_string();
  }
  EXPECT_NE(session_->sandbox_uid(), 0u);
  EXPECT_GT(session_->interpreter_pid(), 0);
}

}  // namespace
}  // namespace alltools::sandbox::testing

namespace alltools::sandbox::testing {
namespace {

// Without bwrap the session refuses, naming the layer; with allow_weaker_isolation it runs python directly
// under the remaining layers (uid, cgroups, rlimits, seccomp, Landlock, exec-deny) and says what is missing.
TEST(WeakerMode, RefusesWithoutBwrapUnlessAllowed) {
  TempDir dir;
  SandboxConfig c = test_config(dir.path() / "files");
  c.bwrap = "/nonexistent/bwrap";
  auto refused = Session::create(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("namespaces"), std::string::npos) << refused.error();

  c.allow_weaker_isolation = true;
  auto s = Session::create(c);
  ASSERT_TRUE(s.ok()) << s.error();
  auto r = (*s)->run_cell(
      "import os, socket, subprocess\n"
      "out = [os.getcwd()]\n"
      "try:\n"
      "    socket.socket()\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "try:\n"
      "    subprocess.run(['/bin/true'])\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "for p in ['/root/x', '/tmp/alltools-weaker-probe', '" + std::string(ALLTOOLS_SOURCE_DIR) + "/x']:\n"
      "    try:\n"
      "        open(p, 'w')\n"
      "        out.append('wrote ' + p)\n"
      "    except OSError as e:\n"
      "        out.append(e.errno)\n"
      "open('kept.txt', 'w').write('ok')\n"
      "out");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->value_repr, "['" + (dir.path() / "files").string() + "', 13, 1, 13, 13, 13]") << describe(*r);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "files" / "kept.txt"));
  const IsolationReport& report = (*s)->isolation();
  EXPECT_NE(report.missing_required().find("namespaces"), std::string::npos) << report.to_string();
  for (const Layer& l : report.layers) {
    if (l.name == "seccomp" || l.name == "exec-deny" || l.name == "uid") {
      EXPECT_TRUE(l.active) << l.name << ": " << l.detail;
    }
  }
}

}  // namespace
}  // namespace alltools::sandbox::testing
