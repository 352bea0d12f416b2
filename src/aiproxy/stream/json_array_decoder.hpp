#pragma once
// The streamed JSON array decoder (Gemini streamGenerateContent without alt=sse). Pure.

#include "aiproxy/stream/decoder.hpp"

#include <optional>
#include <string>

namespace aiproxy::stream {

/// Emits the raw text of each top-level element of one JSON array, as soon as the element is
/// complete. Tracks strings, escapes and bracket nesting across feeds; checks the structure
/// (the stream opens with `[`, brackets match, no empty elements, nothing after the closing
/// `]` but whitespace) but leaves validating each element to its JSON parser. finish() fails if
/// the array never closed. Fails when one element grows past `max_frame_bytes` or nests deeper
/// than max_depth; after a failure every call returns the same error.
class json_array_decoder final : public decoder {
 public:
  static constexpr std::size_t max_depth = 512;

  explicit json_array_decoder(std::size_t max_frame_bytes = max_buffered_frame_bytes);

  result<void> feed(std::string_view bytes, std::vector<event>& out) override;
  result<void> finish(std::vector<event>& out) override;

 private:
  enum class state { before_array, before_element, in_element, done };

  error fail(std::string message);
  result<void> end_element(std::string_view tail, std::vector<event>& out);

  std::size_t max_frame_bytes_;
  state state_ = state::before_array;
  std::string element_;  // the part of the current element that arrived in earlier feeds
  std::string nesting_;  // open brackets of the current element: '[' or '{'
  bool in_string_ = false;
  bool escape_ = false;
  bool after_comma_ = false;  // the element being waited for follows a comma
  std::optional<error> failure_;
};

}  // namespace aiproxy::stream
