#include "core/agent/json_schema_grammar.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace alltools::agent {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxLiteralBytes = 255;  // Frame::len counts them
constexpr double kMaxNumberMagnitude = 1e15;  // 15 integer digits (json_automaton.h)

// Keywords that change which values are valid and that the grammar does not follow, per where they appear.
constexpr const char* kUnsupportedAnywhere[] = {"anyOf", "oneOf", "allOf", "not", "$ref", "if", "dependencies",
                                                 "dependentSchemas", "dependentRequired"};

// Keywords that constrain one type's values; without `type` they still apply to values of that type.
constexpr const char* kTypedKeywords[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                                          "minLength", "maxLength", "pattern", "format", "minItems", "maxItems",
                                          "uniqueItems", "contains", "minProperties", "maxProperties",
                                          "additionalProperties", "patternProperties", "propertyNames"};

bool matches_type(const json& value, std::string_view type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

bool has_number(const json& schema, const char* key) { return schema.contains(key) && schema[key].is_number(); }

std::string serialise(const SchemaNode& n) {
  std::ostringstream os;
  os.precision(17);
  os << static_cast<int>(n.kind) << '|';
  switch (n.kind) {
    case NodeKind::kObject:
      for (const SchemaProperty& p : n.properties) os << p.key << '\x1f' << p.node << (p.required ? 'r' : 'o');
      break;
    case NodeKind::kArray: os << n.items << ',' << n.min_items << ',' << n.max_items; break;
    case NodeKind::kString: os << n.min_length << ',' << n.max_length; break;
    case NodeKind::kInteger: os << n.int_min << ',' << n.int_max; break;
    case NodeKind::kNumber: os << n.min << ',' << n.max << ',' << n.min_exclusive << n.max_exclusive; break;
    case NodeKind::kLiterals:
      for (const std::string& l : n.literals) os << l << '\x1f';
      break;
    case NodeKind::kUnion:
      for (int a : n.alternatives) os << a << ',';
      break;
    case NodeKind::kAny:
    case NodeKind::kFreeObject: break;
  }
  return os.str();
}

}  // namespace

JsonSchemaGrammar::JsonSchemaGrammar() {
  intern(SchemaNode{});                               // kAnyNode
  intern(SchemaNode{.kind = NodeKind::kString});      // kAnyStringNode
  intern(SchemaNode{.kind = NodeKind::kNumber});      // kAnyNumberNode
  intern(SchemaNode{.kind = NodeKind::kArray, .items = kAnyNode});  // kAnyArrayNode
  intern(SchemaNode{.kind = NodeKind::kFreeObject});  // kFreeObjectNode
  intern(SchemaNode{.kind = NodeKind::kLiterals, .literals = {"false", "null", "true"}});  // kScalarLiteralsNode
}

int JsonSchemaGrammar::intern(SchemaNode node) {
  std::string key = serialise(node);
  if (auto it = index_.find(key); it != index_.end()) return it->second;
  const int id = static_cast<int>(nodes_.size());
  nodes_.push_back(std::move(node));
  index_.emplace(std::move(key), id);
  return id;
}

int JsonSchemaGrammar::fallback(int node, const std::string& pointer, const std::string& why) {
  notes_.push_back(where_ + (pointer.empty() ? "/" : pointer) + ": " + why);
  return node;
}

int JsonSchemaGrammar::add(const json& schema, std::string_view where) {
  where_ = std::string(where);
  return compile(schema, "", 0);
}

int JsonSchemaGrammar::add_arguments(const json& schema, std::string_view where) {
  where_ = std::string(where);
  if (!schema.is_object()) return fallback(kFreeObjectNode, "", "the parameters are not a schema object: any object");
  if (!schema.contains("type")) {
    json object = schema;
    object["type"] = "object";
    return compile(object, "", 0);
  }
  if (schema["type"] != "object")
    return fallback(kFreeObjectNode, "", "arguments are one JSON object, not " + schema["type"].dump() +
                                             ": any object");
  return compile(schema, "", 0);
}

