// upstream::client::send_streamed against testlib::upload_sink: Content-Length when the length is
// known, chunked otherwise, a dead pooled connection replaced once without the body arriving
// twice (and never replayed once more than the held bytes were taken), an early upstream answer
// returned instead of a write error (even when the upstream stopped reading), and a failing
// source that closes the connection with the body incomplete.

#include "aiproxy/upstream/client.hpp"
#include "run_coroutine.hpp"

#include "testlib/fake_upstream.hpp"
#include "testlib/upload_sink.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace aiproxy::upstream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testlib::upload_plan;
using testlib::upload_record;
using testlib::upload_sink;

using test::run;

/// Yields `count` pieces of `piece` bytes each (byte i of the body is 'a' + i % 26), then the
/// end; or fails with `failure` instead of piece number `fail_at`.
class test_source final : public body_source {
 public:
  test_source(std::size_t count, std::size_t piece, std::optional<std::uint64_t> length)
      : count_(count), piece_(piece), length_(length) {}

  std::optional<std::size_t> fail_at;
  error failure = error::payload_too_large("over the limit");

  asio::awaitable<result<std::string_view>> next() override {
    if (fail_at && taken_ == *fail_at)
      co_return failure;
    if (taken_ == count_)
      co_return std::string_view();
    buf_.clear();
    for (std::size_t i = 0; i < piece_; ++i)
      buf_ += static_cast<char>('a' + (taken_ * piece_ + i) % 26);
    ++taken_;
    co_return std::string_view(buf_);
  }
  std::optional<std::uint64_t> length() const noexcept override { return length_; }

  std::size_t taken() const { return taken_; }
  std::string whole() const {
    std::string s;
    for (std::size_t i = 0; i < count_ * piece_; ++i)
      s += static_cast<char>('a' + i % 26);
    return s;
  }

 private:
  std::size_t count_, piece_;
  std::optional<std::uint64_t> length_;
  std::size_t taken_ = 0;
  std::string buf_;
};

struct answer {
  int status = 0;
  std::string body;
};

class streamed_send_test : public ::testing::Test {
 protected:
  asio::io_context ioc;
  client c{ioc, {}};
  upload_sink sink;
  timeouts t{5s, 5s, 5s};

  providers::upstream_request request() {
    providers::upstream_request r;
    r.method = "POST";
    r.scheme = "http";
    r.host = "127.0.0.1";
    r.port = sink.port();
    r.target = "/v1/files";
    r.headers.add("Content-Type", "multipart/form-data; boundary=b");
    r.headers.add("Content-Length", "999");  // never forwarded: the client frames the body
    return r;
  }

  result<answer> send(body_source& src) {
    return run(ioc, [&]() -> asio::awaitable<result<answer>> {
      auto ex = co_await c.send_streamed(request(), src, t);
      if (!ex)
        co_return ex.error();
      auto body = co_await (*ex)->read_all(1 << 20);
      if (!body)
        co_return body.error();
      co_return answer{(*ex)->head().status, std::move(*body)};
    }());
  }

  /// A first, ordinary upload whose connection goes back to the pool.
  void warm_pool() {
    test_source warm(1, 10, 10);
    auto r = send(warm);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(c.idle_connections(), 1u);
  }
};

TEST_F(streamed_send_test, known_length_is_sent_as_content_length) {
  test_source src(5, 1000, 5000);
  auto r = send(src);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].content_length, 5000u);
  EXPECT_FALSE(reqs[0].chunked);
  EXPECT_TRUE(reqs[0].complete);
  EXPECT_EQ(reqs[0].body, src.whole());
  EXPECT_EQ(reqs[0].headers.get("content-type").value_or(""), "multipart/form-data; boundary=b");
  EXPECT_EQ(c.idle_connections(), 1u);  // a whole exchange keeps its connection
}

TEST_F(streamed_send_test, unknown_length_goes_chunked) {
  test_source src(7, 3000, std::nullopt);
  auto r = send(src);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0].chunked);
  EXPECT_FALSE(reqs[0].content_length);
  EXPECT_TRUE(reqs[0].complete);
  EXPECT_EQ(reqs[0].body, src.whole());
  EXPECT_EQ(c.idle_connections(), 1u);
}

TEST_F(streamed_send_test, empty_body_is_content_length_zero) {
  test_source src(0, 0, std::nullopt);
  auto r = send(src);
  ASSERT_TRUE(r) << r.error().message;
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].content_length, 0u);
  EXPECT_FALSE(reqs[0].chunked);
  EXPECT_TRUE(reqs[0].complete);
}

TEST_F(streamed_send_test, dead_pooled_connection_is_replaced_once_and_the_body_arrives_once) {
  warm_pool();
  // The pooled connection dies as the next request arrives (before any answer byte).
  sink.on([](const upload_record& head) {
    upload_plan p;
    if (head.connection == 1)
      p.what = upload_plan::kind::reset;
    return p;
  });
  test_source src(4, 5000, std::nullopt);
  auto r = send(src);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].connection, 1u);
  EXPECT_FALSE(reqs[1].complete);
  EXPECT_EQ(reqs[2].connection, 2u);
  EXPECT_TRUE(reqs[2].complete);
  EXPECT_EQ(reqs[2].body, src.whole());
  EXPECT_EQ(sink.connections_accepted(), 2u);
}

