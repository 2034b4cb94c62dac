#include "core/protocol/glm4/observation.h"

namespace alltools::protocol::glm4 {

Message observation_to_message(const tools::Observation& observation) {
  return observation_message(observation.metadata, observation.text);
}

std::vector<Message> observations_to_messages(std::span<const tools::Observation> observations) {
  std::vector<Message> out;
  out.reserve(observations.size());
  for (const auto& o : observations) out.push_back(observation_to_message(o));
  return out;
}

}  // namespace alltools::protocol::glm4
