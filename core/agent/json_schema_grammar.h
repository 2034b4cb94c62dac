// JsonSchemaGrammar: JSON Schemas compiled into the grammar that schema-constrained decoding of function arguments
// follows (core/agent/json_automaton.h runs it over bytes). The grammar describes a subset of the values a schema
// accepts, chosen so that every value it produces validates (draft 7):
// - object: the declared `properties` in any order, each at most once, every `required` one before `}` (a required
//   name without a declared schema takes any JSON value); no other keys. Without `properties`: any keys, any values.
// - array: `items` (one schema), `minItems`, `maxItems`.
// - string: any JSON string but U+0000 (escapes, \uXXXX with surrogate pairs, UTF-8 checked), `minLength` and
//   `maxLength` in code points.
// - integer: -?(0|[1-9][0-9]*), at most 18 digits, `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`.
// - number: -?(0|[1-9][0-9]*)(\.[0-9]+)? (no exponent), at most 15 integer and 15 fraction digits, the same bounds.
// - boolean, null; `enum`/`const`: exactly one of the listed values as nlohmann::json::dump() writes it.
// - `type` lists: one alternative per kind (integer folds into number when both are listed).
// Anything else (anyOf/oneOf/allOf/not/$ref/if, pattern, format, multipleOf, min/maxProperties, uniqueItems,
// tuple items, unsatisfiable bounds, nesting deeper than kMaxSchemaDepth) is not enforced: that value falls back
// to plain JSON (any value) or, for a string keyword, to any string, and notes() says where and why. Annotations
// (description, title, default, examples, $schema) are ignored.
//
// Nodes are hash-consed: equal subschemas share one node id, also across functions added to one grammar, so the
// mask caches of core/agent/token_mask.h share their work. Thread-safety: immutable after the last add().
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace alltools::agent {

inline constexpr std::uint32_t kUnbounded = std::numeric_limits<std::uint32_t>::max();
inline constexpr int kMaxSchemaDepth = 24;       // deeper subschemas fall back to plain JSON
inline constexpr std::size_t kMaxAlternatives = 64;  // properties of one object / values of one enum (a bitmask)
inline constexpr std::int64_t kMaxInteger = 999'999'999'999'999'999;  // 18 digits

enum class NodeKind : std::uint8_t {
  kAny,         // any JSON value
  kObject,      // declared properties only
  kFreeObject,  // any keys, any values
  kArray,
  kString,
  kInteger,
  kNumber,
  kLiterals,    // one of a fixed list of JSON texts (enum, const, boolean, null)
  kUnion,       // one of `alternatives`, told apart by their first byte
};

struct SchemaProperty {
  std::string key;  // the key as JSON text, quotes included: "\"city\""
  int node = 0;
  bool required = false;
};

struct SchemaNode {
  NodeKind kind = NodeKind::kAny;
  std::vector<SchemaProperty> properties;  // kObject
  int items = 0;                           // kArray: node of every item
  std::uint32_t min_items = 0, max_items = kUnbounded;    // kArray
  std::uint32_t min_length = 0, max_length = kUnbounded;  // kString, in code points
  std::int64_t int_min = -kMaxInteger, int_max = kMaxInteger;  // kInteger, inclusive
  double min = -std::numeric_limits<double>::infinity();       // kNumber
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string> literals;  // kLiterals: dump() of each value
  std::vector<int> alternatives;      // kUnion
};

class JsonSchemaGrammar {
 public:
  // Fixed nodes every grammar has.
  static constexpr int kAnyNode = 0, kAnyStringNode = 1, kAnyNumberNode = 2, kAnyArrayNode = 3,
                       kFreeObjectNode = 4, kScalarLiteralsNode = 5;  // true | false | null

  JsonSchemaGrammar();

  // Compiles `schema` (what a function declares as `parameters`) and returns its node. The arguments of a call are
  // one JSON object, so a schema without `type` is read as an object and one of another type falls back to any
  // object (with a note). `where` prefixes this schema's notes (e.g. the function name).
  int add_arguments(const nlohmann::json& schema, std::string_view where);
  // Compiles any subschema (no object default).
  int add(const nlohmann::json& schema, std::string_view where);

  const SchemaNode& node(int id) const { return nodes_[static_cast<std::size_t>(id)]; }
  std::size_t size() const { return nodes_.size(); }
  // What was not enforced, one line each: "<where><json pointer>: <why>".
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  int compile(const nlohmann::json& schema, const std::string& pointer, int depth);
  int compile_typed(const nlohmann::json& schema, std::string_view type, const std::string& pointer, int depth);
  int intern(SchemaNode node);
  int fallback(int node, const std::string& pointer, const std::string& why);

  std::vector<SchemaNode> nodes_;
  std::unordered_map<std::string, int> index_;  // serialised node -> id
  std::vector<std::string> notes_;
  std::string where_;
};

}  // namespace alltools::agent
