#pragma once
// Test-only: the parsers the gateway used before http1_parser, on Beast's basic_parser, kept as
// the reference that http1_parser_test.cpp compares the gateway's parser with. Same accessors
// as net::request_parser / net::response_parser, and one rule Beast 1.81 lacks: a request with
// Transfer-Encoding whose last coding is not chunked is refused (RFC 9112 section 6.3). May
// touch: the parser's own members only.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aiproxy::net::testing {

template <bool IsRequest>
class beast_reference_parser final : public boost::beast::http::basic_parser<IsRequest> {
 public:
  using field_list = std::vector<std::pair<std::string, std::string>>;

  const std::string& method() const noexcept { return method_; }
  const std::string& target() const noexcept { return target_; }
  unsigned version() const noexcept { return version_; }
  int status() const noexcept { return status_; }
  const field_list& field_vector() const noexcept { return fields_; }
  std::string& body() noexcept { return body_; }

  // The response side's lent buffer (request bodies go to body()).
  void lend_body_buffer(char* data, std::size_t size) noexcept {
    data_ = data;
    room_ = size;
  }
  std::size_t body_room() const noexcept { return room_; }
  void take_back_body_buffer() noexcept {
    data_ = nullptr;
    room_ = 0;
  }

 private:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                       int version, error_code&) override {
    method_.assign(method.data(), method.size());
    target_.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
  }
  void on_response_impl(int status, string_view, int version, error_code&) override {
    status_ = status;
    version_ = static_cast<unsigned>(version);
  }
  void on_field_impl(boost::beast::http::field f, string_view name, string_view value,
                     error_code&) override {
    if (f == boost::beast::http::field::transfer_encoding) {
      transfer_encoding_ = true;
    }
    fields_.emplace_back(std::string(name.data(), name.size()),
                         std::string(value.data(), value.size()));
  }
  void on_header_impl(error_code& ec) override {
    if (IsRequest && transfer_encoding_ && !this->chunked()) {
      ec = boost::beast::http::error::bad_transfer_encoding;
    }
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view data, error_code& ec) override {
    if constexpr (IsRequest) {
      body_.append(data.data(), data.size());
      return data.size();
    } else {
      if (data_ == nullptr) {
        ec = boost::beast::http::error::need_buffer;
        return 0;
      }
      const std::size_t n = std::min(room_, data.size());
      std::memcpy(data_, data.data(), n);
      data_ += n;
      room_ -= n;
      if (n < data.size()) {
        ec = boost::beast::http::error::need_buffer;
      }
      return n;
    }
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code& ec) override {
    return on_body_impl(data, ec);
  }
  void on_finish_impl(error_code&) override {}

  std::string method_;
  std::string target_;
  unsigned version_ = 11;
  int status_ = 0;
  field_list fields_;
  bool transfer_encoding_ = false;
  std::string body_;
  char* data_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace aiproxy::net::testing
