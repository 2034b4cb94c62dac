// A minimal GGUF (version 3) writer: key/value metadata, then tensor descriptions, then the tensor data in
// the same order, each aligned to 32 bytes. Only what bench/peers needs to hand llama.cpp the project's
// synthetic weights: scalar, string and array values, F32 / BF16 / Q8_0 tensors. Format:
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace alltools::bench {

// ggml's type ids (ggml.h) for the element formats this writer emits.
enum class GgmlType : std::uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30 };

inline constexpr int kQ8BlockSize = 32;             // Q8_0: 32 values per block
inline constexpr std::uint64_t kQ8BlockBytes = 34;  // f16 scale + 32 int8

// Bytes of a row-major tensor with `rows` rows of `cols` elements in `type` (cols % 32 == 0 for Q8_0).
std::uint64_t ggml_tensor_bytes(GgmlType type, std::int64_t rows, std::int64_t cols);

// Q8_0 as ggml's reference quantizer defines it: per block of 32, d = max|x| / 127 (stored as f16),
// q = round(x / d). `out` holds x.size() / 32 * 34 bytes; x.size() % 32 == 0.
void quantize_q8_0(std::span<const float> x, std::uint8_t* out);

// f32 -> IEEE half, round to nearest even (subnormals and overflow to infinity included).
std::uint16_t f32_to_f16(float f);

// Usage: add metadata and tensor descriptions, then begin_data() once, then write() every tensor's bytes in
// the order described (each exactly its declared size), then finish(). Errors name the file.
class GgufWriter {
 public:
  explicit GgufWriter(std::string path) : path_(std::move(path)) {}
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  void add_string(const std::string& key, const std::string& value);
  void add_u32(const std::string& key, std::uint32_t value);
  void add_f32(const std::string& key, float value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_i32_array(const std::string& key, const std::vector<std::int32_t>& values);
  // `rows` x `cols` row-major; a vector is rows == 1 and is described with one dimension.
  void add_tensor(const std::string& name, GgmlType type, std::int64_t rows, std::int64_t cols);

  Status begin_data();
  Status write(std::span<const std::uint8_t> bytes);
  Status finish();

 private:
  struct TensorDesc {
    std::string name;
    GgmlType type;
    std::int64_t rows, cols;
    std::uint64_t offset, bytes;
  };
  void begin_kv(const std::string& key, std::uint32_t type);  // key, value type; counts the pair
  Status put(const void* p, std::size_t n);

  std::string path_;
  std::vector<std::uint8_t> meta_;  // serialized key/value pairs
  std::uint64_t meta_count_ = 0;
  std::vector<TensorDesc> tensors_;
  std::FILE* file_ = nullptr;
  std::size_t next_ = 0;        // index of the tensor write() expects
  std::uint64_t written_ = 0;   // bytes of that tensor written so far
  std::uint64_t position_ = 0;  // bytes written to the file
};

}  // namespace alltools::bench
