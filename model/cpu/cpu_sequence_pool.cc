#include "model/cpu/cpu_sequence_pool.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/check.h"
#include "model/cpu/host_logits_model.h"
#include "model/cpu/transformer.h"
#include "model/cpu/transformer_loader.h"

namespace alltools::model {
namespace {

using cpu::Transformer;

// How long a step waits for the rows of generating sequences still sampling: a row that misses a step waits a
// whole step, so the wait grows with the step's cost (kGatherFraction of the last one), within
// [kGatherMicros, kGatherMaxMicros].
std::chrono::microseconds gather_wait(double last_step_seconds) {
  const double us = std::clamp(last_step_seconds * kGatherFraction * 1e6, static_cast<double>(kGatherMicros),
                               static_cast<double>(kGatherMaxMicros));
  return std::chrono::microseconds(static_cast<std::int64_t>(us));
}

// One forward pass a sequence asks of the scheduler thread; it waits until `done`.
struct Job {
  cpu::KvCache* cache;
  std::span<const TokenId> tokens;  // 1 token: a row of the next decode step; more: a prefill chunk
  int start;                        // position of tokens[0]
  Transformer::Logits mode;
  float* logits;    // kLast: [vocab]; kAll: [tokens, vocab]; kNone: unused
  bool generating;  // asked from inside generate() (the scheduler waits for such rows before a step)
  bool done = false;
};

class Pool final : public SequencePool {
 public:
  Pool(cpu::LoadedTransformer loaded, const SequencePoolOptions& options);
  ~Pool() override;

  const ModelInfo& info() const override { return info_; }
  Result<std::unique_ptr<LanguageModel>> open(std::span<const TokenId> prompt) override;
  SequencePoolStats stats() const override;

  // For the sequences (any thread).
  const Transformer& transformer() const { return *tf_; }
  int prefill_chunk() const { return options_.prefill_chunk; }
  // Runs the job on the scheduler thread; returns when it is done.
  void run(Job& job);
  // Grows a sequence's reservation to `positions`, evicting parked caches if the budget needs it; false (nothing
  // changed) when it cannot fit.
  bool reserve(int& reserved, int positions);
  // Lowers a sequence's reservation to `positions` (after a rewind).
  void shrink(int& reserved, int positions);
  void enter_generate();
  void leave_generate();
  // A handle is gone: its cache is parked for prefix reuse (or freed), its reservation returned.
  void close(cpu::KvCache cache, std::span<const TokenId> computed, int reserved);

 private:
  struct Parked {
    cpu::KvCache cache;
    std::vector<TokenId> tokens;  // computed positions held by the cache
    std::uint64_t last_use;       // for LRU eviction
  };

  std::uint64_t bytes(std::int64_t positions) const { return static_cast<std::uint64_t>(positions) * kv_per_pos_; }
  bool fits_locked(std::int64_t positions) const {
    return options_.kv_budget == 0 || bytes(positions) <= options_.kv_budget;
  }
  void evict_lru_locked();
  // Rows of generating sequences that the next step should wait for.
  int missing_rows_locked() const;
  void scheduler_main();
  void run_step(const std::vector<Job*>& batch);

  std::unique_ptr<Transformer> tf_;
  ModelInfo info_;
  const SequencePoolOptions options_;
  const std::uint64_t kv_per_pos_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the scheduler waits here for jobs
  std::condition_variable done_cv_;  // sequences wait here for their job
  std::deque<Job*> decode_;          // one-token jobs, in arrival order
  std::deque<Job*> chunks_;          // prefill chunks, in arrival order
  int generating_ = 0;               // sequences inside generate()
  int generating_chunks_ = 0;        // chunks from generating sequences, queued or running
  bool stop_ = false;
  int active_ = 0;
  std::int64_t committed_ = 0;       // positions reserved by active sequences + held by parked caches
  std::vector<Parked> parked_;
  std::uint64_t clock_ = 0;
  std::uint64_t steps_ = 0, step_tokens_ = 0, step_micros_ = 0, reused_tokens_ = 0;

