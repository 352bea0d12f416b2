#pragma once
// The built-in `mock` provider: deterministic OpenAI-shaped answers computed from the request,
// with no network, no clock and no randomness (id and created are passed in). Used for demos,
// load tests and the e2e suite. Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::providers {

/// One mock answer. Non-stream calls fill `body`; streamed calls fill `chunks`, each a complete
/// client SSE event ("data: ...\n\n"), the last one "data: [DONE]\n\n".
struct mock_reply {
  std::string body;
  std::vector<std::string> chunks;
  response_summary summary;
};

/// Answers `req` (validated for t.conf.route_type) as t.model would:
/// - chat: `model.options.mock.reply`, or "Mock reply to: <last user text, first 200 chars>";
///   with `tools` (tool_choice not "none") and a user message last, a call to the named or first
///   tool with arguments built from its JSON schema (finish_reason tool_calls); after a `tool`
///   message, a reply quoting the tool result;
/// - completions: the same text in `text`;
/// - embeddings: a deterministic unit vector per input (8 dims, or `dimensions`), as floats or
///   base64 float32 (`encoding_format: base64`).
/// Usage counts whitespace-separated words: prompt = the request's texts, completion = the
/// reply. Streams: a role chunk, one chunk per word, a finish chunk, the usage chunk when
/// t.client_wants_usage, then [DONE]. Every response and chunk carries id, object, created and
/// model.
mock_reply make_mock_reply(const client_request& req, const target& t, std::string_view id,
                           std::int64_t created);

}  // namespace aiproxy::providers
