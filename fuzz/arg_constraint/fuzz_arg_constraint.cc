// libFuzzer target for schema-constrained argument decoding: the input is a JSON Schema, a NUL byte, and body
// bytes. The schema is compiled (any JSON must compile, unsupported parts become notes) and the body is fed byte
// by byte. Checked: no dead end (after every accepted prefix some byte or the end is accepted), and a body the
// automaton completes parses as JSON and, when the grammar took no notes, validates against the schema
// (valijson, draft 7).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
// valijson aborts on a schema it cannot read unless told to throw (caught here).
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "core/agent/json_automaton.h"
#include "core/agent/json_schema_grammar.h"

namespace {

using namespace alltools::agent;

bool some_byte_accepted(const JsonAutomaton& a, const State& s) {
  for (int c = 0; c <= kEnd; ++c) {
    State t = s;
    if (a.step(t, c) == StepResult::kOk) return true;
  }
  return false;
}

// Whether valijson accepts `value` for `schema`; true when valijson cannot read the schema (not ours to judge).
bool valid(const nlohmann::json& schema, const nlohmann::json& value) {
  try {
    valijson::Schema compiled;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter schema_adapter(schema);
    parser.populateSchema(schema_adapter, compiled);
    valijson::Validator validator;
    valijson::adapters::NlohmannJsonAdapter target(value);
    return validator.validate(compiled, target, nullptr);
  } catch (const std::exception&) {
    return true;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  if (split == std::string_view::npos) return 0;
  const nlohmann::json schema = nlohmann::json::parse(input.substr(0, split), nullptr, false);
  if (schema.is_discarded()) return 0;
  JsonSchemaGrammar grammar;
  const int root = grammar.add_arguments(schema, "f");
  const JsonAutomaton a(grammar);
  State s = a.start(root);
  if (!some_byte_accepted(a, s)) std::abort();
  const std::string_view body = input.substr(split + 1);
  for (unsigned char c : body) {
    if (a.step(s, c) != StepResult::kOk) return 0;
    if (!some_byte_accepted(a, s)) std::abort();  // a dead end
  }
  if (!a.can_end(s)) return 0;
  const nlohmann::json value = nlohmann::json::parse(body, nullptr, false);
  if (value.is_discarded() || !value.is_object()) std::abort();
  // Schemas valijson reads differently from us where we took notes (unsupported keywords) are not checked.
  if (grammar.notes().empty() && !valid(schema, value)) std::abort();
  return 0;
}
