// ApiError: an HTTP error answer in OpenAI's shape, {"error": {"message", "type", "param", "code"}}. Every failure
// the server answers (bad JSON, a field of the wrong type, a missing key, a full queue) is one of these; nothing a
// request sends reaches the client as a crash or an empty body.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace alltools::serve {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";  // | authentication_error | rate_limit_error | server_error ...
  std::string param;                           // the offending field ("messages[1].content"), "" if none
  std::string code;                            // optional machine-readable code ("context_length_exceeded")
  int retry_after_s = 0;                       // > 0: sent as Retry-After (429, 503)

  nlohmann::json body() const {
    nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return {{"error", e}};
  }
};

inline ApiError invalid_request(std::string message, std::string param = "") {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param), "", 0};
}

}  // namespace alltools::serve
