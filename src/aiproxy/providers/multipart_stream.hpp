#pragma once
// An incremental multipart/form-data scanner (RFC 7578 framing of RFC 2046) for uploads relayed
// to the upstream as they arrive: fed the body in arbitrary pieces, it says which bytes may go on
// now, reports each part's name, keeps the values of a few small text fields (`model`, `stream`),
// detects malformed framing, and holds the closing delimiter back until the body ended, so that
// the caller can add fields before it or abort without the upstream ever getting a whole body.
// Pure: no I/O, no Asio. Part headers are read by read_multipart_disposition (openai_api_family).

#include "aiproxy/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::providers {

/// One part whose headers were read.
struct multipart_part {
  std::string name;   // the form field name (empty when the part has none)
  bool file = false;  // the part has a filename
};

class multipart_scanner {
 public:
  static constexpr std::size_t max_part_header_bytes = 8 * 1024;
  static constexpr std::size_t max_parts = 10000;
  static constexpr std::size_t max_preamble_bytes = 64 * 1024;
  static constexpr std::size_t max_epilogue_bytes = 64 * 1024;

  /// What became of one captured field.
  enum class field_state {
    absent,    // no part of that name ended yet
    reading,   // its part started and has not ended
    complete,  // value() holds it
    too_long,  // longer than max_value bytes (the value is not kept)
  };

  /// `boundary` as multipart_boundary() returns it; `captured`: names of the text fields whose
  /// values are kept (the first part of each name), up to `max_value` bytes each.
  multipart_scanner(std::string boundary, std::vector<std::string> captured,
                    std::size_t max_value = 256);

  /// Scans the next piece of the body (any split). Returns the bytes that may be forwarded now,
  /// as a view valid until the next call to feed() or finish(): everything scanned so far except
  /// what may still turn out to be a delimiter, part headers not yet complete, and the closing
  /// delimiter with what follows it. Errors (400 `request body is not valid
  /// multipart/form-data: …`): no delimiter where one must be, part headers over 8 KiB, more
  /// than 10000 parts, a preamble or epilogue over 64 KiB. After an error every call fails.
  result<std::string_view> feed(std::string_view piece);

  /// The body ended. Returns the bytes still held: the fields added with add_field() (each a
  /// part of its own, in order), then the closing delimiter and the epilogue as received.
  /// Error (400): the body ended before its closing delimiter.
  result<std::string_view> finish();

  /// Queues a text field to be sent before the closing delimiter (call before finish()).
  /// Returns false, queuing nothing, when `name` holds a quote, backslash, CR or LF, or `value`
  /// holds CR or LF.
  bool add_field(std::string_view name, std::string_view value);

  field_state state(std::string_view name) const noexcept;
  /// The value of captured field `name` once its part ended within max_value bytes; else null.
  const std::string* value(std::string_view name) const noexcept;

  /// Every part whose headers were read, in order.
  const std::vector<multipart_part>& parts() const noexcept { return parts_; }
  /// True once the closing delimiter was seen.
  bool closed() const noexcept { return stage_ == stage::closing; }
  bool failed() const noexcept { return stage_ == stage::failed; }
  /// Bytes returned by feed() and finish() so far.
  std::uint64_t released() const noexcept { return released_total_; }
  /// Bytes finish() will add for the fields queued with add_field().
  std::size_t added_bytes() const noexcept { return added_.size(); }

 private:
  enum class stage { preamble, after_delimiter, headers, content, closing, failed };

  struct capture {
    std::string name;
    field_state state = field_state::absent;
    std::string value;
  };

  result<void> scan();
  error fail(std::string_view why);
  void take_content(std::size_t end);
  void end_part();

  std::string boundary_;
  std::string dash_boundary_;  // "--" boundary
  std::string delimiter_;      // CRLF "--" boundary
  std::vector<capture> captures_;
  std::size_t max_value_ = 0;

  stage stage_ = stage::preamble;
  std::string error_;          // the failure, once failed
  std::string buf_;            // bytes not released yet; buf_[0, pos_) is scanned
  std::size_t pos_ = 0;        // scan position in buf_
  std::size_t give_ = 0;       // bytes at the front of buf_ handed out by the last call
  std::size_t hold_from_ = 0;  // closing: where the closing delimiter starts in buf_
  std::size_t header_search_ = 0;
  std::size_t delimiter_length_ = 0;  // after_delimiter: the delimiter's length (bare or not)
  bool at_start_ = true;              // nothing consumed yet: a delimiter may open the body bare
  bool bare_ = false;                 // the delimiter being read has no CRLF before it
  bool close_bare_ = false;           // the closing delimiter opened the body (no CRLF before it)
  bool finished_ = false;             // finish() returned the tail
  std::uint64_t consumed_ = 0;        // bytes of the body scanned
  std::uint64_t preamble_ = 0;
  capture* current_ = nullptr;  // the captured field whose content is being read
  std::vector<multipart_part> parts_;
  std::string added_;  // the parts add_field() queued, each led by CRLF
  std::string tail_;   // what finish() returns
  std::uint64_t released_total_ = 0;
};

}  // namespace aiproxy::providers
