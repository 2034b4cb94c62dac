// Schema-constrained decoding of function arguments: the grammar (what is enforced, what becomes a note), the
// byte automaton (valid and invalid bodies, byte by byte), the token masks against a brute-force pass over the
// real vocabularies (glm-4-9b-chat's 151k ids and the embedded model's 4k), and the filter on token sequences.
#include "core/agent/argument_constraint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/core/agent_test_support.h"

namespace alltools::agent {
namespace {

using nlohmann::json;
using model::TokenId;

// Whether `text` is a complete value for `schema` under the automaton.
bool accepts(const json& schema, std::string_view text) {
  JsonSchemaGrammar g;
  const int root = g.add(schema, "t");
  const JsonAutomaton a(g);
  State s = a.start(root);
  return a.feed(s, text) && a.can_end(s);
}

// Whether `text` is a prefix the automaton can continue from.
bool continues(const json& schema, std::string_view text) {
  JsonSchemaGrammar g;
  const int root = g.add(schema, "t");
  const JsonAutomaton a(g);
  State s = a.start(root);
  return a.feed(s, text);
}

const json kWeather = json::parse(R"({"type": "object", "properties": {
    "city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 14},
    "unit": {"enum": ["c", "f"]}}, "required": ["city"]})");

TEST(JsonAutomaton, AcceptsValidObjectsInAnyOrderWithWhitespace) {
  EXPECT_TRUE(accepts(kWeather, R"({"city": "北京"})"));
  EXPECT_TRUE(accepts(kWeather, R"({"days":3,"city":"Paris","unit":"f"})"));
  EXPECT_TRUE(accepts(kWeather, "\n{\n  \"city\" : \"a\\\"b\\u00e9\\ud83d\\ude00\" ,\n  \"days\": 14\n}\n"));
  EXPECT_FALSE(accepts(kWeather, R"({"days": 3})"));                  // required city missing
  EXPECT_FALSE(continues(kWeather, R"({"city": "a", "city")"));       // a key twice
  EXPECT_FALSE(continues(kWeather, R"({"town")"));                    // not a declared key
  EXPECT_FALSE(continues(kWeather, R"({"days": "3")"));               // wrong type
  EXPECT_FALSE(continues(kWeather, R"({"days": 15)"));                // above maximum (no digit can fix it)
  EXPECT_FALSE(continues(kWeather, R"({"days": 0)"));
  EXPECT_FALSE(continues(kWeather, R"({"days": 1.)"));                // an integer
  EXPECT_FALSE(continues(kWeather, R"({"unit": "k)"));
  EXPECT_FALSE(continues(kWeather, R"({"city": "\x")"));              // bad escape
  EXPECT_FALSE(continues(kWeather, R"({"city": "\udc00)"));           // a lone low surrogate
  EXPECT_FALSE(continues(kWeather, R"({"city": "\ud800x)"));          // a high one without its pair
  EXPECT_FALSE(continues(kWeather, "{\"city\": \"\xC0\xAF"));         // overlong UTF-8
  EXPECT_FALSE(continues(kWeather, "{\"city\": \"a\nb"));             // raw control character
  EXPECT_FALSE(continues(kWeather, R"({"city": "a"}x)"));             // text after the value
  EXPECT_FALSE(continues(kWeather, std::string(17, ' ')));            // whitespace runs are bounded
}

TEST(JsonAutomaton, NumbersFollowTheirBounds) {
  const json price = {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 2.5}};
  EXPECT_TRUE(accepts(price, "2.5"));
  EXPECT_TRUE(accepts(price, "0.001"));
  EXPECT_FALSE(accepts(price, "0"));
  EXPECT_FALSE(continues(price, "2.6"));
  EXPECT_FALSE(continues(price, "3"));
  EXPECT_FALSE(continues(price, "-"));
  EXPECT_FALSE(continues(price, "1e3"));  // no exponents
  const json temp = {{"type", "integer"}, {"minimum", -40}, {"maximum", -5}};
  EXPECT_TRUE(accepts(temp, "-40"));
  EXPECT_TRUE(accepts(temp, "-5"));
  EXPECT_FALSE(accepts(temp, "-4"));      // can still grow to -40..-49, but not end here
  EXPECT_TRUE(continues(temp, "-4"));
  EXPECT_FALSE(continues(temp, "-41"));
  EXPECT_FALSE(continues(temp, "-0"));
  EXPECT_FALSE(continues(temp, "5"));
}

TEST(JsonAutomaton, ArraysStringsLiteralsAndUnions) {
  const json tags = {{"type", "array"}, {"items", {{"type", "string"}, {"maxLength", 2}}}, {"minItems", 1},
                     {"maxItems", 2}};
  EXPECT_TRUE(accepts(tags, R"(["ab", "é"])"));
  EXPECT_FALSE(accepts(tags, "[]"));
  EXPECT_FALSE(continues(tags, R"(["a", "b",)"));
  EXPECT_FALSE(continues(tags, R"(["abc)"));
  EXPECT_TRUE(accepts(tags, R"(["\ud83d\ude00x"])"));  // a surrogate pair is one code point
  const json maybe = {{"type", json::array({"string", "null", "integer"})}};
  EXPECT_TRUE(accepts(maybe, "null"));
  EXPECT_TRUE(accepts(maybe, "12"));
  EXPECT_TRUE(accepts(maybe, R"("x")"));
  EXPECT_FALSE(continues(maybe, "tr"));
  const json sizes = {{"enum", json::array({1, 12, "1"})}};
  EXPECT_TRUE(accepts(sizes, "1"));
  EXPECT_TRUE(accepts(sizes, "12"));
  EXPECT_TRUE(accepts(sizes, R"("1")"));
  EXPECT_FALSE(accepts(sizes, "2"));
  const json any = json::object();
  EXPECT_TRUE(accepts(any, R"({"a": [1, -2.5, {"b": null}], "c": true})"));
  EXPECT_FALSE(continues(any, R"({"a" 1)"));
}

TEST(JsonSchemaGrammar, NotesWhatItDoesNotEnforce) {
  JsonSchemaGrammar g;
  g.add_arguments(json::parse(R"({"type": "object", "properties": {
      "q": {"type": "string", "pattern": "^a"}, "n": {"anyOf": [{"type": "integer"}]},
      "x": {"type": "integer", "minimum": 5, "maximum": 4}}})"), "search");
  ASSERT_EQ(g.notes().size(), 3u);
  EXPECT_EQ(g.notes()[0], "search/properties/n: anyOf is not enforced: any value");
  EXPECT_EQ(g.notes()[1], "search/properties/q: pattern is not enforced (any string)");
  EXPECT_NE(g.notes()[2].find("search/properties/x: no integer"), std::string::npos);
  JsonSchemaGrammar untyped;  // a type's keyword without `type` still binds values of that type
  EXPECT_EQ(untyped.add(json{{"exclusiveMinimum", 5.5}}, "f"), JsonSchemaGrammar::kAnyNode);
  ASSERT_EQ(untyped.notes().size(), 1u);
  EXPECT_EQ(untyped.notes()[0], "f/: exclusiveMinimum without `type` is not enforced: any value");
  JsonSchemaGrammar same;  // equal subschemas share a node
  const int a = same.add(json{{"type", "string"}}, "");
  EXPECT_EQ(a, JsonSchemaGrammar::kAnyStringNode);
  EXPECT_EQ(same.add(json{{"type", "integer"}, {"minimum", 1}}, ""), same.add(json{{"type", "integer"}, {"minimum", 1}}, ""));
}

std::shared_ptr<const model::Tokenizer> tiny_tokenizer() {
  static std::shared_ptr<const model::Tokenizer> t = [] {
    auto r = model::load_tokenizer(std::string(ALLTOOLS_SOURCE_DIR) + "/models/glm4-alltools-tiny/tokenizer.model");
    return r.ok() ? std::shared_ptr<const model::Tokenizer>(std::move(r).value()) : nullptr;
  }();
  return t;
}

// The masker's set equals stepping every token's bytes from the state (states met while writing `text`).
void expect_masks_exact(const model::Tokenizer& tok, const json& schema, std::string_view text) {
  JsonSchemaGrammar g;
  const int root = g.add_arguments(schema, "f");
  const JsonAutomaton a(g);
  TokenMasker masker(tok, a);
  EXPECT_TRUE(masker.has_all_bytes());
  State s = a.start(root);
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const std::vector<std::uint64_t> bits = masker.allowed(s);  // a copy: the next call may replace it
    int allowed = 0, mismatches = 0;
    for (std::size_t id = 0; id < masker.pieces().size(); ++id) {
      const std::string& piece = masker.pieces()[id];
      State t = s;
      const bool want = !piece.empty() && a.feed(t, piece);
      mismatches += want != TokenMasker::test(bits, id) ? 1 : 0;
      allowed += want ? 1 : 0;
    }
    EXPECT_EQ(mismatches, 0) << "after " << text.substr(0, i);
    EXPECT_TRUE(allowed > 0 || a.can_end(s)) << "after " << text.substr(0, i);
    if (i < text.size()) {
      ASSERT_EQ(a.step(s, static_cast<unsigned char>(text[i])), StepResult::kOk) << text.substr(0, i + 1);
    }
  }
  EXPECT_TRUE(a.can_end(s));
  // Again from warm caches: the same sets.
  State again = a.start(root);
  for (std::size_t i = 0; i < text.size(); i += 7) {
    State u = again;
    ASSERT_TRUE(a.feed(u, text.substr(0, i)));
    const std::vector<std::uint64_t>& bits = masker.allowed(u);
    for (std::size_t id = 0; id < masker.pieces().size(); id += 13) {
      State t = u;
      const std::string& piece = masker.pieces()[id];
      EXPECT_EQ(!piece.empty() && a.feed(t, piece), TokenMasker::test(bits, id));
    }
  }
}

TEST(TokenMasker, MatchesABruteForcePassOnTheEmbeddedVocabulary) {
  auto tok = tiny_tokenizer();
  ASSERT_TRUE(tok);
  expect_masks_exact(*tok, kWeather, R"({"city": "上海 \"x\"\u00e9", "days": 12, "unit": "c"})");
  expect_masks_exact(*tok, json::parse(R"({"properties": {"a": {"type": "array", "items": {"type": "number",
      "minimum": -1.5, "maximum": 100}}, "b": {"type": ["boolean", "null"]}, "c": {}}})"),
                     R"({"a": [-1.5, 0.25, 99.9], "b": null, "c": {"k": [true, "v"]}})");
}

