// The gateway binary serving HTTP/2 with prior knowledge (h2c) on its proxy port: a chat request
// and a streamed chat request on one HTTP/2 connection to the fake OpenAI upstream, and HTTP/1.1
// still served on the same port. Touches only its fake upstream and its gateway.

#include "gateway_harness.hpp"
#include "testlib/fake_upstream.hpp"
#include "testlib/h2_client.hpp"
#include "testlib/http_client.hpp"
#include "testlib/raw_conn.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace aiproxy::testlib {
namespace {

std::string fixture(const std::string& rel) {
  return read_file(std::string(AIPROXY_SOURCE_DIR) +
                   "/tests/fixtures/kong/spec/fixtures/ai-proxy/" + rel);
}

std::string chat_config(const fake_upstream& up) {
  return R"(_format_version: "3.0"
routes:
  - name: chat
    paths: [/v1/chat/completions]
    plugins:
      - name: ai-proxy
        config:
          route_type: llm/v1/chat
          auth:
            header_name: Authorization
            header_value: "Bearer sk-upstream-secret"
          model:
            provider: openai
            name: gpt-4o
            options:
              upstream_url: ")" +
         up.base_url() + R"("
)";
}

std::string sse_chunk(const std::string& content) {
  return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
         "\"gpt-4o-2024\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
         content + "\"},\"finish_reason\":null}]}\n\n";
}

const std::string chat_body =
    R"({"model":"gpt-4o","messages":[{"role":"user","content":"What is 1 + 1?"}]})";
const std::string stream_body =
    R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Count"}]})";

TEST(http2, chat_and_streamed_chat_on_one_h2c_connection_and_http1_on_the_same_port) {
  fake_upstream up;
  const std::string good = fixture("openai/llm-v1-chat/responses/good.json");
  up.on([&](const received_request& req) {
    if (req.body.find("\"stream\":true") != std::string::npos) {
      header_list h;
      h.add("Content-Type", "text/event-stream");
      return action::stream(200, h, {sse_chunk("one"), sse_chunk("two"), "data: [DONE]\n\n"});
    }
    return action::json(200, good);
  });
  gateway gw(chat_config(up));

  h2_client c(gw.proxy_port());
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"content-type", "application/json"}, {"authorization", "Bearer client-key-must-not-leak"}};
  const auto plain = c.submit("POST", "/v1/chat/completions", headers, chat_body);
  const auto streamed = c.submit("POST", "/v1/chat/completions", headers, stream_body);

  const auto& r1 = c.wait(plain);
  ASSERT_EQ(r1.status, 200) << r1.body;
  EXPECT_TRUE(r1.ended);
  EXPECT_EQ(r1.body, good);
  EXPECT_EQ(r1.header("x-kong-llm-model").value_or(""), "openai/gpt-4o");
  EXPECT_EQ(r1.header("content-length").value_or(""), std::to_string(good.size()));

  const auto& r2 = c.wait(streamed);
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_TRUE(r2.ended);
  EXPECT_EQ(r2.header("content-type").value_or(""), "text/event-stream");
  EXPECT_FALSE(r2.header("content-length"));
  EXPECT_NE(r2.body.find("\"content\":\"one\""), std::string::npos) << r2.body;
  EXPECT_NE(r2.body.find("\"content\":\"two\""), std::string::npos) << r2.body;
  EXPECT_TRUE(r2.body.ends_with("data: [DONE]\n\n")) << r2.body;
  EXPECT_FALSE(c.eof());

  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& req : reqs) {
    EXPECT_EQ(req.target, "/v1/chat/completions");
    EXPECT_EQ(req.headers.get("authorization").value_or(""), "Bearer sk-upstream-secret");
  }

  // The same port still speaks HTTP/1.1.
  http_client h1(gw.proxy_port());
  header_list h;
  h.add("Content-Type", "application/json");
  auto res = h1.request("POST", "/v1/chat/completions", h, chat_body);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.body, good);
}

TEST(http2, http2_false_serves_http1_only) {
  fake_upstream up;
  up.on([&](const received_request&) { return action::json(200, "{}"); });
  gateway gw(chat_config(up), {"--http2", "false"});
  // The HTTP/2 preface is then just a malformed HTTP/1.1 request.
  raw_conn c(gw.proxy_port());
  c.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  const std::string answer = c.read_to_eof();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
  EXPECT_TRUE(up.requests().empty());
}

}  // namespace
}  // namespace aiproxy::testlib
