#include "apps/serve/api_keys.h"

#include <fstream>

namespace alltools::serve {

bool constant_time_equal(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

ApiKeys::ApiKeys(std::vector<std::string> keys, int max_per_key)
    : keys_(std::move(keys)), in_flight_(new std::atomic<int>[keys_.size()]), max_per_key_(max_per_key) {
  for (std::size_t i = 0; i < keys_.size(); ++i) in_flight_[i].store(0);
}

std::unique_ptr<ApiKeys> ApiKeys::from_keys(std::vector<std::string> keys, int max_concurrent_per_key) {
  return std::unique_ptr<ApiKeys>(new ApiKeys(std::move(keys), max_concurrent_per_key));
}

Result<std::unique_ptr<ApiKeys>> ApiKeys::load(const std::string& path, int max_concurrent_per_key) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kIo, "--api-key-file " + path + ": cannot be read");
  std::vector<std::string> keys;
  std::string line;
  int number = 0;
  while (std::getline(in, line) && number < 100000) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line.erase(0, start);
    if (line.find_first_of(" \t") != std::string::npos)
      return make_error(ErrorCode::kInvalidArgument,
                        "--api-key-file " + path + ": line " + std::to_string(number) + " holds a space");
    if (line.size() < kMinApiKeyBytes)
      return make_error(ErrorCode::kInvalidArgument, "--api-key-file " + path + ": the key on line " +
                                                         std::to_string(number) + " is shorter than " +
                                                         std::to_string(kMinApiKeyBytes) + " characters");
    keys.push_back(line);
  }
  if (keys.empty()) return make_error(ErrorCode::kInvalidArgument, "--api-key-file " + path + ": holds no key");
  return from_keys(std::move(keys), max_concurrent_per_key);
}

std::optional<std::size_t> ApiKeys::check(std::string_view presented) const {
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const bool equal = constant_time_equal(keys_[i], presented);
    if (equal && !found) found = i;
  }
  return found;
}

std::optional<ApiKeys::Slot> ApiKeys::acquire(std::size_t index) {
  std::atomic<int>& c = in_flight_[index];
  int n = c.load();
  do {
    if (max_per_key_ > 0 && n >= max_per_key_) return std::nullopt;
  } while (!c.compare_exchange_weak(n, n + 1));
  return Slot(&c);
}

}  // namespace alltools::serve