TEST(TokenMasker, MatchesABruteForcePassOnTheGlm4Vocabulary) {
  auto tok = testing::glm4_tokenizer();
  ASSERT_TRUE(tok);
  expect_masks_exact(*tok, kWeather, R"({"city": "曼谷", "days": 3})");
}

class ArgumentConstraintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_ = testing::glm4_tokenizer();
    ASSERT_TRUE(tok_);
    tools::ToolSpec weather{"get_weather", tools::ToolSpec::Kind::kFunction,
                            nlohmann::ordered_json::parse(json{{"name", "get_weather"}, {"parameters", kWeather}}.dump())};
    tools::ToolSpec python{"python", tools::ToolSpec::Kind::kBuiltin, {}};
    specs_ = {python, weather};
    auto c = ArgumentConstraint::create(*tok_, specs_, /*starts_in_header=*/true);
    ASSERT_TRUE(c.ok());
    c_ = std::move(c).value();
    observation_ = *tok_->special_id("<|observation|>");
  }
  std::vector<TokenId> ids(const std::string& text) const { return tok_->encode(text); }
  // The ids the filter leaves finite after `generated`.
  std::vector<TokenId> kept(const std::vector<TokenId>& generated) {
    std::vector<float> logits(151552, 0.0f);
    model::LogitsFilter f = c_->filter();
    if (f.wants(generated)) f.apply(generated, logits);
    std::vector<TokenId> out;
    for (std::size_t i = 0; i < logits.size(); ++i)
      if (std::isfinite(logits[i])) out.push_back(static_cast<TokenId>(i));
    return out;
  }
  bool keeps(const std::vector<TokenId>& generated, TokenId id) {
    const auto k = kept(generated);
    return std::find(k.begin(), k.end(), id) != k.end();
  }
  std::shared_ptr<const model::Tokenizer> tok_;
  std::vector<tools::ToolSpec> specs_;
  std::unique_ptr<ArgumentConstraint> c_;
  TokenId observation_ = 0;
};