  std::vector<Transformer::Row> rows_;  // scheduler thread only
  std::vector<float> step_logits_;      // scheduler thread only: [rows, vocab]
  std::thread scheduler_;
};

// One sequence of the pool: BatchedModel's bookkeeping, with every forward pass run by the pool's scheduler.
class Sequence final : public cpu::HostLogitsModel {
 public:
  Sequence(Pool& pool, cpu::KvCache cache, int reserved, std::span<const TokenId> computed)
      : HostLogitsModel(pool.transformer(), pool.info()), pool_(pool), cache_(std::move(cache)), reserved_(reserved) {
    adopt_computed(computed);
  }

  ~Sequence() override {
    {
      std::unique_lock lock(mu_);
      closing_ = true;
      cancel_.cancel();
      idle_cv_.wait(lock, [&] { return busy_ == 0; });
    }
    pool_.close(std::move(cache_), computed_tokens(), reserved_);
  }

  Status append(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    Busy busy(*this, cancel);
    return HostLogitsModel::append(tokens, &cancel_);
  }
  Result<std::vector<float>> append_with_logits(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    Busy busy(*this, cancel);
    return HostLogitsModel::append_with_logits(tokens, &cancel_);
  }
  Status rewind(int length) override {
    Busy busy(*this, nullptr);
    return HostLogitsModel::rewind(length);
  }
  Result<std::vector<float>> last_logits() override {
    Busy busy(*this, nullptr);
    return HostLogitsModel::last_logits();
  }
  Status continuation_logits(std::span<const std::vector<TokenId>> continuations,
                             const std::function<void(std::size_t, std::span<const float>)>& visit,
                             const CancelToken* cancel) override {
    Busy busy(*this, cancel);
    return HostLogitsModel::continuation_logits(continuations, visit, &cancel_);
  }
  Result<GenerateResult> generate(const GenerateRequest& request, const TokenCallback& on_token,
                                  const CancelToken* cancel) override {
    Busy busy(*this, cancel);
    pool_.enter_generate();
    generating_ = true;
    auto result = HostLogitsModel::generate(request, on_token, &cancel_);
    generating_ = false;
    pool_.leave_generate();
    return result;
  }

 protected:
  Status forward_chunk(std::span<const TokenId> tokens, int start, Logits mode, float* all_rows) override {
    poll_cancel();
    const int end = start + static_cast<int>(tokens.size());
    if (!pool_.reserve(reserved_, end)) {
      return make_error(ErrorCode::kResourceExhausted,
                        "KV-cache budget of the sequence pool is full: no room for " + std::to_string(end) +
                            " positions of this sequence (retry when other sequences finish)");
    }
    Job job{&cache_, tokens, start, Transformer::Logits::kNone, nullptr, generating_};
    if (mode == Logits::kLast) job.mode = Transformer::Logits::kLast, job.logits = logits();
    if (mode == Logits::kAll) job.mode = Transformer::Logits::kAll, job.logits = all_rows;
    pool_.run(job);
    if (mode == Logits::kAll) keep_last_row(all_rows, tokens.size());
    poll_cancel();
    return ok_status();
  }
  int max_chunk() const override { return pool_.prefill_chunk(); }
  void on_rewind(int length, int dropped) override {
    pool_.shrink(reserved_, length);
    if (dropped >= cpu::kReleaseCacheAfterRewind) cache_.release_after(length);
  }
  bool has_room(int positions) override { return pool_.reserve(reserved_, positions); }

 private:
  // Marks a call in progress (the destructor waits for it) and arms the internal cancel token, which the caller's
  // token and the destructor both trip.
  class Busy {
   public:
    Busy(Sequence& s, const CancelToken* external) : s_(s) {
      std::lock_guard lock(s_.mu_);
      ++s_.busy_;
      if (!s_.closing_) s_.cancel_.reset();
      s_.external_ = external;
      s_.poll_cancel();
    }
    ~Busy() {
      std::lock_guard lock(s_.mu_);
      s_.external_ = nullptr;
      --s_.busy_;
      s_.idle_cv_.notify_all();  // under the lock: the destructor cannot finish before this returns
    }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;

