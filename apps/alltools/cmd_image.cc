// `alltools image "a prompt"`: one text-to-image generation through the configured backend, saved to disk.
// Prints the saved file's path (and the source URL when the backend answered with one).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "apps/alltools/command.h"
#include "tools/image/image_tool.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools image \"PROMPT\" [--backend cogview|openai|automatic1111] [--base-url URL]\n"
               "                      [--model NAME] [--size WxH] [--key-env VAR] [--response-format url|b64_json]\n"
               "                      [--timeout-ms N] [--retries N] [--config FILE] [--out DIR]\n\n"
               "Generates one image and saves it as DIR/images/cogview-<time>-<n>.{png,jpg,webp} (DIR default: .).\n"
               "  --backend B   cogview (Zhipu, default; key from ZHIPUAI_API_KEY), openai (any /v1/images/generations\n"
               "                server; key from OPENAI_API_KEY), automatic1111 (/sdapi/v1/txt2img, default\n"
               "                http://127.0.0.1:7860)\n"
               "  --config FILE a JSON file with an \"image\" object (keys as in the flags: backend, base_url, model,\n"
               "                size, api_key_env, response_format, timeout_ms, max_retries); flags override it\n"
               "Exit status: 0 saved, 1 generation failed, 2 bad usage.\n");
}

int run_image(int argc, char** argv) {
  using namespace alltools::tools::image;
  std::string prompt, out_dir = ".", config_file;
  nlohmann::json overrides = nlohmann::json::object();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&] { return alltools::app::flag_value(argc, argv, i, "image"); };
    auto set = [&](const char* key, bool number = false) -> bool {
      const char* v = value();
      if (!v) return false;
      if (number) {
        char* end = nullptr;
        unsigned long long n = std::strtoull(v, &end, 10);
        if (*v == '\0' || *end != '\0') {
          std::fprintf(stderr, "image: %s needs a number\n", arg.c_str());
          return false;
        }
        overrides[key] = n;
      } else {
        overrides[key] = v;
      }
      return true;
    };
    bool ok = true;
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "--backend") ok = set("backend");
    else if (arg == "--base-url") ok = set("base_url");
    else if (arg == "--model") ok = set("model");
    else if (arg == "--size") ok = set("size");
    else if (arg == "--key-env") ok = set("api_key_env");
    else if (arg == "--response-format") ok = set("response_format");
    else if (arg == "--timeout-ms") ok = set("timeout_ms", true);
    else if (arg == "--retries") ok = set("max_retries", true);
    else if (arg == "--config" || arg == "--out") {
      const char* v = value();
      if (!v) return 2;
      (arg == "--config" ? config_file : out_dir) = v;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "image: unknown option '%s'\n\n", arg.c_str());
      usage(stderr);
      return 2;
    } else if (prompt.empty()) {
      prompt = arg;
    } else {
      prompt += " " + arg;
    }
    if (!ok) return 2;
  }
  if (prompt.empty()) {
    usage(stderr);
    return 2;
  }
  nlohmann::json merged = nlohmann::json::object();
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json file = nlohmann::json::parse(ss.str(), nullptr, false);
    if (!in || file.is_discarded() || !file.is_object()) {
      std::fprintf(stderr, "image: cannot read JSON config %s\n", config_file.c_str());
      return 2;
    }
    merged = file.contains("image") ? file["image"] : file;
  }
  merged.update(overrides);
  auto config = parse_image_config(merged);
  if (!config.ok()) {
    std::fprintf(stderr, "image: %s\n", config.error().message.c_str());
    return 2;
  }
  alltools::tools::ToolContext ctx;
  ctx.session_dir = out_dir;
  ctx.progress = [](const std::string& line) { std::fprintf(stderr, "image: %s\n", line.c_str()); };
  auto image = generate_image(config.value(), prompt, ctx);
  if (!image.ok()) {
    std::fprintf(stderr, "image: %s\n", image.error().message.c_str());
    return 1;
  }
  auto saved = save_image(image.value(), out_dir);
  if (!saved.ok()) {
    std::fprintf(stderr, "image: %s\n", saved.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", saved.value().path.c_str());
  if (!saved.value().url.empty()) std::printf("url: %s\n", saved.value().url.c_str());
  return 0;
}

}  // namespace

ALLTOOLS_COMMAND("image", "generate one image with the text-to-image backend (CogView, OpenAI-compatible, A1111)",
                 run_image);
