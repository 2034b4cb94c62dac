// The agent loop with the real browser, driven by a scripted model: a research question through search -> mclick ->
// cited answer over a local BM25 index, then open_url against a loopback site.
#include <fstream>

#include <gtest/gtest.h>

#include "core/agent/agent.h"
#include "tests/core/agent_test_support.h"
#include "model/scripted/scripted_model.h"
#include "tests/remote/loopback_http_server.h"
#include "tools/browser/browser_tool.h"
#include "tools/browser/local_index.h"

namespace alltools::agent {
namespace {

namespace fs = std::filesystem;
using testing::EventLog;
using model::ScriptedModel;

using AgentResearchTest = testing::AgentFixture;

TEST_F(AgentResearchTest, ResearchSearchMclickCitedAnswerAndLoopbackSite) {
  // A small document set and its BM25 index.
  fs::create_directories(dir_ / "docs");
  std::ofstream(dir_ / "docs" / "glm4.md") << "# GLM-4 overview\n\nGLM-4-9B-Chat supports a context length of 128K tokens and tool calls.\n";
  std::ofstream(dir_ / "docs" / "glm4-tools.md") << "# GLM-4 All Tools\n\nGLM-4 All Tools can browse the web, run Python and draw images. Its context length is 128K.\n";
  std::ofstream(dir_ / "docs" / "cooking.md") << "# Bread\n\nFlour, water, salt and yeast.\n";
  auto stats = tools::browser::build_local_index(dir_ / "docs", dir_ / "index.bin");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  // A loopback site.
  testing::LoopbackHttpServer site;
  site.enqueue({200, {"Content-Type: text/html; charset=utf-8"},
                {"<html><head><title>GLM-4 release notes</title></head><body><h1>Release</h1>"
                 "<p>GLM-4 was released in June 2024.</p></body></html>"}});

  tools::browser::BrowserConfig c;
  c.search.kind = tools::browser::SearchProviderKind::kLocal;
  c.search.index_path = dir_ / "index.bin";
  c.network.allowed_cidrs = {"127.0.0.1/32"};
  c.network.allowed_ports.clear();
  auto browser = tools::browser::make_browser_tool(c);
  ASSERT_TRUE(browser.ok()) << browser.error().message;
  tools::browser::BrowserTool* b = browser->get();
  ASSERT_TRUE(dispatcher_.add(std::move(browser).value()).ok());

  ScriptedModel model(*tokenizer_,
                      {"simple_browser\nsearch(\"GLM-4 context length\")<|observation|>",
                       "simple_browser\nmclick([0, 1])<|observation|>",
                       "simple_browser\nopen_url(\"" + site.base_url() + "/notes.html\")<|observation|>",
                       "\nGLM-4 handles 128K tokens of context【3†source】 and was released in June 2024.<|user|>"});
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("How long a context does GLM-4 handle, and when was it released?");
  EXPECT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  const auto obs = log_.of(EventKind::kObservation);
  ASSERT_GE(obs.size(), 4u);
  EXPECT_EQ(obs[0].data["metadata"], "browser_result");
  EXPECT_NE(obs[0].text.find("GLM-4"), std::string::npos) << obs[0].text;
  EXPECT_NE(obs[1].data["metadata"].get<std::string>().find("quote_result"), std::string::npos) << obs[1].text;
  EXPECT_NE(obs[1].text.find("128K"), std::string::npos) << obs[1].text;
  EXPECT_NE(obs.back().text.find("June 2024"), std::string::npos) << obs.back().text;
  EXPECT_EQ(obs.back().text.rfind("TITLE: GLM-4 release notes", 0), 0u) << obs.back().text;
  // The citation in the answer resolves to one of the quoted pages.
  auto cited = b->citation(3);
  ASSERT_TRUE(cited.has_value());
  EXPECT_NE((cited->title + " " + cited->url).find("glm4"), std::string::npos) << cited->title << " " << cited->url;
  // The model saw the quotes as observation messages.
  EXPECT_NE(model.prompts()[2].find("<|observation|>quote_result ["), std::string::npos) << model.prompts()[2];
}

}  // namespace
}  // namespace alltools::agent