   private:
    Sequence& s_;
  };

  // The caller's token, seen between steps.
  void poll_cancel() {
    if (external_ != nullptr && external_->cancelled()) cancel_.cancel();
  }

  Pool& pool_;
  cpu::KvCache cache_;
  int reserved_;             // positions of the pool's budget held by this sequence
  bool generating_ = false;  // inside generate()
  CancelToken cancel_;       // what BatchedModel sees: the caller's token or the destructor
  const CancelToken* external_ = nullptr;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  int busy_ = 0;
  bool closing_ = false;
};

Pool::Pool(cpu::LoadedTransformer loaded, const SequencePoolOptions& options)
    : tf_(std::move(loaded.transformer)),
      info_(std::move(loaded.info)),
      options_(options),
      kv_per_pos_(cpu::HostLogitsModel::kv_bytes_per_position(tf_->config())) {
  scheduler_ = std::thread([this] { scheduler_main(); });
}

Pool::~Pool() {
  {
    std::lock_guard lock(mu_);
    ALLTOOLS_CHECK_MSG(active_ == 0, "a SequencePool destroyed before the sequences it opened");
    stop_ = true;
  }
  work_cv_.notify_all();
  scheduler_.join();
}

Result<std::unique_ptr<LanguageModel>> Pool::open(std::span<const TokenId> prompt) {
  std::unique_lock lock(mu_);
  if (active_ >= options_.max_sequences) {
    return make_error(ErrorCode::kResourceExhausted, "the sequence pool is full: " + std::to_string(active_) +
                                                         " sequences open (max_sequences)");
  }
  // The parked cache sharing the longest prefix with the prompt (the most recently used among equals).
  int best = -1;
  std::size_t best_lcp = 0;
  for (std::size_t i = 0; i < parked_.size(); ++i) {
    const auto& tokens = parked_[i].tokens;
    const auto mismatch = std::mismatch(tokens.begin(), tokens.end(), prompt.begin(), prompt.end());
    const std::size_t lcp = static_cast<std::size_t>(mismatch.first - tokens.begin());
    if (lcp > 0 && (lcp > best_lcp || (lcp == best_lcp && parked_[i].last_use > parked_[best].last_use))) {
      best = static_cast<int>(i);
      best_lcp = lcp;
    }
  }
  const int need = static_cast<int>(std::clamp<std::size_t>(prompt.size(), 1, info_.max_context));
  std::int64_t parked_positions = 0;
  for (const auto& p : parked_) parked_positions += static_cast<std::int64_t>(p.tokens.size());
  if (!fits_locked(committed_ - parked_positions + need)) {
    return make_error(ErrorCode::kResourceExhausted,
                      "KV-cache budget of the sequence pool is full: " + std::to_string(bytes(committed_ - parked_positions)) +
                          " of " + std::to_string(options_.kv_budget) + " bytes held by open sequences, " +
                          std::to_string(bytes(need)) + " needed for this prompt (retry later)");
  }
  std::optional<cpu::KvCache> cache;
  std::vector<TokenId> prefix;
  if (best >= 0) {
    Parked taken = std::move(parked_[best]);
    parked_.erase(parked_.begin() + best);
    committed_ += need - static_cast<std::int64_t>(taken.tokens.size());
    if (taken.tokens.size() - best_lcp >= static_cast<std::size_t>(cpu::kReleaseCacheAfterRewind)) {
      taken.cache.release_after(static_cast<int>(best_lcp));
    }
    cache = std::move(taken.cache);
    prefix.assign(taken.tokens.begin(), taken.tokens.begin() + static_cast<std::ptrdiff_t>(best_lcp));
    reused_tokens_ += best_lcp;
  } else {
    auto made = tf_->new_cache(info_.max_context);
    if (!made.ok()) return made.error();
    cache.emplace(std::move(made).value());
    committed_ += need;
  }
  while (!fits_locked(committed_) && !parked_.empty()) evict_lru_locked();
  ++active_;
  lock.unlock();
  return std::unique_ptr<LanguageModel>(new Sequence(*this, std::move(*cache), need, prefix));
}

SequencePoolStats Pool::stats() const {
  std::lock_guard lock(mu_);
  SequencePoolStats s;
  s.active = active_;
  s.parked = static_cast<int>(parked_.size());
  s.generating = generating_;
  s.kv_bytes = bytes(committed_);
  s.kv_budget = options_.kv_budget;
  s.steps = steps_;
  s.step_tokens = step_tokens_;
  s.step_micros = step_micros_;
  s.reused_tokens = reused_tokens_;
  return s;
}

void Pool::run(Job& job) {
  std::unique_lock lock(mu_);
  if (job.tokens.size() == 1) {
    decode_.push_back(&job);
  } else {
    chunks_.push_back(&job);
    if (job.generating) ++generating_chunks_;
  }
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return job.done; });
}

