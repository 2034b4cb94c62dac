#include "model/loader/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace alltools::model {
namespace {

// A file image: 8-byte length, header text, `data_bytes` zero bytes.
std::vector<std::byte> image(const std::string& header, std::size_t data_bytes, std::uint64_t claimed_len = ~0ull) {
  const std::uint64_t len = claimed_len == ~0ull ? header.size() : claimed_len;
  std::vector<std::byte> out(8 + header.size() + data_bytes);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((len >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

Error parse_error(const std::string& header, std::size_t data_bytes) {
  auto r = parse_safetensors(image(header, data_bytes), "x.safetensors");
  EXPECT_FALSE(r.ok()) << header;
  return r.ok() ? Error{} : r.error();
}

TEST(Safetensors, ParsesValidHeaderSortedByOffset) {
  const std::string h =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[16,28]},)"
      R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  auto r = parse_safetensors(image(h, 28), "x.safetensors");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].name, "a");
  EXPECT_EQ(r->tensors[1].name, "b");
  EXPECT_EQ(r->tensors[1].dtype, DType::kBF16);
  EXPECT_EQ(r->tensors[1].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(r->data_offset, 8 + h.size());
}

TEST(Safetensors, RejectsTooShortFile) {
  auto r = parse_safetensors(std::vector<std::byte>(5), "short.safetensors");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_NE(r.error().message.find("short.safetensors"), std::string::npos);
}

TEST(Safetensors, RejectsHeaderLengthPastEnd) {
  auto r = parse_safetensors(image("{}", 0, 1000), "x.safetensors");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("past the end"), std::string::npos) << r.error();
}

TEST(Safetensors, RejectsHugeHeaderLength) {
  auto r = parse_safetensors(image("{}", 0, 1ull << 40), "x.safetensors");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("100 MB"), std::string::npos) << r.error();
}

TEST(Safetensors, RejectsBadJsonAndNonObjects) {
  EXPECT_NE(parse_error("{not json", 0).message.find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error("[1,2]", 0).message.find("not a JSON object"), std::string::npos);
  EXPECT_NE(parse_error(R"({"t":5})", 0).message.find("'t'"), std::string::npos);
}

TEST(Safetensors, RejectsUnknownDtype) {
  const Error e = parse_error(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1);
  EXPECT_NE(e.message.find("unknown dtype 'Q4'"), std::string::npos) << e;
  EXPECT_NE(e.message.find("'w'"), std::string::npos) << e;
}

TEST(Safetensors, RejectsOffsetsPastDataSection) {
  const Error e = parse_error(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8);
  EXPECT_NE(e.message.find("past the data section"), std::string::npos) << e;
  EXPECT_NE(e.message.find("'w'"), std::string::npos) << e;
}

TEST(Safetensors, RejectsSizeThatDisagreesWithShape) {
  const Error e = parse_error(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16);
  EXPECT_NE(e.message.find("needs 3 x 4"), std::string::npos) << e;
}

TEST(Safetensors, RejectsOverflowingShape) {
  const Error e = parse_error(
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", 16);
  EXPECT_NE(e.message.find("exceeds"), std::string::npos) << e;
}

TEST(Safetensors, RejectsNegativeDimsAndBackwardOffsets) {
  EXPECT_NE(parse_error(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4).message.find("negative"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8).message.find("begin > end"),
            std::string::npos);
}

TEST(Safetensors, RejectsOverlappingTensors) {
  const Error e = parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                              12);
  EXPECT_NE(e.message.find("overlap"), std::string::npos) << e;
}

TEST(Safetensors, WriteThenOpenRoundTrips) {
  const std::string path = ::testing::TempDir() + "/roundtrip.safetensors";
  std::vector<std::byte> data(8);
  const float values[2] = {1.5f, -2.0f};
  std::memcpy(data.data(), values, 8);
  ASSERT_TRUE(write_safetensors(path, {{"v", DType::kF32, {2}, data}}).ok());
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  const TensorInfo* info = file.value()->find("v");
  ASSERT_NE(info, nullptr);
  const TensorView view = file.value()->view(*info, file.value());
  float back[2];
  std::memcpy(back, view.data.data(), 8);
  EXPECT_EQ(back[0], 1.5f);
  EXPECT_EQ(back[1], -2.0f);
}

}  // namespace
}  // namespace alltools::model
