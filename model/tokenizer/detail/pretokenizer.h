// The cl100k / GLM-4 pre-tokenizer: splits text into the pieces BPE works on, with PCRE2 (UTF, UCP, JIT).
// Bytes the regex cannot match (only invalid UTF-8 — the pattern's last alternatives cover every valid
// character) become pieces of their own, so every input byte lands in exactly one piece, in order.
#pragma once

#include <memory>
#include <string_view>

#include "common/result.h"

namespace alltools::model::detail {

class Pretokenizer {
 public:
  static Result<Pretokenizer> create(std::string_view pattern);

  Pretokenizer(Pretokenizer&&) noexcept;
  Pretokenizer& operator=(Pretokenizer&&) noexcept;
  ~Pretokenizer();

  // Calls on_piece(std::string_view) for each piece of `text`, in order; the pieces concatenate to `text`.
  template <class F>
  void split(std::string_view text, F&& on_piece) const {
    Cursor cursor(*this, text);
    std::string_view piece;
    while (cursor.next(piece)) on_piece(piece);
  }

 private:
  struct Impl;
  explicit Pretokenizer(std::unique_ptr<Impl> impl);

  // Iterates the pieces of one text. Owns PCRE2 match data for its lifetime.
  class Cursor {
   public:
    Cursor(const Pretokenizer& owner, std::string_view text);
    ~Cursor();
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    bool next(std::string_view& piece);

   private:
    const Impl* impl_;
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t match_start_ = 0;  // start of the next regex match (>= pos_) once found
    std::size_t match_end_ = 0;
    bool have_match_ = false;
    bool exhausted_ = false;
    void* match_data_ = nullptr;
  };

  std::unique_ptr<Impl> impl_;
};

}  // namespace alltools::model::detail