bool Pool::reserve(int& reserved, int positions) {
  if (positions <= reserved) return true;
  std::lock_guard lock(mu_);
  const std::int64_t extra = positions - reserved;
  while (!fits_locked(committed_ + extra) && !parked_.empty()) evict_lru_locked();
  if (!fits_locked(committed_ + extra)) return false;
  committed_ += extra;
  reserved = positions;
  return true;
}

void Pool::shrink(int& reserved, int positions) {
  if (positions >= reserved) return;
  std::lock_guard lock(mu_);
  committed_ -= reserved - positions;
  reserved = positions;
}

void Pool::enter_generate() {
  std::lock_guard lock(mu_);
  ++generating_;
}

void Pool::leave_generate() {
  {
    std::lock_guard lock(mu_);
    --generating_;
  }
  work_cv_.notify_one();  // a step waiting for this sequence's row need not wait any longer
}

void Pool::close(cpu::KvCache cache, std::span<const TokenId> computed, int reserved) {
  std::lock_guard lock(mu_);  // `cache`, when not parked, is unmapped after the lock is released
  --active_;
  committed_ -= reserved;
  if (options_.max_parked > 0 && !computed.empty()) {
    parked_.push_back({std::move(cache), std::vector<TokenId>(computed.begin(), computed.end()), ++clock_});
    committed_ += static_cast<std::int64_t>(computed.size());
    while (static_cast<int>(parked_.size()) > options_.max_parked || (!fits_locked(committed_) && !parked_.empty())) {
      evict_lru_locked();
    }
  }
}

void Pool::evict_lru_locked() {
  const auto lru = std::min_element(parked_.begin(), parked_.end(),
                                    [](const Parked& a, const Parked& b) { return a.last_use < b.last_use; });
  committed_ -= static_cast<std::int64_t>(lru->tokens.size());
  parked_.erase(lru);
}

int Pool::missing_rows_locked() const {
  int queued = 0;
  for (const Job* job : decode_) queued += job->generating ? 1 : 0;
  return generating_ - generating_chunks_ - queued;
}

