// BatchedModel: the LanguageModel bookkeeping shared by the in-process backends (CPU, CUDA). It keeps the token
// history, which prefix of it is in the KV cache, and whether the logits after the last token are current; it runs
// pending tokens in chunks through the backend's forward pass and samples through the backend. A sampled token is
// pushed to the history at once and forwarded with the next step (or the next append), so a generate() that ends
// leaves no forward pass wasted. Backends implement the four hooks below.
//
// Thread-safety: as LanguageModel.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/local_model.h"

namespace alltools::model {

class BatchedModel : public LocalModel {
 public:
  enum class Logits { kNone, kLast, kAll };

  const ModelInfo& info() const override { return info_; }
  int position() const override { return static_cast<int>(history_.size()); }

  Status append(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    const auto t0 = Clock::now();
    ALLTOOLS_RETURN_IF_ERROR(push(tokens));
    const int old = position() - static_cast<int>(tokens.size());
    const std::int64_t before = forwarded_;
    Status s = run_pending(Logits::kLast, nullptr, cancel);
    if (!s.ok()) {
      undo(old);
      return s;
    }
    timings_ = Timings{static_cast<int>(forwarded_ - before), seconds_since(t0), 0, 0.0};
    return ok_status();
  }

  Result<std::vector<float>> append_with_logits(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    const auto t0 = Clock::now();
    ALLTOOLS_RETURN_IF_ERROR(run_pending(Logits::kNone, nullptr, cancel));
    ALLTOOLS_RETURN_IF_ERROR(push(tokens));
    const int old = position() - static_cast<int>(tokens.size());
    std::vector<float> all(tokens.size() * static_cast<std::size_t>(info_.vocab_size));
    Status s = run_pending(Logits::kAll, &all, cancel);
    if (!s.ok()) {
      undo(old);
      return s.error();
    }
    timings_ = Timings{static_cast<int>(tokens.size()), seconds_since(t0), 0, 0.0};
    return all;
  }

  Status rewind(int length) override {
    if (length < 0 || length > position()) {
      return make_error(ErrorCode::kOutOfRange, "rewind to " + std::to_string(length) + " tokens: the cache holds " +
                                                    std::to_string(position()));
    }
    const int dropped = computed_ - length;
    history_.resize(static_cast<std::size_t>(length));
    if (computed_ > length) {
      computed_ = length;
      logits_valid_ = false;
    }
    on_rewind(length, dropped);
    return ok_status();
  }

  Result<std::vector<float>> last_logits() override {
    ALLTOOLS_RETURN_IF_ERROR(ensure_logits(nullptr));
    return read_logits();
  }

  Status continuation_logits(std::span<const std::vector<TokenId>> continuations,
                             const std::function<void(std::size_t, std::span<const float>)>& visit,
                             const CancelToken* cancel) override {
    ALLTOOLS_RETURN_IF_ERROR(ensure_logits(cancel));
    ALLTOOLS_ASSIGN_OR_RETURN(std::vector<float> first, read_logits());
    const int base = position();
    const Timings saved = timings_;
    // Puts the cache and the kept logits back as they were before the first continuation ran.
    const auto restore = [&]() -> Status {
      if (position() != base) ALLTOOLS_RETURN_IF_ERROR(rewind(base));
      if (!logits_valid_) {
        ALLTOOLS_RETURN_IF_ERROR(write_logits(first));
        logits_valid_ = true;  // computed_ == base again: the kept logits are those after the last history token
      }
      timings_ = saved;
      return ok_status();
    };
    std::vector<float> rows;
    for (std::size_t i = 0; i < continuations.size(); ++i) {
      rows.assign(first.begin(), first.end());
      if (!continuations[i].empty()) {
        auto more = append_with_logits(continuations[i], cancel);
        Status back = restore();
        if (!more.ok()) return more.error();
        ALLTOOLS_RETURN_IF_ERROR(back);
        rows.insert(rows.end(), more->begin(), more->end());
      }
      visit(i, rows);
    }
    return ok_status();
  }

  Result<GenerateResult> generate(const GenerateRequest& request, const TokenCallback& on_token,
                                  const CancelToken* cancel) override {
    GenerateResult result;
    const auto t_prefill = Clock::now();
    const std::int64_t before = forwarded_;
    ALLTOOLS_RETURN_IF_ERROR(ensure_logits(cancel));
    result.timings.prefill_tokens = static_cast<int>(forwarded_ - before);
    result.timings.prefill_seconds = seconds_since(t_prefill);
    const auto t_decode = Clock::now();
    result.finish = FinishReason::kMaxTokens;
    for (int i = 0; i < request.max_new_tokens; ++i) {
      if (cancel != nullptr && cancel->cancelled()) {
        result.finish = FinishReason::kCancelled;
        break;
      }
      if (position() >= info_.max_context || !has_room(position() + 1)) {
        result.finish = FinishReason::kContextFull;
        break;
      }
      if (request.filter.wants && request.filter.apply && request.filter.wants(result.tokens)) {
        ALLTOOLS_ASSIGN_OR_RETURN(std::vector<float> logits, read_logits());
        request.filter.apply(result.tokens, logits);
        ALLTOOLS_RETURN_IF_ERROR(write_logits(logits));
      }
      ALLTOOLS_ASSIGN_OR_RETURN(const TokenId token, sample_next(request.sampling, history_, i));
      history_.push_back(token);  // kept in the cache: its forward pass runs with the next step or append
      logits_valid_ = false;
      result.tokens.push_back(token);
      if (on_token && !on_token(token)) {
        result.finish = FinishReason::kCancelled;
        break;
      }
      if (std::find(request.stop_ids.begin(), request.stop_ids.end(), token) != request.stop_ids.end()) {
        result.finish = FinishReason::kStopToken;
        break;
      }
      if (i + 1 == request.max_new_tokens) break;
      ALLTOOLS_RETURN_IF_ERROR(run_pending(Logits::kLast, nullptr, nullptr));
    }
    result.timings.decode_tokens = static_cast<int>(result.tokens.size());
    result.timings.decode_seconds = seconds_since(t_decode);
    timings_ = result.timings;
    return result;
  }

