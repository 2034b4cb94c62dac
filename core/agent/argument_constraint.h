// ArgumentConstraint: schema-constrained decoding of user-function arguments in GLM-4's wire format. After a header
// line that names a user function (`<|assistant|>{name}\n`), the body is decoded under a token mask built from
// the function's JSON Schema (core/agent/json_schema_grammar.h says which keywords are enforced): the body is
// optional whitespace, one JSON object valid for the schema, optional whitespace, and then the call's
// <|observation|>, which is allowed exactly when the object is complete (and no other special token is). The
// token that ends the header line may carry the first body bytes; they are checked too. Bodies of the built-in
// tools (python, simple_browser, cogview) and answers are left alone; so is a body that was not written under the
// constraint (its bytes already break the grammar).
//
// Masks come from a TokenMasker (core/agent/token_mask.h): cached per state, no pass over the vocabulary per step
// once a state has been seen. Use with ToolNameConstraint through combine_filters().
//
// Thread-safety: none (the masker's caches); filter() captures `this`, which must outlive the generate() call.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "core/agent/json_automaton.h"
#include "core/agent/json_schema_grammar.h"
#include "core/agent/token_mask.h"
#include "model/language_model.h"
#include "model/tokenizer.h"
#include "tools/tool.h"

namespace alltools::agent {

class ArgumentConstraint {
 public:
  // The user functions among `tools` are compiled (schema problems become notes, never errors). `starts_in_header`:
  // the generation starts right after <|assistant|>. Errors: kNotFound when the tokenizer lacks <|assistant|> or
  // <|observation|>.
  static Result<std::unique_ptr<ArgumentConstraint>> create(const model::Tokenizer& tokenizer,
                                                            std::span<const tools::ToolSpec> tools,
                                                            bool starts_in_header);

  model::LogitsFilter filter();

  // Whether the step after `generated` is constrained: inside a user function's body, or in a header line that
  // may still become one (its line-ending tokens carry body bytes).
  bool wants(std::span<const model::TokenId> generated) const;
  // Sets the logits of the tokens that may not follow `generated` to -infinity (ids past the tokenizer's
  // vocabulary included). Returns whether it constrained the step.
  bool apply(std::span<const model::TokenId> generated, std::span<float> logits);

  // The automaton state after the body written so far, or nullopt outside a constrained body.
  std::optional<State> body_state(std::span<const model::TokenId> generated) const;

  // "<function>/<pointer>: what is not enforced", one per line.
  const std::vector<std::string>& notes() const { return grammar_.notes(); }
  const TokenMasker& masker() const { return *masker_; }
  const JsonAutomaton& automaton() const { return automaton_; }
  // The grammar node of a function's arguments, or -1 when `name` is not a user function.
  int root_of(std::string_view name) const;

 private:
  ArgumentConstraint(const model::Tokenizer& tokenizer, std::span<const tools::ToolSpec> tools,
                     model::TokenId assistant, model::TokenId observation, bool starts_in_header);

  // The segment after the last generated <|assistant|> (or the start): its header line so far, and the body bytes
  // once the line is complete. nullopt when the segment holds a special token or no segment is open.
  struct Segment {
    std::string header;
    std::optional<std::string> body;
  };
  std::optional<Segment> segment(std::span<const model::TokenId> generated) const;
  bool names_a_prefix(std::string_view header) const;

  JsonSchemaGrammar grammar_;
  JsonAutomaton automaton_{grammar_};
  std::unique_ptr<TokenMasker> masker_;
  std::unordered_map<std::string, int> functions_;  // name -> root node
  // Ordinary tokens containing '\n', grouped by the bytes before it (what they add to the header line); each with
  // the bytes after it (the start of the body).
  struct LineEnds {
    std::string tail;
    std::vector<std::pair<model::TokenId, std::string>> tokens;
  };
  std::vector<LineEnds> line_ends_;
  std::vector<bool> special_;
  model::TokenId assistant_;
  model::TokenId observation_;
  bool starts_in_header_;
};

// A filter that applies both (either may be empty): a step is constrained when either wants it, and a token
// survives only if both allow it.
model::LogitsFilter combine_filters(model::LogitsFilter a, model::LogitsFilter b);

}  // namespace alltools::agent
