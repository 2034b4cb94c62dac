// Incremental rendering: what the model's cache must keep and append, step by step through an agent turn.
#include <gtest/gtest.h>

#include "core/protocol/glm4/chat_template.h"
#include "tests/protocol/glm4_tokenizer.h"

namespace alltools::protocol::glm4 {
namespace {

using testing::glm4_tokenizer;

class IncrementalRendererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = ChatTemplate::create(glm4_tokenizer());
    ASSERT_TRUE(t.ok()) << t.error();
    tmpl_ = std::make_unique<ChatTemplate>(std::move(t).value());
  }
  std::vector<TokenId> encode(std::string_view s) const { return glm4_tokenizer().encode(s); }
  TokenId special(std::string_view s) const { return *glm4_tokenizer().special_id(s); }
  // Applies a delta to a simulated KV cache.
  static void apply(std::vector<TokenId>& cache, const RenderDelta& d) {
    ASSERT_LE(static_cast<std::size_t>(d.keep), cache.size());
    cache.resize(static_cast<std::size_t>(d.keep));
    cache.insert(cache.end(), d.append.begin(), d.append.end());
  }
  std::unique_ptr<ChatTemplate> tmpl_;
};

TEST_F(IncrementalRendererTest, ToolCallTurnAppendsOnlyWhatIsNew) {
  IncrementalRenderer r(*tmpl_);
  const std::vector<tools::ToolSpec> tools = {tools::ToolSpec{"python", tools::ToolSpec::Kind::kBuiltin, {}}};
  std::vector<Message> conv = {user_message("算一下 2**10")};
  std::vector<TokenId> cache;

  RenderDelta d1 = r.update(tools, conv, true);
  EXPECT_EQ(d1.keep, 0);
  apply(cache, d1);
  EXPECT_EQ(cache, tmpl_->render(tools, conv, true));

  // The model generates a call and stops at <|observation|> (kept in its cache).
  std::vector<TokenId> generated = encode("python\nprint(2**10)");
  generated.push_back(special("<|observation|>"));
  cache.insert(cache.end(), generated.begin(), generated.end());
  r.append_generated(generated);

  conv.push_back(assistant_tool_call("python", "print(2**10)"));
  conv.push_back(observation_message("", "1024"));
  RenderDelta d2 = r.update(tools, conv, true);
  EXPECT_EQ(static_cast<std::size_t>(d2.keep), cache.size()) << "nothing the model saw needs recomputing";
  std::vector<TokenId> want = encode("\n1024");
  want.push_back(special("<|assistant|>"));
  EXPECT_EQ(d2.append, want);
  apply(cache, d2);
  EXPECT_EQ(cache, tmpl_->render(tools, conv, true));
  EXPECT_EQ(r.cached(), cache);
}

TEST_F(IncrementalRendererTest, EndOfTextIsRewoundBeforeTheNextUserTurn) {
  IncrementalRenderer r(*tmpl_);
  std::vector<Message> conv = {user_message("你好")};
  std::vector<TokenId> cache;
  apply(cache, r.update({}, conv, true));
  std::vector<TokenId> generated = encode("\n你好！");
  generated.push_back(special("<|endoftext|>"));
  cache.insert(cache.end(), generated.begin(), generated.end());
  r.append_generated(generated);

  conv.push_back(assistant_answer("你好！"));
  conv.push_back(user_message("再见"));
  const RenderDelta d = r.update({}, conv, true);
  EXPECT_EQ(static_cast<std::size_t>(d.keep), cache.size() - 1) << "only <|endoftext|> is dropped";
  apply(cache, d);
  EXPECT_EQ(cache, tmpl_->render({}, conv, true));
}

TEST_F(IncrementalRendererTest, EditedHistoryKeepsTheCommonPrefix) {
  IncrementalRenderer r(*tmpl_);
  std::vector<Message> conv = {user_message("first"), assistant_answer("ok"), user_message("second")};
  std::vector<TokenId> cache;
  apply(cache, r.update({}, conv, true));
  const std::size_t before_second = tmpl_->render({}, std::span(conv).first(2), false).size();
  conv[2].content = "changed";
  const RenderDelta d = r.update({}, conv, true);
  EXPECT_EQ(static_cast<std::size_t>(d.keep), before_second + 2) << "keeps <|user|> and the \\n token";
  apply(cache, d);
  EXPECT_EQ(cache, tmpl_->render({}, conv, true));

  // Changing the tools changes everything after the prefix.
  const std::vector<tools::ToolSpec> tools = {tools::ToolSpec{"cogview", tools::ToolSpec::Kind::kBuiltin, {}}};
  const RenderDelta d2 = r.update(tools, conv, true);
  EXPECT_EQ(d2.keep, 2);
  apply(cache, d2);
  EXPECT_EQ(cache, tmpl_->render(tools, conv, true));

  r.rewind(3);
  EXPECT_EQ(r.cached().size(), 3u);
  r.reset();
  EXPECT_TRUE(r.cached().empty());
  EXPECT_EQ(r.update(tools, conv, false).keep, 0);
}

}  // namespace
}  // namespace alltools::protocol::glm4
