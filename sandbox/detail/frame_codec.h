// The framed protocol between supervisor and worker: b"ATF1" + u32 little-endian payload length + UTF-8 JSON.
// Requests carry a fresh random nonce; a response counts only when it echoes the nonce of the pending request.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace alltools::sandbox::detail {

inline constexpr char kFrameMagic[4] = {'A', 'T', 'F', '1'};
inline constexpr std::size_t kFrameHeaderBytes = 8;

std::string encode_frame(const nlohmann::json& payload);

// 128 random bits as 32 hex characters (getrandom).
std::string make_nonce();

// Incremental decoder (try_ style): feed bytes as they arrive, take whole frames out.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_payload_bytes) : max_payload_(max_payload_bytes) {}
  void append(const char* data, std::size_t size) { buffer_.append(data, size); }
  // The next complete frame; std::nullopt when more bytes are needed. An error (bad magic, payload above the
  // limit, payload not a JSON object) is final: the stream is out of sync and must be abandoned.
  Result<std::optional<nlohmann::json>> next();
  std::size_t buffered() const { return buffer_.size(); }

 private:
  std::size_t max_payload_;
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace alltools::sandbox::detail
