// timed_stream: deadlines per direction that apply only while an operation is in progress, a
// watchdog that follows deadlines moving later and earlier, and clean teardown; read_http:
// Beast's read results (head, whole message, piece by piece, end of stream, partial message).
// Real loopback sockets on port 0. Deadlines that must not fire are seconds long and are never
// waited out; the ones that must fire are short.

#include "aiproxy/net/timed_stream.hpp"
#include "aiproxy/net/http_read.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace aiproxy::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

/// A connected pair: `near` wrapped in a timed_stream, `far` a plain socket for the peer.
struct socket_pair {
  explicit socket_pair(asio::io_context& ioc) : far(ioc) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(ioc);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(far);
    near.emplace(std::move(client));
  }
  std::optional<timed_stream> near;
  tcp::socket far;
};

/// Runs `body` as a coroutine to its end; fails the test if it never finishes.
void run(asio::io_context& ioc, asio::awaitable<void> body) {
  bool done = false;
  asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
    done = true;
    ioc.stop();  // a watchdog may still be armed for seconds; nothing waits for it
    if (e) {
      std::rethrow_exception(e);
    }
  });
  ioc.run();
  ASSERT_TRUE(done);
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(nothrow);
}

/// Writes `data` to `far` after `delay`.
void send_later(asio::io_context& ioc, tcp::socket& far, std::string data,
                std::chrono::milliseconds delay) {
  asio::co_spawn(
      ioc,
      [&far, data = std::move(data), delay]() -> asio::awaitable<void> {
        co_await pause(delay);
        co_await asio::async_write(far, asio::buffer(data), nothrow);
      },
      asio::detached);
}

TEST(timed_stream, a_read_past_its_deadline_times_out_and_closes_the_socket) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    char buf[16];
    p.near->expires_after(20ms);
    auto [ec, n] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_EQ(ec, boost::beast::error::timeout);
    EXPECT_FALSE(p.near->socket().is_open());
  }());
}

TEST(timed_stream, a_read_within_its_deadline_succeeds) {
  asio::io_context ioc;
  socket_pair p(ioc);
  send_later(ioc, p.far, "hello", 10ms);
  run(ioc, [&]() -> asio::awaitable<void> {
    char buf[16];
    p.near->expires_after(5s);
    auto [ec, n] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::string(buf, n), "hello");
  }());
}

TEST(timed_stream, a_relative_deadline_counts_from_the_first_operation_after_it) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    char buf[16];
    p.near->expires_after(500ms);
    co_await pause(600ms);  // longer than the deadline, with no operation started
    send_later(ioc, p.far, "late", 50ms);
    auto [ec, n] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec) << ec.message();  // counted from expires_after, it would have passed
    EXPECT_EQ(std::string(buf, n), "late");
  }());
}

TEST(timed_stream, a_deadline_passing_while_nothing_is_in_progress_closes_nothing) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    co_await asio::async_write(p.far, asio::buffer("a", 1), nothrow);
    char buf[16];
    p.near->expires_after(10ms);
    auto [ec1, n1] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec1);
    co_await pause(60ms);  // the watchdog fires meanwhile, with no operation to cut
    EXPECT_TRUE(p.near->socket().is_open());
    send_later(ioc, p.far, "b", 10ms);
    p.near->expires_after(5s);
    auto [ec2, n2] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(std::string(buf, n2), "b");
  }());
}

TEST(timed_stream, a_deadline_moved_later_is_followed) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    co_await asio::async_write(p.far, asio::buffer("a", 1), nothrow);
    char buf[16];
    p.near->expires_after(20ms);  // arms the watchdog for 20 ms
    auto [ec1, n1] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec1);
    // The next read may take longer than the first deadline: the watchdog re-arms.
    send_later(ioc, p.far, "b", 80ms);
    p.near->expires_after(5s);
    auto [ec2, n2] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(std::string(buf, n2), "b");
  }());
}

TEST(timed_stream, a_deadline_moved_earlier_rearms_the_watchdog) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    co_await asio::async_write(p.far, asio::buffer("a", 1), nothrow);
    char buf[16];
    p.near->expires_after(30s);
    auto [ec1, n1] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_FALSE(ec1);
    // Data arrives after 3 s: a watchdog still armed for 30 s would let this read succeed.
    asio::steady_timer late(ioc);
    late.expires_after(3s);
    late.async_wait([&](boost::system::error_code ec) {
      if (!ec) {
        asio::write(p.far, asio::buffer("late", 4));
      }
    });
    p.near->expires_after(20ms);
    auto [ec2, n2] = co_await p.near->async_read_some(asio::buffer(buf), nothrow);
    EXPECT_EQ(ec2, boost::beast::error::timeout);
    late.cancel();
  }());
}

TEST(timed_stream, a_pending_read_keeps_its_deadline_when_the_write_deadline_is_set) {
  asio::io_context ioc;
  socket_pair p(ioc);
  bool read_done = false;
  boost::system::error_code read_ec;
  std::string got;
  char buf[16];
  // A read with no deadline, pending while writes with a short deadline come and go (what the
  // upstream client does while it uploads a body and waits for an early answer).
  p.near->expires_never();
  p.near->async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
    read_done = true;
    read_ec = ec;
    got.assign(buf, n);
  });
  run(ioc, [&]() -> asio::awaitable<void> {
    p.near->expires_after(20ms);  // the read is pending: this sets the write deadline only
    auto [wec, wn] = co_await asio::async_write(*p.near, asio::buffer("x", 1), nothrow);
    EXPECT_FALSE(wec);
    co_await pause(80ms);
    EXPECT_FALSE(read_done);
    EXPECT_TRUE(p.near->socket().is_open());
    co_await asio::async_write(p.far, asio::buffer("reply", 5), nothrow);
    for (int i = 0; i < 2000 && !read_done; ++i) {
      co_await pause(1ms);
    }
  }());
  EXPECT_TRUE(read_done);
  EXPECT_FALSE(read_ec) << read_ec.message();
  EXPECT_EQ(got, "reply");
}

