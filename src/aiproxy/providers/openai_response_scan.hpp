#pragma once
// Reads what the gateway records from a whole OpenAI-shaped response (model, first
// finish_reason, usage) in one hand-written validating pass, without building a DOM:
// OpenAI-compatible responses go to the client byte for byte, so the tree would be thrown away.
// Accepts exactly what Boost.JSON's parser accepts (with invalid UTF-8 allowed). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

#include <string_view>

namespace aiproxy::providers {

struct openai_response_scan {
  response_summary summary;
  bool is_object = false;    // the document is a JSON object
  bool has_payload = false;  // its top-level `payload_field` is an array
};

/// Scans `body`, which must be one valid JSON document (nullopt otherwise; invalid UTF-8 inside
/// strings is let through; at most 32 nested containers, as Boost.JSON's default). `payload_field`
/// is "choices" or "data". Reads top-level `model` (non-empty string), the first string
/// `choices[i].finish_reason`, and `usage` as json::read_openai_usage does.
std::optional<openai_response_scan> scan_openai_response(std::string_view body,
                                                         std::string_view payload_field);

}  // namespace aiproxy::providers
