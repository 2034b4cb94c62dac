#include "model/cpu/kv_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace alltools::model::cpu {

Result<KvCache> KvCache::create(int layers, int capacity, int kv_dim) {
  ALLTOOLS_CHECK(layers > 0 && capacity > 0 && kv_dim > 0);
  KvCache c;
  c.layers_ = layers;
  c.capacity_ = capacity;
  c.kv_dim_ = kv_dim;
  c.bytes_ = static_cast<std::size_t>(layers) * 2 * capacity * kv_dim * sizeof(float);
  void* p = ::mmap(nullptr, c.bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return make_error(ErrorCode::kResourceExhausted, "KV cache: cannot reserve " + std::to_string(c.bytes_ >> 20) +
                                                         " MiB for " + std::to_string(capacity) +
                                                         " positions: " + std::strerror(errno));
  }
  c.base_ = static_cast<float*>(p);
  return c;
}

KvCache::KvCache(KvCache&& other) noexcept { *this = std::move(other); }

KvCache& KvCache::operator=(KvCache&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, bytes_);
    base_ = std::exchange(other.base_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    layers_ = other.layers_;
    capacity_ = other.capacity_;
    kv_dim_ = other.kv_dim_;
  }
  return *this;
}

KvCache::~KvCache() {
  if (base_ != nullptr) ::munmap(base_, bytes_);
}

void KvCache::release_after(int length) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  for (int layer = 0; layer < layers_; ++layer) {
    for (int kv = 0; kv < 2; ++kv) {
      auto begin = reinterpret_cast<std::uintptr_t>(at(layer, length, kv));
      auto end = reinterpret_cast<std::uintptr_t>(at(layer, capacity_, kv));
      begin = (begin + page - 1) / page * page;
      if (begin < end) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    }
  }
}

}  // namespace alltools::model::cpu
