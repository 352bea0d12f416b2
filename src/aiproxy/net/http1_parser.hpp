#pragma once
// The gateway's HTTP/1.1 message parser (RFC 9112): start line, header fields and body framing
// (Content-Length, chunked with extensions and trailers, a response body that ends with the
// connection, the no-body rules of HEAD/1xx/204/304). It keeps Beast's basic_parser contract --
// put()/put_eof(), need_more, the limits, skip(), eager(), keep_alive(), need_eof() and the same
// boost::beast::http::error for the same input -- at a fraction of its cost: one table-driven pass
// over each line, no field-name hash lookups, no virtual calls. Incremental: splitting the input
// across put() calls in any way gives the same result as one put() of the whole.
// request_parser and response_parser (message_parser.hpp) build on it.
// May touch: its own members only.

#include "aiproxy/core/headers.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::net {

template <bool IsRequest>
class http1_parser {
 public:
  using error_code = boost::system::error_code;

  http1_parser(const http1_parser&) = delete;
  http1_parser& operator=(const http1_parser&) = delete;

  /// Some input was given to put().
  bool got_some() const noexcept { return state_ != state::nothing_yet; }
  bool is_header_done() const noexcept { return state_ > state::fields; }
  bool is_done() const noexcept { return state_ == state::complete; }

  // Valid once the head is done.
  bool keep_alive() const noexcept;
  /// The body ends when the connection does: call put_eof() then.
  bool need_eof() const noexcept { return (flags_ & flag_need_eof) != 0; }
  /// `Connection: upgrade` was given.
  bool upgrade() const noexcept { return (flags_ & flag_connection_upgrade) != 0; }
  /// The last transfer coding is chunked.
  bool chunked() const noexcept { return (flags_ & flag_chunked) != 0; }
  std::optional<std::uint64_t> content_length() const noexcept {
    return (flags_ & flag_content_length) != 0 ? std::optional<std::uint64_t>(length0_)
                                               : std::nullopt;
  }
  /// Body bytes not yet parsed, for a body of declared length.
  std::optional<std::uint64_t> content_length_remaining() const noexcept {
    return (flags_ & flag_content_length) != 0 ? std::optional<std::uint64_t>(length_)
                                               : std::nullopt;
  }
  unsigned version() const noexcept { return version_; }
  /// The header fields as received (order, case, repeats), then any trailer fields.
  header_list& fields() noexcept { return fields_; }
  const header_list& fields() const noexcept { return fields_; }

  // Options, set before the first put() (body_limit: before the first body byte).
  /// No body whatever the head says (the response to a HEAD request).
  void skip(bool v) noexcept { set_flag(flag_skip_body, v); }
  bool skip() const noexcept { return (flags_ & flag_skip_body) != 0; }
  /// put() goes on into the body after the head instead of stopping there.
  void eager(bool v) noexcept { set_flag(flag_eager, v); }
  bool eager() const noexcept { return (flags_ & flag_eager) != 0; }
  /// Most bytes the start line, and then the field section, may take (Beast's rule: each on its
  /// own).
  void header_limit(std::uint32_t v) noexcept { header_limit_ = v; }
  /// Most body bytes (before chunked decoding); none: no limit. Default 1 MiB for requests,
  /// 8 MiB for responses.
  void body_limit(std::optional<std::uint64_t> v) noexcept { body_limit_ = v; }

  /// Parses what it can of `bytes` and returns how many it consumed (the caller drops them and
  /// presents the rest again with more). need_more: nothing more can be done without more
  /// bytes. The parse stops after the head (unless eager), when the body is complete, or on an
  /// error.
  std::size_t put(std::string_view bytes, error_code& ec) {
    return put(bytes.data(), bytes.size(), ec);
  }
  std::size_t put(boost::asio::const_buffer bytes, error_code& ec) {
    return put(static_cast<const char*>(bytes.data()), bytes.size(), ec);
  }
  /// The input ended: completes a body that ends with the connection, or partial_message.
  void put_eof(error_code& ec);

 protected:
  http1_parser() = default;
  ~http1_parser() = default;

  // Request: the start line and the body.
  std::string method_;
  std::string target_;
  std::string body_;
  // Response: the status and the caller's buffer for the body.
  int status_ = 0;
  char* lent_ = nullptr;
  std::size_t room_ = 0;

 private:
  enum class state : unsigned char {
    nothing_yet,
    start_line,
    fields,
    body0,  // a body of declared length, nothing of it parsed yet
    body,
    body_to_eof,
    chunk_header,
    chunk_body,
    complete,
  };

  static constexpr unsigned flag_skip_body = 1u << 0;
  static constexpr unsigned flag_eager = 1u << 1;
  static constexpr unsigned flag_http11 = 1u << 2;
  static constexpr unsigned flag_need_eof = 1u << 3;
  static constexpr unsigned flag_expect_crlf = 1u << 4;  // a chunk's data ended, its CRLF not seen
  static constexpr unsigned flag_connection_close = 1u << 5;
  static constexpr unsigned flag_connection_upgrade = 1u << 6;
  static constexpr unsigned flag_connection_keep_alive = 1u << 7;
  static constexpr unsigned flag_content_length = 1u << 8;
  static constexpr unsigned flag_chunked = 1u << 9;
  static constexpr unsigned flag_upgrade = 1u << 10;
  static constexpr unsigned flag_final_chunk = 1u << 11;
  static constexpr unsigned flag_transfer_encoding = 1u << 12;

  void set_flag(unsigned f, bool v) noexcept { flags_ = v ? (flags_ | f) : (flags_ & ~f); }

  std::size_t put(const char* data, std::size_t size, error_code& ec);
  bool parse_start_line(const char*& in, const char* end, error_code& ec);
  bool parse_head_fields(const char*& in, const char* end, error_code& ec);
  bool parse_field(const char*& in, const char* last, std::string_view& name,
                   std::string_view& value, error_code& ec);
  void apply_field(std::string_view name, std::string_view value, error_code& ec);
  void finish_header(error_code& ec);
  void parse_body(const char*& p, const char* end, error_code& ec);
  void parse_chunk_header(const char*& in, const char* end, error_code& ec);
  std::size_t take_body(const char* data, std::size_t size, error_code& ec);

  header_list fields_;
  std::optional<std::uint64_t> body_limit_{IsRequest ? 1024 * 1024 : 8 * 1024 * 1024};
  std::uint64_t length_ = 0;     // body or chunk bytes left
  std::uint64_t length0_ = 0;    // the declared Content-Length
  std::size_t fields_used_ = 0;  // field-section bytes consumed so far (header_limit)
  std::size_t resume_ = 0;       // where a chunk header's end search goes on
  std::string fold_;             // a field value with obs-fold, unfolded
  std::uint32_t header_limit_ = 8192;
  unsigned flags_ = 0;
  unsigned version_ = 11;
  state state_ = state::nothing_yet;
};

extern template class http1_parser<true>;
extern template class http1_parser<false>;

}  // namespace aiproxy::net
