#pragma once
// The Gemini translator: Google AI Studio (generativelanguage.googleapis.com, v1beta) and Vertex
// AI (model.options.gemini api_endpoint/project_id/location_id). OpenAI chat, completions and
// embeddings requests become generateContent / streamGenerateContent / batchEmbedContents (or
// Vertex predict) calls; GenerateContentResponse bodies and streams (SSE or JSON array) become
// OpenAI responses and chunks; Google error bodies become OpenAI errors. Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace aiproxy::providers {

/// The process-wide gemini translator (stateless; per-call state lives in its stream translator).
const provider& gemini_provider();

/// OpenAI's finish_reason for a Gemini `finishReason`: STOP → stop (tool_calls when the candidate
/// called functions), MAX_TOKENS → length, the safety family (SAFETY, RECITATION, BLOCKLIST,
/// PROHIBITED_CONTENT, SPII, IMAGE_SAFETY, …) → content_filter, anything else → stop. Empty in,
/// empty out.
std::string_view gemini_finish_reason(std::string_view reason, bool has_tool_calls);

/// Usage from a Gemini `usageMetadata` object: prompt = promptTokenCount (+
/// toolUsePromptTokenCount), completion = candidatesTokenCount + thoughtsTokenCount, reasoning =
/// thoughtsTokenCount, cached = cachedContentTokenCount, total = totalTokenCount (else the sum).
json::usage gemini_usage(const boost::json::object& usage_metadata);

/// The id given to the `index`-th function call of a response that carries no `id`: "call_"
/// plus the gateway's response id without its "chatcmpl-" prefix, "_", the index.
std::string gemini_tool_call_id(std::string_view response_id, int index);

}  // namespace aiproxy::providers
