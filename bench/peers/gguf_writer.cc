#include "bench/peers/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace alltools::bench {
namespace {

constexpr std::uint64_t kAlignment = 32;  // GGUF's default (general.alignment absent)
constexpr std::uint32_t kGgufVersion = 3;
enum : std::uint32_t { kTypeU32 = 4, kTypeI32 = 5, kTypeF32 = 6, kTypeString = 8, kTypeArray = 9 };

std::uint64_t align_up(std::uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

template <class T>
void append(std::vector<std::uint8_t>& out, T value) {  // little-endian host (x86-64, aarch64)
  const auto* p = reinterpret_cast<const std::uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

void append_string(std::vector<std::uint8_t>& out, const std::string& s) {
  append<std::uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

std::uint64_t ggml_tensor_bytes(GgmlType type, std::int64_t rows, std::int64_t cols) {
  const auto n = static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols);
  switch (type) {
    case GgmlType::kF32:
      return 4 * n;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      return 2 * n;
    case GgmlType::kQ8_0:
      return n / kQ8BlockSize * kQ8BlockBytes;
  }
  return 0;
}

std::uint16_t f32_to_f16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);   // NaN
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {
    // Below the smallest normal half (2^-14): a subnormal, in units of 2^-24, rounded to nearest even.
    float a;
    std::memcpy(&a, &abs, 4);
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(a * 16777216.0f)));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits, ties to even.
  const std::uint32_t rebiased = abs - (112u << 23);
  const std::uint32_t rounded = rebiased + 0xfffu + ((rebiased >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

void quantize_q8_0(std::span<const float> x, std::uint8_t* out) {
  for (std::size_t b = 0; b + kQ8BlockSize <= x.size(); b += kQ8BlockSize) {
    float amax = 0.0f;
    for (int i = 0; i < kQ8BlockSize; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const std::uint16_t dh = f32_to_f16(d);
    std::memcpy(out, &dh, 2);
    for (int i = 0; i < kQ8BlockSize; ++i)
      out[2 + i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(x[b + i] * id)));
    out += kQ8BlockBytes;
  }
}

GgufWriter::~GgufWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void GgufWriter::begin_kv(const std::string& key, std::uint32_t type) {
  append_string(meta_, key);
  append<std::uint32_t>(meta_, type);
  ++meta_count_;
}

void GgufWriter::add_string(const std::string& key, const std::string& value) {
  begin_kv(key, kTypeString);
  append_string(meta_, value);
}

void GgufWriter::add_u32(const std::string& key, std::uint32_t value) {
  begin_kv(key, kTypeU32);
  append<std::uint32_t>(meta_, value);
}

void GgufWriter::add_f32(const std::string& key, float value) {
  begin_kv(key, kTypeF32);
  append<float>(meta_, value);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  begin_kv(key, kTypeArray);
  append<std::uint32_t>(meta_, kTypeString);
  append<std::uint64_t>(meta_, values.size());
  for (const std::string& v : values) append_string(meta_, v);
}

void GgufWriter::add_i32_array(const std::string& key, const std::vector<std::int32_t>& values) {
  begin_kv(key, kTypeArray);
  append<std::uint32_t>(meta_, kTypeI32);
  append<std::uint64_t>(meta_, values.size());
  for (std::int32_t v : values) append<std::int32_t>(meta_, v);
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::int64_t rows, std::int64_t cols) {
  const std::uint64_t offset =
      tensors_.empty() ? 0 : align_up(tensors_.back().offset + tensors_.back().bytes);
  tensors_.push_back({name, type, rows, cols, offset, ggml_tensor_bytes(type, rows, cols)});
}

Status GgufWriter::put(const void* p, std::size_t n) {
  if (std::fwrite(p, 1, n, file_) != n) {
    return make_error(ErrorCode::kIo, path_ + ": write failed: " + std::strerror(errno));
  }
  position_ += n;
  return ok_status();
}

Status GgufWriter::begin_data() {
  ALLTOOLS_CHECK(file_ == nullptr);
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) return make_error(ErrorCode::kIo, path_ + ": cannot create: " + std::strerror(errno));
  std::vector<std::uint8_t> head;
  head.insert(head.end(), {'G', 'G', 'U', 'F'});
  append<std::uint32_t>(head, kGgufVersion);
  append<std::uint64_t>(head, tensors_.size());
  append<std::uint64_t>(head, meta_count_);
  head.insert(head.end(), meta_.begin(), meta_.end());
  for (const TensorDesc& t : tensors_) {
    append_string(head, t.name);
    // ggml lists dimensions innermost first: ne[0] = cols, ne[1] = rows.
    append<std::uint32_t>(head, t.rows == 1 ? 1 : 2);
    append<std::uint64_t>(head, static_cast<std::uint64_t>(t.cols));
    if (t.rows != 1) append<std::uint64_t>(head, static_cast<std::uint64_t>(t.rows));
    append<std::uint32_t>(head, static_cast<std::uint32_t>(t.type));
    append<std::uint64_t>(head, t.offset);
  }
  head.resize(align_up(head.size()), 0);
  return put(head.data(), head.size());
}

Status GgufWriter::write(std::span<const std::uint8_t> bytes) {
  ALLTOOLS_CHECK(file_ != nullptr);
  while (!bytes.empty()) {
    if (next_ >= tensors_.size())
      return make_error(ErrorCode::kInternal, path_ + ": more data than described");
    const TensorDesc& t = tensors_[next_];
    const std::uint64_t n = std::min<std::uint64_t>(bytes.size(), t.bytes - written_);
    ALLTOOLS_RETURN_IF_ERROR(put(bytes.data(), n));
    bytes = bytes.subspan(n);
    written_ += n;
    if (written_ == t.bytes) {
      ++next_;
      written_ = 0;
      if (next_ < tensors_.size()) {
        static constexpr std::uint8_t kZeros[kAlignment] = {};
        ALLTOOLS_RETURN_IF_ERROR(put(kZeros, align_up(position_) - position_));
      }
    }
  }
  return ok_status();
}

Status GgufWriter::finish() {
  if (next_ != tensors_.size()) {
    return make_error(ErrorCode::kInternal, path_ + ": tensor " + std::to_string(next_) + " of " +
                                                std::to_string(tensors_.size()) + " not written");
  }
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) return make_error(ErrorCode::kIo, path_ + ": close failed: " + std::strerror(errno));
  return ok_status();
}

}  // namespace alltools::bench
