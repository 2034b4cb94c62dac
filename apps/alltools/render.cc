#include "apps/alltools/render.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/protocol/glm4/citations.h"
#include "tools/browser/browser_tool.h"

namespace alltools::app {
namespace {

constexpr const char* kDim = "2";
constexpr const char* kRed = "31";
constexpr const char* kCyan = "36";
constexpr const char* kYellow = "33";
constexpr std::size_t kSummaryBytes = 120;

std::string one_line(const std::string& text, std::size_t max_bytes) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max_bytes) break;
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  // Do not end inside a UTF-8 sequence.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
  if (text.size() > out.size()) out += "…";
  return out;
}

}  // namespace

bool color_wanted(std::FILE* stream) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return ::isatty(::fileno(stream)) != 0;
}

std::string EventRenderer::paint(const char* code, const std::string& text) const {
  if (!options_.color) return text;
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

void EventRenderer::on_event(const agent::Event& e) {
  using agent::EventKind;
  if (options_.json) {
    std::printf("%s\n", agent::event_to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    return;
  }
  if (options_.quiet) return;
  switch (e.kind) {
    case EventKind::kToken:
      std::fputs(e.text.c_str(), stdout);
      std::fflush(stdout);
      answer_streaming_ = true;
      break;
    case EventKind::kSegmentEnd:
      if (answer_streaming_ && e.tool.empty()) {
        std::fputs("\n", stdout);
        std::fflush(stdout);
        answer_streaming_ = false;
      }
      break;
    case EventKind::kToolCall:
      std::fprintf(stderr, "%s\n", paint(kCyan, "→ " + e.tool + ": " + one_line(e.text, kSummaryBytes)).c_str());
      break;
    case EventKind::kObservation: {
      const bool error = e.data.value("is_error", false);
      std::string meta = e.data.value("metadata", std::string());
      std::string line = "  ← " + (meta.empty() ? std::string() : "[" + meta + "] ") + one_line(e.text, kSummaryBytes);
      std::fprintf(stderr, "%s\n", paint(error ? kRed : kDim, line).c_str());
      break;
    }
    case EventKind::kImage:
      std::fprintf(stderr, "%s\n", paint(kYellow, "  ▣ file: " + e.data.value("path", std::string())).c_str());
      break;
    case EventKind::kApproval:
      if (!e.data.value("approved", false))
        std::fprintf(stderr, "%s\n", paint(kYellow, "  ✗ " + e.tool + " not approved").c_str());
      break;
    case EventKind::kContextShrunk:
      std::fprintf(stderr, "%s\n", paint(kDim, "  (context: " + e.text + ")").c_str());
      break;
    case EventKind::kReasoning:  // GLM-4.5 <think> text, only with --show-reasoning
      std::fputs(paint(kDim, e.text).c_str(), stderr);
      std::fflush(stderr);
      break;
    case EventKind::kProgress:
      std::fprintf(stderr, "%s\n", paint(kDim, "  … " + e.text).c_str());
      break;
    case EventKind::kError:
      if (e.data.value("stage", std::string()) != "parse")
        std::fprintf(stderr, "%s\n", paint(kRed, "error: " + e.text).c_str());
      break;
    default: break;
  }
}

std::string resolve_citations(const std::string& answer, std::vector<int>* cited) {
  std::string out;
  std::size_t pos = 0;
  for (const protocol::glm4::Citation& c : protocol::glm4::find_citations(answer)) {
    out += answer.substr(pos, c.begin - pos);
    if (!c.label.empty() && c.label != "source") out += c.label + " ";
    out += "[";
    for (std::size_t k = 0; k < c.ids.size(); ++k) {
      out += (k ? ", " : "") + std::to_string(c.ids[k]);
      if (std::find(cited->begin(), cited->end(), c.ids[k]) == cited->end()) cited->push_back(c.ids[k]);
    }
    out += "]";
    pos = c.end;
  }
  out += answer.substr(std::min(pos, answer.size()));
  return out;
}

void EventRenderer::finish_turn(const agent::TurnResult& result, const tools::browser::BrowserTool* browser) {
  if (options_.json) return;
  if (result.status == agent::TurnStatus::kAnswer) {
    std::vector<int> cited;
    const std::string resolved = resolve_citations(result.answer, &cited);
    if (options_.quiet) std::printf("%s\n", resolved.c_str());
    if (!cited.empty()) {
      if (!options_.quiet && resolved != result.answer) std::printf("\n%s\n", resolved.c_str());
      std::printf("\nSources:\n");
      for (int id : cited) {
        auto c = browser != nullptr ? browser->citation(id) : std::nullopt;
        if (c) {
          std::printf("  [%d] %s — %s\n", id, c->title.c_str(), c->url.c_str());
        } else {
          std::printf("  [%d] (unknown source)\n", id);
        }
      }
    }
  } else if (!options_.quiet || result.status != agent::TurnStatus::kAnswer) {
    std::fprintf(stderr, "%s\n",
                 paint(kRed, std::string(agent::turn_status_name(result.status)) + ": " + result.reason).c_str());
  }
  if (!result.artifacts.empty() && !options_.quiet) {
    std::printf("\nFiles:\n");
    for (const auto& a : result.artifacts) std::printf("  %s\n", a.path.c_str());
  }
  std::fflush(stdout);
}

}  // namespace alltools::app
