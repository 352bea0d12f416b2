#pragma once
// The newline-delimited JSON decoder (application/x-ndjson, Cohere and Ollama streams). Pure.

#include "aiproxy/stream/decoder.hpp"

#include <optional>
#include <string>

namespace aiproxy::stream {

/// One event per non-blank line; `data` is the line without surrounding whitespace (so CRLF is
/// tolerated). A last line without a newline is emitted by finish(). Fails when one line grows
/// past `max_frame_bytes`; after a failure every call returns the same error.
class ndjson_decoder final : public decoder {
 public:
  explicit ndjson_decoder(std::size_t max_frame_bytes = max_buffered_frame_bytes);

  result<void> feed(std::string_view bytes, std::vector<event>& out) override;
  result<void> finish(std::vector<event>& out) override;

 private:
  error fail(std::string message);
  static void emit(std::string_view line, std::vector<event>& out);

  std::size_t max_frame_bytes_;
  std::string line_;  // a line whose newline has not arrived yet
  std::optional<error> failure_;
};

}  // namespace aiproxy::stream
