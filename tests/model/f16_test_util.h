// f32 -> IEEE half bits for test data (normal range; tiny values flush to zero; round half up).
#pragma once

#include <cstdint>
#include <cstring>

namespace alltools::model::testing {

inline std::uint16_t to_f16(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  const std::uint32_t sign = (b >> 16) & 0x8000u;
  const int exp = static_cast<int>((b >> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return static_cast<std::uint16_t>(sign);
  std::uint32_t h = (static_cast<std::uint32_t>(exp) << 10) | ((b >> 13) & 0x3ff);
  if (b & 0x1000u) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

}  // namespace alltools::model::testing
