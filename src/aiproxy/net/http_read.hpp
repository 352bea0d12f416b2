#pragma once
// Reading HTTP/1.1 messages with a Beast parser, as one coroutine: what Beast's async_read_some,
// async_read_header and async_read do (same results, same errors), without their composed
// operations (each layer copies the executor and takes work guards on every read). The stream
// is a timed_stream or a TLS stream over one. May touch: the stream, the buffer and the parser.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <utility>

namespace aiproxy::net {

enum class read_until {
  some,     // the parser made progress (Beast's async_read_some)
  header,   // the head is complete (async_read_header)
  message,  // the message is complete (async_read)
};

/// Parses what `buffer` holds and reads more while the parser needs it, until `until`.
/// Returns the error (end_of_stream when the peer closed before a message began) and the
/// number of bytes the parser consumed.
template <class Stream, bool IsRequest>
boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_http(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<IsRequest>& parser, read_until until) {
  namespace http = boost::beast::http;
  constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
  auto satisfied = [&] {
    return until == read_until::header ? parser.is_header_done() : parser.is_done();
  };
  boost::system::error_code ec;
  std::size_t consumed = 0;
  if (until != read_until::some && satisfied()) {
    co_return std::pair{ec, consumed};
  }
  for (;;) {
    bool must_read = buffer.size() == 0;
    for (;;) {
      if (!must_read) {
        const std::size_t used = parser.put(buffer.data(), ec);
        consumed += used;
        buffer.consume(used);
        if (ec != http::error::need_more) {
          break;
        }
        ec = {};
      }
      must_read = false;
      const std::size_t room = boost::beast::read_size(buffer, 65536);
      if (room == 0) {
        ec = http::error::buffer_overflow;
        break;
      }
      auto [rec, n] = co_await stream.async_read_some(buffer.prepare(room), nothrow);
      buffer.commit(n);
      if (rec == boost::asio::error::eof) {
        if (parser.got_some()) {
          parser.put_eof(ec);  // a body that ends with the connection, or partial_message
          co_return std::pair{ec, consumed};
        }
        ec = http::error::end_of_stream;
        break;
      }
      if (rec) {
        ec = rec;
        break;
      }
    }
    if (ec || until == read_until::some || satisfied()) {
      co_return std::pair{ec, consumed};
    }
  }
}

}  // namespace aiproxy::net
