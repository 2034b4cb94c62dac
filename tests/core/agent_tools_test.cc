// The agent loop with the real built-in tools, driven by a scripted model: a math question through two python
// calls (real sandbox, state kept between calls) and an image request (real cogview tool against a loopback
// OpenAI-compatible images server). The research path (browser) is in agent_research_test.cc.
#include <fstream>

#include <gtest/gtest.h>

#include "core/agent/agent.h"
#include "tests/core/agent_test_support.h"
#include "model/scripted/scripted_model.h"
#include "tests/remote/loopback_http_server.h"
#include "tools/image/image_tool.h"
#include "tools/python/python_tool.h"

namespace alltools::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::EventLog;
using model::ScriptedModel;

using AgentToolsTest = testing::AgentFixture;

TEST_F(AgentToolsTest, MathThroughTwoPythonCalls) {
  tools::PythonToolConfig c;
  c.session_dir = dir_;
  auto python = tools::make_python_tool(c);
  ASSERT_TRUE(python.ok()) << "the python sandbox must start here: " << python.error().message;
  ASSERT_TRUE(dispatcher_.add(std::move(python).value()).ok());
  ScriptedModel model(*tokenizer_, {
                                       "python\nprimes = [n for n in range(2, 600) if all(n % d for d in range(2, int(n**0.5) + 1))][:100]\nprint(len(primes))<|observation|>",
                                       "python\nprint(sum(primes))<|observation|>",
                                       "\nThe sum of the first 100 primes is 24133.<|user|>",
                                   });
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("What is the sum of the first 100 primes?");
  EXPECT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  EXPECT_EQ(r.tool_calls, 2);
  const auto obs = log_.of(EventKind::kObservation);
  ASSERT_EQ(obs.size(), 2u);
  EXPECT_NE(obs[0].text.find("100"), std::string::npos) << obs[0].text;
  EXPECT_NE(obs[1].text.find("24133"), std::string::npos) << "state kept between calls: " << obs[1].text;
  EXPECT_NE(model.prompts()[2].find("<|observation|>\n24133"), std::string::npos) << model.prompts()[2];
}

TEST_F(AgentToolsTest, ImageRequestProducesAFileForTheUser) {
  testing::LoopbackHttpServer images;
  const std::string png_b64 =
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
  images.enqueue({200, {"Content-Type: application/json"}, {json{{"data", {{{"b64_json", png_b64}}}}}.dump()}});
  tools::image::ImageConfig c;
  c.backend = tools::image::Backend::kOpenAI;
  c.base_url = images.base_url() + "/v1";
  c.response_format = "b64_json";
  ASSERT_TRUE(dispatcher_.add(tools::image::make_image_tool(c)).ok());
  ScriptedModel model(*tokenizer_, {"cogview\nA red panda reading a book under a ginkgo tree, watercolor.<|observation|>",
                                    "\nHere is your picture of a red panda.<|user|>"});
  auto agent = make_agent(model);
  TurnResult r = agent->run_turn("画一只在银杏树下看书的小熊猫");
  EXPECT_EQ(r.status, TurnStatus::kAnswer) << r.reason;
  ASSERT_EQ(r.artifacts.size(), 1u);
  EXPECT_TRUE(fs::exists(r.artifacts[0].path)) << r.artifacts[0].path;
  EXPECT_EQ(r.artifacts[0].mime, "image/png");
  ASSERT_EQ(log_.of(EventKind::kImage).size(), 1u);
  const auto obs = log_.of(EventKind::kObservation);
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_EQ(obs[0].data["metadata"], "cogview_result");
  EXPECT_NE(model.prompts()[1].find("<|observation|>cogview_result\nCogView 已经生成并向用户展示了生成的图片。"),
            std::string::npos)
      << model.prompts()[1];
  const auto reqs = images.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_NE(reqs[0].body.find("red panda"), std::string::npos);
}

}  // namespace
}  // namespace alltools::agent