void Pool::scheduler_main() {
  std::vector<Job*> batch;
  double last_step_seconds = 0.0;
  bool chunk_ran_alone = false;  // the last pass ran a chunk while decode rows waited: run them now
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || !decode_.empty() || !chunks_.empty(); });
    if (decode_.empty() && chunks_.empty()) return;  // stop_
    bool take_rows = !decode_.empty();
    if (take_rows && missing_rows_locked() > 0) {
      if (chunks_.empty()) {
        // Generating sequences still sampling or in their callback: wait a little so they join this step.
        work_cv_.wait_until(lock, std::chrono::steady_clock::now() + gather_wait(last_step_seconds),
                            [&] { return stop_ || !chunks_.empty() || missing_rows_locked() <= 0; });
      } else if (!chunk_ran_alone) {
        take_rows = false;  // run a prefill chunk first; the stragglers arrive meanwhile
      }
    }
    batch.clear();
    while (take_rows && !decode_.empty() && batch.size() < static_cast<std::size_t>(cpu::kMaxChunkTokens)) {
      batch.push_back(decode_.front());
      decode_.pop_front();
    }
    Job* chunk = nullptr;
    if (!chunks_.empty()) {
      chunk = chunks_.front();
      chunks_.pop_front();
    }
    chunk_ran_alone = chunk != nullptr && batch.empty() && !decode_.empty();
    lock.unlock();
    if (!batch.empty()) {
      const auto t0 = std::chrono::steady_clock::now();
      run_step(batch);
      last_step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    if (chunk != nullptr) tf_->forward(*chunk->cache, chunk->tokens, chunk->start, chunk->mode, chunk->logits);
    lock.lock();
    for (Job* job : batch) job->done = true;
    if (chunk != nullptr) {
      chunk->done = true;
      if (chunk->generating) --generating_chunks_;
    }
    if (!batch.empty()) {
      ++steps_;
      step_tokens_ += batch.size();
      step_micros_ += static_cast<std::uint64_t>(last_step_seconds * 1e6);
    }
    done_cv_.notify_all();
  }
}

void Pool::run_step(const std::vector<Job*>& batch) {
  const std::size_t vocab = static_cast<std::size_t>(info_.vocab_size);
  rows_.clear();
  for (const Job* job : batch) rows_.push_back({job->tokens[0], job->cache, job->start});
  step_logits_.resize(batch.size() * vocab);
  tf_->forward_rows(rows_, step_logits_.data());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i]->mode != Transformer::Logits::kNone) {
      std::copy_n(step_logits_.data() + i * vocab, vocab, batch[i]->logits);
    }
  }
}

Status check_options(const SequencePoolOptions& o) {
  if (o.device == "cuda") {
    return make_error(ErrorCode::kUnavailable,
                      "the sequence pool (continuous batching, alltools serve) runs on the CPU backend only; "
                      "use --device cpu (the CUDA pool is issue #18)");
  }
  if (o.device != "cpu") {
    return make_error(ErrorCode::kInvalidArgument, "unknown device '" + o.device + "' (expected cpu or cuda)");
  }
  if (o.max_sequences < 1 || o.max_sequences > cpu::kMaxChunkTokens) {
    return make_error(ErrorCode::kInvalidArgument, "max_sequences must be in [1, " +
                                                       std::to_string(cpu::kMaxChunkTokens) + "], got " +
                                                       std::to_string(o.max_sequences));
  }
  if (o.max_parked < 0) return make_error(ErrorCode::kInvalidArgument, "max_parked must be >= 0");
  if (o.prefill_chunk < 1 || o.prefill_chunk > cpu::kMaxChunkTokens) {
    return make_error(ErrorCode::kInvalidArgument, "prefill_chunk must be in [1, " +
                                                       std::to_string(cpu::kMaxChunkTokens) + "], got " +
                                                       std::to_string(o.prefill_chunk));
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<SequencePool>> open_cpu_sequence_pool(const std::string& model_dir,
                                                             const CpuModelOptions& options,
                                                             const SequencePoolOptions& pool_options) {
  ALLTOOLS_RETURN_IF_ERROR(check_options(pool_options));
  ALLTOOLS_ASSIGN_OR_RETURN(auto loaded, cpu::load_transformer(model_dir, options));
  return std::unique_ptr<SequencePool>(new Pool(std::move(loaded), pool_options));
}

Result<std::unique_ptr<SequencePool>> open_cpu_sequence_pool(const SyntheticSpec& spec, const CpuModelOptions& options,
                                                             const SequencePoolOptions& pool_options) {
  ALLTOOLS_RETURN_IF_ERROR(check_options(pool_options));
  ALLTOOLS_ASSIGN_OR_RETURN(auto loaded, cpu::load_synthetic_transformer(spec, options));
  return std::unique_ptr<SequencePool>(new Pool(std::move(loaded), pool_options));
}

}  // namespace alltools::model
