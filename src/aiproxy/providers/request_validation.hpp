#pragma once
// Checks a client's parsed body against the route type (Kong's request-format checks and 400
// messages) and resolves the model name. Pure: no I/O.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"

#include "aiproxy/json/top_level_index.hpp"

#include <boost/json/fwd.hpp>

#include <optional>

#include <string>
#include <string_view>

namespace aiproxy::providers {

/// What the gateway needs to know about a valid request.
struct request_info {
  std::string model;           // the client's `model`; empty when absent or null
  bool stream = false;         // the client's `stream`
  bool include_usage = false;  // the client's `stream_options.include_usage`
};

/// Validates `body` for route type `t`. Errors are 400s with Kong's messages:
/// `request body doesn't contain valid prompts`, `request matches multiple LLM request formats`,
/// `[llm/v1/chat] message format is not compatible with [llm/v1/completions] route type`, plus
/// clear messages for fields of the wrong type. A body is chat when `messages` is a non-empty
/// array, completions when `prompt` is a string (or an array of strings or token arrays, as
/// OpenAI accepts), embeddings when `input` is a non-empty string, array of strings, array of
/// integers or array of integer arrays.
result<request_info> validate_request(config::route_type t, const boost::json::value& body);

/// What json::index_top_level must look at for validate_indexed_request.
json::index_probes request_probes() noexcept;

/// The same checks from a top-level index (built with request_probes()) instead of a parsed
/// tree: the same result, or nullopt when the index cannot tell and the body must be parsed
/// (a route type other than chat, a `prompt` or `input` member, a key written twice).
std::optional<result<request_info>> validate_indexed_request(config::route_type t,
                                                             const json::top_level_index& body);

/// The model sent upstream: `configured` (already templated) when set, and then the client may
/// only repeat it; otherwise the client's. Errors: `cannot use own model - must be: X`,
/// `model parameter not found in request, nor in gateway configuration`.
result<std::string> resolve_model_name(std::string_view configured, std::string_view client);

}  // namespace aiproxy::providers
