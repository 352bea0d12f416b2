// run_session serving HTTP/2 with prior knowledge, driven by an nghttp2 client (testlib
// h2_client) on a loopback socket against a scripted request_handler: requests and bodies,
// streamed responses, many streams on one connection answered out of order, 413 on one stream
// while another succeeds, client resets, a byte-by-byte preface, malformed input, timeouts and
// the worker's drain. Touches only its own sockets and io thread.

#include "aiproxy/http/session.hpp"
#include "session_server.hpp"
#include "testlib/h2_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <atomic>
#include <future>
#include <map>
#include <string>
#include <thread>

namespace aiproxy::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testlib::h2_client;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

/// Shared between the handler (server thread) and the test.
struct script_state {
  std::atomic<int> gate_released{0};
  int gate_used = 0;
  // /order/N: answered in reverse order once all ten arrived.
  int arrived = 0;
  int next = 9;
  std::map<int, asio::steady_timer*> waiting;
  std::atomic<bool> endless_failed{false};
  std::atomic<int> endless_chunks{0};
  std::atomic<int> handled{0};
};

asio::awaitable<void> pause(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(nothrow);
}

class scripted_handler final : public request_handler {
 public:
  explicit scripted_handler(script_state& s) : s_(s) {}

  asio::awaitable<void> handle(downstream& d) override {
    ++s_.handled;
    const auto& head = d.head();
    const std::string path = head.path;
    header_list h;
    if (path == "/hello") {
      h.add("X-A", "a");
      h.add("Connection", "close");
      h.add("Keep-Alive", "timeout=5");
      h.add("Transfer-Encoding", "chunked");
      h.add("Upgrade", "h2c");
      const std::string info = head.method + " " + head.target + " path=" + head.path +
                               " query=" + head.query + " host=" + head.host +
                               " v=" + std::to_string(head.version) +
                               " hosthdr=" + std::string(head.headers.get("host").value_or("-"));
      (void)co_await d.respond(200, h, info);
    } else if (path == "/echo") {
      auto body = co_await d.read_body(0);
      if (!body) {
        co_await send_error(d, body.error());
        co_return;
      }
      h.add("X-Declared", d.declared_body_length() ? std::to_string(*d.declared_body_length())
                                                   : std::string("none"));
      (void)co_await d.respond(200, h, std::string(*body));
    } else if (path == "/echo-parts") {
      std::string all;
      int parts = 0;
      for (;;) {
        auto piece = co_await d.read_body_part(0);
        if (!piece) {
          co_await send_error(d, piece.error());
          co_return;
        }
        if (piece->empty()) {
          break;
        }
        ++parts;
        all += *piece;
      }
      h.add("X-Parts", std::to_string(parts));
      (void)co_await d.respond(200, h, std::move(all));
    } else if (path == "/limited") {
      auto body = co_await d.read_body(100);
      if (!body) {
        co_await send_error(d, body.error());
        co_return;
      }
      (void)co_await d.respond(200, h, "fits");
    } else if (path == "/big") {
      (void)co_await d.respond(200, h, std::string(300 * 1024, 'b'));
    } else if (path == "/stream") {
      h.add("Content-Type", "text/event-stream");
      h.add("Content-Length", "999");
      (void)co_await d.begin_stream(200, h);
      (void)co_await d.write_chunk("one");
      const int want = ++s_.gate_used;
      while (s_.gate_released < want) {
        co_await pause(5);
      }
      (void)co_await d.write_chunk("two");
      (void)co_await d.end_stream();
    } else if (path.starts_with("/order/")) {
      const int n = std::stoi(path.substr(7));
      asio::steady_timer timer(co_await asio::this_coro::executor);
      s_.waiting[n] = &timer;
      ++s_.arrived;
      wake_all();
      while (!(s_.arrived == 10 && s_.next == n)) {
        timer.expires_at(asio::steady_timer::time_point::max());
        co_await timer.async_wait(nothrow);
      }
      s_.waiting.erase(n);
      (void)co_await d.respond(200, h, "answer " + std::to_string(n));
      --s_.next;
      wake_all();
    } else if (path == "/endless") {
      (void)co_await d.begin_stream(200, h);
      const std::string chunk(1000, 'e');
      for (;;) {
        if (!co_await d.write_chunk(chunk)) {
          s_.endless_failed = true;
          break;
        }
        ++s_.endless_chunks;
      }
    } else if (path == "/abort") {
      (void)co_await d.begin_stream(200, h);
      (void)co_await d.write_chunk("partial");
      d.abort_response();
    } else if (path == "/unended") {
      (void)co_await d.begin_stream(200, h);
      (void)co_await d.write_chunk("partial");
    } else if (path == "/silent") {
      // no response: the session answers 500
    } else {
      (void)co_await d.respond(404, h, "");
    }
  }

