#include "core/protocol/format.h"

#include <fstream>
#include <sstream>

#include "core/protocol/glm45/output_parser.h"
#include "core/protocol/glm45/tool_call.h"

namespace alltools::protocol {
namespace {

namespace fs = std::filesystem;

// Either format's incremental renderer behind PromptRenderer.
template <typename Incremental, typename Template>
class RendererOf final : public PromptRenderer {
 public:
  explicit RendererOf(const Template& t) : renderer_(t) {}
  glm4::RenderDelta update(std::span<const tools::ToolSpec> tools, std::span<const glm4::Message> messages,
                           bool add_generation_prompt) override {
    return renderer_.update(tools, messages, add_generation_prompt);
  }
  void append_generated(std::span<const model::TokenId> ids) override { renderer_.append_generated(ids); }
  void rewind(int length) override { renderer_.rewind(length); }
  const std::vector<model::TokenId>& cached() const override { return renderer_.cached(); }

 private:
  Incremental renderer_;
};
using Glm4Renderer = RendererOf<glm4::IncrementalRenderer, glm4::ChatTemplate>;
using Glm45Renderer = RendererOf<glm45::IncrementalRenderer, glm45::ChatTemplate>;

tools::ToolSpec::Kind kind_of(std::string_view tool, std::span<const tools::ToolSpec> tools) {
  for (const tools::ToolSpec& s : tools) {
    if (s.name == tool) return s.kind;
  }
  return tools::ToolSpec::Kind::kFunction;
}

// What both profiles do the same way, over their own template, renderer and parser types.
template <typename Template, typename Renderer, typename Parser>
class ProfileOf : public FormatProfile {
 public:
  explicit ProfileOf(Template t) : template_(std::move(t)) {}
  std::vector<model::TokenId> render(std::span<const tools::ToolSpec> tools,
                                     std::span<const glm4::Message> messages,
                                     bool add_generation_prompt) const override {
    return template_.render(tools, messages, add_generation_prompt);
  }
  std::string render_text(std::span<const tools::ToolSpec> tools, std::span<const glm4::Message> messages,
                          bool add_generation_prompt) const override {
    return template_.render_text(tools, messages, add_generation_prompt);
  }
  std::unique_ptr<PromptRenderer> make_renderer() const override {
    return std::make_unique<Renderer>(template_);
  }
  std::unique_ptr<glm4::StreamParser> make_parser() const override { return std::make_unique<Parser>(); }
  std::vector<model::TokenId> stop_ids() const override { return template_.stop_ids(); }

 protected:
  Template template_;
};

class Glm4Profile final : public ProfileOf<glm4::ChatTemplate, Glm4Renderer, glm4::OutputParser> {
 public:
  using ProfileOf::ProfileOf;
  Format format() const override { return Format::kGlm4; }
  Result<nlohmann::json> tool_call_arguments(const glm4::ToolCall& call,
                                             std::span<const tools::ToolSpec> tools) const override {
    return glm4::tool_call_arguments(call, tools);
  }
  Result<std::string> tool_call_body(std::string_view tool, const nlohmann::ordered_json& arguments,
                                     std::span<const tools::ToolSpec> tools) const override {
    return glm4::format_tool_call_body(tool, nlohmann::json::parse(arguments.dump()), kind_of(tool, tools));
  }
};

class Glm45Profile final : public ProfileOf<glm45::ChatTemplate, Glm45Renderer, glm45::OutputParser> {
 public:
  using ProfileOf::ProfileOf;
  Format format() const override { return Format::kGlm45; }
  Result<nlohmann::json> tool_call_arguments(const glm4::ToolCall& call,
                                             std::span<const tools::ToolSpec> tools) const override {
    return glm45::tool_call_arguments(call, tools);
  }
  Result<std::string> tool_call_body(std::string_view, const nlohmann::ordered_json& arguments,
                                     std::span<const tools::ToolSpec>) const override {
    return glm45::body_from_arguments(arguments);
  }
};

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string_view format_name(Format format) {
  switch (format) {
    case Format::kGlm4:
      return "glm4";
    case Format::kGlm45:
      return "glm45";
  }
  return "?";
}

Result<Format> parse_format(std::string_view name) {
  if (name == "glm4" || name == "glm-4") return Format::kGlm4;
  if (name == "glm45" || name == "glm-4.5" || name == "glm46" || name == "glm-4.6") return Format::kGlm45;
  return make_error(ErrorCode::kInvalidArgument, "unknown prompt format '" + std::string(name) +
                                                     "': use glm4 (GLM-4, GLM-4-0414) or glm45 "
                                                     "(GLM-4.5, GLM-4.6)");
}

std::optional<Format> format_from_chat_template(std::string_view chat_template) {
  if (chat_template.find("<arg_key>") != std::string_view::npos) return Format::kGlm45;
  if (chat_template.find("<|observation|>") != std::string_view::npos) return Format::kGlm4;
  return std::nullopt;
}

Result<std::optional<Format>> format_from_folder(const fs::path& path) {
  std::error_code ec;
  const fs::path dir = fs::is_directory(path, ec) ? path : path.parent_path();
  std::string chat_template;
  if (fs::exists(dir / "chat_template.jinja", ec)) {
    ALLTOOLS_ASSIGN_OR_RETURN(chat_template, read_file(dir / "chat_template.jinja"));
  } else if (fs::exists(dir / "tokenizer_config.json", ec)) {
    ALLTOOLS_ASSIGN_OR_RETURN(std::string text, read_file(dir / "tokenizer_config.json"));
    const nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded() || !config.is_object())
      return make_error(ErrorCode::kParse,
                        (dir / "tokenizer_config.json").string() + " is not a JSON object");
    const nlohmann::json t = config.value("chat_template", nlohmann::json());
    if (t.is_string()) {
      chat_template = t.get<std::string>();
    } else if (t.is_array()) {  // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
      for (const nlohmann::json& e : t) {
        if (!e.is_object() || !e.contains("template") || !e["template"].is_string()) continue;
        if (chat_template.empty() || e.value("name", "") == "default")
          chat_template = e["template"].get<std::string>();
      }
    }
  }
  if (chat_template.empty()) return std::optional<Format>();
  const auto f = format_from_chat_template(chat_template);
  if (!f)
    return make_error(
        ErrorCode::kUnsupported,
        "the chat template in " + dir.string() +
            " is neither GLM-4's (<|observation|>) nor GLM-4.5's (<arg_key>); pass --format glm4|glm45");
  return std::optional<Format>(*f);
}

Result<std::unique_ptr<FormatProfile>> make_format_profile(const model::Tokenizer& tokenizer,
                                                           FormatOptions options) {
  switch (options.format) {
    case Format::kGlm4: {
      ALLTOOLS_ASSIGN_OR_RETURN(glm4::ChatTemplate t, glm4::ChatTemplate::create(tokenizer, options.glm4));
      return std::unique_ptr<FormatProfile>(new Glm4Profile(std::move(t)));
    }
    case Format::kGlm45: {
      ALLTOOLS_ASSIGN_OR_RETURN(glm45::ChatTemplate t, glm45::ChatTemplate::create(tokenizer, options.glm45));
      return std::unique_ptr<FormatProfile>(new Glm45Profile(std::move(t)));
    }
  }
  return make_error(ErrorCode::kInvalidArgument, "unknown format");
}

}  // namespace alltools::protocol
