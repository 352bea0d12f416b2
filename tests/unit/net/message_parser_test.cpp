// request_parser and response_parser: the start line and the fields land in the gateway's
// header_list as received (order, case, repeats), bodies are collected (request) or written
// into a lent buffer with Beast's need_buffer contract (response), Beast's limits still apply.

#include "aiproxy/net/message_parser.hpp"

#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <string>
#include <string_view>

namespace aiproxy::net {
namespace {

namespace http = boost::beast::http;

/// Feeds `bytes` to `p` in pieces of `step` bytes, as a socket might deliver them.
template <class Parser>
boost::system::error_code feed(Parser& p, std::string_view bytes, std::size_t step) {
  std::string pending;
  boost::system::error_code ec;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    pending.append(bytes.substr(at, step));
    while (!pending.empty() && !p.is_done()) {  // put() stops after the head: call it again
      const std::size_t used = p.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) {
        return ec;
      }
      if (used == 0) {
        break;
      }
    }
  }
  return ec;
}

TEST(request_parser, keeps_the_start_line_and_every_field_as_received) {
  const std::string_view raw =
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: gw.example\r\nX-Tag: a\r\n"
      "authorization: Bearer k\r\nX-Tag: b\r\nContent-Length: 4\r\n\r\nbody";
  for (std::size_t step : {std::size_t(1), std::size_t(7), raw.size()}) {
    request_parser p;
    ASSERT_FALSE(feed(p, raw, step)) << step;
    ASSERT_TRUE(p.is_done());
    EXPECT_EQ(p.method(), "POST");
    EXPECT_EQ(p.target(), "/v1/chat/completions?x=1");
    EXPECT_EQ(p.version(), 11u);
    EXPECT_TRUE(p.keep_alive());
    ASSERT_EQ(p.fields().size(), 5u);
    EXPECT_EQ(p.fields().fields()[2].first, "authorization");
    EXPECT_EQ(p.fields().fields()[1].second, "a");
    EXPECT_EQ(p.fields().fields()[3].second, "b");
    EXPECT_EQ(p.fields().get("HOST").value_or(""), "gw.example");
    EXPECT_EQ(p.body(), "body");
  }
}

TEST(request_parser, collects_a_chunked_body_and_trims_field_values) {
  request_parser p;
  ASSERT_FALSE(feed(p,
                    "PUT /u HTTP/1.1\r\nHost: h\r\nX-Space:   padded  \r\n"
                    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                    5));
  ASSERT_TRUE(p.is_done());
  EXPECT_EQ(p.body(), "abcde");
  EXPECT_EQ(p.fields().get("x-space").value_or(""), "padded");
}

TEST(request_parser, an_http_1_0_request_without_keep_alive_does_not_keep_the_connection) {
  request_parser p;
  ASSERT_FALSE(feed(p, "GET / HTTP/1.0\r\nHost: h\r\n\r\n", 64));
  EXPECT_EQ(p.version(), 10u);
  EXPECT_FALSE(p.keep_alive());
}

TEST(request_parser, the_body_limit_still_applies) {
  request_parser p;
  p.body_limit(3);
  EXPECT_EQ(feed(p, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd", 64),
            http::error::body_limit);
}

TEST(request_parser, the_header_limit_still_applies) {
  request_parser p;
  p.header_limit(64);
  EXPECT_EQ(feed(p, "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'x') + "\r\n\r\n", 256),
            http::error::header_limit);
}

TEST(response_parser, reads_the_status_line_and_fields) {
  response_parser p;
  ASSERT_FALSE(
      feed(p, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n", 4));
  ASSERT_TRUE(p.is_done());
  EXPECT_EQ(p.status(), 429);
  EXPECT_EQ(p.fields().get("retry-after").value_or(""), "3");
}

TEST(response_parser, writes_the_body_into_the_lent_buffer_and_asks_for_more_room) {
  response_parser p;
  const std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
  boost::system::error_code ec;
  std::size_t used = p.put(boost::asio::buffer(raw), ec);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(p.is_header_done());
  std::string_view rest = std::string_view(raw).substr(used);

  // No buffer lent: nothing is taken.
  used = p.put(boost::asio::buffer(rest.data(), rest.size()), ec);
  EXPECT_EQ(ec, http::error::need_buffer);
  EXPECT_EQ(used, 0u);

  std::string body;
  char room[4];
  while (!p.is_done()) {
    p.lend_body_buffer(room, sizeof room);
    used = p.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    ASSERT_TRUE(!ec || ec == http::error::need_buffer) << ec.message();
    body.append(room, sizeof room - p.body_room());
    p.take_back_body_buffer();
    rest.remove_prefix(used);
  }
  EXPECT_EQ(body, "0123456789");
}

TEST(response_parser, a_chunked_body_goes_into_the_lent_buffer_too) {
  response_parser p;
  char room[64];
  p.lend_body_buffer(room, sizeof room);
  ASSERT_FALSE(feed(p,
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                    3));
  ASSERT_TRUE(p.is_done());
  EXPECT_EQ(std::string(room, sizeof room - p.body_room()), "hello world");
}

}  // namespace
}  // namespace aiproxy::net
