// FactoryPool: a SequencePool for models that need no batching — each sequence is a fresh LanguageModel from a
// factory (one RemoteModel per sequence for --endpoint, whose server batches; a ScriptedModel per sequence in
// tests; one unbatched local model per sequence where the CPU's batched pool is not used). It bounds the number
// of live sequences and counts them; it parks no caches (open() never reuses a prefix: position() is 0).
//
// Thread-safety: open() and stats() from any thread; the factory is called under no lock, possibly concurrently.
// The pool must outlive every sequence it opened.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "model/sequence_pool.h"

namespace alltools::model {

using ModelFactory = std::function<Result<std::unique_ptr<LanguageModel>>()>;

class FactoryPool final : public SequencePool {
 public:
  // max_sequences: open() fails with kResourceExhausted while that many sequences are alive (0 = no limit).
  FactoryPool(ModelInfo info, ModelFactory factory, int max_sequences);
  ~FactoryPool() override;

  const ModelInfo& info() const override { return info_; }
  Result<std::unique_ptr<LanguageModel>> open(std::span<const TokenId> prompt = {}) override;
  SequencePoolStats stats() const override;

 private:
  class Sequence;
  ModelInfo info_;
  ModelFactory factory_;
  int max_sequences_;
  std::atomic<int> active_{0};
  std::atomic<int> generating_{0};
  std::atomic<std::uint64_t> decoded_{0};
};

}  // namespace alltools::model
