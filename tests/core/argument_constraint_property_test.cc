// Property test of schema-constrained argument decoding: random schemas (objects with optional and required
// properties, enums, consts, strings with escapes and length bounds, integers and numbers with inclusive and
// exclusive bounds, arrays with item bounds, nested objects, type unions, plain JSON) x random logits. At every
// step the mask must leave a legal token (or the end); every finished body must parse and validate with
// valijson (draft 7) against its schema. 10,000 schemas on the embedded model's vocabulary, 150 on
// glm-4-9b-chat's 151k one; masks are checked against a brute-force pass at sampled steps.
#include <gtest/gtest.h>

#include <random>
// valijson aborts on a schema it cannot read unless told to throw (caught here).
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "core/agent/json_automaton.h"
#include "core/agent/json_schema_grammar.h"
#include "core/agent/token_mask.h"
#include "tests/core/agent_test_support.h"

namespace alltools::agent {
namespace {

using nlohmann::json;
using Rng = std::mt19937_64;

constexpr int kMaxSteps = 3000;  // tokens per body; the closing bias makes bodies end long before

int uniform(Rng& r, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(r); }
bool coin(Rng& r, double p = 0.5) { return std::bernoulli_distribution(p)(r); }

std::string random_text(Rng& r, int max_chars) {
  static const std::vector<std::string> kChars = {"a", "b", "z", "_", " ", "\"", "\\", "/", "é", "北", "京",
                                                  "😀", "\n", "\t", "0", "-", "{", "}", "ab"};
  std::string s;
  const int n = uniform(r, 0, max_chars);
  for (int i = 0; i < n; ++i) s += kChars[static_cast<std::size_t>(uniform(r, 0, static_cast<int>(kChars.size()) - 1))];
  return s;
}

json random_value(Rng& r, int depth) {
  switch (uniform(r, 0, depth > 1 ? 4 : 6)) {
    case 0: return random_text(r, 4);
    case 1: return uniform(r, -50, 50);
    case 2: return uniform(r, -400, 400) / 8.0;
    case 3: return coin(r) ? json(true) : json(nullptr);
    case 4: return uniform(r, 0, 3) == 0 ? json(false) : json(random_text(r, 2));
    case 5: return json{{random_text(r, 3), random_value(r, depth + 1)}};
    default: return json::array({random_value(r, depth + 1), random_value(r, depth + 1)});
  }
}

json random_bounds(Rng& r, json s, bool integer) {
  const auto point = [&] { return integer ? json(uniform(r, -300, 300)) : json(uniform(r, -1200, 1200) / 4.0); };
  if (coin(r, 0.6)) {
    json lo = point();
    s[coin(r, 0.3) ? "exclusiveMinimum" : "minimum"] = lo;
    if (coin(r, 0.6)) {
      const double span = integer ? uniform(r, 2, 400) : uniform(r, 1, 1600) / 8.0;
      s[coin(r, 0.3) ? "exclusiveMaximum" : "maximum"] = integer ? json(lo.get<int>() + static_cast<int>(span))
                                                                  : json(lo.get<double>() + span);
    }
  } else if (coin(r, 0.3)) {
    s["maximum"] = point();
  }
  return s;
}

json random_schema(Rng& r, int depth);

json random_object(Rng& r, int depth) {
  static const std::vector<std::string> kNames = {"a", "ab", "abc", "city", "city_name", "名字", "x y", "q\"uote",
                                                  "back\\slash", "n", "unit", "days", "tags", "é"};
  json s{{"type", "object"}, {"properties", json::object()}};
  const int n = uniform(r, 0, 5);
  json required = json::array();
  for (int i = 0; i < n; ++i) {
    const std::string name = kNames[static_cast<std::size_t>(uniform(r, 0, static_cast<int>(kNames.size()) - 1))];
    s["properties"][name] = random_schema(r, depth + 1);
    if (coin(r, 0.5) && std::find(required.begin(), required.end(), name) == required.end()) required.push_back(name);
  }
  if (!required.empty()) s["required"] = required;
  if (coin(r, 0.3)) s["additionalProperties"] = false;
  return s;
}

json random_schema(Rng& r, int depth) {
  const int kind = uniform(r, 0, depth >= 3 ? 6 : 10);
  switch (kind) {
    case 0: {
      json s{{"type", "string"}};
      if (coin(r, 0.3)) s["minLength"] = uniform(r, 0, 3);
      if (coin(r, 0.3)) s["maxLength"] = s.value("minLength", 0) + uniform(r, 0, 5);
      return s;
    }
    case 1: return random_bounds(r, {{"type", "integer"}}, true);
    case 2: return random_bounds(r, {{"type", "number"}}, false);
    case 3: return {{"type", coin(r) ? "boolean" : "null"}};
    case 4: {
      json values = json::array();
      const int n = uniform(r, 1, 5);
      for (int i = 0; i < n; ++i) values.push_back(random_value(r, 0));
      return {{"enum", values}};
    }
    case 5: return {{"const", random_value(r, 0)}};
    case 6: {
      static const std::vector<std::string> kTypes = {"string", "integer", "number", "boolean", "null"};
      json types = json::array();
      for (const std::string& t : kTypes)
        if (coin(r, 0.4)) types.push_back(t);
      if (types.empty()) return json::object();  // plain JSON
      json s{{"type", types}};
      if (coin(r, 0.3)) s["minimum"] = uniform(r, -5, 5);
      return s;
    }
    case 7:
    case 8: {
      json s{{"type", "array"}, {"items", random_schema(r, depth + 1)}};
      if (coin(r, 0.3)) s["minItems"] = uniform(r, 0, 2);
      if (coin(r, 0.3)) s["maxItems"] = s.value("minItems", 0) + uniform(r, 0, 3);
      return s;
    }
    default: return random_object(r, depth);
  }
}

struct Outcome {
  int bodies = 0, steps = 0, checked_masks = 0;
};

// Decodes one body for `schema` with random logits under the mask; returns the body text (nullopt: no end within
// kMaxSteps, reported as a failure).
std::optional<std::string> decode(const JsonAutomaton& a, TokenMasker& masker, int root, Rng& r, Outcome& o,
                                  bool brute_force) {
  const std::vector<std::string>& pieces = masker.pieces();
  State s = a.start(root);
  std::string body;
  std::uniform_real_distribution<float> logit(0.0f, 1.0f);
  for (int step = 0; step < kMaxSteps; ++step) {
    ++o.steps;
    const std::vector<std::uint64_t>& bits = masker.allowed(s);
    const bool end = a.can_end(s);
    // Random logits; tokens that close a value gain weight as the body grows, so bodies end.
    const float bias = static_cast<float>(step) / 16.0f;
    float best = end ? logit(r) + bias * 1.5f : -1.0f;
    int best_id = -1;
    bool any = false;
    for (std::size_t id = 0; id < pieces.size(); ++id) {
      if (!TokenMasker::test(bits, id)) continue;
      any = true;
      float l = logit(r);
      if (pieces[id].find_first_of("\"]}") != std::string::npos) l += bias;
      if (l > best) best = l, best_id = static_cast<int>(id);
    }
    EXPECT_TRUE(any || end) << "no legal token after: " << body;
    if (!any && !end) return std::nullopt;
    if (brute_force && step % 5 == 0) {
      ++o.checked_masks;
      for (std::size_t id = 0; id < pieces.size(); ++id) {
        State t = s;
        const bool want = !pieces[id].empty() && a.feed(t, pieces[id]);
        if (want != TokenMasker::test(bits, id)) {
          ADD_FAILURE() << "mask differs for token " << id << " after: " << body;
          return std::nullopt;
        }
      }
    }
    if (best_id < 0) return body;  // the end (<|observation|>) wins
    body += pieces[static_cast<std::size_t>(best_id)];
    if (!a.feed(s, pieces[static_cast<std::size_t>(best_id)])) {
      ADD_FAILURE() << "a masked-in token was rejected after: " << body;
      return std::nullopt;
    }
  }
  ADD_FAILURE() << "no end after " << kMaxSteps << " tokens: " << body.substr(0, 400);
  return std::nullopt;
}

void run_property(const model::Tokenizer& tok, int cases, std::uint64_t seed, int brute_force_every) {
  JsonSchemaGrammar g;  // one grammar and masker for all cases: their caches are shared, as in an agent
  const JsonAutomaton a(g);
  TokenMasker masker(tok, a);
  ASSERT_TRUE(masker.has_all_bytes());
  Rng r(seed);
  Outcome o;
  int failures = 0;
  for (int i = 0; i < cases && failures < 5; ++i) {
    const json schema = random_object(r, 0);
    const std::size_t notes = g.notes().size();
    const int root = g.add_arguments(schema, "case" + std::to_string(i));
    ASSERT_EQ(g.notes().size(), notes) << "unexpected note " << g.notes().back() << " for " << schema.dump();
    const auto body = decode(a, masker, root, r, o, brute_force_every > 0 && i % brute_force_every == 0);
    if (!body) {
      ++failures;
      ADD_FAILURE() << "schema " << schema.dump();
      continue;
    }
    ++o.bodies;
    json value;
    try {
      value = json::parse(*body);
    } catch (const std::exception& e) {
      ++failures;
      ADD_FAILURE() << "does not parse (" << e.what() << "): " << *body << "\nschema " << schema.dump();
      continue;
    }
    valijson::Schema compiled;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter schema_adapter(schema);
    parser.populateSchema(schema_adapter, compiled);
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(value);
    if (!validator.validate(compiled, target, &results)) {
      ++failures;
      std::string why;
      valijson::ValidationResults::Error e;
      while (results.popError(e)) why += e.description + "; ";
      ADD_FAILURE() << "invalid: " << *body << "\nschema " << schema.dump() << "\n" << why;
    }
  }
  EXPECT_EQ(o.bodies, cases);
  const TokenMasker::Stats& st = masker.stats();
  std::printf("%d schemas, %d bodies, %d tokens, %d masks brute-force checked; masker: %ld lookups, %ld full "
              "misses, %ld local misses, %ld trie nodes walked (trie %zu nodes)\n",
              cases, o.bodies, o.steps, o.checked_masks, st.lookups, st.full_misses, st.local_misses,
              st.nodes_visited, st.trie_nodes);
}

TEST(ArgumentConstraintProperty, TenThousandRandomSchemasOnTheEmbeddedVocabulary) {
  auto tok = model::load_tokenizer(std::string(ALLTOOLS_SOURCE_DIR) + "/models/glm4-alltools-tiny/tokenizer.model");
  ASSERT_TRUE(tok.ok());
  run_property(**tok, 10000, 20261204, 50);
}

TEST(ArgumentConstraintProperty, RandomSchemasOnTheGlm4Vocabulary) {
  auto tok = testing::glm4_tokenizer();
  ASSERT_TRUE(tok);
  run_property(*tok, 150, 17, 10);
}

}  // namespace
}  // namespace alltools::agent
