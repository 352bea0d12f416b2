#pragma once
// Reads an OpenAI-shaped `usage` object into json::usage. Pure, never fails: what cannot be
// read leaves usage.known false (analytics never break a response).

#include "aiproxy/json/usage.hpp"

#include <boost/json/fwd.hpp>

namespace aiproxy::json {

/// `v` is the value of a response's `usage` member ({prompt_tokens, completion_tokens,
/// total_tokens, prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens}).
/// total_tokens is the provider's own when given, else prompt + completion.
usage read_openai_usage(const boost::json::value& v) noexcept;

/// A JSON number that holds a non-negative integer (int64, uint64 or an integral double).
bool read_count(const boost::json::value& v, std::int64_t& out) noexcept;

}  // namespace aiproxy::json
