// The callbacks of request_parser and response_parser (message_parser.hpp). May touch: the
// parser's own members only.

#include "aiproxy/net/message_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstring>

namespace aiproxy::net {

namespace http = boost::beast::http;

void request_parser::on_request_impl(http::verb, string_view method, string_view target,
                                     int version, error_code&) {
  method_.assign(method.data(), method.size());
  target_.assign(target.data(), target.size());
  version_ = static_cast<unsigned>(version);
  fields_.reserve(16);
}

void request_parser::on_field_impl(http::field, string_view name, string_view value, error_code&) {
  fields_.add(std::string_view(name.data(), name.size()),
              std::string_view(value.data(), value.size()));
}

void request_parser::on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) {
  // The declared length is within body_limit() here (basic_parser checked it); a body of
  // unknown length grows as it comes.
  if (length) {
    body_.reserve(static_cast<std::size_t>(*length));
  }
}

std::size_t request_parser::on_body_impl(string_view data, error_code&) {
  body_.append(data.data(), data.size());
  return data.size();
}

std::size_t request_parser::on_chunk_body_impl(std::uint64_t, string_view data, error_code&) {
  body_.append(data.data(), data.size());
  return data.size();
}

void response_parser::on_response_impl(int status, string_view, int version, error_code&) {
  status_ = status;
  version_ = static_cast<unsigned>(version);
  fields_.reserve(16);
}

void response_parser::on_field_impl(http::field, string_view name, string_view value, error_code&) {
  fields_.add(std::string_view(name.data(), name.size()),
              std::string_view(value.data(), value.size()));
}

std::size_t response_parser::on_body_impl(string_view data, error_code& ec) {
  if (data_ == nullptr) {
    ec = http::error::need_buffer;
    return 0;
  }
  const std::size_t n = std::min(room_, data.size());
  std::memcpy(data_, data.data(), n);
  data_ += n;
  room_ -= n;
  if (n < data.size()) {
    ec = http::error::need_buffer;
  }
  return n;
}

}  // namespace aiproxy::net
