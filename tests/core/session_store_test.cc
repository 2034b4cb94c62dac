// Session store: folder layout, JSONL transcript round trip, resume, bad names and damaged transcripts.
#include "core/agent/session_store.h"

#include <fstream>

#include <gtest/gtest.h>

namespace alltools::agent {
namespace {

namespace fs = std::filesystem;

fs::path temp_root(const std::string& tag) {
  fs::path root = fs::temp_directory_path() / ("alltools-session-test-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(root);
  return root;
}

TEST(SessionStore, WritesJsonlAndResumes) {
  const fs::path root = temp_root("resume");
  {
    auto s = SessionStore::open(root, "demo");
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_FALSE(s->resumed());
    EXPECT_TRUE(fs::is_directory(s->files_dir()));
    EXPECT_TRUE(fs::is_directory(s->images_dir()));
    Event m{EventKind::kMessage, "", "", {{"role", "user"}, {"metadata", ""}, {"content", "你好 <|user|>"}}, 1.5};
    ASSERT_TRUE(s->append(m).ok());
    ASSERT_TRUE(s->append(Event{EventKind::kToken, "tok", "", {}, 2.0}).ok());  // skipped
    ASSERT_TRUE(s->append(Event{EventKind::kToolCall, "", "python", {{"args", {{"code", "1+1"}}}}, 3.0}).ok());
  }
  auto s = SessionStore::open(root, "demo");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->resumed());
  auto events = s->load();
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, EventKind::kMessage);
  EXPECT_EQ((*events)[0].data["content"], "你好 <|user|>");
  EXPECT_EQ((*events)[1].tool, "python");
  EXPECT_EQ((*events)[1].data["args"]["code"], "1+1");
  // Human-readable: one JSON object per line.
  std::ifstream in(s->transcript_path());
  std::string line;
  std::getline(in, line);
  EXPECT_NE(line.find("\"event\":\"message\""), std::string::npos) << line;
  fs::remove_all(root);
}

TEST(SessionStore, RejectsNamesThatEscapeTheRoot) {
  const fs::path root = temp_root("names");
  for (const char* bad : {"../x", "a/b", "", ".hidden", "x y"}) {
    auto s = SessionStore::open(root, bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  fs::remove_all(root);
}

TEST(SessionStore, DamagedLineIsAnErrorNamingTheLineButATruncatedTailIsDropped) {
  const fs::path root = temp_root("damaged");
  {
    auto s = SessionStore::open(root, "d");
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s->append(Event{EventKind::kAnswer, "ok", "", {}, 1.0}).ok());
  }
  {
    std::ofstream out(root / "d" / "transcript.jsonl", std::ios::app);
    out << "{\"event\":\"answ";  // cut short by a crash
  }
  auto s = SessionStore::open(root, "d");
  ASSERT_TRUE(s.ok());
  auto events = s->load();
  ASSERT_TRUE(events.ok()) << events.error().message;
  EXPECT_EQ(events->size(), 1u);
  {
    std::ofstream out(root / "d" / "transcript.jsonl", std::ios::app);
    out << "\nnot json\n{\"event\":\"answer\"}\n";
  }
  events = s->load();
  ASSERT_FALSE(events.ok());
  EXPECT_NE(events.error().message.find("transcript.jsonl:2"), std::string::npos) << events.error().message;
  fs::remove_all(root);
}

TEST(Events, JsonRoundTripAndUnknownKinds) {
  Event e{EventKind::kObservation, "out", "python", {{"metadata", ""}, {"is_error", false}}, 12.25};
  auto back = event_from_json(event_to_json(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
  auto bad = event_from_json(nlohmann::json{{"event", "explode"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("explode"), std::string::npos);
}

}  // namespace
}  // namespace alltools::agent
