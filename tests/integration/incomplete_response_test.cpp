// A response the upstream breaks off after it started must reach the client as incomplete, never
// as a shorter but complete one: the gateway resets the connection instead of ending the chunked
// body. Covers the plain service proxy and an untranslated API-family body (audio).

#include "gateway_harness.hpp"
#include "testlib/fake_upstream.hpp"
#include "testlib/raw_conn.hpp"

#include <gtest/gtest.h>

namespace aiproxy::testlib {
namespace {

std::string config_for(const fake_upstream& up) {
  return R"(_format_version: "3.0"
services:
  - name: plain
    url: )" +
         up.base_url() +
         R"(
    routes:
      - name: plain
        paths: [/plain]
routes:
  - name: speech
    paths: [/v1/audio/speech]
    plugins:
      - name: ai-proxy
        config:
          route_type: audio/v1/audio/speech
          auth: {header_name: Authorization, header_value: "Bearer sk-audio"}
          model:
            provider: openai
            name: tts-1
            options: {upstream_url: ")" +
         up.base_url() + R"("}
)";
}

/// A 64 KiB body announced whole, of which the upstream sends ~20 KiB before a reset.
action broken_body(const std::string& content_type) {
  header_list h;
  h.add("Content-Type", content_type);
  return action::respond(200, h, std::string(64 * 1024, 'x')).reset_after(20 * 1024);
}

TEST(incomplete_response, the_plain_proxy_resets_a_body_the_upstream_broke_off) {
  fake_upstream up;
  up.on([](const received_request&) { return broken_body("application/octet-stream"); });
  gateway gw(config_for(up));
  raw_conn c(gw.proxy_port());
  c.send("GET /plain/file HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = c.read_head();
  EXPECT_NE(head.find("200"), std::string::npos) << head;
  const std::string body = c.read_to_eof();
  EXPECT_TRUE(c.was_reset());
  EXPECT_EQ(body.find("\r\n0\r\n\r\n"), std::string::npos);  // never a terminating chunk
  EXPECT_GT(body.size(), 0u);
}

TEST(incomplete_response, an_audio_body_the_upstream_broke_off_is_reset) {
  fake_upstream up;
  up.on([](const received_request&) { return broken_body("audio/mpeg"); });
  gateway gw(config_for(up));
  raw_conn c(gw.proxy_port());
  const std::string body = R"({"model":"tts-1","input":"hello","voice":"alloy"})";
  c.send(
      "POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  const std::string head = c.read_head();
  EXPECT_NE(head.find("200"), std::string::npos) << head;
  const std::string got = c.read_to_eof();
  EXPECT_TRUE(c.was_reset());
  EXPECT_EQ(got.find("\r\n0\r\n\r\n"), std::string::npos);
}

TEST(incomplete_response, a_whole_body_still_ends_normally_and_keeps_the_connection) {
  fake_upstream up;
  up.on([](const received_request&) { return action::respond(200, {}, std::string(1000, 'y')); });
  gateway gw(config_for(up));
  raw_conn c(gw.proxy_port());
  c.send("GET /plain/a HTTP/1.1\r\nHost: x\r\n\r\n");
  c.read_head();
  c.send("GET /plain/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string rest = c.read_to_eof();
  EXPECT_FALSE(c.was_reset());
  EXPECT_NE(rest.find("\r\n0\r\n\r\n"), std::string::npos);  // the first body ended properly
  EXPECT_NE(rest.find("HTTP/1.1 200"), std::string::npos);   // and a second answer followed
}

}  // namespace
}  // namespace aiproxy::testlib
