// upstream::client against testlib::fake_upstream: request/response, pooling, retries of stale
// connections, every failure mapped to 502/504, streamed and compressed bodies, TLS checks.

#include "aiproxy/upstream/client.hpp"
#include "run_coroutine.hpp"

#include "testlib/fake_upstream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <exception>
#include <memory>
#include <optional>

namespace aiproxy::upstream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testlib::action;
using testlib::fake_upstream;
using testlib::fake_upstream_options;
using testlib::received_request;

using test::run;

struct fetched {
  response_head head;
  std::string body;
};

asio::awaitable<result<fetched>> fetch(client& c, const providers::upstream_request& req,
                                       timeouts t, std::size_t max_bytes = 1 << 20) {
  auto ex = co_await c.send(req, t);
  if (!ex)
    co_return ex.error();
  auto body = co_await (*ex)->read_all(max_bytes);
  if (!body)
    co_return body.error();
  co_return fetched{(*ex)->head(), std::move(*body)};
}

providers::upstream_request request_to(const fake_upstream& up, std::string host = "127.0.0.1") {
  providers::upstream_request r;
  r.method = "POST";
  r.scheme = up.tls() ? "https" : "http";
  r.host = std::move(host);
  r.port = up.port();
  r.target = "/v1/chat/completions?x=1";
  r.headers.add("Content-Type", "application/json");
  r.headers.add("Authorization", "Bearer sk-secret");
  r.body = R"({"model":"gpt-4o","messages":[]})";
  return r;
}

/// A port nobody listens on (bound, then released).
std::uint16_t closed_port() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class client_test : public ::testing::Test {
 protected:
  asio::io_context ioc;
  timeouts t{500ms, 500ms, 500ms};

  result<fetched> get(client& c, const providers::upstream_request& req,
                      std::size_t max_bytes = 1 << 20) {
    return run(ioc, fetch(c, req, t, max_bytes));
  }
};

TEST_F(client_test, plain_request_and_response) {
  fake_upstream up;
  header_list h;
  h.add("X-Test", "yes");
  h.add("Content-Type", "text/plain");
  up.on([&](const received_request&) { return action::respond(201, h, "hello"); });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->head.status, 201);
  EXPECT_EQ(r->head.headers.get("x-test"), "yes");
  EXPECT_EQ(r->head.headers.get("content-length"), "5");
  EXPECT_FALSE(r->head.inflated);
  EXPECT_EQ(r->body, "hello");

  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1/chat/completions?x=1");
  EXPECT_EQ(reqs[0].body, R"({"model":"gpt-4o","messages":[]})");
  EXPECT_EQ(reqs[0].headers.get("host"), "127.0.0.1:" + std::to_string(up.port()));
  EXPECT_EQ(reqs[0].headers.get("content-length"), "32");
  EXPECT_EQ(reqs[0].headers.get("content-type"), "application/json");
  EXPECT_EQ(reqs[0].headers.get("authorization"), "Bearer sk-secret");
}

