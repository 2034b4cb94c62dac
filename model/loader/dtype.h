// Element types that appear in safetensors files, with their sizes and names.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace alltools::model {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool, kU16, kU32, kU64, kF8E4M3, kF8E5M2 };

// The safetensors spelling ("F32", "BF16", ...) or nullopt for an unknown name.
std::optional<DType> dtype_from_name(std::string_view name);
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);  // bytes per element

}  // namespace alltools::model
