#include "tools/functions/function_tool.h"

#include <exception>

namespace alltools::tools::functions::detail {

namespace {
constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxSchemaEcho = 2000;  // bytes of schema quoted back to the model on a bad call
}  // namespace

Status check_function_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return make_error(ErrorCode::kInvalidArgument, "function name '" + name + "' must be 1 to 64 characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) {
      return make_error(ErrorCode::kInvalidArgument,
                        "function name '" + name + "' may contain only letters, digits, '_', '-' and '.'");
    }
  }
  if (name == "python" || name == "simple_browser" || name == "cogview") {
    return make_error(ErrorCode::kInvalidArgument, "function name '" + name + "' is a built-in tool's name");
  }
  return ok_status();
}

ToolSpec function_tool_spec(const FunctionSpec& spec) {
  ToolSpec t;
  t.name = spec.name;
  t.kind = ToolSpec::Kind::kFunction;
  t.function = nlohmann::ordered_json::object();
  t.function["name"] = spec.name;
  t.function["description"] = spec.description;
  t.function["parameters"] = spec.parameters;
  return t;
}

std::string render_result(const nlohmann::json& value) {
  // Python's json.dumps(value, ensure_ascii=False) layout (", " and ": "), which GLM-4 saw in training.
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      return value.get<std::string>();
    case nlohmann::json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        out += nlohmann::json(it.key()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ": ";
        out += it.value().is_string() ? it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                      : render_result(it.value());
      }
      return out + "}";
    }
    case nlohmann::json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (i) out += ", ";
        out += value[i].is_string() ? value[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                    : render_result(value[i]);
      }
      return out + "]";
    }
    default:
      return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

FunctionTool::FunctionTool(ToolSpec spec, std::shared_ptr<const SchemaValidator> validator, CppFunction invoker)
    : spec_(std::move(spec)), validator_(std::move(validator)), invoker_(std::move(invoker)) {}

std::vector<Observation> FunctionTool::invoke(const nlohmann::json& args, const ToolContext& ctx) {
  const std::string& name = spec_.name;
  if (!args.is_object()) {
    return {error_observation("Error: the arguments of `" + name + "` must be one JSON object, got " +
                              std::string(args.type_name()) + ". Call it again with a JSON object.")};
  }
  if (Status s = validator_->validate(args); !s.ok()) {
    std::string schema = spec_.function["parameters"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (schema.size() > kMaxSchemaEcho) schema = schema.substr(0, kMaxSchemaEcho) + "...";
    return {error_observation("Error: invalid arguments for `" + name + "`: " + s.error().message +
                              ". Call it again with arguments matching its parameters schema: " + schema)};
  }
  if (ctx.cancelled()) return {error_observation("Error: `" + name + "` was cancelled before it ran.")};
  try {
    Result<nlohmann::json> r = invoker_(args, ctx);
    if (!r.ok()) {
      return {error_observation("Error: `" + name + "` failed: " + r.error().message)};
    }
    Observation o;
    o.text = render_result(r.value());
    return {o};
  } catch (const std::exception& e) {
    return {error_observation("Error: `" + name + "` threw an exception: " + e.what())};
  } catch (...) {
    return {error_observation("Error: `" + name + "` threw an unknown exception.")};
  }
}

}  // namespace alltools::tools::functions::detail