TEST_F(client_test, request_hop_by_hop_headers_are_not_sent) {
  fake_upstream up;
  client c(ioc, {});
  auto req = request_to(up);
  req.method = "GET";
  req.body.clear();
  req.headers.add("Connection", "close");
  req.headers.add("Transfer-Encoding", "chunked");
  req.headers.add("Host", "evil.example");
  auto r = get(c, req);
  ASSERT_TRUE(r) << r.error().message;
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_FALSE(reqs[0].headers.contains("connection"));
  EXPECT_FALSE(reqs[0].headers.contains("transfer-encoding"));
  EXPECT_FALSE(reqs[0].headers.contains("content-length"));
  EXPECT_EQ(reqs[0].headers.get("host"), "127.0.0.1:" + std::to_string(up.port()));
  EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(client_test, header_with_line_break_is_refused) {
  fake_upstream up;
  client c(ioc, {});
  auto req = request_to(up);
  req.headers.add("X-Bad", "a\r\nInjected: yes");
  auto r = get(c, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
  EXPECT_EQ(up.request_count(), 0u);
}

TEST_F(client_test, keep_alive_reuses_one_connection) {
  fake_upstream up;
  up.on([](const received_request& r) { return action::respond(200, {}, "n" + r.body); });
  client c(ioc, {});
  for (int i = 0; i < 5; ++i) {
    auto req = request_to(up);
    req.body = std::to_string(i);
    auto r = get(c, req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->body, "n" + std::to_string(i));
    EXPECT_EQ(c.idle_connections(), 1u);
  }
  EXPECT_EQ(up.connections_accepted(), 1u);
  EXPECT_EQ(up.request_count(), 5u);
}

TEST_F(client_test, each_upstream_keeps_its_own_pooled_connection) {
  fake_upstream a;
  fake_upstream b;
  a.on([](const received_request&) { return action::respond(200, {}, "from a"); });
  b.on([](const received_request&) { return action::respond(200, {}, "from b"); });
  client c(ioc, {});
  // Runs of one host and alternation between the two: every answer comes from the host asked.
  for (const char* order : {"aabba", "ababab"}) {
    for (const char* h = order; *h != '\0'; ++h) {
      auto r = get(c, request_to(*h == 'a' ? a : b));
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(r->body, *h == 'a' ? "from a" : "from b");
    }
  }
  EXPECT_EQ(a.connections_accepted(), 1u);
  EXPECT_EQ(b.connections_accepted(), 1u);
  EXPECT_EQ(c.idle_connections(), 2u);
}

TEST_F(client_test, connection_close_is_not_pooled) {
  fake_upstream up;
  up.on([](const received_request&) { return action::respond(200, {}, "x").close_connection(); });
  client c(ioc, {});
  for (int i = 0; i < 2; ++i) {
    auto r = get(c, request_to(up));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(c.idle_connections(), 0u);
    EXPECT_FALSE(r->head.headers.contains("connection"));
  }
  EXPECT_EQ(up.connections_accepted(), 2u);
}

TEST_F(client_test, idle_timeout_closes_pooled_connections) {
  fake_upstream up;
  client_options o;
  o.idle_timeout = 0s;
  client c(ioc, o);
  ASSERT_TRUE(get(c, request_to(up)));
  ASSERT_TRUE(get(c, request_to(up)));
  EXPECT_EQ(up.connections_accepted(), 2u);
}

TEST_F(client_test, the_pool_judges_idle_age_by_the_callers_clock_reading) {
  fake_upstream up;
  client_options o;
  o.idle_timeout = 60s;
  client c(ioc, o);
  auto at = [&](std::chrono::steady_clock::time_point sent_at) -> asio::awaitable<bool> {
    auto ex = co_await c.send(request_to(up), t, sent_at);
    if (!ex)
      co_return false;
    auto body = co_await (*ex)->read_all(100);
    const bool answered = body && *body == "ok";
    co_return answered;
  };
  const auto now = std::chrono::steady_clock::now();
  ASSERT_TRUE(run(ioc, at(now)));
  ASSERT_TRUE(run(ioc, at(now + 1s)));  // idle for a second as of that reading: reused
  EXPECT_EQ(up.connections_accepted(), 1u);
  ASSERT_TRUE(run(ioc, at(now + 2min)));  // idle past the timeout as of that reading
  EXPECT_EQ(up.connections_accepted(), 2u);
}

TEST_F(client_test, max_idle_per_host_bounds_the_pool) {
  fake_upstream up;
  client_options o;
  o.max_idle_per_host = 1;
  client c(ioc, o);
  auto both = [&]() -> asio::awaitable<bool> {
    auto a = co_await c.send(request_to(up), t);
    auto b = co_await c.send(request_to(up), t);
    if (!a || !b)
      co_return false;
    auto ba = co_await (*a)->read_all(100);
    auto bb = co_await (*b)->read_all(100);
    co_return ba&& bb&&* ba == "ok" && *bb == "ok";
  };
  EXPECT_TRUE(run(ioc, both()));
  EXPECT_EQ(up.connections_accepted(), 2u);
  EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(client_test, body_not_read_to_the_end_closes_the_connection) {
  fake_upstream up;
  client c(ioc, {});
  auto head_only = [&]() -> asio::awaitable<int> {
    auto ex = co_await c.send(request_to(up), t);
    co_return ex ? (*ex)->head().status : 0;
  };
  EXPECT_EQ(run(ioc, head_only()), 200);
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(client_test, stale_pooled_connection_is_replaced_once) {
  fake_upstream up;
  // The second request on the first connection finds it dead (reset before any answer byte).
  auto seen_on_first = std::make_shared<std::atomic<int>>(0);
  up.on([seen_on_first](const received_request& r) {
    if (r.connection == 1 && ++*seen_on_first == 2)
      return action::reset();
    return action::respond(200, {}, "fine");
  });
  client c(ioc, {});
  ASSERT_TRUE(get(c, request_to(up)));
  auto r = get(c, request_to(up));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "fine");
  EXPECT_EQ(up.connections_accepted(), 2u);
  EXPECT_EQ(up.request_count(), 3u);
  EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(client_test, connection_closed_by_the_upstream_while_idle_is_replaced) {
  fake_upstream up;
  up.on([](const received_request&) { return action::respond(200, {}, "x").close_silently(); });
  client c(ioc, {});
  for (int i = 0; i < 3; ++i) {
    auto r = get(c, request_to(up));
    ASSERT_TRUE(r) << i << ": " << r.error().message;
    EXPECT_EQ(r->body, "x");
  }
  EXPECT_EQ(up.connections_accepted(), 3u);
  EXPECT_EQ(up.request_count(), 3u);
}

TEST_F(client_test, fresh_connection_failure_is_not_retried) {
  fake_upstream up;
  up.on([](const received_request&) { return action::reset(); });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(up.connections_accepted(), 1u);
  EXPECT_EQ(up.request_count(), 1u);
}

TEST_F(client_test, connect_refused_is_bad_gateway_naming_the_target) {
  client c(ioc, {});
  providers::upstream_request req;
  req.scheme = "http";
  req.host = "127.0.0.1";
  req.port = closed_port();
  auto r = get(c, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(req.port)), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
}

TEST_F(client_test, unknown_host_is_bad_gateway) {
  client c(ioc, {});
  providers::upstream_request req;
  req.scheme = "http";
  req.host = "no-such-host.invalid";
  req.port = 80;
  t.connect = 5s;  // a resolver without network answers at once; never assert on time
  auto r = get(c, req);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().status == 502 || r.error().status == 504) << r.error().message;
  EXPECT_NE(r.error().message.find("no-such-host.invalid"), std::string::npos);
}

TEST_F(client_test, connect_timeout_when_the_listen_backlog_is_full) {
  // A listener that never accepts, with its accept queue filled: the kernel drops further SYNs.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  client c(ioc, {});
  providers::upstream_request req;
  req.scheme = "http";
  req.host = "127.0.0.1";
  req.port = ntohs(addr.sin_port);
  t.connect = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = get(c, req);
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (int fd : fillers)
    ::close(fd);
  ::close(lfd);
  if (r || r.error().status != 504) {
    GTEST_SKIP() << "this kernel completed or refused the connection despite the full backlog";
  }
  EXPECT_NE(r.error().message.find("upstream timed out (connect)"), std::string::npos)
      << r.error().message;
  EXPECT_LT(elapsed, 10s);
}

TEST_F(client_test, connect_timeout_covers_the_tls_handshake) {
  // The kernel completes the TCP handshake, but nobody ever accepts, so no TLS answer comes.
  asio::ip::tcp::acceptor silent(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  client c(ioc, {});
  providers::upstream_request req;
  req.scheme = "https";
  req.host = "127.0.0.1";
  req.port = silent.local_endpoint().port();
  t.connect = 200ms;
  auto r = get(c, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 504);
  EXPECT_NE(r.error().message.find("upstream timed out (connect)"), std::string::npos)
      << r.error().message;
}

TEST_F(client_test, read_timeout_when_the_upstream_hangs) {
  fake_upstream up;
  up.on([](const received_request&) { return action::hang(); });
  client c(ioc, {});
  t.read = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = get(c, request_to(up));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 504);
  EXPECT_EQ(r.error().code, "upstream_timeout");
  EXPECT_NE(r.error().message.find("upstream timed out (read)"), std::string::npos)
      << r.error().message;
  EXPECT_LT(elapsed, 10s);
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(client_test, read_timeout_applies_between_body_reads) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::stream(200, {}, {"first", "never"}).gate();  // second chunk never released
  });
  client c(ioc, {});
  t.read = 200ms;
  // (No std::pair of result<bool>: its converting constructor would turn the result into a bool.)
  struct outcome {
    std::string text;
    std::optional<error> failure;
  };
  auto body = [&]() -> asio::awaitable<outcome> {
    outcome o;
    auto ex = co_await c.send(request_to(up), t);
    if (!ex)
      co_return outcome{"", ex.error()};
    auto first = co_await (*ex)->read_some(o.text);
    if (!first || !*first)
      co_return outcome{"first read failed", std::nullopt};
    auto second = co_await (*ex)->read_some(o.text);
    if (!second)
      o.failure = second.error();
    co_return o;
  };
  auto o = run(ioc, body());
  EXPECT_EQ(o.text, "first");
  ASSERT_TRUE(o.failure);
  EXPECT_EQ(o.failure->status, 504);
  EXPECT_NE(o.failure->message.find("upstream timed out (read)"), std::string::npos);
}

TEST_F(client_test, reset_mid_body_is_bad_gateway) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::respond(200, {}, std::string(4000, 'x')).reset_after(300);
  });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(client_test, close_after_headers_is_bad_gateway) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::respond(200, {}, std::string(100, 'x')).close_after_headers();
  });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("before the response ended"), std::string::npos)
      << r.error().message;
}