  const Timings& last_timings() const override { return timings_; }

 protected:
  explicit BatchedModel(ModelInfo info) : info_(std::move(info)) {}

  // Runs tokens at positions [start, start + n), n <= max_chunk(), writing keys and values into the cache.
  // kLast keeps the last token's logits in the backend (read_logits / sample_next use them); kAll also writes
  // every row to all_rows ([n, vocab]) and keeps the last one.
  virtual Status forward_chunk(std::span<const TokenId> tokens, int start, Logits mode, float* all_rows) = 0;
  virtual int max_chunk() const = 0;
  // The logits kept by the last kLast/kAll forward_chunk; write_logits replaces them (a LogitsFilter's result)
  // for the next sample_next.
  virtual Result<std::vector<float>> read_logits() = 0;
  virtual Status write_logits(std::span<const float> logits) = 0;
  // Samples from the kept logits; `step` is 0 for the first token of a generate() call (a seeded stream
  // restarts there).
  virtual Result<TokenId> sample_next(const SamplingParams& params, std::span<const TokenId> context, int step) = 0;
  // After a rewind to `length` that dropped `dropped` computed positions (e.g. to return cache pages).
  virtual void on_rewind(int /*length*/, int /*dropped*/) {}
  // Whether the cache may grow to `positions` (a memory budget shared with other sequences); generate() ends
  // with kContextFull, before sampling, when the next token would not fit.
  virtual bool has_room(int /*positions*/) { return true; }

  // The tokens whose keys and values are in the cache (a prefix of the history).
  std::span<const TokenId> computed_tokens() const {
    return std::span<const TokenId>(history_).first(static_cast<std::size_t>(computed_));
  }
  // Starts from a cache that already holds `tokens` (an empty model taking over a kept cache); no logits are kept.
  void adopt_computed(std::span<const TokenId> tokens) {
    history_.assign(tokens.begin(), tokens.end());
    computed_ = static_cast<int>(tokens.size());
    logits_valid_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }

  // Validates and appends to the history (not yet computed). Errors leave everything unchanged.
  Status push(std::span<const TokenId> tokens) {
    if (tokens.size() > static_cast<std::size_t>(info_.max_context - position())) {
      return make_error(ErrorCode::kOutOfRange,
                        "context too long: " + std::to_string(position()) + " + " + std::to_string(tokens.size()) +
                            " tokens exceed the model's maximum of " + std::to_string(info_.max_context));
    }
    for (TokenId t : tokens) {
      if (t < 0 || t >= info_.vocab_size) {
        return make_error(ErrorCode::kInvalidArgument, "token id " + std::to_string(t) +
                                                           " is outside the vocabulary [0, " +
                                                           std::to_string(info_.vocab_size) + ")");
      }
    }
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    return ok_status();
  }

  void undo(int length) {
    history_.resize(static_cast<std::size_t>(length));
    if (computed_ > length) {
      computed_ = length;
      logits_valid_ = false;
    }
  }

  // Makes the kept logits those after the last history token.
  Status ensure_logits(const CancelToken* cancel) {
    if (history_.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "the cache is empty: append at least one token first");
    }
    if (computed_ == position() && logits_valid_) return ok_status();
    if (computed_ == position()) --computed_;  // logits went stale (rewind): recompute the last position
    return run_pending(Logits::kLast, nullptr, cancel);
  }

  // Forwards history_[computed_, end) in chunks; kAll writes every row into *all (rows for the tokens run).
  Status run_pending(Logits mode, std::vector<float>* all, const CancelToken* cancel) {
    const int end = position();
    const int base = computed_;
    const std::size_t vocab = static_cast<std::size_t>(info_.vocab_size);
    while (computed_ < end) {
      if (cancel != nullptr && cancel->cancelled()) return make_error(ErrorCode::kCancelled, "append cancelled");
      const int n = std::min(max_chunk(), end - computed_);
      const bool last_chunk = computed_ + n == end;
      Logits m = Logits::kNone;
      float* rows = nullptr;
      if (mode == Logits::kAll) {
        m = Logits::kAll;
        rows = all->data() + static_cast<std::size_t>(computed_ - base) * vocab;
      } else if (mode == Logits::kLast && last_chunk) {
        m = Logits::kLast;
      }
      ALLTOOLS_RETURN_IF_ERROR(forward_chunk(std::span<const TokenId>(history_).subspan(computed_, n), computed_, m, rows));
      computed_ += n;
      forwarded_ += n;
      logits_valid_ = false;
    }
    if (mode != Logits::kNone && end > base) logits_valid_ = true;
    return ok_status();
  }

  ModelInfo info_;
  std::vector<TokenId> history_;  // every token in the cache, including ones not yet forwarded
  int computed_ = 0;              // tokens whose keys/values are in the KV cache
  std::int64_t forwarded_ = 0;    // tokens run through the model since load (for timings)
  bool logits_valid_ = false;     // the kept logits are those after token computed_ - 1
  Timings timings_;
};

}  // namespace alltools::model