 private:
  void wake_all() {
    for (auto& [n, t] : s_.waiting) {
      t->cancel();
    }
  }
  script_state& s_;
};

/// The script's shared state, built before the server whose handler refers to it.
struct script_holder {
  script_state state;
};

/// run_session on 127.0.0.1:0, on its own io thread.
class h2_server : public script_holder, public test::session_server<scripted_handler> {
 public:
  explicit h2_server(session_options options = {})
      : test::session_server<scripted_handler>(std::move(options), state) {}
};

TEST(h2_session, get_builds_the_head_from_pseudo_headers_and_filters_response_fields) {
  h2_server server;
  h2_client c(server.port());
  const auto id = c.submit("GET", "/hello?x=1&y=2");
  const auto& r = c.wait(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.close_code, 0u);
  EXPECT_TRUE(r.ended);
  EXPECT_EQ(r.body,
            "GET /hello?x=1&y=2 path=/hello query=x=1&y=2 host=gateway.test v=20 "
            "hosthdr=gateway.test:8080");
  EXPECT_EQ(r.header("x-a").value_or(""), "a");
  EXPECT_EQ(r.header("content-length").value_or(""), std::to_string(r.body.size()));
  for (const char* dropped : {"connection", "keep-alive", "transfer-encoding", "upgrade"}) {
    EXPECT_FALSE(r.header(dropped)) << dropped;
  }
}

TEST(h2_session, post_body_is_read_whole_and_piece_by_piece_past_the_stream_window) {
  h2_server server;
  h2_client c(server.port());
  const auto small = c.submit("POST", "/echo", {{"content-length", "5"}}, "hello");
  std::string big(1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>('a' + i % 26);
  }
  // 1 MiB is four times the stream window: the upload only finishes if reading reopens it.
  const auto whole = c.submit("POST", "/echo", {}, big);
  const auto parts = c.submit("POST", "/echo-parts", {}, big);
  const auto& r1 = c.wait(small);
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.body, "hello");
  EXPECT_EQ(r1.header("x-declared").value_or(""), "5");
  const auto& r2 = c.wait(whole);
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(r2.body, big);
  EXPECT_EQ(r2.header("x-declared").value_or(""), "none");
  const auto& r3 = c.wait(parts);
  EXPECT_EQ(r3.status, 200);
  EXPECT_EQ(r3.body, big);
  EXPECT_GT(std::stoi(r3.header("x-parts").value_or("0")), 1);
  // A request without a body declares length 0.
  const auto empty = c.submit("POST", "/echo");
  EXPECT_EQ(c.wait(empty).header("x-declared").value_or(""), "0");
}

