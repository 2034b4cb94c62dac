// Registers a C++ unit converter as a GLM-4 function and calls it the way the agent does:
// first with good arguments, then with arguments the schema rejects.
//   build/bin/example_unit_converter
#include <cstdio>
#include <map>

#include "tools/functions/function_registry.h"

using alltools::ErrorCode;
using alltools::Result;
using nlohmann::json;
namespace fn = alltools::tools::functions;

// Factor to the unit's base (metre, kilogram, second).
const std::map<std::string, std::pair<std::string, double>> kUnits = {
    {"mm", {"length", 0.001}}, {"cm", {"length", 0.01}},  {"m", {"length", 1.0}},     {"km", {"length", 1000.0}},
    {"in", {"length", 0.0254}}, {"ft", {"length", 0.3048}}, {"mi", {"length", 1609.344}}, {"g", {"mass", 0.001}},
    {"kg", {"mass", 1.0}},      {"lb", {"mass", 0.45359237}}, {"s", {"time", 1.0}},     {"h", {"time", 3600.0}}};

Result<json> convert(const json& args, const alltools::tools::ToolContext&) {
  const double value = args["value"].get<double>();
  const auto from = kUnits.find(args["from"].get<std::string>());
  const auto to = kUnits.find(args["to"].get<std::string>());
  if (from == kUnits.end() || to == kUnits.end()) return alltools::make_error(ErrorCode::kInvalidArgument, "unknown unit");
  if (from->second.first != to->second.first) {
    return alltools::make_error(ErrorCode::kInvalidArgument,
                                "cannot convert " + from->second.first + " to " + to->second.first);
  }
  return json{{"value", value * from->second.second / to->second.second}, {"unit", to->first}};
}

int main() {
  json units = json::array();
  for (const auto& [name, _] : kUnits) units.push_back(name);
  fn::FunctionSpec spec;
  spec.name = "convert_units";
  spec.description = "Converts a length, mass or time value between units.";
  spec.parameters = {{"type", "object"},
                     {"properties",
                      {{"value", {{"type", "number"}}}, {"from", {{"type", "string"}, {"enum", units}}},
                       {"to", {{"type", "string"}, {"enum", units}}}}},
                     {"required", {"value", "from", "to"}}};
  fn::FunctionRegistry registry;
  if (auto s = registry.add(spec, convert); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  auto tools = registry.make_tools();  // one Tool per function, for one session
  std::printf("%s\n\n", tools[0]->spec().function.dump(4).c_str());
  for (const char* call : {R"({"value": 26.2, "from": "mi", "to": "km"})", R"({"value": 3, "from": "kg", "to": "km"})",
                           R"({"value": "ten", "from": "m"})"}) {
    auto obs = tools[0]->invoke(json::parse(call), {});
    std::printf("convert_units %s\n  -> %s%s\n", call, obs[0].is_error ? "[error] " : "", obs[0].text.c_str());
  }
  return 0;
}
