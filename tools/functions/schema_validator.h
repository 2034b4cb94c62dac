// SchemaValidator: a compiled JSON schema (valijson, draft 7) that checks a call's arguments.
// Internal to tools/functions. Immutable after compile(); validate() is safe from several threads.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace alltools::tools::functions::detail {

class SchemaValidator {
 public:
  ~SchemaValidator();
  // Compiles `schema`; a schema valijson cannot parse (or a remote $ref) is kInvalidArgument naming why.
  static Result<std::shared_ptr<const SchemaValidator>> compile(const nlohmann::ordered_json& schema);
  // OK, or kInvalidArgument listing each violation as "<json pointer>: <reason>" (at most kMaxReported).
  Status validate(const nlohmann::json& instance) const;

  static constexpr int kMaxReported = 8;

 private:
  SchemaValidator();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace alltools::tools::functions::detail
