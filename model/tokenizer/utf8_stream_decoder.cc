#include "model/tokenizer/utf8_stream_decoder.h"

#include <cstdint>

namespace alltools::model {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Sequence length announced by a lead byte; 0 for a byte that cannot start a sequence.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `b` may be byte `index` (1-based after the lead) of a sequence starting with `lead`
// (Unicode Table 3-7, well-formed UTF-8 byte sequences).
bool continuation_ok(unsigned char lead, int index, unsigned char b) {
  if (index == 1) {
    if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
    if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
    if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
    if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
  }
  return b >= 0x80 && b <= 0xBF;
}

// Scans `in` from `pos`: appends complete valid characters and U+FFFD for invalid subparts to `out`.
// Returns the position where an incomplete (valid so far) sequence starts, or in.size().
std::size_t decode_into(std::string_view in, std::string& out) {
  std::size_t pos = 0;
  const std::size_t n = in.size();
  while (pos < n) {
    const auto lead = static_cast<unsigned char>(in[pos]);
    if (lead < 0x80) {
      std::size_t end = pos + 1;
      while (end < n && static_cast<unsigned char>(in[end]) < 0x80) ++end;
      out.append(in.substr(pos, end - pos));
      pos = end;
      continue;
    }
    const int len = sequence_length(lead);
    if (len == 0) {
      out.append(kReplacement);
      ++pos;
      continue;
    }
    int got = 1;
    while (got < len && pos + got < n && continuation_ok(lead, got, static_cast<unsigned char>(in[pos + got]))) ++got;
    if (got == len) {
      out.append(in.substr(pos, len));
      pos += len;
    } else if (pos + got == n) {
      return pos;  // incomplete: the rest may still arrive
    } else {
      out.append(kReplacement);  // maximal subpart of an ill-formed sequence
      pos += got;
    }
  }
  return n;
}

}  // namespace

std::string Utf8StreamDecoder::push(std::string_view bytes) {
  std::string out;
  std::string joined;
  std::string_view input = bytes;
  if (pending_size_ != 0) {
    joined.assign(pending_, pending_size_);
    joined.append(bytes);
    input = joined;
  }
  const std::size_t rest = decode_into(input, out);
  const std::size_t keep = input.size() - rest;
  ALLTOOLS_CHECK(keep < 4);
  for (std::size_t i = 0; i < keep; ++i) pending_[i] = input[rest + i];
  pending_size_ = static_cast<int>(keep);
  return out;
}

std::string Utf8StreamDecoder::flush() {
  std::string out;
  if (pending_size_ != 0) out.append(kReplacement);
  pending_size_ = 0;
  return out;
}

std::string TokenStreamDecoder::push(TokenId id) {
  const TokenId one[1] = {id};
  return utf8_.push(tokenizer_->decode_bytes(one));
}

std::string TokenStreamDecoder::push(std::span<const TokenId> ids) { return utf8_.push(tokenizer_->decode_bytes(ids)); }

bool is_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const std::size_t rest = decode_into(text, out);
  return rest == text.size() && out == text;
}

}  // namespace alltools::model
