// safetensors: parsing the format (8-byte little-endian header length, JSON header, raw data) and reading the
// tensors of one file through a read-only mapping. Format: https://github.com/huggingface/safetensors
//
// The parser trusts nothing in the header: every dtype, shape, and offset is checked against the file's size,
// tensors may not overlap, and sizes must equal numel * dtype size (no overflow). Errors are kParse and name
// the file (the `label`) and tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/loader/dtype.h"
#include "model/loader/mapped_file.h"

namespace alltools::model {

inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100u << 20;  // the format's own cap (100 MB)
inline constexpr std::size_t kSafetensorsMaxTensors = 1u << 20;
inline constexpr std::size_t kSafetensorsMaxRank = 8;

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offsets into the data section (after the header), [begin, end)
  std::uint64_t end = 0;

  std::int64_t numel() const;
  std::uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  std::uint64_t data_offset = 0;  // where the data section starts in the file (8 + header length)
  std::vector<TensorInfo> tensors;  // in the order of their offsets
};

// Parses and validates a whole file image. `label` (usually the path) is used in error messages.
Result<SafetensorsHeader> parse_safetensors(std::span<const std::byte> file, std::string_view label);

// A view of one tensor's bytes. `owner` keeps the storage (a mapping or a buffer) alive.
struct TensorView {
  const TensorInfo* info = nullptr;
  std::span<const std::byte> data;
  std::string file;  // where it came from, for error messages
  std::shared_ptr<const void> owner;
};

// One mapped, validated safetensors file.
class SafetensorsFile {
 public:
  static Result<std::shared_ptr<const SafetensorsFile>> open(const std::string& path);

  const std::string& path() const { return mapping_->path(); }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  // The view keeps this file mapped for as long as it lives.
  TensorView view(const TensorInfo& info, const std::shared_ptr<const SafetensorsFile>& self) const;

 private:
  SafetensorsFile(std::shared_ptr<const MappedFile> mapping, SafetensorsHeader header)
      : mapping_(std::move(mapping)), header_(std::move(header)) {}

  std::shared_ptr<const MappedFile> mapping_;
  SafetensorsHeader header_;
};

// Writes a safetensors file (used by tests to build valid and broken checkpoints). Tensors are laid out in order.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
};
Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors);

}  // namespace alltools::model
