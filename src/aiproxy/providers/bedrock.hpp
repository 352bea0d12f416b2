#pragma once
// The AWS Bedrock translator: OpenAI chat and completions <-> the Converse / ConverseStream API
// (`/model/{model}/converse[-stream]`, AWS eventstream framing), embeddings <-> InvokeModel
// (`/model/{model}/invoke`, Titan and Cohere embedding bodies), Bedrock errors -> OpenAI shape.
// The translator only names the SigV4 scope (region, "bedrock"); the gateway signs (see
// upstream/sigv4.hpp). Pure: no I/O, no clock.
//
// Mapping decisions (beyond Kong's, whose defects are fixed):
// - `response_format` json_schema -> `outputConfig.textFormat` (Converse structured output);
//   json_object -> a forced tool named `aiproxy_json_response` whose input is returned as the
//   message content with finish_reason `stop` (so it cannot be combined with client tools).
// - `top_k` -> `additionalModelRequestFields.top_k` (the Anthropic/Llama/Mistral field name).
// - `user` -> `requestMetadata.user`; `seed`, `n` > 1, logprobs, penalties, logit_bias -> 400.
// - `prompt_tokens` = inputTokens + cacheReadInputTokens + cacheWriteInputTokens (OpenAI counts
//   cached prompt tokens in prompt_tokens); `cached_tokens` = cacheReadInputTokens.

#include "aiproxy/providers/provider.hpp"

#include <string_view>

namespace aiproxy::providers {

/// The process-wide bedrock translator (stateless; per-call state lives in its stream translator).
const provider& bedrock_provider();

/// Name of the tool that emulates `response_format: json_object`; client tools may not use it.
inline constexpr std::string_view bedrock_json_tool_name = "aiproxy_json_response";

}  // namespace aiproxy::providers
