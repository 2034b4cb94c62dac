// Feeds arbitrary bytes to parse_safetensors as a whole file image. Whatever it accepts must be self-consistent:
// every tensor's bytes lie inside the file, sizes equal numel * dtype size, and tensors do not overlap.
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/check.h"
#include "model/loader/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace alltools::model;
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  auto parsed = parse_safetensors(file, "fuzz.safetensors");
  if (!parsed.ok()) return 0;
  const std::uint64_t data_size = size - parsed->data_offset;
  std::uint64_t previous_end = 0;
  for (const TensorInfo& t : parsed->tensors) {
    ALLTOOLS_CHECK(t.begin <= t.end && t.end <= data_size);
    ALLTOOLS_CHECK(static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype) == t.nbytes());
    ALLTOOLS_CHECK(t.nbytes() == 0 || t.begin >= previous_end);
    if (t.nbytes() > 0) previous_end = t.end;
    volatile std::byte sink = std::byte{0};
    if (t.nbytes() > 0) sink = file[parsed->data_offset + t.end - 1];  // in bounds, or ASan says so
    (void)sink;
  }
  return 0;
}
