#include "tools/functions/schema_validator.h"

#include <exception>

// valijson aborts on a bad schema unless told to throw; we catch at this adapter.
#define VALIJSON_USE_EXCEPTIONS 1

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace alltools::tools::functions::detail {

struct SchemaValidator::Impl {
  nlohmann::json document;  // valijson's schema keeps references into it
  valijson::Schema schema;
};

SchemaValidator::SchemaValidator() : impl_(std::make_unique<Impl>()) {}
SchemaValidator::~SchemaValidator() = default;

Result<std::shared_ptr<const SchemaValidator>> SchemaValidator::compile(const nlohmann::ordered_json& schema) {
  if (!schema.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "parameters schema must be a JSON object");
  }
  std::shared_ptr<SchemaValidator> v(new SchemaValidator());
  try {
    v->impl_->document = nlohmann::json::parse(schema.dump());
    // Drop "$schema": valijson would try to resolve draft 2019+/2020-12 meta-schema URIs; keywords are draft 7.
    v->impl_->document.erase("$schema");
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(v->impl_->document);
    parser.populateSchema(adapter, v->impl_->schema);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("parameters schema is not a usable JSON schema: ") + e.what());
  }
  return std::shared_ptr<const SchemaValidator>(std::move(v));
}

namespace {
std::string pointer_of(const std::vector<std::string>& context) {
  // valijson context: "<root>", then "[\"key\"]" or "[3]" segments.
  std::string out;
  for (std::size_t i = 1; i < context.size(); ++i) {
    std::string seg = context[i];
    if (seg.size() >= 2 && seg.front() == '[' && seg.back() == ']') seg = seg.substr(1, seg.size() - 2);
    if (seg.size() >= 2 && seg.front() == '"' && seg.back() == '"') seg = seg.substr(1, seg.size() - 2);
    out += "/" + seg;
  }
  return out.empty() ? "/" : out;
}
}  // namespace

Status SchemaValidator::validate(const nlohmann::json& instance) const {
  valijson::ValidationResults results;
  bool ok = false;
  try {
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::adapters::NlohmannJsonAdapter target(instance);
    ok = validator.validate(impl_->schema, target, &results);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidArgument, std::string("argument validation failed: ") + e.what());
  }
  if (ok) return ok_status();
  std::string message;
  int reported = 0;
  valijson::ValidationResults::Error err;
  std::vector<std::string> seen;
  while (results.popError(err)) {
    // valijson also reports each failing child at its parent ("Failed to validate against schema associated
    // with property name 'x'"); the child's own error says more.
    if (err.description.rfind("Failed to validate against schema associated with property", 0) == 0 ||
        err.description.rfind("Failed to validate item", 0) == 0) {
      continue;
    }
    std::string description = err.description;
    while (!description.empty() && description.back() == '.') description.pop_back();
    std::string line = pointer_of(err.context) + ": " + description;
    bool dup = false;
    for (const auto& s : seen) dup = dup || s == line;
    if (dup) continue;
    seen.push_back(line);
    if (reported == kMaxReported) {
      message += "; ...";
      break;
    }
    if (reported++ > 0) message += "; ";
    message += line;
  }
  if (message.empty()) message = "arguments do not match the schema";
  return make_error(ErrorCode::kInvalidArgument, message);
}

}  // namespace alltools::tools::functions::detail
