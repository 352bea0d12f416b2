// async_read_head (http_read.hpp): the completion-handler read of a response head that the
// upstream client starts while it is still sending a body. The head arriving in pieces, already
// buffered (the handler is posted, never called inline), the peer closing before or inside the
// head, and a malformed head. Real loopback sockets on port 0; no sleeps.

#include "aiproxy/net/http_read.hpp"
#include "aiproxy/net/message_parser.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct connected {
  explicit connected(asio::io_context& ioc) : near(ioc), far(ioc) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    near.connect(acceptor.local_endpoint());
    acceptor.accept(far);
  }
  void send(std::string_view s) { asio::write(far, asio::buffer(s.data(), s.size())); }
  tcp::socket near;
  tcp::socket far;
};

struct result {
  bool called = false;
  boost::system::error_code ec;
  std::size_t consumed = 0;
};

/// Starts async_read_head on `c.near` and returns where its result lands.
void start(connected& c, boost::beast::flat_buffer& buffer, response_parser& parser, result& r) {
  async_read_head(c.near, buffer, parser, [&r](boost::system::error_code ec, std::size_t n) {
    r.called = true;
    r.ec = ec;
    r.consumed = n;
  });
}

TEST(async_read_head, reads_a_head_sent_in_pieces_and_leaves_the_body_buffered) {
  asio::io_context ioc;
  connected c(ioc);
  boost::beast::flat_buffer buffer;
  response_parser parser;
  result r;
  start(c, buffer, parser, r);
  c.send("HTTP/1.1 200 OK\r\nContent-");
  c.send("Length: 5\r\n\r\nhel");
  while (!r.called && ioc.run_one() != 0) {
  }
  ASSERT_TRUE(r.called);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(parser.is_header_done());
  EXPECT_EQ(parser.status(), 200);
  EXPECT_EQ(parser.content_length().value_or(0), 5u);
  EXPECT_EQ(r.consumed, 38u);
  EXPECT_EQ(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()), "hel");
}

TEST(async_read_head, a_head_already_buffered_completes_through_the_executor) {
  asio::io_context ioc;
  connected c(ioc);
  boost::beast::flat_buffer buffer;
  const std::string_view head = "HTTP/1.1 204 No Content\r\n\r\n";
  asio::buffer_copy(buffer.prepare(head.size()), asio::buffer(head.data(), head.size()));
  buffer.commit(head.size());
  response_parser parser;
  result r;
  start(c, buffer, parser, r);
  EXPECT_FALSE(r.called);  // never inline
  ioc.run();
  ASSERT_TRUE(r.called);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(async_read_head, the_peer_closing_inside_the_head_is_a_partial_message) {
  asio::io_context ioc;
  connected c(ioc);
  boost::beast::flat_buffer buffer;
  response_parser parser;
  result r;
  start(c, buffer, parser, r);
  c.send("HTTP/1.1 200 OK\r\nX: ");
  c.far.shutdown(tcp::socket::shutdown_send);
  while (!r.called && ioc.run_one() != 0) {
  }
  ASSERT_TRUE(r.called);
  EXPECT_EQ(r.ec, http::error::partial_message);
}

TEST(async_read_head, the_peer_closing_before_a_byte_is_the_end_of_the_stream) {
  asio::io_context ioc;
  connected c(ioc);
  boost::beast::flat_buffer buffer;
  response_parser parser;
  result r;
  start(c, buffer, parser, r);
  c.far.shutdown(tcp::socket::shutdown_send);
  while (!r.called && ioc.run_one() != 0) {
  }
  ASSERT_TRUE(r.called);
  EXPECT_EQ(r.ec, http::error::end_of_stream);
  EXPECT_FALSE(parser.got_some());
}

TEST(async_read_head, a_malformed_head_fails_with_beasts_code) {
  asio::io_context ioc;
  connected c(ioc);
  boost::beast::flat_buffer buffer;
  response_parser parser;
  result r;
  start(c, buffer, parser, r);
  c.send("HTTP/1.1 2x0 OK\r\n\r\n");
  while (!r.called && ioc.run_one() != 0) {
  }
  ASSERT_TRUE(r.called);
  EXPECT_EQ(r.ec, http::error::bad_status);
}

}  // namespace
}  // namespace aiproxy::net
