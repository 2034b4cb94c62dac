// The `cogview` Tool: {"prompt": "..."} → generate, save, answer with the cogview_result observation.
#include "tools/image/image_tool.h"

namespace alltools::tools::image {

namespace {
constexpr const char* kResultText = "CogView 已经生成并向用户展示了生成的图片。";  // glm4-protocol.md §4

class ImageTool final : public Tool {
 public:
  explicit ImageTool(ImageConfig config) : config_(std::move(config)) {
    spec_.name = "cogview";
    spec_.kind = ToolSpec::Kind::kBuiltin;
  }
  const ToolSpec& spec() const override { return spec_; }

  std::vector<Observation> invoke(const nlohmann::json& args, const ToolContext& ctx) override {
    if (!args.is_object() || !args.contains("prompt") || !args["prompt"].is_string()) {
      return {error_observation("cogview needs an English image description as its message.", "system_error")};
    }
    auto image = generate_image(config_, args["prompt"].get<std::string>(), ctx);
    if (!image.ok()) return {error_observation("Image generation failed: " + image.error().message, "system_error")};
    auto artifact = save_image(image.value(), ctx.session_dir);
    if (!artifact.ok()) return {error_observation("Image generation failed: " + artifact.error().message, "system_error")};
    Observation o;
    o.metadata = "cogview_result";
    o.text = kResultText;
    o.artifacts.push_back(std::move(artifact).value());
    return {o};
  }

 private:
  ImageConfig config_;
  ToolSpec spec_;
};
}  // namespace

std::unique_ptr<Tool> make_image_tool(ImageConfig config) { return std::make_unique<ImageTool>(std::move(config)); }

}  // namespace alltools::tools::image
