// KvCache: f32 keys and values for every layer and position, [layer][position][kv_heads * head_dim].
// The storage is reserved as one anonymous mapping for the full capacity but committed by the kernel only as
// positions are written, so a 128k-token capacity costs nothing until it is used. Positions are managed by the
// model (append writes, rewind just lowers the model's length).
#pragma once

#include <cstddef>

#include "common/result.h"

namespace alltools::model::cpu {

class KvCache {
 public:
  // Errors: kResourceExhausted when the address space cannot be reserved.
  static Result<KvCache> create(int layers, int capacity, int kv_dim);

  KvCache(KvCache&& other) noexcept;
  KvCache& operator=(KvCache&& other) noexcept;
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;
  ~KvCache();

  int capacity() const { return capacity_; }
  int kv_dim() const { return kv_dim_; }
  float* key(int layer, int pos) { return at(layer, pos, 0); }
  float* value(int layer, int pos) { return at(layer, pos, 1); }
  // Returns the pages beyond `length` positions to the kernel (after a large rewind).
  void release_after(int length);

 private:
  KvCache() = default;
  float* at(int layer, int pos, int kv) {
    return base_ + ((static_cast<std::size_t>(layer) * 2 + kv) * capacity_ + pos) * kv_dim_;
  }

  float* base_ = nullptr;
  std::size_t bytes_ = 0;
  int layers_ = 0;
  int capacity_ = 0;
  int kv_dim_ = 0;
};

}  // namespace alltools::model::cpu
