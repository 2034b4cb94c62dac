// MappedFile: a read-only memory mapping of a whole file (RAII; unmapped in the destructor).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "common/result.h"

namespace alltools::model {

class MappedFile {
 public:
  // Maps `path` read-only. Errors: kNotFound (no such file), kIo (open/stat/mmap failed, with errno text).
  static Result<std::shared_ptr<const MappedFile>> open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const std::byte* data, std::size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const std::byte* data_ = nullptr;  // nullptr for an empty file
  std::size_t size_ = 0;
};

}  // namespace alltools::model
