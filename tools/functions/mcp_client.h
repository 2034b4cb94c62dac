// McpClient: a Model Context Protocol client over stdio (JSON-RPC 2.0, one JSON message per line).
// It starts the server process (own process group, clean environment), runs initialize /
// notifications/initialized, lists tools (following nextCursor), calls tools, and on a call's deadline or
// cancellation sends notifications/cancelled. Server requests it cannot serve get JSON-RPC error -32601
// (ping gets {}). Thread-safe: calls from several threads are multiplexed by request id. If the server
// exits, pending and later calls fail with kUnavailable. The destructor closes stdin, then kills the group.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tools/functions/function_registry.h"

namespace alltools::tools::functions {

struct McpToolInfo {
  std::string name;
  std::string description;
  nlohmann::ordered_json input_schema;
};

// The outcome of tools/call: its content rendered as text (text parts joined by newlines, images and
// resources summarised), and the server's isError flag.
struct McpCallResult {
  std::string text;
  bool is_error = false;
};

class McpClient {
 public:
  // Spawns the server and completes the initialize handshake within config.startup_timeout.
  static Result<std::shared_ptr<McpClient>> start(const McpServerConfig& config);
  ~McpClient();
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  const std::string& name() const;
  const nlohmann::json& server_info() const;  // initialize result "serverInfo"

  Result<std::vector<McpToolInfo>> list_tools();
  // Deadline: the sooner of `deadline` and now + config.call_timeout. `cancel` may be null.
  Result<McpCallResult> call_tool(const std::string& tool, const nlohmann::json& arguments,
                                  std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* cancel);

  // A raw request (for tests and future methods).
  Result<nlohmann::json> request(const std::string& method, const nlohmann::json& params,
                                 std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* cancel);

  struct Impl;

 private:
  explicit McpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace alltools::tools::functions
