#include "model/pool/factory_pool.h"

#include <string>

namespace alltools::model {

// Forwards to the factory's model and keeps the pool's counts.
class FactoryPool::Sequence final : public LanguageModel {
 public:
  Sequence(FactoryPool& pool, std::unique_ptr<LanguageModel> inner) : pool_(pool), inner_(std::move(inner)) {}
  ~Sequence() override { pool_.active_.fetch_sub(1); }

  const ModelInfo& info() const override { return inner_->info(); }
  int position() const override { return inner_->position(); }
  Status append(std::span<const TokenId> tokens, const CancelToken* cancel) override {
    return inner_->append(tokens, cancel);
  }
  Status rewind(int length) override { return inner_->rewind(length); }
  Result<GenerateResult> generate(const GenerateRequest& request, const TokenCallback& on_token,
                                  const CancelToken* cancel) override {
    pool_.generating_.fetch_add(1);
    auto r = inner_->generate(request, on_token, cancel);
    pool_.generating_.fetch_sub(1);
    if (r.ok()) pool_.decoded_.fetch_add(r->tokens.size());
    return r;
  }
  Status continuation_logits(std::span<const std::vector<TokenId>> continuations,
                             const std::function<void(std::size_t, std::span<const float>)>& visit,
                             const CancelToken* cancel) override {
    return inner_->continuation_logits(continuations, visit, cancel);
  }

 private:
  FactoryPool& pool_;
  std::unique_ptr<LanguageModel> inner_;
};

FactoryPool::FactoryPool(ModelInfo info, ModelFactory factory, int max_sequences)
    : info_(std::move(info)), factory_(std::move(factory)), max_sequences_(max_sequences) {}

FactoryPool::~FactoryPool() { ALLTOOLS_CHECK_MSG(active_.load() == 0, "FactoryPool destroyed with open sequences"); }

Result<std::unique_ptr<LanguageModel>> FactoryPool::open(std::span<const TokenId> /*prompt*/) {
  int n = active_.load();
  do {
    if (max_sequences_ > 0 && n >= max_sequences_)
      return make_error(ErrorCode::kResourceExhausted,
                        "all " + std::to_string(max_sequences_) + " sequences are in use; retry later");
  } while (!active_.compare_exchange_weak(n, n + 1));
  auto model = factory_();
  if (!model.ok()) {
    active_.fetch_sub(1);
    return model.error();
  }
  return std::unique_ptr<LanguageModel>(std::make_unique<Sequence>(*this, std::move(model).value()));
}

SequencePoolStats FactoryPool::stats() const {
  SequencePoolStats s;
  s.active = active_.load();
  s.generating = generating_.load();
  s.step_tokens = decoded_.load();
  return s;
}

}  // namespace alltools::model