TEST(h2_session, large_response_crosses_the_client_window) {
  h2_server server;
  h2_client c(server.port());
  const auto& r = c.wait(c.submit("GET", "/big"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::string(300 * 1024, 'b'));
}

TEST(h2_session, streamed_response_arrives_chunk_by_chunk) {
  h2_server server;
  h2_client c(server.port());
  const auto id = c.submit("GET", "/stream");
  auto& r = c.response(id);
  ASSERT_TRUE(c.run_until([&] { return r.body == "one"; }));
  // The first chunk is here while the handler still waits: it was not buffered.
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.ended);
  EXPECT_EQ(r.header("content-type").value_or(""), "text/event-stream");
  EXPECT_FALSE(r.header("content-length"));  // a streamed response has no length
  server.state.gate_released = 1;
  c.wait(id);
  EXPECT_TRUE(r.ended);
  EXPECT_EQ(r.body, "onetwo");
  EXPECT_EQ(r.chunks.size(), 2u);
}

TEST(h2_session, ten_concurrent_streams_are_answered_out_of_order) {
  h2_server server;
  h2_client c(server.port());
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(c.submit("GET", "/order/" + std::to_string(i)));
  }
  ASSERT_TRUE(c.run_until([&] { return c.close_order().size() == 10; }));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(c.response(ids[i]).status, 200);
    EXPECT_EQ(c.response(ids[i]).body, "answer " + std::to_string(i));
  }
  // Each was answered after the one opened after it: the reverse of the opening order.
  std::vector<std::int32_t> reversed(ids.rbegin(), ids.rend());
  EXPECT_EQ(c.close_order(), reversed);
}