int JsonSchemaGrammar::compile(const json& schema, const std::string& pointer, int depth) {
  if (schema.is_boolean()) {
    return schema.get<bool>() ? kAnyNode : fallback(kAnyNode, pointer, "the schema `false` accepts nothing: any value");
  }
  if (!schema.is_object()) return fallback(kAnyNode, pointer, "not a schema object: any value");
  if (depth > kMaxSchemaDepth) return fallback(kAnyNode, pointer, "nested too deep: any value");
  for (const char* k : kUnsupportedAnywhere) {
    if (schema.contains(k)) return fallback(kAnyNode, pointer, std::string(k) + " is not enforced: any value");
  }
  const json* type = schema.contains("type") ? &schema["type"] : nullptr;
  std::vector<std::string> types;
  if (type != nullptr && type->is_string()) types.push_back(type->get<std::string>());
  if (type != nullptr && type->is_array()) {
    for (const json& t : *type)
      if (t.is_string() && std::find(types.begin(), types.end(), t.get<std::string>()) == types.end())
        types.push_back(t.get<std::string>());
  }
  if (type != nullptr && types.empty()) return fallback(kAnyNode, pointer, "`type` is not a name or list: any value");
  const auto type_ok = [&](const json& v) {
    return types.empty() || std::any_of(types.begin(), types.end(), [&](const std::string& t) {
             return matches_type(v, t);
           });
  };

  if (schema.contains("const")) {
    if (!type_ok(schema["const"])) return fallback(kAnyNode, pointer, "`const` does not match `type`: any value");
    if (schema["const"].dump().size() > kMaxLiteralBytes)
      return fallback(kAnyNode, pointer, "`const` is too long to enforce: any value");
    return intern(SchemaNode{.kind = NodeKind::kLiterals, .literals = {schema["const"].dump()}});
  }
  if (schema.contains("enum")) {
    const json& values = schema["enum"];
    if (!values.is_array()) return fallback(kAnyNode, pointer, "`enum` is not a list: any value");
    std::vector<std::string> literals;
    for (const json& v : values) {
      std::string text = v.dump();
      if (text.size() > kMaxLiteralBytes) return fallback(kAnyNode, pointer, "an `enum` value is too long to enforce: any value");
      if (type_ok(v) && std::find(literals.begin(), literals.end(), text) == literals.end())
        literals.push_back(std::move(text));
    }
    if (literals.empty()) return fallback(kAnyNode, pointer, "no `enum` value matches `type`: any value");
    if (literals.size() <= kMaxAlternatives)
      return intern(SchemaNode{.kind = NodeKind::kLiterals, .literals = std::move(literals)});
    notes_.push_back(where_ + pointer + ": more than " + std::to_string(kMaxAlternatives) +
                     " `enum` values are not enforced (the type is)");
  }

  if (types.empty()) {
    if (schema.contains("properties") || schema.contains("required")) return compile_typed(schema, "object", pointer, depth);
    if (schema.contains("items")) return compile_typed(schema, "array", pointer, depth);
    for (const char* k : kTypedKeywords) {
      if (schema.contains(k)) return fallback(kAnyNode, pointer, std::string(k) + " without `type` is not enforced: any value");
    }
    return kAnyNode;
  }
  if (types.size() == 1) return compile_typed(schema, types[0], pointer, depth);
  const bool has_number_type = std::find(types.begin(), types.end(), "number") != types.end();
  SchemaNode u{.kind = NodeKind::kUnion};
  for (const std::string& t : types) {
    if (t == "integer" && has_number_type) continue;  // every integer text is also a number text
    u.alternatives.push_back(compile_typed(schema, t, pointer, depth));
  }
  for (int a : u.alternatives)
    if (node(a).kind == NodeKind::kAny) return kAnyNode;
  if (u.alternatives.size() == 1) return u.alternatives[0];
  return intern(std::move(u));
}

