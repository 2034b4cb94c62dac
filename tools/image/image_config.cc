// ImageConfig: backend names, defaults and parsing from the config file's "image" object.
#include "tools/image/image_tool.h"

namespace alltools::tools::image {

Result<Backend> parse_backend(std::string_view name) {
  if (name == "cogview" || name == "zhipu") return Backend::kCogView;
  if (name == "openai") return Backend::kOpenAI;
  if (name == "automatic1111" || name == "a1111" || name == "sdapi" || name == "forge") return Backend::kAutomatic1111;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown image backend '" + std::string(name) + "' (expected cogview, openai or automatic1111)");
}

std::string_view backend_name(Backend backend) {
  switch (backend) {
    case Backend::kCogView: return "cogview";
    case Backend::kOpenAI: return "openai";
    case Backend::kAutomatic1111: return "automatic1111";
  }
  return "?";
}

std::string default_base_url(Backend backend) {
  switch (backend) {
    case Backend::kCogView: return "https://open.bigmodel.cn/api/paas/v4";
    case Backend::kOpenAI: return "https://api.openai.com/v1";
    case Backend::kAutomatic1111: return "http://127.0.0.1:7860";
  }
  return "";
}

Result<ImageConfig> parse_image_config(const nlohmann::json& j) {
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "image config must be a JSON object");
  ImageConfig c;
  auto bad = [](const std::string& m) { return make_error(ErrorCode::kInvalidArgument, "image config: " + m); };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    auto str = [&](std::string* out) -> Status {
      if (!v.is_string()) return bad("'" + k + "' must be a string");
      *out = v.get<std::string>();
      return ok_status();
    };
    auto uint = [&](std::uint64_t* out) -> Status {
      if (!v.is_number_unsigned()) return bad("'" + k + "' must be a non-negative integer");
      *out = v.get<std::uint64_t>();
      return ok_status();
    };
    std::uint64_t n = 0;
    if (k == "backend") {
      std::string b;
      ALLTOOLS_RETURN_IF_ERROR(str(&b));
      ALLTOOLS_ASSIGN_OR_RETURN(c.backend, parse_backend(b));
    } else if (k == "base_url") {
      ALLTOOLS_RETURN_IF_ERROR(str(&c.base_url));
    } else if (k == "model") {
      ALLTOOLS_RETURN_IF_ERROR(str(&c.model));
    } else if (k == "api_key_env") {
      ALLTOOLS_RETURN_IF_ERROR(str(&c.api_key_env));
    } else if (k == "size") {
      ALLTOOLS_RETURN_IF_ERROR(str(&c.size));
    } else if (k == "response_format") {
      ALLTOOLS_RETURN_IF_ERROR(str(&c.response_format));
      if (!c.response_format.empty() && c.response_format != "url" && c.response_format != "b64_json") {
        return bad("'response_format' must be \"url\" or \"b64_json\"");
      }
    } else if (k == "timeout_ms") {
      ALLTOOLS_RETURN_IF_ERROR(uint(&n));
      if (n == 0) return bad("'timeout_ms' must be positive");
      c.timeout = std::chrono::milliseconds(n);
    } else if (k == "max_retries") {
      ALLTOOLS_RETURN_IF_ERROR(uint(&n));
      if (n > 10) return bad("'max_retries' must be at most 10");
      c.max_retries = static_cast<int>(n);
    } else if (k == "retry_backoff_ms") {
      ALLTOOLS_RETURN_IF_ERROR(uint(&n));
      c.retry_backoff = std::chrono::milliseconds(n);
    } else if (k == "max_image_bytes") {
      ALLTOOLS_RETURN_IF_ERROR(uint(&n));
      c.max_image_bytes = static_cast<std::size_t>(n);
    } else {
      return bad("unknown key '" + k + "'");
    }
  }
  return c;
}

}  // namespace alltools::tools::image