TEST(timed_stream, a_write_the_peer_never_reads_times_out) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    std::string big(64 * 1024 * 1024, 'x');  // more than both socket buffers hold
    p.near->expires_after(50ms);
    auto [ec, n] = co_await asio::async_write(*p.near, asio::buffer(big), nothrow);
    EXPECT_EQ(ec, boost::beast::error::timeout);
    EXPECT_LT(n, big.size());
  }());
}

TEST(timed_stream, destroying_the_stream_aborts_a_pending_read) {
  asio::io_context ioc;
  socket_pair p(ioc);
  boost::system::error_code got;
  bool called = false;
  char buf[16];
  p.near->expires_after(5s);
  p.near->async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t) {
    called = true;
    got = ec;
  });
  p.near.reset();
  ioc.run();
  EXPECT_TRUE(called);
  EXPECT_EQ(got, asio::error::operation_aborted);
}

// ---- read_http ---------------------------------------------------------------------------

TEST(read_http, reads_a_head_then_the_body_sent_in_pieces) {
  asio::io_context ioc;
  socket_pair p(ioc);
  send_later(ioc, p.far, "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-", 0ms);
  send_later(ioc, p.far, "Length: 5\r\n\r\nhe", 20ms);
  send_later(ioc, p.far, "llo", 40ms);
  run(ioc, [&]() -> asio::awaitable<void> {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::header);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(parser.is_header_done());
    EXPECT_EQ(parser.get().target(), "/v1/x");
    EXPECT_EQ(parser.content_length().value_or(0), 5u);
    auto [ec2, n2] = co_await read_http(*p.near, buffer, parser, read_until::message);
    EXPECT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(parser.get().body(), "hello");
    EXPECT_EQ(n + n2, 56u);  // every byte consumed by the parser
  }());
}

TEST(read_http, a_satisfied_parser_reads_nothing) {
  asio::io_context ioc;
  socket_pair p(ioc);
  send_later(ioc, p.far, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0ms);
  run(ioc, [&]() -> asio::awaitable<void> {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::message);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(parser.is_done());
    p.near->expires_after(20ms);  // a read now would time out
    auto [ec2, n2] = co_await read_http(*p.near, buffer, parser, read_until::header);
    EXPECT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(n2, 0u);
  }());
}

TEST(read_http, two_pipelined_requests_come_from_one_read) {
  asio::io_context ioc;
  socket_pair p(ioc);
  send_later(ioc, p.far, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
             0ms);
  run(ioc, [&]() -> asio::awaitable<void> {
    boost::beast::flat_buffer buffer;
    std::vector<std::string> targets;
    for (int i = 0; i < 2; ++i) {
      http::request_parser<http::string_body> parser;
      auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::header);
      EXPECT_FALSE(ec) << ec.message();
      targets.emplace_back(parser.get().target());
    }
    EXPECT_EQ(targets, (std::vector<std::string>{"/a", "/b"}));
    EXPECT_EQ(buffer.size(), 0u);
  }());
}

TEST(read_http, a_close_before_any_byte_is_end_of_stream) {
  asio::io_context ioc;
  socket_pair p(ioc);
  p.far.close();
  run(ioc, [&]() -> asio::awaitable<void> {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::header);
    EXPECT_EQ(ec, http::error::end_of_stream);
  }());
}

TEST(read_http, a_close_inside_the_body_is_a_partial_message) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    std::string_view req = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc";
    co_await asio::async_write(p.far, asio::buffer(req), nothrow);
    p.far.close();
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::message);
    EXPECT_EQ(ec, http::error::partial_message);
  }());
}

TEST(read_http, a_response_body_that_ends_with_the_connection_is_complete) {
  asio::io_context ioc;
  socket_pair p(ioc);
  run(ioc, [&]() -> asio::awaitable<void> {
    std::string_view res = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it";
    co_await asio::async_write(p.far, asio::buffer(res), nothrow);
    p.far.close();
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::message);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(parser.is_done());
    EXPECT_EQ(parser.get().body(), "all of it");
  }());
}

TEST(read_http, a_head_over_the_limit_is_refused) {
  asio::io_context ioc;
  socket_pair p(ioc);
  send_later(ioc, p.far, "GET / HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n", 0ms);
  run(ioc, [&]() -> asio::awaitable<void> {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(1024);
    auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::header);
    EXPECT_EQ(ec, http::error::header_limit);
  }());
}

TEST(read_http, a_buffer_body_is_filled_piece_by_piece) {
  asio::io_context ioc;
  socket_pair p(ioc);
  send_later(ioc, p.far, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nabcdefgh", 0ms);
  run(ioc, [&]() -> asio::awaitable<void> {
    boost::beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    auto [ec, n] = co_await read_http(*p.near, buffer, parser, read_until::header);
    EXPECT_FALSE(ec) << ec.message();
    std::string body;
    while (!parser.is_done()) {
      char piece[3];
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
      auto [ec2, n2] = co_await read_http(*p.near, buffer, parser, read_until::some);
      if (ec2 == http::error::need_buffer) {
        ec2 = {};
      }
      EXPECT_FALSE(ec2) << ec2.message();
      if (ec2) {
        break;
      }
      body.append(piece, sizeof piece - parser.get().body().size);
    }
    EXPECT_EQ(body, "abcdefgh");
  }());
}

}  // namespace
}  // namespace aiproxy::net
