// The bytes run_session writes for a response, seen from a raw client socket: HEAD answers
// without a body, 1xx/204/304 without body or Content-Length, unsafe handler fields dropped,
// the handler's framing fields replaced by the session's own, and HTTP/1.0 / 1.1 keep-alive and
// close. A scripted request_handler chooses the response from the request path. Touches only its
// own sockets and io thread.

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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace aiproxy::http {
namespace {

namespace asio = boost::asio;

/// Answers by path: /respond, /status/NNN, /stream, /stream-status/NNN, /bad-fields,
/// /many-fields, /framing, /stream-framing.
class scripted_handler final : public request_handler {
 public:
  asio::awaitable<void> handle(downstream& d) override {
    const std::string path = d.head().path;
    (void)co_await d.read_body(0);
    header_list h;
    if (path == "/respond") {
      h.add("X-A", "a");
      (void)co_await d.respond(200, h, "hello");
    } else if (path.starts_with("/status/")) {
      (void)co_await d.respond(std::stoi(path.substr(8)), h, "must-not-appear");
    } else if (path == "/stream") {
      h.add("X-A", "a");
      (void)co_await d.begin_stream(200, h);
      (void)co_await d.write_chunk("abc");
      (void)co_await d.end_stream();
    } else if (path.starts_with("/stream-status/")) {
      (void)co_await d.begin_stream(std::stoi(path.substr(15)), h);
      (void)co_await d.write_chunk("must-not-appear");
      (void)co_await d.end_stream();
    } else if (path == "/bad-fields") {
      h.add("X-Good", "  trimmed\t");
      h.add("Bad Name", "v1");
      h.add("Bad:Name", "v2");
      h.add("", "v3");
      h.add(std::string("X-Del\x7f", 6), "v4");
      h.add("X-Cr", "a\rb");
      h.add("X-Lf", "a\nInjected: yes");
      h.add("X-Nul", std::string("a\0b", 3));
      h.add("X-Last", "ok");
      (void)co_await d.respond(200, h, "x");
    } else if (path == "/many-fields") {
      // More fields than the head writer's bit set holds, with unsafe ones on both sides of it.
      for (int i = 0; i < 70; ++i) {
        if (i == 10 || i == 66) {
          h.add("Bad Name", "v");
        } else if (i == 67) {
          h.add("X-Cr", "a\rb");
        } else {
          h.add("X-F" + std::to_string(i), " v" + std::to_string(i) + " ");
        }
      }
      (void)co_await d.respond(200, h, "x");
    } else if (path == "/framing") {
      h.add("Content-Length", "999");
      h.add("Transfer-Encoding", "gzip");
      h.add("Connection", "close");
      h.add("X-A", "a");
      (void)co_await d.respond(200, h, "hello");
    } else if (path == "/stream-framing") {
      h.add("content-length", "999");
      h.add("transfer-encoding", "identity");
      h.add("connection", "close");
      (void)co_await d.begin_stream(200, h);
      (void)co_await d.write_chunk("abc");
      (void)co_await d.end_stream();
    } else {
      (void)co_await d.respond(404, h, "");
    }
  }
};

using head_server = test::session_server<scripted_handler>;

using testlib::raw_conn;

std::string get(std::string_view method, std::string_view path, std::string_view extra = {}) {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(extra) + "\r\n";
}

class session_head_test : public ::testing::Test {
 protected:
  head_server server;
};

TEST_F(session_head_test, head_response_keeps_content_length_and_sends_no_body) {
  raw_conn c(server.port());
  c.send(get("HEAD", "/respond"));
  EXPECT_EQ(c.read_head(), "HTTP/1.1 200 OK\r\nX-A: a\r\nContent-Length: 5\r\n\r\n");
  // Keep-alive: the next bytes on the connection are the next response, not "hello".
  c.send(get("GET", "/respond", "Connection: close\r\n"));
  EXPECT_EQ(c.read_to_eof(),
            "HTTP/1.1 200 OK\r\nX-A: a\r\nConnection: close\r\n"
            "Content-Length: 5\r\n\r\nhello");
}

TEST_F(session_head_test, head_stream_sends_head_only) {
  raw_conn c(server.port());
  c.send(get("HEAD", "/stream"));
  EXPECT_EQ(c.read_head(), "HTTP/1.1 200 OK\r\nX-A: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  // Neither "abc" nor the terminating chunk may precede the next response.
  c.send(get("HEAD", "/stream", "Connection: close\r\n"));
  EXPECT_EQ(c.read_to_eof(),
            "HTTP/1.1 200 OK\r\nX-A: a\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
}

TEST_F(session_head_test, get_stream_is_chunked) {
  raw_conn c(server.port());
  c.send(get("GET", "/stream", "Connection: close\r\n"));
  EXPECT_EQ(c.read_to_eof(),
            "HTTP/1.1 200 OK\r\nX-A: a\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
}

TEST_F(session_head_test, bodyless_statuses_send_no_body_and_no_content_length) {
  raw_conn c(server.port());
  for (const char* status : {"204", "304", "103"}) {
    c.send(get("GET", std::string("/status/") + status));
    const std::string head = c.read_head();
    EXPECT_TRUE(head.starts_with(std::string("HTTP/1.1 ") + status + " ")) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  }
  // Nothing of the bodies ("must-not-appear") sits before the last response.
  c.send(get("GET", "/status/204", "Connection: close\r\n"));
  EXPECT_EQ(c.read_to_eof(), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
}

TEST_F(session_head_test, bodyless_stream_is_not_chunked_and_carries_nothing) {
  raw_conn c(server.port());
  c.send(get("GET", "/stream-status/304"));
  EXPECT_EQ(c.read_head(), "HTTP/1.1 304 Not Modified\r\n\r\n");
  c.send(get("GET", "/stream-status/204", "Connection: close\r\n"));
  EXPECT_EQ(c.read_to_eof(), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
}

TEST_F(session_head_test, unsafe_fields_are_dropped_and_values_trimmed) {
  raw_conn c(server.port());
  c.send(get("GET", "/bad-fields", "Connection: close\r\n"));
  EXPECT_EQ(c.read_to_eof(),
            "HTTP/1.1 200 OK\r\nX-Good: trimmed\r\nX-Last: ok\r\n"
            "Connection: close\r\nContent-Length: 1\r\n\r\nx");
}

TEST_F(session_head_test, every_safe_field_of_a_long_list_is_written_once_in_order) {
  raw_conn c(server.port());
  c.send(get("GET", "/many-fields", "Connection: close\r\n"));
  std::string expected = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 70; ++i) {
    if (i != 10 && i != 66 && i != 67) {
      expected += "X-F" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
    }
  }
  expected += "Connection: close\r\nContent-Length: 1\r\n\r\nx";
  EXPECT_EQ(c.read_to_eof(), expected);
}

TEST_F(session_head_test, handler_framing_fields_are_replaced) {
  raw_conn c(server.port());
  c.send(get("GET", "/framing"));
  // The handler's Connection: close is not obeyed either: the connection stays open.
  EXPECT_EQ(c.read_head(), "HTTP/1.1 200 OK\r\nX-A: a\r\nContent-Length: 5\r\n\r\n");
  c.send(get("GET", "/stream-framing", "Connection: close\r\n"));
  EXPECT_EQ(c.read_to_eof(),
            "hello"
            "HTTP/1.1 200 OK\r\nConnection: close\r\n"
            "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
}

TEST_F(session_head_test, http10_without_keep_alive_closes_after_the_response) {
  raw_conn c(server.port());
  c.send("GET /respond HTTP/1.0\r\n\r\n");
  EXPECT_EQ(c.read_to_eof(), "HTTP/1.0 200 OK\r\nX-A: a\r\nContent-Length: 5\r\n\r\nhello");
}

TEST_F(session_head_test, http10_keep_alive_is_announced_and_kept) {
  raw_conn c(server.port());
  c.send("GET /respond HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(c.read_head(),
            "HTTP/1.0 200 OK\r\nX-A: a\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\n");
  c.send("HEAD /respond HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(c.read_head(),
            "hello"
            "HTTP/1.0 200 OK\r\nX-A: a\r\nConnection: keep-alive\r\n"
            "Content-Length: 5\r\n\r\n");
  c.send("GET /respond HTTP/1.0\r\n\r\n");
  EXPECT_EQ(c.read_to_eof(), "HTTP/1.0 200 OK\r\nX-A: a\r\nContent-Length: 5\r\n\r\nhello");
}

TEST_F(session_head_test, http10_stream_is_raw_and_ends_with_the_connection) {
  raw_conn c(server.port());
  c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  // No chunking for 1.0 and no keep-alive: the end of the body is the end of the connection.
  EXPECT_EQ(c.read_to_eof(), "HTTP/1.0 200 OK\r\nX-A: a\r\n\r\nabc");
}

}  // namespace
}  // namespace aiproxy::http
