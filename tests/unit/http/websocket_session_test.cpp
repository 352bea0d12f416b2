// The session's WebSocket upgrade seen from a raw client socket: the exact 101 head (RFC 6455's
// sample key), masked client frames read as whole messages (text and binary kept), the
// handler's messages and close frames as exact bytes, a message over the size limit failing with
// close 1009, requests that are not upgrades answered over HTTP, and the tracker's close_all
// (the drain deadline) ending an open WebSocket. Touches only its own sockets and io thread.

#include "aiproxy/http/session.hpp"
#include "session_server.hpp"
#include "testlib/raw_conn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace aiproxy::http {
namespace {

namespace asio = boost::asio;

/// /echo: accepts (with X-Extra: 1) and echoes every message prefixed with "echo:" until the
/// client closes or the connection fails; /bye: accepts, sends "bye" and closes with 1000
/// "done"; anything else: 426 unless the request is an upgrade, then the accept's own error.
class ws_handler final : public request_handler {
 public:
  asio::awaitable<void> handle(downstream& d) override {
    const std::string path = d.head().path;
    if (path != "/echo" && path != "/bye" && !d.wants_websocket()) {
      (void)co_await d.respond(426, {}, "upgrade please");
      co_return;
    }
    header_list extra;
    extra.add("X-Extra", "1");
    extra.add("Bad\r\nName", "x");
    auto ws = co_await d.accept_websocket(extra);
    if (!ws) {
      note("accept: " + std::to_string(ws.error().status));
      if (!d.response_started()) {
        co_await send_error(d, ws.error());
      }
      co_return;
    }
    if (path == "/bye") {
      (void)co_await (*ws)->write("bye", false);
      co_await (*ws)->close(ws_code::normal, "done");
      auto pc = (*ws)->peer_close();
      note("peer close " + std::to_string(pc ? pc->code : 0));
      co_return;
    }
    for (;;) {
      auto m = co_await (*ws)->read();
      if (!m) {
        note("read error: " + m.error().message);
        break;
      }
      if (!*m) {
        note("closed " + std::to_string((*ws)->peer_close()->code) + " " +
             (*ws)->peer_close()->reason);
        break;
      }
      if (!co_await (*ws)->write("echo:" + (*m)->data, (*m)->binary)) {
        note("write error");
        break;
      }
    }
  }

  std::vector<std::string> notes() {
    std::lock_guard lock(mutex_);
    return notes_;
  }

  /// The notes once there is at least one (at most 10 s: a bound for a broken test).
  std::vector<std::string> wait_notes() {
    std::unique_lock lock(mutex_);
    noted_.wait_for(lock, std::chrono::seconds(10), [this] { return !notes_.empty(); });
    return notes_;
  }

 private:
  void note(std::string s) {
    std::lock_guard lock(mutex_);
    notes_.push_back(std::move(s));
    noted_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable noted_;
  std::vector<std::string> notes_;
};

session_options ws_options(std::chrono::milliseconds close_timeout) {
  session_options o;
  o.max_websocket_message_bytes = 64;
  o.websocket_close_timeout = close_timeout;
  return o;
}

/// run_session on 127.0.0.1:0, on its own io thread; messages over 64 bytes are refused.
class ws_server : public test::session_server<ws_handler> {
 public:
  explicit ws_server(std::chrono::milliseconds close_timeout = std::chrono::milliseconds(5000))
      : test::session_server<ws_handler>(ws_options(close_timeout)) {}
};

using testlib::raw_conn;

// RFC 6455 section 1.3's sample nonce and its accept value.
constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view sample_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string upgrade(std::string_view path, std::string_view version = "13") {
  return "GET " + std::string(path) +
         " HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Key: " +
         std::string(sample_key) + "\r\nSec-WebSocket-Version: " + std::string(version) +
         "\r\n\r\n";
}

/// A masked client frame (FIN set) with a payload under 126 bytes.
std::string client_frame(unsigned opcode, std::string_view payload) {
  const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  f += static_cast<char>(0x80 | payload.size());
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    f += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ mask[i % 4]);
  }
  return f;
}

/// An unmasked server frame (FIN set) with a payload under 126 bytes.
std::string server_frame(unsigned opcode, std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x80 | opcode);
  f += static_cast<char>(payload.size());
  f += payload;
  return f;
}

std::string close_payload(unsigned code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xff);
  p += reason;
  return p;
}

