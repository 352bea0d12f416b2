#pragma once
// The Anthropic translator: OpenAI chat → Messages API (/v1/messages), OpenAI completions →
// the legacy Text Completions API (/v1/complete), responses and SSE streams back to OpenAI's
// shapes, Anthropic error bodies → OpenAI's error shape. Anthropic has no embeddings API.
// Pure: no I/O. Touches nothing outside the providers seam.

#include "aiproxy/providers/provider.hpp"

#include <cstdint>
#include <string_view>

namespace aiproxy::providers {

/// The process-wide anthropic translator (stateless; per-call state lives in its stream
/// translator).
const provider& anthropic_provider();

/// Anthropic has no JSON-mode flag: `response_format` json_object/json_schema is emulated with
/// a tool of this name whose input_schema is the wanted schema, forced through tool_choice. Its
/// input comes back to the client as the message content (a JSON string), finish_reason "stop".
/// The name is reserved: a client tool with this name is a 400.
inline constexpr std::string_view anthropic_json_tool = "aiproxy_json_response";

/// `max_tokens` is required by Anthropic; sent when neither the client nor the config set one.
inline constexpr std::int64_t anthropic_default_max_tokens = 4096;

/// `anthropic-version` sent when model.options.anthropic_version is empty.
inline constexpr std::string_view anthropic_default_version = "2023-06-01";

/// OpenAI's finish_reason for an Anthropic `stop_reason` (Messages and legacy Complete):
/// end_turn, stop_sequence, pause_turn → stop; max_tokens, model_context_window_exceeded →
/// length; tool_use → tool_calls (stop when only the JSON-mode tool was called);
/// refusal → content_filter; anything else → stop.
std::string_view anthropic_finish_reason(std::string_view stop_reason, bool client_tool_calls);

/// OpenAI's error `type` for an Anthropic error type (`invalid_request_error`,
/// `authentication_error`, `permission_error`, `not_found_error`, `rate_limit_error` keep their
/// name; `api_error`, `overloaded_error`, `timeout_error` → server_error; others by `status`).
std::string_view anthropic_error_type_to_openai(std::string_view anthropic_type, int status);

}  // namespace aiproxy::providers
