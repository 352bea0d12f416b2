// The shared test helpers themselves: testlib::process (spawn, output capture, exit status,
// signals) and testlib::http_client against testlib::fake_upstream (whole and streamed bodies).

#include "testlib/fake_upstream.hpp"
#include "testlib/http_client.hpp"
#include "testlib/process.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace aiproxy::testlib {
namespace {

using namespace std::chrono_literals;

TEST(process_test, captures_output_and_exit_code) {
  process p({.program = "sh",
             .args = {"-c", "echo out-$GREETING; echo err-line >&2; exit 3"},
             .env = {{"GREETING", "hello"}}});
  auto st = p.wait_for(30s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 3);
  EXPECT_FALSE(st->success());
  EXPECT_EQ(p.stdout_text(), "out-hello\n");
  EXPECT_EQ(p.stderr_text(), "err-line\n");
}

TEST(process_test, signals_and_waits_for_output) {
  process p(
      {.program = "/bin/sh", .args = {"-c", "echo 'listening on port 1234' >&2; exec sleep 60"}});
  auto line = p.wait_for_output("listening on", 30s);
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "listening on port 1234");
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.wait_for(10ms));
  p.signal(SIGTERM);
  auto st = p.wait_for(30s);
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->exited);
  EXPECT_EQ(st->signal, SIGTERM);
  EXPECT_FALSE(p.wait_for_output("never printed", 10ms));
}

TEST(process_test, missing_program_throws) {
  EXPECT_THROW(process({.program = "/nonexistent/aiproxy-binary"}), std::runtime_error);
}

TEST(http_client_test, request_and_keep_alive) {
  fake_upstream up;
  up.on([](const received_request& r) {
    return action::respond(200, {}, r.method + " " + r.target + " " + r.body);
  });
  http_client c(up.port());
  header_list h;
  h.add("X-Test", "1");
  auto r1 = c.request("POST", "/a", h, "body");
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.body, "POST /a body");
  auto r2 = c.request("GET", "/b");
  EXPECT_EQ(r2.body, "GET /b ");
  EXPECT_EQ(up.connections_accepted(), 1u);
  ASSERT_EQ(up.request_count(), 2u);
  EXPECT_EQ(up.requests()[0].headers.get("x-test"), "1");
}

TEST(http_client_test, reads_a_stream_piece_by_piece) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::stream(200, {}, {"data: 1\n\n", "data: 2\n\n"}).gate();
  });
  http_client c(up.port());
  c.send("POST", "/stream");
  auto head = c.read_head();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.get("transfer-encoding"), "chunked");
  EXPECT_EQ(c.read_some(), "data: 1\n\n");
  up.release();
  EXPECT_EQ(c.read_until("2"), "data: 2\n\n");
  EXPECT_EQ(c.read_some(), std::nullopt);
}

TEST(http_client_test, gzip_body_arrives_encoded) {
  fake_upstream up;
  up.on([](const received_request&) { return action::respond(200, {}, "plain text").gzip(); });
  http_client c(up.port());
  auto r = c.request("GET", "/");
  EXPECT_EQ(r.headers.get("content-encoding"), "gzip");
  EXPECT_EQ(r.body, encode_body("plain text", content_coding::gzip));
  EXPECT_EQ(r.body.substr(0, 2), "\x1f\x8b");
}

TEST(http_client_test, failures_throw) {
  fake_upstream up;
  up.on([](const received_request&) { return action::hang(); });
  http_client c(up.port(), "127.0.0.1", 100ms);
  EXPECT_THROW(c.request("GET", "/"), std::runtime_error);
  EXPECT_FALSE(c.is_open());
}

}  // namespace
}  // namespace aiproxy::testlib
