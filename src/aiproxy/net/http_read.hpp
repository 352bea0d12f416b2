#pragma once
// Reading HTTP/1.1 messages with a parser that has Beast's basic_parser contract (put, put_eof,
// got_some, is_header_done, is_done: http1_parser, or Beast's own): what Beast's async_read_some,
// async_read_header and async_read do (same results, same errors), without their composed
// operations (each layer copies the executor and takes work guards on every read). read_http is
// one coroutine; async_read_head is a plain completion-handler chain whose first read is pending
// as soon as it returns. The stream is a timed_stream or a TLS stream over one.
// May touch: the stream, the buffer and the parser.

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace aiproxy::net {

enum class read_until {
  some,     // the parser made progress (Beast's async_read_some)
  header,   // the head is complete (async_read_header)
  message,  // the message is complete (async_read)
};

namespace detail {

/// The completion token read_http co_awaits a read of `Stream` with, giving an (error, size)
/// tuple: a deferred operation, which an awaitable coroutine co_awaits directly, where the stream
/// takes one (no coroutine frame per read), else use_awaitable (Beast's ssl_stream in Boost 1.81
/// takes no deferred token).
template <class Stream>
constexpr auto tuple_token() {
  if constexpr (requires(Stream & s, boost::asio::mutable_buffer b) {
                  s.async_read_some(b, boost::asio::as_tuple(boost::asio::deferred));
                }) {
    return boost::asio::as_tuple(boost::asio::deferred);
  } else {
    return boost::asio::as_tuple(boost::asio::use_awaitable);
  }
}

/// Puts what `buffer` holds into `parser` until it needs more bytes (ec cleared, true), or stops
/// (false: error, or progress made). Adds the bytes consumed to `consumed`.
template <class Parser>
bool parse_buffered(boost::beast::flat_buffer& buffer, Parser& parser,
                    boost::system::error_code& ec, std::size_t& consumed) {
  const std::size_t used = parser.put(buffer.data(), ec);
  consumed += used;
  buffer.consume(used);
  if (ec == boost::beast::http::error::need_more) {
    ec = {};
    return true;
  }
  return false;
}

/// After a read: keeps its bytes and turns its error into the parser's view of it. True when
/// the read ends the operation (`ec` says how).
template <class Parser>
bool after_read(boost::beast::flat_buffer& buffer, Parser& parser, boost::system::error_code rec,
                std::size_t n, boost::system::error_code& ec) {
  buffer.commit(n);
  if (rec == boost::asio::error::eof) {
    if (parser.got_some()) {
      parser.put_eof(ec);  // a body that ends with the connection, or partial_message
    } else {
      ec = boost::beast::http::error::end_of_stream;
    }
    return true;
  }
  if (rec) {
    ec = rec;
    return true;
  }
  return false;
}

}  // namespace detail

/// Parses what `buffer` holds and reads more while the parser needs it, until `until`.
/// Returns the error (end_of_stream when the peer closed before a message began) and the
/// number of bytes the parser consumed.
template <class Stream, class Parser>
boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_http(
    Stream& stream, boost::beast::flat_buffer& buffer, Parser& parser, read_until until) {
  namespace http = boost::beast::http;
  constexpr auto nothrow = detail::tuple_token<Stream>();
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
      if (!must_read && !detail::parse_buffered(buffer, parser, ec, consumed)) {
        break;
      }
      must_read = false;
      const std::size_t room = boost::beast::read_size(buffer, 65536);
      if (room == 0) {
        ec = http::error::buffer_overflow;
        break;
      }
      auto [rec, n] = co_await stream.async_read_some(buffer.prepare(room), nothrow);
      if (detail::after_read(buffer, parser, rec, n, ec)) {
        co_return std::pair{ec, consumed};
      }
    }
    if (ec || until == read_until::some || satisfied()) {
      co_return std::pair{ec, consumed};
    }
  }
}

/// Reads until the parser's head is complete and then calls `handler(ec, consumed)`, as Beast's
/// async_read_header does: a chain of the stream's own async_read_some with no coroutine frame,
/// so the first read is pending when this returns (when the buffer already holds the head, the
/// handler is posted to the stream's executor instead). `handler` is a plain callable.
template <class Stream, class Parser, class Handler>
class read_head_op {
 public:
  read_head_op(Stream& stream, boost::beast::flat_buffer& buffer, Parser& parser, Handler handler)
      : stream_(&stream), buffer_(&buffer), parser_(&parser), handler_(std::move(handler)) {}

  void start() {
    boost::system::error_code ec;
    if (keep_going(ec)) {
      boost::asio::post(stream_->get_executor(),
                        boost::asio::append(std::move(handler_), ec, consumed_));
    }
  }

  void operator()(boost::system::error_code rec, std::size_t n) {
    boost::system::error_code ec;
    if (detail::after_read(*buffer_, *parser_, rec, n, ec) || keep_going(ec)) {
      handler_(ec, consumed_);
    }
  }

 private:
  /// Parses the buffer until the head is done or an error (true), or starts a read (false).
  bool keep_going(boost::system::error_code& ec) {
    while (!parser_->is_header_done()) {
      if (buffer_->size() == 0 || detail::parse_buffered(*buffer_, *parser_, ec, consumed_)) {
        return read(ec);
      }
      if (ec) {
        return true;
      }
    }
    return true;
  }

  /// Starts a read (false), or sets buffer_overflow when the buffer is full (true).
  bool read(boost::system::error_code& ec) {
    const std::size_t room = boost::beast::read_size(*buffer_, 65536);
    if (room == 0) {
      ec = boost::beast::http::error::buffer_overflow;
      return true;
    }
    stream_->async_read_some(buffer_->prepare(room), std::move(*this));
    return false;
  }

  Stream* stream_;
  boost::beast::flat_buffer* buffer_;
  Parser* parser_;
  Handler handler_;
  std::size_t consumed_ = 0;
};

template <class Stream, class Parser, class Handler>
void async_read_head(Stream& stream, boost::beast::flat_buffer& buffer, Parser& parser,
                     Handler&& handler) {
  read_head_op<Stream, Parser, std::decay_t<Handler>>(stream, buffer, parser,
                                                      std::forward<Handler>(handler))
      .start();
}

}  // namespace aiproxy::net
