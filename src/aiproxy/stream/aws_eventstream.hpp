#pragma once
// AWS event stream framing (application/vnd.amazon.eventstream, Bedrock ConverseStream and
// InvokeModelWithResponseStream): the decoder, and an encoder for fake upstreams, tests and
// benchmarks. Pure: no I/O.

#include "aiproxy/stream/decoder.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace aiproxy::stream {

/// Decodes eventstream messages: 12-byte prelude (total length, headers length, prelude CRC32),
/// typed headers, payload, message CRC32; both CRCs are checked. Per message:
///   :message-type "event" (or absent): name = :event-type, data = payload, id empty;
///   :message-type "exception": name = :exception-type, data = payload, id = "exception";
///   :message-type "error": name = :error-code, data = :error-message, id = "error".
/// Fails on a CRC mismatch, impossible lengths, a message over `max_frame_bytes`, a malformed
/// header, or (at finish) a truncated message; after a failure every call returns the same error.
class aws_eventstream_decoder final : public decoder {
 public:
  static constexpr std::size_t prelude_bytes = 12;
  static constexpr std::size_t min_message_bytes = 16;
  static constexpr std::size_t max_header_bytes = 128 * 1024;

  explicit aws_eventstream_decoder(std::size_t max_frame_bytes = max_buffered_frame_bytes);

  result<void> feed(std::string_view bytes, std::vector<event>& out) override;
  result<void> finish(std::vector<event>& out) override;

 private:
  result<std::uint32_t> read_prelude(std::string_view prelude);
  result<void> decode_message(std::string_view message, std::vector<event>& out);
  error fail(std::string message);

  std::size_t max_frame_bytes_;
  std::string partial_;              // the message that has not fully arrived yet
  std::uint32_t partial_total_ = 0;  // its total length, once its prelude arrived
  std::optional<error> failure_;
};

/// Header value type codes of the eventstream encoding.
enum class aws_header_type : std::uint8_t {
  bool_true = 0,
  bool_false = 1,
  byte = 2,
  int16 = 3,
  int32 = 4,
  int64 = 5,
  byte_array = 6,
  string = 7,
  timestamp = 8,
  uuid = 9,
};

/// Appends one string-typed header (name up to 255 bytes, value up to 65535) to `headers`.
void append_aws_string_header(std::string& headers, std::string_view name, std::string_view value);

/// Appends one message with already encoded `headers` and `payload` to `out`, with its prelude
/// and both CRCs.
void append_aws_eventstream_message(std::string& out, std::string_view headers,
                                    std::string_view payload);

/// Appends an event message as Bedrock sends it: headers :event-type = `event_type`,
/// :content-type = application/json, :message-type = event.
void append_aws_eventstream_event(std::string& out, std::string_view event_type,
                                  std::string_view payload);

/// Appends an exception message as Bedrock sends one mid-stream (e.g. throttlingException):
/// headers :exception-type, :content-type = application/json, :message-type = exception.
void append_aws_eventstream_exception(std::string& out, std::string_view exception_type,
                                      std::string_view payload);

}  // namespace aiproxy::stream
