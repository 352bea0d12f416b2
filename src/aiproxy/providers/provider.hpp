#pragma once
// The one interface every provider translator implements, and the registry that picks one.
// Translators are pure: bytes and JSON in, bytes and JSON out. No Asio, no clock, no globals.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/json/top_level_index.hpp"
#include "aiproxy/json/usage.hpp"
#include "aiproxy/stream/event.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::providers {

/// What the client sent, as a translator may read it. The body has been validated for the
/// route type (see request_validation.hpp) and is never modified.
struct client_request {
  const boost::json::object& body;
  const header_list& headers;
  std::string_view query;  // raw query string, without '?'
  /// The text `body` was parsed from, when the caller has it: a translator that only adds
  /// fields may send it as it came (json::write_edited_object). Empty: always rewritten.
  std::string_view raw = {};
};

/// A client's request whose body was indexed (json/top_level_index.hpp), not parsed.
struct indexed_request {
  const json::top_level_index& body;  // valid JSON object, no key written twice
  const header_list& headers;
  std::string_view query;  // raw query string, without '?'
  std::string_view raw;    // the text `body` indexes
};

/// Where and how this call goes: the plugin config with templates already resolved.
struct target {
  const config::ai_proxy_config& conf;
  const config::model_options& options;  // resolved copy of conf.model.options
  std::string model;                     // resolved model name sent upstream
  bool stream = false;                   // effective streaming mode for this call
  bool client_wants_usage = false;       // client set stream_options.include_usage
  /// Unix seconds of this call, for the `created` field of responses whose provider sends none.
  std::int64_t created = 0;
  /// A gateway-made id (`chatcmpl-…`) for responses whose provider sends none.
  std::string_view id;
};

/// AWS Signature Version 4 the gateway applies to an upstream request after translation, with
/// credentials and the clock it owns (see upstream/sigv4.hpp). Translators only name the scope.
struct aws_signing {
  std::string region;
  std::string service;  // "bedrock"
};

/// A fully built upstream HTTP request.
struct upstream_request {
  std::string method = "POST";
  std::string scheme = "https";  // http | https
  std::string host;
  std::uint16_t port = 443;
  std::string target = "/";  // origin-form: path plus optional "?query"
  std::string host_header;   // Host sent upstream; empty = host[:port] (a route's preserve_host)
  header_list headers;
  std::string body;
  stream::framing framing = stream::framing::none;  // framing expected when streaming
  /// A stream answered with `application/json` is decoded as a JSON array of events instead
  /// (Gemini streams without `alt=sse`).
  bool json_array_stream_ok = false;
  /// Set when the request must be signed with AWS SigV4 before it is sent.
  std::optional<aws_signing> aws_sigv4;
};

/// What the gateway learnt from a response, for logs, metrics and cost.
struct response_summary {
  json::usage usage;
  std::string response_model;
  std::string finish_reason;
};

/// A translated non-streamed 2xx response.
struct translated_response {
  /// Replacement body for the client; empty optional = send the upstream bytes unchanged.
  std::optional<std::string> body;
  response_summary summary;
};

/// Per-request state machine turning decoded upstream events into client SSE bytes.
class stream_translator {
 public:
  virtual ~stream_translator() = default;
  /// Called once per decoded upstream event, in order. Appends zero or more complete client SSE
  /// events to `out`. An error ends the stream; the caller sends it as an error event.
  virtual result<void> on_event(const stream::event& ev, std::string& out) = 0;
  /// Called once when the upstream body ended. Appends the closing events (`data: [DONE]`) to
  /// `out`, or returns an error when the upstream stream ended before its terminal event.
  virtual result<void> finish(std::string& out) = 0;
  /// Usage, model and finish reason seen so far; complete after finish().
  virtual const response_summary& summary() const = 0;
  /// The assistant text seen so far (for payload logging), when the translator tracks it.
  virtual std::string_view text() const { return {}; }
};

class provider {
 public:
  virtual ~provider() = default;
  /// Builds the upstream request: URL, headers (auth included), body.
  virtual result<upstream_request> to_upstream(const client_request& req,
                                               const target& t) const = 0;
  /// The same request from an indexed body, for translators that forward the client's body
  /// with a few top-level edits. nullopt: this translator, or this request, needs the parsed
  /// body; the caller parses it and calls to_upstream.
  virtual std::optional<result<upstream_request>> to_upstream_indexed(const indexed_request&,
                                                                      const target&) const {
    return std::nullopt;
  }
  /// Translates a non-streamed 2xx upstream body for the client. Never called for errors,
  /// which pass through unchanged.
  virtual result<translated_response> from_upstream(std::string_view body,
                                                    const target& t) const = 0;
  /// A fresh stream translator for one streamed call.
  virtual std::unique_ptr<stream_translator> make_stream_translator(const target& t) const = 0;
  /// The provider's non-2xx error body in OpenAI's shape,
  /// `{"error":{"message","type","param","code"}}`, for routes that normalize errors. nullopt =
  /// send the body unchanged (it already is OpenAI-shaped, or it is not recognisable).
  virtual std::optional<std::string> openai_error(int status, std::string_view body) const {
    return std::nullopt;
  }
};

/// The translator for a provider kind (one switch). `mock` answers locally; see mock.hpp.
const provider& provider_for(const config::ai_proxy_config& conf);

}  // namespace aiproxy::providers