TEST_F(client_test, garbage_is_an_invalid_http_response) {
  fake_upstream up;
  up.on([](const received_request&) { return action::garbage(); });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(r.error().message, "upstream sent an invalid HTTP response");
}

TEST_F(client_test, oversized_response_head_is_bad_gateway) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::respond(200, {}, "x").header("X-Big", std::string(2000, 'b'));
  });
  client_options o;
  o.max_header_bytes = 1024;
  client c(ioc, o);
  auto r = get(c, request_to(up));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("larger than 1024 bytes"), std::string::npos);
}

TEST_F(client_test, read_all_enforces_its_limit) {
  fake_upstream up;
  up.on([](const received_request&) { return action::respond(200, {}, std::string(100, 'y')); });
  client c(ioc, {});
  auto r = get(c, request_to(up), 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("larger than 10 bytes"), std::string::npos);
  // Chunked bodies have no length up front: the limit applies as they arrive.
  up.on([](const received_request&) {
    return action::stream(200, {}, {std::string(8, 'a'), std::string(8, 'b')});
  });
  r = get(c, request_to(up), 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
}

TEST_F(client_test, chunked_stream_arrives_piece_by_piece) {
  fake_upstream up;
  header_list h;
  h.add("Content-Type", "text/event-stream");
  up.on([&](const received_request&) {
    return action::stream(200, h, {"data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"}).gate();
  });
  client c(ioc, {});
  auto body = [&]() -> asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> pieces;
    auto ex = co_await c.send(request_to(up), t);
    if (!ex)
      co_return pieces;
    pieces.push_back((*ex)->head().headers.get("transfer-encoding") ? "te!" : "head");
    for (;;) {
      std::string out;
      auto more = co_await (*ex)->read_some(out);
      if (!more) {
        pieces.push_back("error: " + more.error().message);
        break;
      }
      if (!*more)
        break;
      pieces.push_back(out);
      up.release();  // only now may the next chunk go out
    }
    co_return pieces;
  };
  auto pieces = run(ioc, body());
  std::vector<std::string> expected{"head", "data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"};
  EXPECT_EQ(pieces, expected);
  EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(client_test, body_until_close_is_read_and_not_pooled) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::stream(200, {}, {"abc", "def"}, 0ms, /*chunked=*/false);
  });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "abcdef");
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(client_test, response_hop_by_hop_headers_are_removed) {
  fake_upstream up;
  up.on([](const received_request&) {
    header_list h;
    h.add("Connection", "keep-alive, X-Private");
    h.add("Keep-Alive", "timeout=5");
    h.add("X-Private", "1");
    h.add("X-Public", "2");
    return action::stream(200, h, {"a"});
  });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->head.headers.contains("connection"));
  EXPECT_FALSE(r->head.headers.contains("keep-alive"));
  EXPECT_FALSE(r->head.headers.contains("x-private"));
  EXPECT_FALSE(r->head.headers.contains("transfer-encoding"));
  EXPECT_EQ(r->head.headers.get("x-public"), "2");
}