TEST_F(ArgumentConstraintTest, ConstrainsOnlyFunctionBodies) {
  EXPECT_TRUE(c_->notes().empty());
  EXPECT_FALSE(c_->wants(ids("python\nprint(1)")));
  EXPECT_FALSE(c_->wants(ids("\nThe answer")));
  EXPECT_TRUE(c_->wants(ids("get_weather\n{")));
  EXPECT_TRUE(c_->wants(ids("get_wea")));  // the header may still become get_weather
  std::vector<TokenId> done = ids("get_weather\n{\"city\": \"a\"}");
  done.push_back(observation_);
  EXPECT_FALSE(c_->wants(done));
  // A body that was not written under the constraint is left alone.
  std::vector<float> logits(10, 0.0f);
  EXPECT_FALSE(c_->apply(ids("get_weather\n```json"), logits));
}

TEST_F(ArgumentConstraintTest, AllowsTheObservationExactlyWhenTheObjectIsComplete) {
  EXPECT_FALSE(keeps(ids("get_weather\n{\"city\": \"a\""), observation_));
  EXPECT_FALSE(keeps(ids("get_weather\n{\"days\": 2"), observation_));
  EXPECT_FALSE(keeps(ids("get_weather\n{\"days\": 2"), ids("}")[0]));  // city is required
  EXPECT_TRUE(keeps(ids("get_weather\n{\"city\": \"a\"}"), observation_));
  EXPECT_TRUE(keeps(ids("get_weather\n{\"city\": \"a\"}\n"), observation_));
  const auto body = kept(ids("get_weather\n{\"city\": \"a\"}"));
  for (TokenId id : body) {
    if (id == observation_) continue;
    const std::string piece = tok_->decode_bytes(std::vector<TokenId>{id});
    EXPECT_EQ(piece.find_first_not_of(" \t\r\n"), std::string::npos) << "'" << piece << "' after the object";
  }
  EXPECT_FALSE(keeps(ids("get_weather\n{\"city\": \"a\"}"), *tok_->special_id("<|user|>")));
}

