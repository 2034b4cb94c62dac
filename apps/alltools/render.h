// Terminal rendering of agent events for `run` and `chat`: streamed answer text on stdout, one line per tool call
// and per result on stderr, colours only on a terminal without NO_COLOR; or every event as a JSON line (--json).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "core/agent/agent.h"
#include "core/agent/events.h"

namespace alltools::tools::browser {
class BrowserTool;
}

namespace alltools::app {

struct RenderOptions {
  bool json = false;
  bool quiet = false;
  bool color = false;  // decided by the caller: isatty && !NO_COLOR
};

bool color_wanted(std::FILE* stream);

class EventRenderer {
 public:
  explicit EventRenderer(RenderOptions options) : options_(options) {}
  void on_event(const agent::Event& e);
  // After a turn: citations resolved to links, produced files, and the reason a turn did not answer.
  void finish_turn(const agent::TurnResult& result, const tools::browser::BrowserTool* browser);

 private:
  std::string paint(const char* code, const std::string& text) const;
  RenderOptions options_;
  bool answer_streaming_ = false;
};

// Replaces 【id†text】 with "text [id]" and returns the cited ids in order of first appearance.
std::string resolve_citations(const std::string& answer, std::vector<int>* cited);

}  // namespace alltools::app
