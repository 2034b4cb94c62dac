#include "model/tokenizer/detail/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

namespace alltools::model::detail {

struct Pretokenizer::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

Pretokenizer::Pretokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pretokenizer::Pretokenizer(Pretokenizer&&) noexcept = default;
Pretokenizer& Pretokenizer::operator=(Pretokenizer&&) noexcept = default;
Pretokenizer::~Pretokenizer() = default;

Result<Pretokenizer> Pretokenizer::create(std::string_view pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  auto impl = std::make_unique<Impl>();
  impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code, &error_offset, nullptr);
  if (impl->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return make_error(ErrorCode::kInternal, "pre-tokenizer regex does not compile at offset " +
                                                std::to_string(error_offset) + ": " +
                                                reinterpret_cast<const char*>(message));
  }
  impl->jit = pcre2_jit_compile(impl->code, PCRE2_JIT_COMPLETE) == 0;
  return Pretokenizer(std::move(impl));
}

Pretokenizer::Cursor::Cursor(const Pretokenizer& owner, std::string_view text)
    : impl_(owner.impl_.get()), text_(text) {
  match_data_ = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  ALLTOOLS_CHECK_MSG(match_data_ != nullptr, "out of memory creating PCRE2 match data");
}

Pretokenizer::Cursor::~Cursor() { pcre2_match_data_free(static_cast<pcre2_match_data*>(match_data_)); }

bool Pretokenizer::Cursor::next(std::string_view& piece) {
  if (pos_ >= text_.size()) return false;
  if (!have_match_ && !exhausted_) {
    auto* md = static_cast<pcre2_match_data*>(match_data_);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text_.data());
    const int rc = impl_->jit ? pcre2_jit_match(impl_->code, subject, text_.size(), pos_, 0, md, nullptr)
                              : pcre2_match(impl_->code, subject, text_.size(), pos_, 0, md, nullptr);
    if (rc > 0) {
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      match_start_ = ov[0];
      match_end_ = ov[1];
      // Every alternative of the pattern consumes at least one character; guard against an empty match anyway.
      if (match_end_ == match_start_) match_end_ = match_start_ + 1;
      have_match_ = true;
    } else {
      ALLTOOLS_CHECK_MSG(rc == PCRE2_ERROR_NOMATCH, "PCRE2 match failed (resource limit?)");
      exhausted_ = true;
    }
  }
  if (!have_match_) {  // trailing bytes no alternative matches (invalid UTF-8)
    piece = text_.substr(pos_);
    pos_ = text_.size();
    return true;
  }
  if (match_start_ > pos_) {  // invalid UTF-8 before the next match
    piece = text_.substr(pos_, match_start_ - pos_);
    pos_ = match_start_;
    return true;
  }
  piece = text_.substr(match_start_, match_end_ - match_start_);
  pos_ = match_end_;
  have_match_ = false;
  return true;
}

}  // namespace alltools::model::detail
