// libFuzzer target for the parsers the agent side owns: the SSE stream parser of the remote backend (fed in
// random splits), policy JSON (schema + semantic checks + URL checks) and session transcript events.
// First input byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/agent/events.h"
#include "model/remote/sse_parser.h"
#include "policies/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      alltools::model::detail::SseParser parser;
      std::size_t events = 0, pos = 0, step = 1 + (data[0] >> 2);
      while (pos < input.size()) {
        const std::string_view piece = input.substr(pos, step);
        pos += piece.size();
        step = step * 7 % 61 + 1;
        if (!parser.feed(piece, [&](std::string_view d) {
              events += d.size() > 0;
              return true;
            }))
          break;
      }
      break;
    }
    case 1: {
      auto p = alltools::policies::parse_policy(input, "fuzz.json");
      if (p.ok()) {
        (void)p->check_url(input);
        (void)p->approval_for(input);
      }
      (void)alltools::policies::default_policy().check_url(input);
      break;
    }
    case 2: {
      const nlohmann::json j = nlohmann::json::parse(input, nullptr, false);
      if (!j.is_discarded()) {
        auto e = alltools::agent::event_from_json(j);
        if (e.ok()) (void)alltools::agent::event_to_json(*e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      break;
    }
  }
  return 0;
}
