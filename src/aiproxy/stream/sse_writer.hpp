#pragma once
// The one SSE writer: appends text/event-stream frames to a caller-owned buffer. Pure.

#include <string>
#include <string_view>

namespace aiproxy::stream {

/// Appends "data: <line>\n" for each line of `data`, then "\n". LF, CR and CRLF inside `data`
/// all start a new data line (so a decoder gives back `data` with its line ends as LF).
void write_sse_data(std::string& out, std::string_view data);

/// Appends "event: <name>\n", then `data` as write_sse_data does. A line end in `name` would
/// break the framing, so `name` is cut at its first CR or LF.
void write_sse_event(std::string& out, std::string_view name, std::string_view data);

/// Appends "data: [DONE]\n\n", the end marker of OpenAI-style streams.
void write_sse_done(std::string& out);

/// Appends ": <text>\n\n", a comment (keep-alive) that decoders ignore; `text` is cut at its
/// first CR or LF.
void write_sse_comment(std::string& out, std::string_view text);

}  // namespace aiproxy::stream
