#pragma once
// Pieces every AI request flow shares (translated, passthrough, native, realtime, balanced):
// timing, templating sources, which upstream response headers reach the client, cost, payload
// redaction and the cloud-identity step (bearer token, SigV4). May touch: config, providers,
// upstream, http; never the session's internals.

#include "aiproxy/config/config.hpp"
#include "aiproxy/config/router.hpp"
#include "aiproxy/config/templating.hpp"
#include "aiproxy/core/error.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/http/downstream.hpp"
#include "aiproxy/json/usage.hpp"
#include "aiproxy/observability/request_record.hpp"
#include "aiproxy/plugins/runtime.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/stream/decoder.hpp"
#include "aiproxy/upstream/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aiproxy::plugins {

using flow_clock = std::chrono::steady_clock;

inline double ms_since(flow_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(flow_clock::now() - t0).count();
}

/// Values for $(headers.x), $(uri_captures.x) and $(query_params.x).
class request_template_source final : public config::template_source {
 public:
  request_template_source(const http::request_head& head, const config::route_match& match);
  std::optional<std::string_view> header(std::string_view name) const override;
  std::optional<std::string_view> uri_capture(std::string_view name) const override;
  std::optional<std::string_view> query_param(std::string_view name) const override;

 private:
  const http::request_head& head_;
  const config::route_match& match_;
  std::vector<std::pair<std::string, std::string>> query_;
};

/// The model configuration for this request: the configured one itself when it has no templates
/// (nothing copied), else a copy with $(...) resolved, kept in `holder`. A template that cannot
/// be resolved is the error.
result<const config::model_config*> resolved_model(const config::ai_proxy_config& conf,
                                                   const http::request_head& head,
                                                   const config::route_match& match,
                                                   std::optional<config::model_config>& holder);

/// Upstream response headers the client gets: everything but framing, cookies and
/// Content-Encoding (the body reaching the client is inflated), and Content-Type when the body is
/// rewritten.
header_list client_headers_from(const header_list& upstream, bool drop_content_type);
/// The same, keeping `upstream`'s own fields (no copies) when the caller is done with them.
header_list client_headers_from(header_list&& upstream, bool drop_content_type);

/// Whether a response Content-Type carries the stream framing expected.
bool is_event_stream(std::string_view content_type, stream::framing framing);

/// Kong's cost: (prompt * input_cost + completion * output_cost) / 1e6, 0 unless both are set.
double cost_of(const json::usage& u, const config::model_options& o);

/// The upstream body as it may be logged: an auth parameter placed in the body is redacted.
std::string loggable_request(const std::string& body, const config::auth_config& auth);

/// Waits `ms` milliseconds on the current executor (no-op for ms <= 0).
boost::asio::awaitable<void> sleep_ms(std::int64_t ms);

/// Content-Type and Cache-Control of an SSE response.
void add_stream_headers(header_list& h);

/// The cloud identity step, after translation and before sending: a bearer token fetched for
/// Vertex AI or Azure Entra ID, then AWS SigV4 over the final request when it asks for it.
/// needs_cloud_identity() tells whether it has anything to do, so that a hot path can skip the
/// coroutine (a frame allocated and resumed) for a request with neither.
bool needs_cloud_identity(const providers::upstream_request& up,
                          const config::ai_proxy_config& conf,
                          const worker_services& services) noexcept;
boost::asio::awaitable<result<void>> apply_cloud_identity(providers::upstream_request& up,
                                                          const config::ai_proxy_config& conf,
                                                          worker_services& services,
                                                          const upstream::timeouts& timeouts);

/// Answers the client with a non-2xx upstream answer: passed through as it came (status, headers,
/// body up to 4 MiB), or rewritten into OpenAI's error shape when `normalize` is given and can
/// (normalize_errors). Records the upstream latency and the error in `record`.
boost::asio::awaitable<void> pass_upstream_error(http::downstream& d, upstream::exchange& ex,
                                                 observability::request_record& record,
                                                 const providers::provider* normalize,
                                                 flow_clock::time_point sent_at);

/// "scheme://host[:port]/target" for the log record (default ports left out).
std::string upstream_uri_of(const providers::upstream_request& up);

}  // namespace aiproxy::plugins