TEST_F(client_test, gzip_body_is_inflated) {
  fake_upstream up;
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "token " + std::to_string(i) + " ";
  up.on([&](const received_request&) {
    return action::respond(200, {}, text).gzip().header("Content-Type", "application/json");
  });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->head.inflated);
  EXPECT_FALSE(r->head.headers.contains("content-encoding"));
  EXPECT_FALSE(r->head.headers.contains("content-length"));
  EXPECT_EQ(r->head.headers.get("content-type"), "application/json");
  EXPECT_EQ(r->body, text);
  EXPECT_EQ(c.idle_connections(), 1u);

  up.on([&](const received_request&) { return action::respond(200, {}, text).deflate(); });
  r = get(c, request_to(up));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->head.inflated);
  EXPECT_EQ(r->body, text);
}

TEST_F(client_test, gzip_stream_is_inflated_piece_by_piece) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::stream(200, {}, {"data: one\n\n", "data: two\n\n"}).gzip().gate();
  });
  client c(ioc, {});
  auto body = [&]() -> asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> pieces;
    auto ex = co_await c.send(request_to(up), t);
    if (!ex || !(*ex)->head().inflated)
      co_return pieces;
    for (;;) {
      std::string out;
      auto more = co_await (*ex)->read_some(out);
      if (!more || !*more)
        break;
      pieces.push_back(out);
      up.release();
    }
    co_return pieces;
  };
  auto pieces = run(ioc, body());
  std::vector<std::string> expected{"data: one\n\n", "data: two\n\n"};
  EXPECT_EQ(pieces, expected);
}

