#pragma once
// The ai-proxy plugin's request flow: read and validate the body, resolve templates and model,
// translate, call the provider (or the built-in mock), translate back or stream, and fill the
// request's log record. The stages are exposed so ai-proxy-advanced can prepare a request once and
// attempt it on several targets.

#include "aiproxy/config/config.hpp"
#include "aiproxy/config/router.hpp"
#include "aiproxy/http/downstream.hpp"
#include "aiproxy/observability/request_record.hpp"
#include "aiproxy/plugins/runtime.hpp"
#include "aiproxy/providers/request_validation.hpp"
#include "aiproxy/upstream/client.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::plugins {

struct ai_proxy_call {
  const config::ai_proxy_config& conf;
  const std::string& plugin_id;
  const config::route_match& match;
  upstream::timeouts timeouts;
};

boost::asio::awaitable<void> run_ai_proxy(http::downstream& d, const ai_proxy_call& call,
                                          worker_services& services,
                                          observability::request_record& record);

// ------------------------------------------------------------------ stages

/// A request read, checked and validated once, whatever target answers it. A chat request for
/// an OpenAI-compatible provider is checked from an index of its body (json/top_level_index.hpp)
/// and parsed only if something asks for the parsed body.
struct prepared_request {
  std::string_view body;  // owned by the downstream
  std::optional<json::top_level_index> index;
  providers::request_info info;
  bool stream = false;  // after the streaming policy

  /// The parsed body (a valid JSON object: prepare_request checked it), parsed on first use.
  const boost::json::object& object() const;

  /// The parse arena, sized from the body (one block for a typical request).
  mutable std::unique_ptr<boost::json::monotonic_resource> arena;
  mutable std::optional<boost::json::value> parsed;  // in `arena`
};

/// Why an attempt did not answer the client. Nothing was sent to the client.
struct attempt_failure {
  error err;  // the gateway error for the client when no upstream answer is passed through
  upstream_failure kind = upstream_failure::none;
  bool request_sent = false;  // the upstream may have seen the request
  int upstream_status = 0;    // non-2xx answer from the upstream (0: none)
  header_list upstream_headers;
  std::string upstream_body;

  /// The config::failover bit this failure matches (0: none, never retried).
  std::uint32_t criterion() const;
};

struct attempt_options {
  /// A failure of the stream before its first byte is handed back instead of ending the stream.
  bool may_retry = false;
  /// The target's configured model replaces the client's instead of refusing a different one.
  bool target_model_wins = false;
};

/// Fills the plugin-level fields of record.ai and the secret names to redact.
void begin_ai_record(const config::ai_proxy_config& conf, const std::string& plugin_id,
                     observability::request_record& record);

/// Body, parse, Kong's validation and the streaming policy of `conf`.
boost::asio::awaitable<result<prepared_request>> prepare_request(
    http::downstream& d, const config::ai_proxy_config& conf,
    observability::request_record& record);

/// The same when the body has already arrived whole (downstream::held_body), without a
/// coroutine; nullopt when it has not, and then prepare_request() is the way.
std::optional<result<prepared_request>> prepare_held_request(http::downstream& d,
                                                             const config::ai_proxy_config& conf,
                                                             observability::request_record& record);

/// One target: templates, model, translation, identity, the upstream call, and the answer to the
/// client. nullopt: the client got an answer (or went away). A failure: nothing was sent.
boost::asio::awaitable<std::optional<attempt_failure>> attempt_target(
    http::downstream& d, const config::ai_proxy_config& conf, const config::route_match& match,
    const prepared_request& p, const upstream::timeouts& timeouts, worker_services& services,
    observability::request_record& record, const attempt_options& opts);

/// Sends a failure to the client: the upstream's own answer passed through, or the gateway error.
boost::asio::awaitable<void> deliver_failure(http::downstream& d, attempt_failure failure,
                                             observability::request_record& record);

}  // namespace aiproxy::plugins
