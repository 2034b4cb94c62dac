#include "model/loader/dtype.h"

#include <array>
#include <utility>

#include "common/check.h"

namespace alltools::model {
namespace {

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<DTypeEntry, 15> kDTypes = {{
    {DType::kF64, "F64", 8},     {DType::kF32, "F32", 4},         {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},   {DType::kI64, "I64", 8},         {DType::kI32, "I32", 4},
    {DType::kI16, "I16", 2},     {DType::kI8, "I8", 1},           {DType::kU8, "U8", 1},
    {DType::kBool, "BOOL", 1},   {DType::kU16, "U16", 2},         {DType::kU32, "U32", 4},
    {DType::kU64, "U64", 8},     {DType::kF8E4M3, "F8_E4M3", 1},  {DType::kF8E5M2, "F8_E5M2", 1},
}};

const DTypeEntry& entry(DType dtype) {
  for (const auto& e : kDTypes) {
    if (e.dtype == dtype) return e;
  }
  ALLTOOLS_CHECK_MSG(false, "DType missing from kDTypes");
  return kDTypes[0];
}

}  // namespace

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kDTypes) {
    if (e.name == name) return e.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_name(DType dtype) { return entry(dtype).name; }
std::size_t dtype_size(DType dtype) { return entry(dtype).size; }

}  // namespace alltools::model
