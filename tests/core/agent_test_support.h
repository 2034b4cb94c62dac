// Shared pieces of the agent loop tests: the real GLM-4 tokenizer, an event recorder, temp folders.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

}  // namespace alltools::testing
