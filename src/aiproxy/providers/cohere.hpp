#pragma once
// The Cohere translator: OpenAI chat → Cohere v2 chat (`/v2/chat`, SSE stream) or, when
// `model.options.upstream_url`'s path ends in `/v1/chat`, the v1 chat API (NDJSON stream);
// completions → `/v1/generate` (NDJSON stream); embeddings → `/v2/embed`; and Cohere's answers,
// stream events and error bodies back into OpenAI's shapes. Pure: no I/O, no clock.

#include "aiproxy/providers/provider.hpp"

#include <string_view>

namespace aiproxy::providers {

/// The process-wide cohere translator (stateless; per-call state lives in its stream translator).
const provider& cohere_provider();

/// OpenAI's `finish_reason` for a Cohere finish reason (v1 or v2 spelling): COMPLETE,
/// STOP_SEQUENCE, USER_CANCEL → stop; MAX_TOKENS, ERROR_LIMIT, TIMEOUT → length; TOOL_CALL →
/// tool_calls; ERROR_TOXIC → content_filter; anything else → stop. (ERROR never gets here: the
/// translator reports it as an upstream error.)
std::string_view cohere_finish_reason(std::string_view cohere);

}  // namespace aiproxy::providers
