// FunctionTool: the one Tool class behind every kind of user function (C++, executable, MCP, Python).
// It checks the arguments are an object matching the schema, runs the invoker, and turns every outcome
// (value, Error, exception) into an Observation. Internal to tools/functions.
#pragma once

#include <memory>

#include "tools/functions/function_registry.h"
#include "tools/functions/schema_validator.h"

namespace alltools::tools::functions::detail {

// Checks name syntax and reserved names.
Status check_function_name(const std::string& name);
// The ToolSpec of a user function: {"name","description","parameters"} in that order.
ToolSpec function_tool_spec(const FunctionSpec& spec);
// Result value → observation text: a string as is; other JSON laid out like Python's
// json.dumps(v, ensure_ascii=False) (", " and ": " separators, non-ASCII raw).
std::string render_result(const nlohmann::json& value);

// Runs `f` as a child process per call (executable_function.cc).
CppFunction executable_invoker(ExecutableFunction f);

class FunctionTool final : public Tool {
 public:
  FunctionTool(ToolSpec spec, std::shared_ptr<const SchemaValidator> validator, CppFunction invoker);
  const ToolSpec& spec() const override { return spec_; }
  std::vector<Observation> invoke(const nlohmann::json& args, const ToolContext& ctx) override;

 private:
  ToolSpec spec_;
  std::shared_ptr<const SchemaValidator> validator_;
  CppFunction invoker_;
};

}  // namespace alltools::tools::functions::detail
