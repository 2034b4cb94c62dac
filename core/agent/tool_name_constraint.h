// ToolNameConstraint: constrained decoding of the header line GLM-4 writes right after <|assistant|>. That line is
// empty (an answer follows) or the name of the tool being called (`<|assistant|>{name}\n{body}`); with the
// constraint the model can only write one of the tools it was given, never a name that does not exist. Everything
// after the header line is left to the model.
//
// Two ways to use it:
// - filter(): token by token, each header token must keep the line a prefix of a tool name (or end it as an empty
//   line or a whole name). The first token decides: small models often pick the right kind of function by its
//   later tokens but the wrong first token (a name's prefix such as "my_" or "svc_").
// - choose() + filter(choice): the first header line is chosen before generating, in two decisions. Answer or
//   call: whichever the model gives more probability, ending the line at once or starting a tool name. Which tool:
//   the name with the best length-normalised log-probability over the whole name (line_score: the log-probability
//   of its tokens and then of a token that ends the line, divided by the square root of that count), scored by
//   branch and bound (exact; one short forward pass per name that could still win: 1-3 with a few tools). The
//   first header is then held to that line. Always the best line, also when sampling: which tool to call is a
//   decision, not text. The normalisation was picked on a development sample (training/eval_sample.py --seed 77,
//   400 function tasks): total log-probability 397/400, divided by sqrt(length) 398, by length (the mean) 395;
//   the first token alone (filter()) is right 69 times in 100 on the shipped suite.
//
// Thread-safety: immutable after construction; filter() captures `this`, which must outlive the generate() call.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::agent {

class ToolNameConstraint {
 public:
  // `names`: the tools the model may call. `assistant`: the <|assistant|> id. `starts_in_header`: the prompt ends
  // with a bare <|assistant|>, so the first generated tokens form a header line.
  ToolNameConstraint(const model::Tokenizer& tokenizer, std::vector<std::string> names, model::TokenId assistant,
                     bool starts_in_header);

  // With `first_line`, the header line at the start of the generation must be exactly that line ("" = an answer);
  // headers after an <|assistant|> the model writes itself are constrained to the tool names as without it.
  model::LogitsFilter filter(std::optional<std::string> first_line = std::nullopt) const;

  // The header line chosen after the cache content of `model` (which must end with <|assistant|>), as described
  // above: "" (an answer) or one of the names, and how many names needed a forward pass. Leaves the model's cache
  // as it was.
  // Errors: kUnsupported where the backend has no logits (a remote model: use filter() alone), the model's
  // errors (kCancelled, kOutOfRange).
  struct Choice {
    std::string line;
    int scored = 0;
  };
  Result<Choice> choose(model::LanguageModel& model, const model::CancelToken* cancel = nullptr) const;

  // Length-normalised log-probability of a header line spelled by `tokens`, given the model's logits `rows`
  // ((tokens.size() + 1) equal rows, as LanguageModel::continuation_logits gives them): the log-probability of
  // each token in turn and then of the mass of the tokens that end the line (their bytes start with '\n'),
  // summed and divided by sqrt(tokens.size() + 1).
  double line_score(std::span<const float> rows, std::span<const model::TokenId> tokens) const;

  // The header bytes written so far, or nullopt when the tokens are not inside a header line.
  std::optional<std::string> header(std::span<const model::TokenId> generated) const;
  // Whether token `id` may follow `header`: the line it completes (up to its first '\n') must be empty or a
  // tool name, or, if it does not complete the line, it must stay a prefix of a tool name.
  bool allowed(const std::string& header, model::TokenId id) const;

 private:
  // The open header line and whether it is the generation's first one (no <|assistant|> generated before it).
  struct OpenHeader {
    std::string text;
    bool first = false;
  };
  std::optional<OpenHeader> open_header(std::span<const model::TokenId> generated) const;
  // allowed() for an explicit set of lines: `names`, and the empty line when `answer` is true.
  bool allowed_in(const std::string& header, model::TokenId id, std::span<const std::string> names,
                  bool answer) const;

  std::vector<std::string> pieces_;  // bytes of each ordinary token
  std::vector<bool> special_;
  std::vector<model::TokenId> line_ends_;       // ordinary tokens whose bytes start with '\n'
  std::vector<model::TokenId> name_starts_;     // tokens that may open a header naming a tool (ascending)
  std::vector<std::vector<model::TokenId>> encoded_;  // encode(name) for each of names_
  std::vector<std::string> names_;
  model::TokenId assistant_;
  bool starts_in_header_;
};

}  // namespace alltools::agent