TEST_F(ArgumentConstraintTest, ChecksTheBodyBytesOfTheTokenThatEndsTheHeader) {
  // glm-4's line-ending tokens are whitespace runs ("\n", "\n\n", "\n" + spaces): the body may start with at
  // most kMaxWhitespaceRun of them.
  const std::vector<TokenId> header = ids("get_weather");
  const auto allowed = kept(header);
  int checked = 0;
  for (int id = 0; id < tok_->vocab_size(); ++id) {
    if (tok_->is_special(id)) continue;
    const std::string piece = tok_->decode_bytes(std::vector<TokenId>{id});
    if (piece.empty() || piece[0] != '\n') continue;
    const bool keep = std::binary_search(allowed.begin(), allowed.end(), id);
    EXPECT_EQ(keep, piece.size() - 1 <= kMaxWhitespaceRun) << piece.size();
    ++checked;
  }
  EXPECT_GT(checked, 20);
  EXPECT_TRUE(keeps(ids("pyth"), ids("on")[0]));  // not ours to constrain
}

TEST(CombineFilters, KeepsWhatBothAllow) {
  model::LogitsFilter a{[](std::span<const TokenId>) { return true; },
                        [](std::span<const TokenId>, std::span<float> l) { l[0] = -INFINITY; }};
  model::LogitsFilter b{[](std::span<const TokenId> g) { return g.empty(); },
                        [](std::span<const TokenId>, std::span<float> l) { l[1] = -INFINITY; }};
  const model::LogitsFilter both = combine_filters(a, b);
  std::vector<float> logits(3, 0.0f);
  both.apply({}, logits);
  EXPECT_EQ(logits, (std::vector<float>{-INFINITY, -INFINITY, 0.0f}));
  const TokenId one[] = {7};
  std::vector<float> again(3, 0.0f);
  both.apply(one, again);
  EXPECT_EQ(again, (std::vector<float>{-INFINITY, 0.0f, 0.0f}));
  EXPECT_FALSE(combine_filters({}, {}).wants);
}

}  // namespace
}  // namespace alltools::agent