int JsonSchemaGrammar::compile_typed(const json& schema, std::string_view type, const std::string& pointer,
                                     int depth) {
  const auto count = [&](const char* key, std::uint32_t fallback_value) -> std::uint32_t {
    if (!schema.contains(key) || !schema[key].is_number()) return fallback_value;
    const double v = schema[key].get<double>();
    if (v <= 0) return 0;
    return v >= static_cast<double>(kUnbounded) ? kUnbounded : static_cast<std::uint32_t>(std::ceil(v));
  };
  if (type == "object") {
    for (const char* k : {"minProperties", "maxProperties", "patternProperties", "propertyNames"}) {
      if (schema.contains(k)) notes_.push_back(where_ + pointer + ": " + k + " is not enforced");
    }
    SchemaNode n{.kind = NodeKind::kObject};
    if (schema.contains("properties") && schema["properties"].is_object()) {
      for (const auto& [name, sub] : schema["properties"].items())
        n.properties.push_back({json(name).dump(), compile(sub, pointer + "/properties/" + name, depth + 1), false});
    }
    if (schema.contains("required") && schema["required"].is_array()) {
      for (const json& r : schema["required"]) {
        if (!r.is_string()) continue;
        const std::string key = r.dump();
        auto it = std::find_if(n.properties.begin(), n.properties.end(),
                               [&](const SchemaProperty& p) { return p.key == key; });
        if (it == n.properties.end()) {
          n.properties.push_back({key, kAnyNode, true});
        } else {
          it->required = true;
        }
      }
    }
    for (const SchemaProperty& p : n.properties) {
      if (p.key.size() > kMaxLiteralBytes) return fallback(kFreeObjectNode, pointer, "a property name is too long to enforce: any object");
    }
    if (n.properties.size() > kMaxAlternatives)
      return fallback(kFreeObjectNode, pointer, "more than " + std::to_string(kMaxAlternatives) +
                                                    " properties: any object");
    const bool closed = schema.contains("additionalProperties") && schema["additionalProperties"] == false;
    if (n.properties.empty() && !closed) {
      if (schema.contains("additionalProperties") && schema["additionalProperties"] != true)
        notes_.push_back(where_ + pointer + ": additionalProperties is not enforced");
      return kFreeObjectNode;
    }
    return intern(std::move(n));
  }
  if (type == "array") {
    if (schema.contains("uniqueItems") && schema["uniqueItems"] == true)
      notes_.push_back(where_ + pointer + ": uniqueItems is not enforced");
    if (schema.contains("contains")) notes_.push_back(where_ + pointer + ": contains is not enforced");
    SchemaNode n{.kind = NodeKind::kArray, .items = kAnyNode};
    if (schema.contains("items")) {
      if (schema["items"].is_array()) {
        notes_.push_back(where_ + pointer + ": tuple `items` are not enforced (any items)");
      } else {
        n.items = compile(schema["items"], pointer + "/items", depth + 1);
      }
    }
    n.min_items = count("minItems", 0);
    n.max_items = count("maxItems", kUnbounded);
    if (schema.contains("maxItems") && schema["maxItems"].is_number())
      n.max_items = static_cast<std::uint32_t>(std::max(0.0, std::floor(schema["maxItems"].get<double>())));
    if (n.min_items > n.max_items) return fallback(kAnyNode, pointer, "minItems > maxItems: any value");
    return intern(std::move(n));
  }
  if (type == "string") {
    SchemaNode n{.kind = NodeKind::kString};
    n.min_length = count("minLength", 0);
    if (schema.contains("maxLength") && schema["maxLength"].is_number())
      n.max_length = static_cast<std::uint32_t>(
          std::clamp(std::floor(schema["maxLength"].get<double>()), 0.0, static_cast<double>(kUnbounded)));
    if (n.min_length > n.max_length) return fallback(kAnyNode, pointer, "minLength > maxLength: any value");
    for (const char* k : {"pattern", "format", "contentEncoding", "contentMediaType"}) {
      if (schema.contains(k)) notes_.push_back(where_ + pointer + ": " + k + " is not enforced (any string)");
    }
    return intern(std::move(n));
  }
  if (type == "integer" || type == "number") {
    if (schema.contains("multipleOf")) notes_.push_back(where_ + pointer + ": multipleOf is not enforced");
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    bool lo_ex = false, hi_ex = false;
    if (has_number(schema, "minimum")) lo = schema["minimum"].get<double>();
    if (has_number(schema, "maximum")) hi = schema["maximum"].get<double>();
    // Draft 4 writes exclusivity as a boolean next to minimum/maximum; draft 6+ as a number of its own.
    if (schema.contains("exclusiveMinimum")) {
      const json& e = schema["exclusiveMinimum"];
      if (e.is_boolean()) lo_ex = e.get<bool>();
      if (e.is_number() && e.get<double>() >= lo) lo = e.get<double>(), lo_ex = true;
    }
    if (schema.contains("exclusiveMaximum")) {
      const json& e = schema["exclusiveMaximum"];
      if (e.is_boolean()) hi_ex = e.get<bool>();
      if (e.is_number() && e.get<double>() <= hi) hi = e.get<double>(), hi_ex = true;
    }
    if (type == "integer") {
      SchemaNode n{.kind = NodeKind::kInteger};
      const double ilo = lo_ex ? std::floor(lo) + 1 : std::ceil(lo);
      const double ihi = hi_ex ? std::ceil(hi) - 1 : std::floor(hi);
      if (ilo > static_cast<double>(kMaxInteger) || ihi < -static_cast<double>(kMaxInteger) || ilo > ihi)
        return fallback(kAnyNode, pointer, "no integer of at most 18 digits lies within the bounds: any value");
      if (ilo > -static_cast<double>(kMaxInteger)) n.int_min = static_cast<std::int64_t>(ilo);
      if (ihi < static_cast<double>(kMaxInteger)) n.int_max = static_cast<std::int64_t>(ihi);
      return intern(std::move(n));
    }
    if (lo > hi || (lo == hi && (lo_ex || hi_ex)) || lo >= kMaxNumberMagnitude || hi <= -kMaxNumberMagnitude)
      return fallback(kAnyNode, pointer, "no number of at most 15 integer digits lies within the bounds: any value");
    return intern(SchemaNode{.kind = NodeKind::kNumber, .min = lo, .max = hi, .min_exclusive = lo_ex,
                             .max_exclusive = hi_ex});
  }
  if (type == "boolean") return intern(SchemaNode{.kind = NodeKind::kLiterals, .literals = {"false", "true"}});
  if (type == "null") return intern(SchemaNode{.kind = NodeKind::kLiterals, .literals = {"null"}});
  return fallback(kAnyNode, pointer, "unknown type \"" + std::string(type) + "\": any value");
}

}  // namespace alltools::agent
