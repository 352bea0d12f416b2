// read_body_part(), held_body() and declared_body_length() on the HTTP/1.1 session, seen from a raw
// client socket: pieces reach the handler as they arrive (before the client sent the rest), with
// Content-Length and chunked framing, a declared or actual body over the limit is a 413, and a
// client waiting for `100 Continue` gets it. Touches only its own sockets and io thread.

#include "aiproxy/http/session.hpp"
#include "session_server.hpp"
#include "testlib/raw_conn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

namespace aiproxy::http {
namespace {

namespace asio = boost::asio;

/// Streams back "[piece]" for every piece read_body_part() returns, then "end"; the limit is
/// the request's X-Limit (0 when absent). The response's X-Declared says declared_body_length().
class echo_parts_handler final : public request_handler {
 public:
  asio::awaitable<void> handle(downstream& d) override {
    const auto limit_field = d.head().headers.get("x-limit");
    const std::uint64_t limit = limit_field ? std::stoull(std::string(*limit_field)) : 0;
    header_list h;
    const auto declared = d.declared_body_length();
    h.add("X-Declared", declared ? std::to_string(*declared) : "none");
    auto first = co_await d.read_body_part(limit);
    if (!first) {
      co_await send_error(d, first.error());
      co_return;
    }
    (void)co_await d.begin_stream(200, h);
    std::string piece(*first);
    while (!piece.empty()) {
      if (!co_await d.write_chunk("[" + piece + "]")) {
        co_return;
      }
      auto next = co_await d.read_body_part(limit);
      if (!next) {
        co_await send_error(d, next.error());
        co_return;
      }
      piece.assign(*next);
    }
    (void)co_await d.write_chunk("end");
    (void)co_await d.end_stream();
  }
};

using body_server = test::session_server<echo_parts_handler>;

using testlib::raw_conn;

/// Reads the next chunk of a chunked response, size line and trailing CRLF included, when
/// its data is `data` (so a test can wait for exactly that chunk).
std::string read_chunk(raw_conn& c, std::string_view data) {
  char size_line[16];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  return c.read_exactly(static_cast<std::size_t>(n) + data.size() + 2);
}

class session_body_test : public ::testing::Test {
 protected:
  body_server server;
};

TEST_F(session_body_test, pieces_reach_the_handler_before_the_rest_is_sent) {
  raw_conn c(server.port());
  c.send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
  // The handler answers the first piece while the client still holds the second. A response
  // that starts before the body ended closes the connection after it (the session cannot know
  // the handler will read the rest).
  EXPECT_EQ(c.read_head(),
            "HTTP/1.1 200 OK\r\nX-Declared: 10\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(read_chunk(c, "[hello]"), "7\r\n[hello]\r\n");
  c.send("world");
  EXPECT_EQ(c.read_to_eof(), "7\r\n[world]\r\n3\r\nend\r\n0\r\n\r\n");
  EXPECT_FALSE(c.was_reset());
}

TEST_F(session_body_test, chunked_upload_arrives_piece_by_piece) {
  raw_conn c(server.port());
  c.send("POST /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  EXPECT_EQ(c.read_head(),
            "HTTP/1.1 200 OK\r\nX-Declared: none\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(read_chunk(c, "[abc]"), "5\r\n[abc]\r\n");
  c.send("2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(c.read_to_eof(), "4\r\n[de]\r\n3\r\nend\r\n0\r\n\r\n");
}

TEST_F(session_body_test, body_sent_with_the_head_is_one_piece) {
  raw_conn c(server.port());
  c.send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz");
  EXPECT_EQ(c.read_to_eof(),
            "HTTP/1.1 200 OK\r\nX-Declared: 3\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n5\r\n[xyz]\r\n3\r\nend\r\n0\r\n\r\n");
}

TEST_F(session_body_test, declared_length_over_the_limit_is_refused_before_reading) {
  raw_conn c(server.port());
  c.send("POST /u HTTP/1.1\r\nHost: t\r\nX-Limit: 4\r\nContent-Length: 5\r\n\r\n");
  const std::string answer = c.read_to_eof();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_NE(answer.find("larger than the limit of 4 bytes"), std::string::npos) << answer;
}

TEST_F(session_body_test, chunked_body_over_the_limit_ends_the_stream_with_413) {
  raw_conn c(server.port());
  c.send(
      "POST /u HTTP/1.1\r\nHost: t\r\nX-Limit: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n");
  EXPECT_EQ(c.read_head(),
            "HTTP/1.1 200 OK\r\nX-Declared: none\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(read_chunk(c, "[abc]"), "5\r\n[abc]\r\n");
  c.send("3\r\ndef\r\n0\r\n\r\n");
  // The response had started, so the 413 arrives as the stream's error event.
  const std::string rest = c.read_to_eof();
  EXPECT_NE(rest.find("\"code\":\"request_too_large\""), std::string::npos) << rest;
  EXPECT_NE(rest.find("larger than the limit of 4 bytes"), std::string::npos) << rest;
  EXPECT_TRUE(rest.ends_with("0\r\n\r\n")) << rest;
}

TEST_F(session_body_test, expect_continue_is_answered_on_the_first_read) {
  raw_conn c(server.port());
  c.send(
      "POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_EQ(c.read_head(), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("ok");
  EXPECT_EQ(c.read_to_eof(),
            "HTTP/1.1 200 OK\r\nX-Declared: 2\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n4\r\n[ok]\r\n3\r\nend\r\n0\r\n\r\n");
}

/// Answers with the whole body, taken through held_body() when the session holds it
/// (X-Held: yes) and through read_body() when not (X-Held: no); an error from either is sent.
class held_body_handler final : public request_handler {
 public:
  asio::awaitable<void> handle(downstream& d) override {
    const auto limit_field = d.head().headers.get("x-limit");
    const std::uint64_t limit = limit_field ? std::stoull(std::string(*limit_field)) : 0;
    header_list h;
    auto held = d.held_body(limit);
    h.add("X-Held", held ? "yes" : "no");
    if (!held) {
      held.emplace(co_await d.read_body(limit));
    }
    if (!*held) {
      co_await send_error(d, held->error());
      co_return;
    }
    (void)co_await d.respond(200, h, std::string(**held));
  }
};

class held_body_test : public ::testing::Test {
 protected:
  test::session_server<held_body_handler> server;
};

TEST_F(held_body_test, a_body_that_came_with_its_head_is_held) {
  raw_conn c(server.port());
  c.send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz");
  const std::string answer = c.read_to_eof();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_NE(answer.find("X-Held: yes\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\nxyz")) << answer;
}

TEST_F(held_body_test, a_chunked_body_that_came_whole_is_held) {
  raw_conn c(server.port());
  c.send(
      "POST /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  const std::string answer = c.read_to_eof();
  EXPECT_NE(answer.find("X-Held: yes\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\nabcde")) << answer;
}

TEST_F(held_body_test, a_body_still_on_its_way_is_read_after_what_came_with_the_head) {
  raw_conn c(server.port());
  c.send("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the handler has asked by now
  c.send("world");
  const std::string answer = c.read_to_eof();
  EXPECT_NE(answer.find("X-Held: no\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\nhelloworld")) << answer;
}

TEST_F(held_body_test, a_declared_length_over_the_limit_is_refused_at_once) {
  raw_conn c(server.port());
  c.send("POST /u HTTP/1.1\r\nHost: t\r\nX-Limit: 4\r\nContent-Length: 5\r\n\r\nabcde");
  const std::string answer = c.read_to_eof();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << answer;
  EXPECT_NE(answer.find("larger than the limit of 4 bytes"), std::string::npos) << answer;
}

TEST_F(held_body_test, a_chunked_body_over_the_limit_is_refused_from_what_is_held) {
  raw_conn c(server.port());
  c.send(
      "POST /u HTTP/1.1\r\nHost: t\r\nX-Limit: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
  const std::string answer = c.read_to_eof();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << answer;
}

}  // namespace
}  // namespace aiproxy::http
