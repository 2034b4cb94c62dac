// Fuzzes the parsers of user-controlled function/plugin configuration and of what plugins send back:
// executable manifests, MCP configs, image configs, JSON schemas (compile + validate), result rendering,
// and image sniffing. None may crash, hang or leak; all failures must be values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/functions/function_registry.h"
#include "tools/functions/function_tool.h"
#include "tools/functions/schema_validator.h"
#include "tools/image/image_tool.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace alltools::tools;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)functions::parse_executable_manifest(text, "/nonexistent");
  (void)image::sniff_image_mime(std::vector<std::uint8_t>(data, data + size));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  (void)functions::parse_mcp_config(j);
  (void)image::parse_image_config(j);
  (void)functions::detail::render_result(j);
  auto schema = functions::detail::SchemaValidator::compile(nlohmann::ordered_json::parse(text, nullptr, false));
  if (schema.ok()) {
    (void)schema.value()->validate(j);
    (void)schema.value()->validate(nlohmann::json::object());
    (void)schema.value()->validate(nlohmann::json{{"a", 1}, {"b", {1, "x", nullptr}}});
  }
  return 0;
}
