// Observations -> `<|observation|>{metadata}\n{text}` messages (../shared/docs/glm4-protocol.md §4). Tools build
// the metadata/text pairs (browser_result, quote_result [k†source], cogview_result, python output); this is the
// one place that turns them into conversation messages. Artifacts are for the user and are not rendered.
#pragma once

#include <span>
#include <vector>

#include "core/protocol/glm4/message.h"
#include "tools/tool.h"

namespace alltools::protocol::glm4 {

// Role::kObservation, metadata and text copied. An observation with empty text is dropped by the template (as
// every empty message is), so a tool with nothing to say should say so (e.g. python's "[No output]" is the
// tool's choice, not the protocol's).
Message observation_to_message(const tools::Observation& observation);
std::vector<Message> observations_to_messages(std::span<const tools::Observation> observations);

// Text GLM-4 was trained to see for an image in a python observation.
inline constexpr std::string_view kImagePlaceholder = "[Image]";
// Text of the cogview observation (metadata "cogview_result").
inline constexpr std::string_view kCogviewDoneText = "CogView 已经生成并向用户展示了生成的图片。";

}  // namespace alltools::protocol::glm4
