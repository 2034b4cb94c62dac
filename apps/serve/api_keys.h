// API keys of `alltools serve`: loaded from a file (one key per line; blank lines and '#' comments ignored),
// checked in constant time (the time taken does not depend on where a guess first differs, nor on which key
// matches), and a per-key limit on requests in flight.
//
// Thread-safety: check() and acquire() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace alltools::serve {

inline constexpr std::size_t kMinApiKeyBytes = 16;

class ApiKeys {
 public:
  // Errors: unreadable file, no keys in it, a key shorter than kMinApiKeyBytes or with spaces.
  static Result<std::unique_ptr<ApiKeys>> load(const std::string& path, int max_concurrent_per_key);
  static std::unique_ptr<ApiKeys> from_keys(std::vector<std::string> keys, int max_concurrent_per_key);

  // The index of the key that equals `presented`, or nullopt. Compares against every key, every byte.
  std::optional<std::size_t> check(std::string_view presented) const;

  // A request slot of key `index`, released when the Slot is destroyed; nullopt when that key already has
  // max_concurrent_per_key requests in flight (0 = no limit).
  class Slot {
   public:
    explicit Slot(std::atomic<int>* counter) : counter_(counter) {}
    Slot(Slot&& other) noexcept : counter_(other.counter_) { other.counter_ = nullptr; }
    Slot& operator=(Slot&& other) noexcept {
      if (this != &other) {
        if (counter_ != nullptr) counter_->fetch_sub(1);
        counter_ = other.counter_;
        other.counter_ = nullptr;
      }
      return *this;
    }
    ~Slot() {
      if (counter_ != nullptr) counter_->fetch_sub(1);
    }

   private:
    std::atomic<int>* counter_;
  };
  std::optional<Slot> acquire(std::size_t index);
  int max_concurrent_per_key() const { return max_per_key_; }
  std::size_t size() const { return keys_.size(); }

 private:
  ApiKeys(std::vector<std::string> keys, int max_per_key);
  std::vector<std::string> keys_;
  std::unique_ptr<std::atomic<int>[]> in_flight_;
  int max_per_key_;
};

// Constant-time equality of two byte strings (time depends only on the longer length).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace alltools::serve
