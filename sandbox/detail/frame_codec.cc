#include "sandbox/detail/frame_codec.h"

#include <sys/random.h>

#include <cstring>

namespace alltools::sandbox::detail {

std::string encode_frame(const nlohmann::json& payload) {
  const std::string body = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out(kFrameMagic, sizeof kFrameMagic);
  const auto n = static_cast<std::uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += body;
  return out;
}

std::string make_nonce() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    ALLTOOLS_CHECK_MSG(n > 0, "getrandom failed");
    got += static_cast<std::size_t>(n);
  }
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<std::optional<nlohmann::json>> FrameDecoder::next() {
  const std::size_t available = buffer_.size() - consumed_;
  if (available < kFrameHeaderBytes) return std::optional<nlohmann::json>();
  const char* head = buffer_.data() + consumed_;
  if (std::memcmp(head, kFrameMagic, sizeof kFrameMagic) != 0) {
    return make_error(ErrorCode::kParse, "protocol frame without the ATF1 magic (stream out of sync)");
  }
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(head[4 + i])) << (8 * i);
  if (n > max_payload_) {
    return make_error(ErrorCode::kOutOfRange, "protocol frame of " + std::to_string(n) + " bytes exceeds the " +
                                                  std::to_string(max_payload_) + "-byte limit");
  }
  if (available < kFrameHeaderBytes + n) return std::optional<nlohmann::json>();
  nlohmann::json payload =
      nlohmann::json::parse(head + kFrameHeaderBytes, head + kFrameHeaderBytes + n, nullptr, false);
  consumed_ += kFrameHeaderBytes + n;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > (1u << 16)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  if (payload.is_discarded() || !payload.is_object()) {
    return make_error(ErrorCode::kParse, "protocol frame payload is not a JSON object");
  }
  return std::optional<nlohmann::json>(std::move(payload));
}

}  // namespace alltools::sandbox::detail