std::string expected_101() {
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         std::string(sample_accept) + "\r\nServer: aiproxy\r\nX-Extra: 1\r\n\r\n";
}

class websocket_session_test : public ::testing::Test {
 protected:
  ws_server server;
};

TEST_F(websocket_session_test, upgrade_answers_101_and_messages_round_trip) {
  std::optional<raw_conn> conn(std::in_place, server.port());
  auto& c = *conn;
  c.send(upgrade("/echo"));
  EXPECT_EQ(c.read_head(), expected_101());
  const std::string binary("\x00\x01\xfe\xff", 4);
  c.send(client_frame(0x1, "hello") + client_frame(0x2, binary));
  c.send(client_frame(0x8, close_payload(1000, "bye")));
  // Echoes in order, each one frame with its type, then the close answered with the same status;
  // then the session closes the connection.
  EXPECT_EQ(c.read_to_eof(), server_frame(0x1, "echo:hello") + server_frame(0x2, "echo:" + binary) +
                                 server_frame(0x8, close_payload(1000)));
  conn.reset();  // the client ends the TCP connection after the closing handshake
  EXPECT_EQ(server.handler().wait_notes(), std::vector<std::string>{"closed 1000 bye"});
}

TEST_F(websocket_session_test, handler_close_sends_a_close_frame_and_waits_for_the_answer) {
  std::optional<raw_conn> conn(std::in_place, server.port());
  auto& c = *conn;
  c.send(upgrade("/bye"));
  EXPECT_EQ(c.read_head(), expected_101());
  c.send(client_frame(0x8, close_payload(1000)));
  EXPECT_EQ(c.read_to_eof(),
            server_frame(0x1, "bye") + server_frame(0x8, close_payload(1000, "done")));
  conn.reset();  // the client ends the TCP connection after the closing handshake
  EXPECT_EQ(server.handler().wait_notes(), std::vector<std::string>{"peer close 1000"});
}

TEST_F(websocket_session_test, message_over_the_limit_fails_with_1009) {
  std::optional<raw_conn> conn(std::in_place, server.port());
  auto& c = *conn;
  c.send(upgrade("/echo"));
  EXPECT_EQ(c.read_head(), expected_101());
  c.send(client_frame(0x1, std::string(100, 'x')));
  EXPECT_EQ(c.read_to_eof(), server_frame(0x8, close_payload(1009)));
  conn.reset();
  const auto notes = server.handler().wait_notes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("larger than 64 bytes"), std::string::npos) << notes[0];
}

TEST(websocket_session, close_frame_ends_the_read_even_when_the_client_keeps_tcp_open) {
  // Beast answers the close frame, then waits for the client to end TCP with no deadline of its
  // own; the session bounds that wait (here 50 ms), so the handler learns of the close.
  ws_server server(std::chrono::milliseconds(50));
  raw_conn c(server.port());
  c.send(upgrade("/echo"));
  EXPECT_EQ(c.read_head(), expected_101());
  c.send(client_frame(0x8, close_payload(4001, "later")));
  EXPECT_EQ(server.handler().wait_notes(), std::vector<std::string>{"closed 4001 later"});
  EXPECT_EQ(c.read_to_eof(), server_frame(0x8, close_payload(4001)));
}

TEST_F(websocket_session_test, plain_request_is_not_an_upgrade) {
  raw_conn c(server.port());
  c.send("GET /other HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(c.read_to_eof(),
            "HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 14\r\n\r\n"
            "upgrade please");
}

TEST_F(websocket_session_test, wrong_version_is_refused_over_http) {
  raw_conn c(server.port());
  c.send(upgrade("/echo", "8"));
  const std::string head = c.read_head();
  EXPECT_TRUE(head.starts_with("HTTP/1.1 426 ")) << head;
  EXPECT_EQ(head.find("Sec-WebSocket-Accept"), std::string::npos) << head;
  EXPECT_EQ(server.handler().wait_notes(), std::vector<std::string>{"accept: 426"});
}

TEST_F(websocket_session_test, close_all_ends_an_open_websocket) {
  raw_conn c(server.port());
  c.send(upgrade("/echo"));
  EXPECT_EQ(c.read_head(), expected_101());
  // The 101 is out, so the handler is reading when the drain deadline closes everything.
  server.close_all();
  EXPECT_EQ(c.read_to_eof(), "");
  const auto notes = server.handler().wait_notes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(notes[0].starts_with("read error")) << notes[0];
}

}  // namespace
}  // namespace aiproxy::http