TEST(h2_session, body_over_the_limit_is_413_and_the_connection_goes_on) {
  h2_server server;
  h2_client c(server.port());
  // No content-length: the limit is found while reading; the upload is larger than the window,
  // so the client is still sending when the answer is complete.
  const auto over = c.submit("POST", "/limited", {}, std::string(600 * 1024, 'x'));
  const auto declared =
      c.submit("POST", "/limited", {{"content-length", "101"}}, std::string(101, 'y'));
  const auto other = c.submit("GET", "/hello");
  const auto& r1 = c.wait(over);
  EXPECT_EQ(r1.status, 413);
  EXPECT_NE(r1.body.find("larger than the limit of 100 bytes"), std::string::npos) << r1.body;
  EXPECT_EQ(r1.close_code, static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(c.wait(declared).status, 413);
  EXPECT_EQ(c.wait(other).status, 200);
  // Still serving on the same connection, within the limit too.
  EXPECT_EQ(c.wait(c.submit("POST", "/limited", {}, std::string(100, 'z'))).body, "fits");
  EXPECT_FALSE(c.eof());
}

TEST(h2_session, client_reset_mid_response_fails_the_handlers_writes) {
  h2_server server;
  h2_client c(server.port());
  const auto id = c.submit("GET", "/endless");
  auto& r = c.response(id);
  ASSERT_TRUE(c.run_until([&] { return r.body.size() >= 1000; }));
  c.reset(id, NGHTTP2_CANCEL);
  ASSERT_TRUE(c.run_until([&] { return server.state.endless_failed.load(); }));
  // The connection still serves other streams.
  EXPECT_EQ(c.wait(c.submit("GET", "/hello")).status, 200);
}

TEST(h2_session, aborted_or_unended_stream_is_reset_not_ended) {
  h2_server server;
  h2_client c(server.port());
  const auto& a = c.wait(c.submit("GET", "/abort"));
  EXPECT_FALSE(a.ended);
  EXPECT_EQ(a.close_code, static_cast<std::uint32_t>(NGHTTP2_INTERNAL_ERROR));
  const auto& u = c.wait(c.submit("GET", "/unended"));
  EXPECT_FALSE(u.ended);
  EXPECT_EQ(u.close_code, static_cast<std::uint32_t>(NGHTTP2_INTERNAL_ERROR));
  const auto& s = c.wait(c.submit("GET", "/silent"));
  EXPECT_EQ(s.status, 500);
  EXPECT_NE(s.body.find("produced no response"), std::string::npos);
}

TEST(h2_session, preface_one_byte_per_write) {
  h2_server server;
  h2_client c(server.port());
  const auto id = c.submit("POST", "/echo", {}, "slow");
  c.flush(/*byte_by_byte=*/true);
  const auto& r = c.wait(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow");
}

TEST(h2_session, garbage_after_the_preface_gets_goaway_and_close) {
  h2_server server;
  h2_client c(server.port(), /*handshake=*/false);
  c.flush();  // the preface alone
  c.send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(c.run_until([&] { return c.eof(); }));
  EXPECT_TRUE(c.goaway_received());
  EXPECT_EQ(c.goaway_error(), static_cast<std::uint32_t>(NGHTTP2_PROTOCOL_ERROR));
}

TEST(h2_session, malformed_frame_gets_goaway_protocol_error) {
  h2_server server;
  h2_client c(server.port());
  c.flush();
  // DATA on stream 0 is a connection error (RFC 9113 section 6.1).
  c.send_raw(std::string("\x00\x00\x01\x00\x00\x00\x00\x00\x00x", 10));
  EXPECT_TRUE(c.run_until([&] { return c.eof(); }));
  EXPECT_TRUE(c.goaway_received());
  EXPECT_EQ(c.goaway_error(), static_cast<std::uint32_t>(NGHTTP2_PROTOCOL_ERROR));
}

TEST(h2_session, oversized_header_list_is_431_on_that_stream) {
  session_options o;
  o.max_header_bytes = 4096;
  h2_server server(o);
  h2_client c(server.port());
  const auto big = c.submit("GET", "/hello", {{"x-big", std::string(5000, 'h')}});
  const auto& r = c.wait(big);
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(c.wait(c.submit("GET", "/hello")).status, 200);
  EXPECT_EQ(server.state.handled, 1);  // the handler never saw the oversized request
}

TEST(h2_session, stalled_upload_times_out_with_408) {
  session_options o;
  o.body_timeout = 200ms;
  h2_server server(o);
  h2_client c(server.port());
  const auto id = c.submit("POST", "/echo", {}, "partial", /*keep_open=*/true);
  const auto& r = c.wait(id);
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(c.wait(c.submit("GET", "/hello")).status, 200);
}

TEST(h2_session, idle_connection_gets_goaway_after_header_timeout) {
  session_options o;
  o.header_timeout = 200ms;
  h2_server server(o);
  h2_client c(server.port());
  EXPECT_EQ(c.wait(c.submit("GET", "/hello")).status, 200);
  EXPECT_TRUE(c.run_until([&] { return c.eof(); }));
  EXPECT_TRUE(c.goaway_received());
  EXPECT_EQ(c.goaway_error(), static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
}

TEST(h2_session, drain_sends_goaway_and_the_in_flight_stream_completes) {
  h2_server server;
  h2_client c(server.port());
  const auto id = c.submit("GET", "/stream");
  auto& r = c.response(id);
  ASSERT_TRUE(c.run_until([&] { return r.body == "one"; }));
  server.begin_drain();
  ASSERT_TRUE(c.run_until([&] { return c.goaway_received(); }));
  EXPECT_EQ(c.goaway_error(), static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(c.goaway_last_stream(), id);
  EXPECT_FALSE(r.closed);
  server.state.gate_released = 1;
  c.wait(id);
  EXPECT_TRUE(r.ended);
  EXPECT_EQ(r.body, "onetwo");
  EXPECT_TRUE(c.run_until([&] { return c.eof(); }));
  EXPECT_TRUE(server.all_sessions_ended());
}

TEST(h2_session, close_all_wakes_a_handler_waiting_for_the_body) {
  h2_server server;
  h2_client c(server.port());
  c.submit("POST", "/echo", {}, "never ends", /*keep_open=*/true);
  ASSERT_TRUE(c.run_until([&] { return server.state.handled == 1; }));
  server.close_all();
  EXPECT_TRUE(c.run_until([&] { return c.eof(); }));
  // The session returned: the handler let go of the connection.
  EXPECT_TRUE(server.all_sessions_ended());
}

}  // namespace
}  // namespace aiproxy::http
