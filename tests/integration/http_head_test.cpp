// The gateway binary's response heads on the wire, through a plain service route (no ai-proxy)
// to a fake upstream and through ai-proxy: HEAD answers carry no body, 204/304 carry neither
// body nor Content-Length nor chunking, a gateway 404 to HEAD keeps its Content-Length, and an
// upstream request field that cannot be written (a configured auth header whose name is not a
// token or whose value holds a line break) becomes a 500 without reaching the upstream.
// Raw sockets see the exact bytes.

#include "gateway_harness.hpp"
#include "testlib/fake_upstream.hpp"
#include "testlib/http_client.hpp"
#include "testlib/raw_conn.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace aiproxy::testlib {
namespace {

std::string plain_config(const fake_upstream& up) {
  return R"yaml(_format_version: "3.0"
services:
  - name: plain
    url: )yaml" +
         up.base_url() + R"yaml(
    routes:
      - name: plain
        paths: [/svc]
)yaml";
}

/// A fake upstream that answers by path: /head (a HEAD answer: Content-Length 5, no body),
/// /status/NNN (that status), anything else 200 "hello".
void script(fake_upstream& up) {
  up.on([](const received_request& r) {
    if (r.target == "/head") {
      header_list h;
      h.add("Content-Length", "5");
      h.add("X-Up", "1");
      return action::respond(200, h, "");
    }
    if (r.target.starts_with("/status/")) {
      header_list h;
      h.add("X-Up", "1");
      return action::respond(std::stoi(r.target.substr(8)), h, "");
    }
    return action::respond(200, {}, "hello");
  });
}

std::string req(std::string_view method, std::string_view target, bool close = false) {
  return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n";
}

TEST(http_head, head_through_a_plain_route_sends_no_body) {
  fake_upstream up;
  script(up);
  gateway gw(plain_config(up));
  raw_conn c(gw.proxy_port());
  c.send(req("HEAD", "/svc/head"));
  const std::string head = c.read_head();
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("X-Up: 1\r\n"), std::string::npos) << head;
  // The next response follows the head directly: no body, no terminating chunk in between.
  c.send(req("GET", "/svc/other", true));
  const std::string rest = c.read_to_eof();
  EXPECT_TRUE(rest.starts_with("HTTP/1.1 200 OK\r\n")) << rest;
  EXPECT_NE(rest.find("hello"), std::string::npos) << rest;  // the GET does carry its body
  EXPECT_TRUE(rest.ends_with("\r\n0\r\n\r\n")) << rest;
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "HEAD");
}

TEST(http_head, no_content_and_not_modified_carry_no_body_or_length) {
  fake_upstream up;
  script(up);
  gateway gw(plain_config(up));
  raw_conn c(gw.proxy_port());
  for (const char* status : {"204", "304"}) {
    c.send(req("GET", std::string("/svc/status/") + status));
    const std::string head = c.read_head();
    EXPECT_TRUE(head.starts_with(std::string("HTTP/1.1 ") + status + " ")) << head;
    EXPECT_NE(head.find("X-Up: 1\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  }
  c.send(req("GET", "/svc/status/204", true));
  const std::string last = c.read_to_eof();
  EXPECT_TRUE(last.starts_with("HTTP/1.1 204 No Content\r\n")) << last;  // nothing before it
  EXPECT_TRUE(last.ends_with("Connection: close\r\n\r\n")) << last;      // and nothing after
}

TEST(http_head, gateway_error_to_head_keeps_content_length_without_body) {
  fake_upstream up;
  gateway gw(plain_config(up));
  raw_conn c(gw.proxy_port());
  c.send(req("HEAD", "/nowhere"));
  const std::string head = c.read_head();
  EXPECT_TRUE(head.starts_with("HTTP/1.1 404 Not Found\r\n")) << head;
  const auto at = head.find("Content-Length: ");
  ASSERT_NE(at, std::string::npos) << head;
  EXPECT_GT(std::stoul(head.substr(at + 16)), 0u);
  c.send(req("GET", "/nowhere", true));
  const std::string rest = c.read_to_eof();
  EXPECT_TRUE(rest.starts_with("HTTP/1.1 404 Not Found\r\n")) << rest;
  EXPECT_TRUE(rest.ends_with("}")) << rest;  // the GET does carry the JSON body
}

std::string ai_config(const fake_upstream& up, const std::string& header_name,
                      const std::string& header_value) {
  return R"(_format_version: "3.0"
services:
  - name: llm
    url: http://127.0.0.1:1
    routes:
      - name: chat
        paths: [/v1/chat/completions]
        plugins:
          - name: ai-proxy
            config:
              route_type: llm/v1/chat
              auth:
                header_name: ")" +
         header_name + R"("
                header_value: ")" +
         header_value + R"("
              model:
                provider: openai
                name: gpt-4o
                options:
                  upstream_url: ")" +
         up.base_url() + R"("
)";
}

const std::string chat_body = R"({"messages":[{"role":"user","content":"hi"}]})";

header_list json_content() {
  header_list h;
  h.add("Content-Type", "application/json");
  return h;
}

TEST(http_head, upstream_field_name_that_is_not_a_token_is_a_500) {
  fake_upstream up;
  gateway gw(ai_config(up, "Bad Name", "secret"));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 500) << res.body;
  EXPECT_NE(res.body.find("is not a valid name"), std::string::npos) << res.body;
  EXPECT_EQ(up.request_count(), 0u);
}

TEST(http_head, upstream_field_value_with_a_line_break_is_a_500) {
  fake_upstream up;
  gateway gw(ai_config(up, "X-Key", "secret\\r\\nX-Injected: yes"));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 500) << res.body;
  EXPECT_NE(res.body.find("holds a line break"), std::string::npos) << res.body;
  EXPECT_EQ(up.request_count(), 0u);
}

}  // namespace
}  // namespace aiproxy::testlib