TEST_F(streamed_send_test, dead_connection_after_more_than_the_held_bytes_is_an_error) {
  warm_pool();
  // The reused connection takes 300 KiB of the body, then resets: that much cannot be replayed.
  sink.on([](const upload_record& head) {
    upload_plan p;
    if (head.connection == 1 && head.content_length == 1u << 20) {
      p.what = upload_plan::kind::reset;
      p.reset_after = 300 * 1024;
    }
    return p;
  });
  test_source src(64, 16 * 1024, 1u << 20);
  auto r = send(src);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_TRUE(r.error().request_sent);
  EXPECT_EQ(sink.requests().size(), 2u);  // nothing was sent again
  EXPECT_EQ(sink.connections_accepted(), 1u);
}

TEST_F(streamed_send_test, early_answer_of_an_upstream_that_stopped_reading_is_returned) {
  sink.on([](const upload_record&) {
    upload_plan p;
    p.what = upload_plan::kind::answer_and_stall;
    p.status = 413;
    p.body = R"({"error":"too big"})";
    return p;
  });
  // 32 MiB: far more than the socket buffers hold, so the write blocks until the answer ends it.
  test_source src(512, 64 * 1024, 512u * 64 * 1024);
  auto r = send(src);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, R"({"error":"too big"})");
  EXPECT_LT(src.taken(), 512u);
  EXPECT_EQ(c.idle_connections(), 0u);  // the body was not all sent: never reused
}

TEST_F(streamed_send_test, early_answer_of_a_draining_upstream_is_returned) {
  sink.on([](const upload_record&) {
    upload_plan p;
    p.what = upload_plan::kind::answer_early;
    p.status = 401;
    p.body = R"({"error":"no key"})";
    return p;
  });
  test_source src(256, 64 * 1024, std::nullopt);
  auto r = send(src);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, R"({"error":"no key"})");
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(streamed_send_test, failing_source_aborts_with_a_known_length) {
  test_source src(10, 1000, 10000);
  src.fail_at = 4;
  auto r = send(src);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(r.error().message, "over the limit");
  ASSERT_TRUE(sink.wait_for_end(0, 5s));
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_FALSE(reqs[0].complete);
  EXPECT_EQ(reqs[0].body.size(), 4000u);
  EXPECT_EQ(c.idle_connections(), 0u);
  ASSERT_TRUE(sink.wait_for_closed_connections(1, 5s));  // the connection was closed
}

TEST_F(streamed_send_test, failing_source_aborts_a_chunked_body_without_its_last_chunk) {
  test_source src(10, 1000, std::nullopt);
  src.fail_at = 3;
  src.failure = error::bad_request("request body is not valid multipart/form-data: x");
  auto r = send(src);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 400);
  ASSERT_TRUE(sink.wait_for_end(0, 5s));
  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0].chunked);
  EXPECT_FALSE(reqs[0].complete);
  EXPECT_EQ(reqs[0].body.size(), 3000u);
  EXPECT_EQ(c.idle_connections(), 0u);
}

TEST_F(streamed_send_test, source_failing_at_once_opens_no_connection) {
  test_source src(10, 1000, 10000);
  src.fail_at = 0;
  auto r = send(src);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(sink.connections_accepted(), 0u);
}

TEST_F(streamed_send_test, source_longer_than_its_length_never_completes_the_body) {
  test_source src(3, 1000, 2500);
  auto r = send(src);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
  ASSERT_TRUE(sink.wait_for_end(0, 5s));
  EXPECT_FALSE(sink.requests()[0].complete);
}

TEST_F(streamed_send_test, streams_over_tls_and_reuses_the_connection) {
  testlib::fake_upstream up(testlib::fake_upstream_options{.tls = true});
  client_options o;
  o.ca_file = up.ca_file();
  client tls_client(ioc, o);
  auto req = request();
  req.scheme = "https";
  req.host = "localhost";
  req.port = up.port();
  for (int i = 0; i < 2; ++i) {
    test_source src(40, 8000, i == 0 ? std::optional<std::uint64_t>(320000) : std::nullopt);
    auto r = run(ioc, [&]() -> asio::awaitable<result<answer>> {
      auto ex = co_await tls_client.send_streamed(req, src, t);
      if (!ex)
        co_return ex.error();
      auto body = co_await (*ex)->read_all(1 << 20);
      if (!body)
        co_return body.error();
      co_return answer{(*ex)->head().status, std::move(*body)};
    }());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    auto reqs = up.requests();
    ASSERT_EQ(reqs.size(), static_cast<std::size_t>(i + 1));
    EXPECT_EQ(reqs.back().body, src.whole());
  }
  EXPECT_EQ(up.connections_accepted(), 1u);
}

}  // namespace
}  // namespace aiproxy::upstream
