#pragma once
// The gateway's HTTP/1.1 request and response parsers, on http1_parser (http1_parser.hpp: the
// parsing, the limits and the framing, with Beast's basic_parser contract and error codes). They
// keep the start line and the header fields in the gateway's own header_list. request_parser
// collects the body into a string; response_parser writes it into a buffer the caller lends, as
// Beast's buffer_body does (need_buffer when it is full or missing).
// May touch: the parser's own members only.

#include "aiproxy/net/http1_parser.hpp"

#include <cstddef>
#include <string>

namespace aiproxy::net {

class request_parser final : public http1_parser<true> {
 public:
  request_parser() = default;

  const std::string& method() const noexcept { return method_; }
  const std::string& target() const noexcept { return target_; }
  std::string& method() noexcept { return method_; }
  std::string& target() noexcept { return target_; }
  /// The body read so far (appended to as it is parsed).
  std::string& body() noexcept { return body_; }
  const std::string& body() const noexcept { return body_; }
};

class response_parser final : public http1_parser<false> {
 public:
  response_parser() = default;

  int status() const noexcept { return status_; }

  /// Where the next body bytes go. Parsing body bytes with no room left stops with
  /// http::error::need_buffer (Beast's buffer_body contract).
  void lend_body_buffer(char* data, std::size_t size) noexcept {
    lent_ = data;
    room_ = size;
  }
  /// Room left in the lent buffer; call before lending another.
  std::size_t body_room() const noexcept { return room_; }
  void take_back_body_buffer() noexcept {
    lent_ = nullptr;
    room_ = 0;
  }
};

}  // namespace aiproxy::net
