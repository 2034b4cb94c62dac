// The GGUF writer's output read back by a parser written here from the format description (docs/gguf.md in
// ggml): header, typed key/values, tensor descriptions with innermost-first dims, 32-byte aligned data.
#include "bench/peers/gguf_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace alltools::bench {
namespace {

class Reader {
 public:
  explicit Reader(std::vector<std::uint8_t> bytes) : b_(std::move(bytes)) {}
  template <class T>
  T get() {
    T v;
    EXPECT_LE(pos_ + sizeof(T), b_.size());
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = get<std::uint64_t>();
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::size_t pos() const { return pos_; }
  const std::uint8_t* at(std::size_t p) const { return b_.data() + p; }
  std::size_t size() const { return b_.size(); }

 private:
  std::vector<std::uint8_t> b_;
  std::size_t pos_ = 0;
};

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string temp_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string(name) + "." + std::to_string(getpid())))
      .string();
}

TEST(GgufWriter, F32ToF16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.1f), 0x2e66);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);               // rounds past the largest half: infinity
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048.0f), 0x3c00);  // tie -> even
  EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048.0f), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -16)), 0x0300);  // subnormal 3 * 2^-16 = 768 * 2^-24
  EXPECT_EQ(f32_to_f16(std::nanf("")) & 0x7e00, 0x7e00);
}

TEST(GgufWriter, Q8_0BlocksHoldScaleAndRoundedValues) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = (i < 32 ? 0.01f : -3.0f) * static_cast<float>(i % 32 - 13);
  std::vector<std::uint8_t> out(2 * kQ8BlockBytes);
  quantize_q8_0(x, out.data());
  for (int b = 0; b < 2; ++b) {
    const std::uint8_t* block = out.data() + b * kQ8BlockBytes;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    std::uint16_t d16;
    std::memcpy(&d16, block, 2);
    EXPECT_EQ(d16, f32_to_f16(amax / 127.0f));
    const float id = 127.0f / amax;  // ggml's reference multiplies by 1 / d
    for (int i = 0; i < 32; ++i) {
      const int q = static_cast<std::int8_t>(block[2 + i]);
      EXPECT_EQ(q, static_cast<int>(std::lround(x[b * 32 + i] * (1.0f / (amax / 127.0f))))) << b << " " << i;
      EXPECT_NEAR(q, x[b * 32 + i] * id, 0.5001f);
      EXPECT_LE(std::abs(q), 127);
    }
  }
}

TEST(GgufWriter, WritesHeaderMetadataTensorsAndAlignedData) {
  const std::string path = temp_path("alltools_gguf_test");
  GgufWriter w(path);
  w.add_string("general.architecture", "glm4");
  w.add_u32("glm4.block_count", 4);
  w.add_f32("glm4.rope.freq_base", 10000.0f);
  w.add_string_array("tokenizer.ggml.tokens", {"<unk>", "ab"});
  w.add_i32_array("tokenizer.ggml.token_type", {2, -1});
  w.add_tensor("norm.weight", GgmlType::kF32, 1, 3);
  w.add_tensor("blk.0.w", GgmlType::kBF16, 2, 5);
  const float norm[3] = {1.0f, 2.0f, 3.0f};
  std::uint16_t mat[10];
  for (int i = 0; i < 10; ++i) mat[i] = static_cast<std::uint16_t>(0x3f80 + i);
  ASSERT_TRUE(w.begin_data().ok());
  ASSERT_TRUE(w.write({reinterpret_cast<const std::uint8_t*>(norm), sizeof norm}).ok());
  ASSERT_FALSE(w.finish().ok());  // the second tensor is missing
  // Written in two pieces: a tensor may arrive in chunks.
  ASSERT_TRUE(w.write({reinterpret_cast<const std::uint8_t*>(mat), 6}).ok());
  ASSERT_TRUE(w.write({reinterpret_cast<const std::uint8_t*>(mat) + 6, sizeof mat - 6}).ok());
  EXPECT_FALSE(w.write({reinterpret_cast<const std::uint8_t*>(mat), 2}).ok());  // more than described
  ASSERT_TRUE(w.finish().ok());

  Reader r(read_file(path));
  std::filesystem::remove(path);
  EXPECT_EQ(r.get<std::uint32_t>(), 0x46554747u);  // "GGUF"
  EXPECT_EQ(r.get<std::uint32_t>(), 3u);
  EXPECT_EQ(r.get<std::uint64_t>(), 2u);  // tensors
  ASSERT_EQ(r.get<std::uint64_t>(), 5u);  // key/values
  EXPECT_EQ(r.str(), "general.architecture");
  EXPECT_EQ(r.get<std::uint32_t>(), 8u);
  EXPECT_EQ(r.str(), "glm4");
  EXPECT_EQ(r.str(), "glm4.block_count");
  EXPECT_EQ(r.get<std::uint32_t>(), 4u);
  EXPECT_EQ(r.get<std::uint32_t>(), 4u);
  EXPECT_EQ(r.str(), "glm4.rope.freq_base");
  EXPECT_EQ(r.get<std::uint32_t>(), 6u);
  EXPECT_EQ(r.get<float>(), 10000.0f);
  EXPECT_EQ(r.str(), "tokenizer.ggml.tokens");
  EXPECT_EQ(r.get<std::uint32_t>(), 9u);  // array
  EXPECT_EQ(r.get<std::uint32_t>(), 8u);  // of strings
  ASSERT_EQ(r.get<std::uint64_t>(), 2u);
  EXPECT_EQ(r.str(), "<unk>");
  EXPECT_EQ(r.str(), "ab");
  EXPECT_EQ(r.str(), "tokenizer.ggml.token_type");
  EXPECT_EQ(r.get<std::uint32_t>(), 9u);
  EXPECT_EQ(r.get<std::uint32_t>(), 5u);  // of int32
  ASSERT_EQ(r.get<std::uint64_t>(), 2u);
  EXPECT_EQ(r.get<std::int32_t>(), 2);
  EXPECT_EQ(r.get<std::int32_t>(), -1);
  // Tensor descriptions: ne[0] is the row length.
  EXPECT_EQ(r.str(), "norm.weight");
  EXPECT_EQ(r.get<std::uint32_t>(), 1u);
  EXPECT_EQ(r.get<std::uint64_t>(), 3u);
  EXPECT_EQ(r.get<std::uint32_t>(), 0u);  // F32
  EXPECT_EQ(r.get<std::uint64_t>(), 0u);
  EXPECT_EQ(r.str(), "blk.0.w");
  EXPECT_EQ(r.get<std::uint32_t>(), 2u);
  EXPECT_EQ(r.get<std::uint64_t>(), 5u);
  EXPECT_EQ(r.get<std::uint64_t>(), 2u);
  EXPECT_EQ(r.get<std::uint32_t>(), 30u);  // BF16
  EXPECT_EQ(r.get<std::uint64_t>(), 32u);  // 12 bytes of f32, aligned up to 32
  const std::size_t data = (r.pos() + 31) / 32 * 32;
  ASSERT_EQ(r.size(), data + 32 + sizeof mat);
  EXPECT_EQ(std::memcmp(r.at(data), norm, sizeof norm), 0);
  EXPECT_EQ(std::memcmp(r.at(data + 32), mat, sizeof mat), 0);
  EXPECT_EQ(ggml_tensor_bytes(GgmlType::kQ8_0, 3, 64), 3u * 2 * kQ8BlockBytes);
}

}  // namespace
}  // namespace alltools::bench
