#include "core/protocol/glm4/chat_template.h"

#include "prompts/prompts.h"

namespace alltools::protocol::glm4 {
namespace {

constexpr std::string_view kToolsHeading = "# 可用工具";
constexpr std::string_view kFunctionFooter = "在调用上述函数时，请使用 Json 格式表示调用的参数。";
constexpr std::string_view kDatePrefix = "当前日期: ";

void append(std::vector<TokenId>& out, const std::vector<TokenId>& more) { out.insert(out.end(), more.begin(), more.end()); }

}  // namespace

ChatTemplate::ChatTemplate(const model::Tokenizer& tokenizer, TemplateOptions options)
    : tokenizer_(&tokenizer), options_(std::move(options)) {}

Result<ChatTemplate> ChatTemplate::create(const model::Tokenizer& tokenizer, TemplateOptions options) {
  ChatTemplate t(tokenizer, std::move(options));
  struct Need {
    std::string_view token;
    TokenId* id;
  };
  const Need needs[] = {{"[gMASK]", &t.gmask_},         {"<sop>", &t.sop_},
                        {"<|system|>", &t.system_},     {"<|user|>", &t.user_},
                        {"<|assistant|>", &t.assistant_}, {"<|observation|>", &t.observation_},
                        {"<|endoftext|>", &t.endoftext_}};
  for (const Need& n : needs) {
    const auto id = tokenizer.special_id(n.token);
    if (!id) {
      return make_error(ErrorCode::kNotFound,
                        "chat template: the tokenizer has no special token " + std::string(n.token));
    }
    *n.id = *id;
  }
  return t;
}

std::string ChatTemplate::message_text(const Message& message) { return message.metadata + "\n" + message.content; }

std::string ChatTemplate::tools_system_text(std::span<const tools::ToolSpec> tools) const {
  std::string head = options_.identity ? *options_.identity : std::string(prompts::identity());
  if (options_.date) {
    if (!head.empty()) head += "\n";
    head += std::string(kDatePrefix) + *options_.date;
  }
  std::string text = "\n";
  if (!head.empty()) text += head + "\n\n";
  text += kToolsHeading;
  for (const tools::ToolSpec& tool : tools) {
    text += "\n\n## ";
    text += tool.name;
    text += "\n\n";
    if (tool.kind == tools::ToolSpec::Kind::kBuiltin) {
      const auto body = prompts::builtin_tool_text(tool.name);
      ALLTOOLS_CHECK_MSG(body.has_value(), "ToolSpec::Kind::kBuiltin with a name prompts/ has no text for");
      text += *body;
    } else {
      // json.dumps(function, indent=4, ensure_ascii=False): nlohmann's indent-4 layout and escapes match it;
      // key order is kept by ordered_json.
      text += tool.function.dump(4, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      text += "\n";
      text += kFunctionFooter;
    }
  }
  return text;
}

std::vector<TokenId> ChatTemplate::prefix() const { return {gmask_, sop_}; }

std::vector<TokenId> ChatTemplate::render_tools(std::span<const tools::ToolSpec> tools) const {
  if (tools.empty()) return {};
  std::vector<TokenId> out{system_};
  append(out, tokenizer_->encode(tools_system_text(tools)));
  return out;
}

std::vector<TokenId> ChatTemplate::render_message(const Message& message) const {
  if (message.content.empty()) return {};
  TokenId role = user_;
  switch (message.role) {
    case Role::kSystem: role = system_; break;
    case Role::kUser: role = user_; break;
    case Role::kAssistant: role = assistant_; break;
    case Role::kObservation: role = observation_; break;
  }
  std::vector<TokenId> out{role};
  append(out, tokenizer_->encode(message_text(message)));
  return out;
}

std::vector<TokenId> ChatTemplate::generation_prompt() const {
  std::vector<TokenId> out{assistant_};
  if (options_.generation_prompt_newline) append(out, tokenizer_->encode("\n"));
  return out;
}

std::vector<TokenId> ChatTemplate::render(std::span<const tools::ToolSpec> tools, std::span<const Message> messages,
                                          bool add_generation_prompt) const {
  std::vector<TokenId> out = prefix();
  append(out, render_tools(tools));
  for (const Message& m : messages) append(out, render_message(m));
  if (add_generation_prompt) append(out, generation_prompt());
  return out;
}

std::string ChatTemplate::render_text(std::span<const tools::ToolSpec> tools, std::span<const Message> messages,
                                      bool add_generation_prompt) const {
  std::string out = "[gMASK]<sop>";
  if (!tools.empty()) out += "<|system|>" + tools_system_text(tools);
  for (const Message& m : messages) {
    if (m.content.empty()) continue;
    out += role_token(m.role);
    out += message_text(m);
  }
  if (add_generation_prompt) out += options_.generation_prompt_newline ? "<|assistant|>\n" : "<|assistant|>";
  return out;
}

std::vector<TokenId> ChatTemplate::stop_ids() const { return {endoftext_, user_, observation_}; }

}  // namespace alltools::protocol::glm4