TEST_F(client_test, corrupt_gzip_is_bad_gateway) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::respond(200, {}, "definitely not gzip").header("Content-Encoding", "gzip");
  });
  client c(ioc, {});
  auto r = get(c, request_to(up));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
}

// ------------------------------------------------------------------------------------ TLS

TEST_F(client_test, tls_with_the_ca_file_succeeds) {
  fake_upstream up(fake_upstream_options{.tls = true});
  up.on([](const received_request&) { return action::respond(200, {}, "secure"); });
  client_options o;
  o.ca_file = up.ca_file();
  client c(ioc, o);
  for (std::string host : {"localhost", "127.0.0.1"}) {
    auto r = get(c, request_to(up, host));
    ASSERT_TRUE(r) << host << ": " << r.error().message;
    EXPECT_EQ(r->body, "secure");
  }
  auto again = get(c, request_to(up, "localhost"));  // reuses the pooled TLS connection
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(up.connections_accepted(), 2u);
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].headers.get("host"), "localhost:" + std::to_string(up.port()));
}

TEST_F(client_test, tls_without_the_ca_is_rejected) {
  fake_upstream up(fake_upstream_options{.tls = true});
  client c(ioc, {});
  auto r = get(c, request_to(up, "localhost"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(up.request_count(), 0u);
}

TEST_F(client_test, tls_host_name_mismatch_is_rejected) {
  fake_upstream up(fake_upstream_options{.tls = true, .cert_ip_san = false});
  client_options o;
  o.ca_file = up.ca_file();
  client c(ioc, o);
  auto r = get(c, request_to(up, "127.0.0.1"));  // the certificate names only "localhost"
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("mismatch"), std::string::npos) << r.error().message;

  fake_upstream other(fake_upstream_options{.tls = true, .cert_host = "api.example.com"});
  client_options o2;
  o2.ca_file = other.ca_file();
  client c2(ioc, o2);
  auto r2 = get(c2, request_to(other, "localhost"));
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("hostname mismatch"), std::string::npos) << r2.error().message;
}

TEST_F(client_test, tls_verify_false_accepts_any_certificate) {
  fake_upstream up(fake_upstream_options{.tls = true, .cert_host = "api.example.com"});
  client_options o;
  o.tls_verify = false;
  client c(ioc, o);
  auto r = get(c, request_to(up, "localhost"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "ok");
}

TEST_F(client_test, unreadable_ca_file_fails_tls_requests) {
  fake_upstream up(fake_upstream_options{.tls = true});
  client_options o;
  o.ca_file = "/nonexistent/ca.pem";
  client c(ioc, o);
  auto r = get(c, request_to(up, "localhost"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

TEST_F(client_test, plain_http_to_a_tls_server_is_bad_gateway) {
  fake_upstream up(fake_upstream_options{.tls = true});
  client c(ioc, {});
  auto req = request_to(up);
  req.scheme = "http";
  auto r = get(c, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
}

}  // namespace
}  // namespace aiproxy::upstream
