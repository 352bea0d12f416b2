#pragma once
// The text/event-stream decoder (WHATWG HTML "event stream interpretation"). Pure: no I/O.
// Only the stream library implements it; everyone else gets it through make_decoder().

#include "aiproxy/stream/decoder.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace aiproxy::stream {

/// Decodes an event stream as the WHATWG spec says: LF, CR and CRLF line ends (a CRLF split
/// across two feeds is one line end), one optional UTF-8 BOM at the start, `:` comments,
/// `data` lines joined with "\n", `event`, `id` (kept across events, ignored when it holds NUL),
/// `retry` and unknown fields ignored, dispatch on a blank line, no event without data.
/// A partial event when the stream ends is discarded. Fails when one line or one event's data
/// grows past `max_frame_bytes`; after a failure every call returns the same error.
class sse_decoder final : public decoder {
 public:
  explicit sse_decoder(std::size_t max_frame_bytes = max_buffered_frame_bytes);

  result<void> feed(std::string_view bytes, std::vector<event>& out) override;
  result<void> finish(std::vector<event>& out) override;

 private:
  result<void> feed_lines(std::string_view bytes, std::vector<event>& out);
  result<void> on_line(std::string_view line, std::vector<event>& out);
  void dispatch(std::vector<event>& out);
  error fail(std::string message);

  std::size_t max_frame_bytes_;
  std::string line_;           // a line whose end has not arrived yet
  std::string data_;           // the data buffer, without the spec's trailing LF
  std::string event_type_;     // the event type buffer
  std::string last_event_id_;  // the last event ID buffer (persists across events)
  bool has_data_ = false;      // at least one data line since the last dispatch
  bool skip_lf_ = false;       // the previous feed ended in CR: a leading LF belongs to it
  bool bom_checked_ = false;
  std::uint8_t bom_matched_ = 0;
  std::optional<error> failure_;
};

}  // namespace aiproxy::stream
