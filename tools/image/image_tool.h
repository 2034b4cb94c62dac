// The `cogview` tool: text-to-image through a real image service, saved into the session folder.
//
// Backends (ImageConfig::backend): Zhipu CogView images API (POST {base}/images/generations, answer data[].url),
// OpenAI-compatible POST {base}/images/generations (LocalAI and others; answer data[].url or data[].b64_json),
// AUTOMATIC1111/Forge POST {base}/sdapi/v1/txt2img (answer images[] base64).
// The image is downloaded or decoded, checked to really be PNG/JPEG/WebP (magic bytes) within max_image_bytes,
// and written to <session_dir>/images/. The model gets the `cogview_result` observation
// ("CogView 已经生成并向用户展示了生成的图片。"); the user gets the file as an Artifact (path, mime, url).
// Keys come from the environment variable named in api_key_env, read at call time. HTTP 429 and 5xx are retried
// (max_retries, backoff); every failure is an error observation (metadata "system_error") naming what went wrong.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tools/tool.h"

namespace alltools::tools::image {

enum class Backend { kCogView, kOpenAI, kAutomatic1111 };

Result<Backend> parse_backend(std::string_view name);  // "cogview" | "openai" | "automatic1111" (alias "a1111", "sdapi")
std::string_view backend_name(Backend backend);

struct ImageConfig {
  Backend backend = Backend::kCogView;
  std::string base_url;      // empty: the backend's default (see default_base_url)
  std::string model;         // empty: "cogview-3-flash" / "dall-e-3" / none for A1111
  std::string api_key_env;   // empty: "ZHIPUAI_API_KEY" / "OPENAI_API_KEY" / none; an unset variable is no key
  std::string size = "1024x1024";
  std::string response_format;  // OpenAI only: "" (server default), "url" or "b64_json"
  std::chrono::milliseconds timeout{120'000};  // per HTTP request
  int max_retries = 2;                          // extra attempts on 429 / 5xx / connection failure
  std::chrono::milliseconds retry_backoff{1'000};  // doubled per retry; Retry-After (seconds) wins if larger
  std::size_t max_image_bytes = 20u << 20;      // decoded or downloaded image
  std::size_t max_response_bytes = 64u << 20;   // one HTTP response body (b64 JSON is larger than the image)
};

std::string default_base_url(Backend backend);

// Reads {"backend","base_url","model","api_key_env","size","response_format","timeout_ms","max_retries",
// "max_image_bytes"}; unknown keys are an error.
Result<ImageConfig> parse_image_config(const nlohmann::json& config);

struct GeneratedImage {
  std::vector<std::uint8_t> bytes;
  std::string mime;  // "image/png" | "image/jpeg" | "image/webp"
  std::string url;   // where it was downloaded from; empty for base64 answers
};

// Sniffs PNG/JPEG/WebP magic; an error names what the bytes look like instead (e.g. HTML).
Result<std::string> sniff_image_mime(const std::vector<std::uint8_t>& bytes);

// One generation, without saving: what the tool and `alltools image` use.
Result<GeneratedImage> generate_image(const ImageConfig& config, const std::string& prompt, const ToolContext& ctx);

// Writes the image under <session_dir>/images/ with a fresh name; returns the Artifact.
Result<Artifact> save_image(const GeneratedImage& image, const std::filesystem::path& session_dir);

// The tool named "cogview" (ToolSpec kind kBuiltin; its prompt text is prompts/'s verbatim cogview text).
std::unique_ptr<Tool> make_image_tool(ImageConfig config);

}  // namespace alltools::tools::image
