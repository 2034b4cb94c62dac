// The real glm-4-9b-chat tokenizer from ../shared, loaded once per test binary (fails the test if missing).
#pragma once

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "model/tokenizer.h"

namespace alltools::protocol::testing {

inline const model::Tokenizer& glm4_tokenizer() {
  static std::unique_ptr<model::Tokenizer> tok = [] {
    const std::string dir = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat";
    auto r = model::load_tokenizer(dir);
    if (!r.ok()) {
      ADD_FAILURE() << "cannot load the tokenizer in " << dir << ": " << r.error();
      std::abort();
    }
    return std::move(r).value();
  }();
  return *tok;
}

}  // namespace alltools::protocol::testing
