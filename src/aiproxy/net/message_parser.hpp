#pragma once
// HTTP/1.1 parsers on Beast's basic_parser (which does the parsing, the limits and the framing)
// that keep the start line and the header fields in the gateway's own header_list. Beast's
// parser<> stores every field in basic_fields (an allocation and a tree insertion each) from
// which the gateway then copied them again. request_parser collects the body into a string;
// response_parser writes it into a buffer the caller lends, as Beast's buffer_body does.
// May touch: the parser's own members only.

#include "aiproxy/core/headers.hpp"

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace aiproxy::net {

class request_parser final : public boost::beast::http::basic_parser<true> {
 public:
  const std::string& method() const noexcept { return method_; }
  const std::string& target() const noexcept { return target_; }
  unsigned version() const noexcept { return version_; }
  header_list& fields() noexcept { return fields_; }
  const header_list& fields() const noexcept { return fields_; }
  std::string& method() noexcept { return method_; }
  std::string& target() noexcept { return target_; }
  /// The body read so far (appended to as it is parsed).
  std::string& body() noexcept { return body_; }

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                       int version, error_code&) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override;
  std::size_t on_body_impl(string_view data, error_code&) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code&) override;
  void on_finish_impl(error_code&) override {}

  std::string method_;
  std::string target_;
  unsigned version_ = 11;
  header_list fields_;
  std::string body_;
};

class response_parser final : public boost::beast::http::basic_parser<false> {
 public:
  int status() const noexcept { return status_; }
  unsigned version() const noexcept { return version_; }
  header_list& fields() noexcept { return fields_; }
  const header_list& fields() const noexcept { return fields_; }

  /// Where the next body bytes go. Parsing body bytes with no room left stops with
  /// http::error::need_buffer (Beast's buffer_body contract).
  void lend_body_buffer(char* data, std::size_t size) noexcept {
    data_ = data;
    room_ = size;
  }
  /// Room left in the lent buffer; call before lending another.
  std::size_t body_room() const noexcept { return room_; }
  void take_back_body_buffer() noexcept {
    data_ = nullptr;
    room_ = 0;
  }

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int status, string_view reason, int version, error_code&) override;
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view data, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code& ec) override {
    return on_body_impl(data, ec);
  }
  void on_finish_impl(error_code&) override {}

  int status_ = 0;
  unsigned version_ = 11;
  header_list fields_;
  char* data_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace aiproxy::net
