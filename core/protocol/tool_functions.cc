#include "core/protocol/tool_functions.h"

namespace alltools::protocol {
namespace {

using nlohmann::ordered_json;

ordered_json builtin_function(const std::string& name) {
  ordered_json params;
  std::string description;
  if (name == "python") {
    description = "Run Python code in a stateful, sandboxed notebook; /mnt/data persists files.";
    params = {{"type", "object"}, {"properties", {{"code", {{"type", "string"}}}}}, {"required", {"code"}}};
  } else if (name == "cogview") {
    description = "Generate an image from a detailed English description.";
    params = {
        {"type", "object"}, {"properties", {{"prompt", {{"type", "string"}}}}}, {"required", {"prompt"}}};
  } else {
    description =
        "Web browser: search(query), mclick(ids) to open results, open_url(url). Cite as 【id†text】.";
    params = ordered_json::parse(
        R"({"type":"object","properties":{"calls":{"type":"array","items":{"type":"object",
      "properties":{"fn":{"type":"string","enum":["search","mclick","open_url"]},"query":{"type":"string"},
      "recency_days":{"type":"integer"},"ids":{"type":"array","items":{"type":"integer"}},"url":{"type":"string"}},
      "required":["fn"]}}},"required":["calls"]})");
  }
  return {{"name", name}, {"description", description}, {"parameters", params}};
}

}  // namespace

ordered_json tool_function(const tools::ToolSpec& spec) {
  ordered_json function =
      spec.kind == tools::ToolSpec::Kind::kFunction ? spec.function : builtin_function(spec.name);
  return {{"type", "function"}, {"function", std::move(function)}};
}

ordered_json tool_parameters(const tools::ToolSpec& spec) {
  const ordered_json f = tool_function(spec)["function"];
  if (f.contains("parameters") && f["parameters"].is_object()) return f["parameters"];
  return ordered_json::object();
}

}  // namespace alltools::protocol
