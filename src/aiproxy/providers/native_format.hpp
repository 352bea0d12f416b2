#pragma once
// Native formats (llm_format anthropic, gemini, bedrock, cohere, huggingface): mapping a client's
// own-API request (method, stripped path, query, headers, body) to the provider's operation, the
// model, the stream flag and the upstream request (provider host or upstream_url, model checked
// or filled in, auth injected, client credentials dropped, SigV4 scope for Bedrock); and reading
// usage, cost inputs and the response model back from native responses and native streams, by
// reusing the provider translators with their output discarded. Pure: no I/O, no Asio, no clock.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/stream/decoder.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::providers {

/// The native operations a native-format route serves.
enum class native_operation {
  anthropic_messages,       // POST /v1/messages (SSE when body.stream)
  anthropic_count_tokens,   // POST /v1/messages/count_tokens (no usage to log)
  gemini_generate,          // …/models/{m}:generateContent
  gemini_stream_generate,   // …/models/{m}:streamGenerateContent (SSE with alt=sse, else array)
  gemini_count_tokens,      // …/models/{m}:countTokens (no usage to log)
  bedrock_converse,         // /model/{id}/converse
  bedrock_converse_stream,  // /model/{id}/converse-stream (eventstream)
  bedrock_invoke,           // /model/{id}/invoke (model-native body)
  bedrock_invoke_stream,    // /model/{id}/invoke-with-response-stream (eventstream of chunks)
  cohere_chat_v2,           // /v2/chat (SSE when body.stream)
  cohere_chat_v1,           // /v1/chat (NDJSON when body.stream)
  huggingface_chat,         // …/v1/chat/completions (SSE when body.stream)
};

std::string_view to_string(native_operation op);

/// What the client sent, as the native mapping reads it.
struct native_client_request {
  std::string_view method;
  std::string_view path;   // route_match::upstream_path: percent-encoded, starts with '/'
  std::string_view query;  // raw query string, without '?'
  const header_list& headers;
  std::string_view body;
};

/// One mapped native call.
struct native_call {
  config::provider_kind provider = config::provider_kind::openai;
  native_operation op = native_operation::anthropic_messages;
  std::string client_model;  // the model the client named (URL or body); may be empty
  std::string model;         // the model sent upstream
  bool stream = false;       // the call streams (URL operation, alt=sse or body.stream)
  upstream_request request;  // ready for apply_cloud_identity (SigV4 scope set for Bedrock)
  /// True when the operation answers with token usage worth logging.
  bool has_usage = true;
};

/// Maps a native request. `model_cfg` is the route's model block with templates resolved.
/// Errors are 400s: an unknown operation for the format, a body that is not a JSON object, a
/// client model that differs from the configured one (`cannot use own model - must be: X`), no
/// model at all, or streaming on a route with response_streaming deny; 500 for a configuration
/// the mapping cannot use (bad upstream_url, Bedrock without a region).
result<native_call> map_native_request(const native_client_request& req,
                                       const config::ai_proxy_config& conf,
                                       const config::model_config& model_cfg);

/// The framing of a native stream answered with `content_type` (SSE, Gemini's JSON array,
/// Cohere v1 NDJSON, AWS eventstream); framing::none when it is not a stream this call reads.
stream::framing native_stream_framing(const native_call& call, std::string_view content_type);

/// Usage and response model of a whole native 2xx body (and its headers: Bedrock InvokeModel
/// reports tokens in X-Amzn-Bedrock-*-Token-Count). Unknown usage when nothing is readable.
response_summary native_response_summary(const native_call& call,
                                         const config::ai_proxy_config& conf, std::string_view body,
                                         const header_list& headers);

/// Reads usage from a native stream's bytes as they are relayed: decodes the framing and hands
/// the events to the provider's stream translator (its client output discarded) or, for
/// InvokeModelWithResponseStream, to a small reader of Bedrock's invocation metrics. Never fails
/// the stream: a framing or translation error stops the reading and is kept in failure().
class native_usage_stream {
 public:
  virtual ~native_usage_stream() = default;
  /// The next bytes of the body, split anywhere.
  virtual void feed(std::string_view bytes) = 0;
  /// The body ended.
  virtual void finish() = 0;
  virtual const response_summary& summary() const = 0;
  /// Assistant text seen (when the translator tracks it, i.e. with log_payloads).
  virtual std::string_view text() const = 0;
  virtual const std::optional<error>& failure() const = 0;
};

/// A reader for one streamed call; `framing` from native_stream_framing() (not none).
std::unique_ptr<native_usage_stream> make_native_usage_stream(const native_call& call,
                                                              const config::ai_proxy_config& conf,
                                                              stream::framing framing);

}  // namespace aiproxy::providers
