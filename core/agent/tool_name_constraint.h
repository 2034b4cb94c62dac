// ToolNameConstraint: constrained decoding of the header line GLM-4 writes right after <|assistant|>. That line is
// empty (an answer follows) or the name of the tool being called (`<|assistant|>{name}\n{body}`); with the
// constraint the model can only write one of the tools it was given, never a name that does not exist. Everything
// after the header line is left to the model. Small models profit most: they pick the right kind of function
// but drift into names from their training data; big ones rarely notice it.
//
// Costs one pass over the vocabulary per header token (a few per segment); a remote backend ignores the filter.
// Thread-safety: immutable after construction; filter() captures `this`, which must outlive the generate() call.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::agent {

class ToolNameConstraint {
 public:
  // `names`: the tools the model may call. `assistant`: the <|assistant|> id. `starts_in_header`: the prompt ends
  // with a bare <|assistant|>, so the first generated tokens form a header line.
  ToolNameConstraint(const model::Tokenizer& tokenizer, std::vector<std::string> names, model::TokenId assistant,
                     bool starts_in_header);

  model::LogitsFilter filter() const;

  // The header bytes written so far, or nullopt when the tokens are not inside a header line.
  std::optional<std::string> header(std::span<const model::TokenId> generated) const;
  // Whether token `id` may follow `header`: the line it completes (up to its first '\n') must be empty or a
  // tool name, or, if it does not complete the line, it must stay a prefix of a tool name.
  bool allowed(const std::string& header, model::TokenId id) const;

 private:
  std::vector<std::string> pieces_;  // bytes of each ordinary token
  std::vector<bool> special_;
  std::vector<std::string> names_;
  model::TokenId assistant_;
  bool starts_in_header_;
};

}  // namespace alltools::agent
