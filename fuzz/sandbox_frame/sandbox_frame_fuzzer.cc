// Feeds arbitrary bytes, split at a data-chosen point, to FrameDecoder. Whatever it accepts must be a JSON
// object that re-encodes to a frame the decoder reads back identically; an error must be final.
#include <cstddef>
#include <cstdint>

#include "common/check.h"
#include "sandbox/detail/frame_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace alltools::sandbox::detail;
  if (size == 0) return 0;
  const std::size_t split = data[0] % (size);
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const std::size_t n = size - 1;
  FrameDecoder decoder(1024);
  const std::size_t first = split < n ? split : n;
  decoder.append(bytes, first);
  bool more = true;
  for (int round = 0; round < 2; ++round) {
    for (int frames = 0; frames < 4096; ++frames) {
      auto f = decoder.next();
      if (!f.ok()) return 0;  // out of sync: the supervisor abandons the stream
      if (!f->has_value()) break;
      ALLTOOLS_CHECK((*f)->is_object());
      FrameDecoder again(1 << 20);
      const std::string re = encode_frame(**f);
      again.append(re.data(), re.size());
      auto back = again.next();
      ALLTOOLS_CHECK(back.ok() && back->has_value() && **back == **f);
    }
    if (more) {
      decoder.append(bytes + first, n - first);
      more = false;
    }
  }
  return 0;
}
