// Shared pieces of the agent loop tests: the real GLM-4 tokenizer, an event recorder, temp folders.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/agent/agent.h"
#include "core/agent/dispatcher.h"
#include "core/agent/events.h"
#include "model/tokenizer.h"

namespace alltools::testing {

inline std::shared_ptr<const model::Tokenizer> glm4_tokenizer() {
  static std::shared_ptr<const model::Tokenizer> cached = [] {
    const std::string path = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/tokenizer.model";
    auto t = model::load_tokenizer(path);
    if (!t.ok()) ADD_FAILURE() << "needs " << path << ": " << t.error().message;
    return t.ok() ? std::shared_ptr<const model::Tokenizer>(std::move(t).value()) : nullptr;
  }();
  return cached;
}

struct EventLog {
  std::vector<agent::Event> events;
  agent::EventSink sink() {
    return [this](const agent::Event& e) { events.push_back(e); };
  }
  std::vector<agent::Event> of(agent::EventKind kind) const {
    std::vector<agent::Event> out;
    for (const auto& e : events)
      if (e.kind == kind) out.push_back(e);
    return out;
  }
};

inline std::filesystem::path temp_dir(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() /
             ("alltools-agent-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A fixture for loop tests with real tools: the GLM-4 tokenizer, a fresh folder per test (the agent's session
// folder), a dispatcher the test registers tools with, and the event log. make_agent() builds an Agent over a
// model (usually a ScriptedModel) with default options.
class AgentFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_ = glm4_tokenizer();
    ASSERT_NE(tokenizer_, nullptr);
    dir_ = temp_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<agent::Agent> make_agent(model::LanguageModel& model) {
    agent::AgentOptions o;
    o.session_dir = dir_;
    auto a = agent::Agent::create(model, *tokenizer_, dispatcher_, o, log_.sink());
    EXPECT_TRUE(a.ok()) << a.error().message;
    return std::move(a).value();
  }

  std::shared_ptr<const model::Tokenizer> tokenizer_;
  std::filesystem::path dir_;
  agent::Dispatcher dispatcher_;
  EventLog log_;
};

}  // namespace alltools::testing
