#pragma once
// What one request leaves behind for logs and metrics, filled along the way by the handler and
// emitted exactly once. Plain data: no I/O, no Asio.

#include "aiproxy/core/headers.hpp"
#include "aiproxy/json/usage.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::observability {

/// Kong's `ai.proxy` log object (meta, usage, payload).
/// One attempt of a balanced (ai-proxy-advanced) request, in the order made.
struct tried_target {
  std::string provider;
  std::string model;
  std::string upstream_uri;
  int status = 0;       // the upstream's HTTP status; 0 when none came
  std::string outcome;  // "success", "http_<status>", "error", "timeout", "invalid_header"
  double latency_ms = 0;
};

struct ai_record {
  std::string plugin_id;
  std::string provider_name;
  std::string request_model;
  std::string response_model;
  std::string request_mode;  // "oneshot" | "stream" | "realtime"
  std::int64_t llm_latency_ms = 0;
  std::optional<double> time_to_first_token_ms;
  json::usage usage;
  double cost = 0;
  bool log_statistics = false;
  bool log_payloads = false;
  std::string request_payload;   // body sent upstream (secrets removed)
  std::string response_payload;  // body returned, or the assembled stream text
  std::string azure_instance_id;
  std::string azure_deployment_id;
  std::string azure_api_version;
  /// Why usage or the answer is incomplete (e.g. the upstream stream ended early), if so.
  std::string incomplete_reason;
  /// Image generation translated for Gemini or Bedrock: how many images came back (0: not one).
  std::size_t images = 0;
  /// ai-proxy-advanced: every target tried for this request (empty for ai-proxy).
  std::vector<tried_target> tried_targets;
};

/// The request's own fields (method, uri, host, client_ip, user_agent) are views into the request
/// head, and route_* and service_* into the config snapshot: both outlive the record, which is
/// emitted before the request's handler returns.
struct request_record {
  std::chrono::system_clock::time_point started_at;
  std::string_view method;
  std::string_view uri;  // path and query as received
  std::string_view host;
  std::string_view client_ip;
  std::string_view user_agent;                   // set only when the access log is written
  const header_list* request_headers = nullptr;  // the live request's; redacted when logged
  std::uint64_t request_size = 0;
  int status = 0;
  std::uint64_t response_size = 0;
  header_list response_headers;
  double request_latency_ms = 0;   // whole request, as the client saw it
  double upstream_latency_ms = 0;  // time waiting for and reading the upstream
  std::string_view route_id;
  std::string_view route_name;
  std::string_view service_id;
  std::string_view service_name;
  std::string upstream_uri;   // scheme://host:port/path?query sent upstream (secrets redacted)
  std::string error_message;  // gateway-made error, if any
  bool client_aborted = false;
  /// A log line will be written for this request. Fields only log lines show (upstream_uri,
  /// ai.plugin_id, secret_names) are filled in only then; metrics never read them.
  bool logged = false;
  std::optional<ai_record> ai;
  /// Header names and query parameter names whose values must never be logged.
  std::vector<std::string> secret_names;
};

}  // namespace aiproxy::observability
