// The gateway binary against a fake OpenAI upstream: passthrough, streaming without buffering,
// upstream faults (reset, hang, garbage, 429, 500, truncated stream), limits, routing errors,
// and the log record. Every fault must give the documented status and body, and the gateway
// must keep serving afterwards.

#include "gateway_harness.hpp"
#include "testlib/fake_upstream.hpp"
#include "testlib/http_client.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>

namespace aiproxy::testlib {
namespace {

using namespace std::chrono_literals;

std::string fixture(const std::string& rel) {
  return read_file(std::string(AIPROXY_SOURCE_DIR) +
                   "/tests/fixtures/kong/spec/fixtures/ai-proxy/" + rel);
}

/// A route on /v1/chat/completions to the fake upstream (no path: the provider's own path),
/// inside a service whose read timeout is short so a hang ends quickly.
std::string chat_config(const fake_upstream& up, const std::string& extra_plugin_config = "",
                        const std::string& log_path = "") {
  std::string yaml = R"(_format_version: "3.0"
services:
  - name: llm
    url: http://127.0.0.1:1
    read_timeout: 700
    routes:
      - name: chat
        paths: [/v1/chat/completions]
        plugins:
          - name: ai-proxy
            config:
              route_type: llm/v1/chat
              max_request_body_size: 2048
              auth:
                header_name: Authorization
                header_value: "Bearer sk-upstream-secret"
              logging:
                log_statistics: true
                log_payloads: true
              model:
                provider: openai
                name: gpt-4o
                options:
                  upstream_url: ")" +
                     up.base_url() + R"("
                  input_cost: 10
                  output_cost: 20
)" + extra_plugin_config;
  if (!log_path.empty()) {
    yaml += "plugins:\n  - name: file-log\n    config:\n      path: " + log_path + "\n";
  }
  return yaml;
}

header_list json_content() {
  header_list h;
  h.add("Content-Type", "application/json");
  h.add("Authorization", "Bearer client-key-must-not-leak");
  return h;
}

const std::string chat_body =
    R"({"model":"gpt-4o","messages":[{"role":"user","content":"What is 1 + 1?"}]})";
const std::string stream_body =
    R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Count"}]})";

boost::json::object parse_obj(const std::string& s) {
  return boost::json::parse(s).as_object();
}

std::string sse_chunk(const std::string& content) {
  return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
         "\"gpt-4o-2024\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
         content + "\"},\"finish_reason\":null}]}\n\n";
}
const std::string sse_finish =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
    "\"gpt-4o-2024\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
const std::string sse_usage =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
    "\"gpt-4o-2024\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,"
    "\"total_tokens\":12}}\n\n";

header_list sse_headers() {
  header_list h;
  h.add("Content-Type", "text/event-stream");
  return h;
}

/// After any fault the gateway must still answer a normal request.
void expect_still_serving(fake_upstream& up, gateway& gw) {
  up.on([](const received_request&) {
    return action::json(200, fixture("openai/llm-v1-chat/responses/good.json"));
  });
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(gw.proc().running());
}

TEST(proxy, chat_passes_through_with_auth_model_and_header) {
  fake_upstream up;
  const std::string good = fixture("openai/llm-v1-chat/responses/good.json");
  up.on([&](const received_request&) { return action::json(200, good); });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.body, good);  // byte for byte
  EXPECT_EQ(res.headers.get("x-kong-llm-model").value_or(""), "openai/gpt-4o");

  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1/chat/completions");
  EXPECT_EQ(reqs[0].headers.get("authorization").value_or(""), "Bearer sk-upstream-secret");
  auto sent = parse_obj(reqs[0].body);
  EXPECT_EQ(sent.at("model"), "gpt-4o");
}

TEST(proxy, keep_alive_reuses_one_upstream_connection) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::json(200, fixture("openai/llm-v1-chat/responses/good.json"));
  });
  gateway gw(chat_config(up), {"--workers", "1"});
  http_client client(gw.proxy_port());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.request("POST", "/v1/chat/completions", json_content(), chat_body).status,
              200);
  }
  EXPECT_EQ(up.connections_accepted(), 1u);
}

TEST(proxy, stream_chunks_reach_the_client_before_the_upstream_finishes) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::stream(
               200, sse_headers(),
               {sse_chunk("one"), sse_chunk(" two"), sse_finish, sse_usage, "data: [DONE]\n\n"})
        .gate();
  });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  client.send("POST", "/v1/chat/completions", json_content(), stream_body);
  auto head = client.read_head();
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.get("content-type").value_or(""), "text/event-stream");
  // The upstream holds every chunk after the first until released: the first must arrive now.
  std::string seen = client.read_until("\"one\"");
  EXPECT_NE(seen.find("\"one\""), std::string::npos);
  EXPECT_EQ(seen.find("two"), std::string::npos);
  up.release(10);
  seen += client.read_rest();
  EXPECT_NE(seen.find(" two"), std::string::npos);
  EXPECT_NE(seen.find("\"finish_reason\":\"stop\""), std::string::npos);
  // The client did not ask for usage: the gateway asked upstream for it and strips it again.
  EXPECT_EQ(seen.find("\"usage\""), std::string::npos);
  EXPECT_EQ(seen.substr(seen.size() - 14), "data: [DONE]\n\n");

  auto sent = parse_obj(up.requests().at(0).body);
  EXPECT_EQ(sent.at("stream"), true);
  EXPECT_EQ(sent.at("stream_options").at("include_usage"), true);
}

TEST(proxy, stream_keeps_usage_when_the_client_asked) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::stream(200, sse_headers(),
                          {sse_chunk("hi"), sse_finish, sse_usage, "data: [DONE]\n\n"});
  });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request(
      "POST", "/v1/chat/completions", json_content(),
      R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("\"total_tokens\":12"), std::string::npos);
}

TEST(proxy, truncated_stream_ends_with_an_error_event_not_done) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::stream(200, sse_headers(), {sse_chunk("partial")}, 0ms, false)
        .close_connection();
  });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), stream_body);
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("partial"), std::string::npos);
  EXPECT_NE(res.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(res.body.find("[DONE]"), std::string::npos);
  expect_still_serving(up, gw);
}

TEST(proxy, upstream_connection_reset_is_502) {
  fake_upstream up;
  up.on([](const received_request&) { return action::reset(); });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 502);
  auto err = parse_obj(res.body).at("error").as_object();
  EXPECT_FALSE(err.at("message").as_string().empty());
  EXPECT_TRUE(err.contains("type"));
  EXPECT_TRUE(err.contains("code"));
  expect_still_serving(up, gw);
}

TEST(proxy, upstream_hang_past_read_timeout_is_504) {
  fake_upstream up;
  up.on([](const received_request&) { return action::hang(); });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 504);
  EXPECT_EQ(parse_obj(res.body).at("error").at("code"), "upstream_timeout");
  up.stop();
}

TEST(proxy, upstream_garbage_is_502) {
  fake_upstream up;
  up.on([](const received_request&) { return action::garbage(); });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 502);
  expect_still_serving(up, gw);
}

TEST(proxy, upstream_200_with_invalid_body_is_502) {
  fake_upstream up;
  up.on([](const received_request&) { return action::json(200, "{\"not\":\"a completion\"}"); });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 502);
  EXPECT_NE(res.body.find("'choices' not in llm/v1/chat response"), std::string::npos);
}

TEST(proxy, upstream_429_and_500_pass_through_with_status_and_body) {
  fake_upstream up;
  const std::string rate =
      R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})";
  const std::string html = fixture("openai/llm-v1-chat/responses/internal_server_error.html");
  int n = 0;
  up.on([&](const received_request&) {
    if (n++ == 0) {
      return action::json(429, rate).header("Retry-After", "7");
    }
    header_list h;
    h.add("Content-Type", "text/html");
    return action::respond(500, h, html);
  });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  auto r1 = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(r1.status, 429);
  EXPECT_EQ(r1.body, rate);
  EXPECT_EQ(r1.headers.get("retry-after").value_or(""), "7");
  EXPECT_FALSE(r1.headers.contains("x-kong-llm-model"));
  auto r2 = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(r2.status, 500);
  EXPECT_EQ(r2.body, html);
}

TEST(proxy, unreachable_upstream_is_502) {
  std::uint16_t dead_port;
  {
    fake_upstream up;
    dead_port = up.port();
  }
  fake_upstream placeholder;
  std::string yaml = chat_config(placeholder);
  auto pos = yaml.find(placeholder.base_url());
  yaml.replace(pos, placeholder.base_url().size(), "http://127.0.0.1:" + std::to_string(dead_port));
  gateway gw(yaml);
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_content(), chat_body);
  EXPECT_EQ(res.status, 502);
}

TEST(proxy, gateway_errors_have_the_right_status_and_kong_messages) {
  fake_upstream up;
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());

  auto none = client.request("POST", "/nowhere", json_content(), chat_body);
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(parse_obj(none.body).at("error").at("message"), "no Route matched with those values");

  auto big = client.request("POST", "/v1/chat/completions", json_content(),
                            std::string(4096, ' ') + chat_body);
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("2048"), std::string::npos);

  http_client c2(gw.proxy_port());
  auto own = c2.request("POST", "/v1/chat/completions", json_content(),
                        R"({"model":"gpt-3.5","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(own.status, 400);
  EXPECT_EQ(parse_obj(own.body).at("error").at("message"),
            "cannot use own model - must be: gpt-4o");

  auto bad = c2.request("POST", "/v1/chat/completions", json_content(), "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(parse_obj(bad.body).at("error").at("message"),
            "request body doesn't contain valid prompts");

  auto wrong =
      c2.request("POST", "/v1/chat/completions", json_content(), R"({"prompt":"complete me"})");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(parse_obj(wrong.body).at("error").at("message"),
            "[llm/v1/completions] message format is not compatible with [llm/v1/chat] route type");
  EXPECT_EQ(up.request_count(), 0u);  // none of these reached the provider
}

TEST(proxy, malformed_http_gets_400_and_the_gateway_lives_on) {
  fake_upstream up;
  gateway gw(chat_config(up));
  http_client raw(gw.proxy_port());
  auto res = raw.request("GET", "/v1/chat/completions", {}, "");
  // A GET with no body is valid HTTP: Kong's validation answers it.
  EXPECT_EQ(res.status, 400);
  // Oversized header block.
  http_client big(gw.proxy_port());
  header_list h;
  for (int i = 0; i < 6; ++i) {
    h.add("X-Big-" + std::to_string(i), std::string(8000, 'a'));  // 48 KB of headers
  }
  EXPECT_EQ(big.request("POST", "/v1/chat/completions", h, chat_body).status, 431);
  expect_still_serving(up, gw);
}

TEST(proxy, file_log_records_usage_cost_and_no_secret) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::json(200, fixture("openai/llm-v1-chat/responses/good.json"));
  });
  auto dir = make_temp_dir("log");
  const std::string log_path = (dir / "requests.log").string();
  const auto unix_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::int64_t sent_ms = 0;
  std::int64_t answered_ms = 0;
  {
    gateway gw(chat_config(up, "", log_path));
    http_client client(gw.proxy_port());
    sent_ms = unix_ms();
    ASSERT_EQ(client.request("POST", "/v1/chat/completions", json_content(), chat_body).status,
              200);
    answered_ms = unix_ms();
    gw.proc().signal(SIGTERM);
    ASSERT_TRUE(gw.proc().wait_for(10s).has_value());
  }
  std::string text = read_file(log_path);
  ASSERT_FALSE(text.empty());
  auto rec = parse_obj(text.substr(0, text.find('\n')));
  const auto& proxy = rec.at("ai").at("proxy").as_object();
  EXPECT_EQ(proxy.at("meta").at("provider_name"), "openai");
  EXPECT_EQ(proxy.at("meta").at("request_model"), "gpt-4o");
  // Filled only for a request that is logged, as this one is.
  EXPECT_FALSE(proxy.at("meta").at("plugin_id").as_string().empty());
  EXPECT_EQ(rec.at("upstream_uri").as_string(), up.base_url() + "/v1/chat/completions");
  const auto& usage = proxy.at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens"), 25);
  EXPECT_EQ(usage.at("completion_tokens"), 12);
  EXPECT_EQ(usage.at("total_tokens"), 37);
  EXPECT_NEAR(usage.at("cost").to_number<double>(), (25 * 10.0 + 12 * 20.0) / 1e6, 1e-12);
  EXPECT_TRUE(proxy.contains("payload"));
  EXPECT_EQ(rec.at("response").at("status"), 200);
  // The wall-clock start of the request, between the client's send and its answer.
  const auto started_ms = rec.at("started_at").to_number<std::int64_t>();
  EXPECT_GE(started_ms, sent_ms - 1);
  EXPECT_LE(started_ms, answered_ms);
  EXPECT_EQ(text.find("sk-upstream-secret"), std::string::npos);
  EXPECT_EQ(text.find("client-key-must-not-leak"), std::string::npos);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST(proxy, status_and_metrics_endpoints) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::json(200, fixture("openai/llm-v1-chat/responses/good.json"));
  });
  gateway gw(chat_config(up));
  http_client client(gw.proxy_port());
  ASSERT_EQ(client.request("POST", "/v1/chat/completions", json_content(), chat_body).status, 200);
  http_client status(gw.status_port());
  auto st = status.request("GET", "/status");
  EXPECT_EQ(st.status, 200);
  EXPECT_EQ(parse_obj(st.body).at("configuration_hash").as_string().size(), 64u);
  // The request is counted in its log phase, just after its response went out: poll briefly.
  auto metrics = status.request("GET", "/metrics");
  for (int i = 0;
       i < 200 && metrics.body.find("token_type=\"total_tokens\"} 37") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    metrics = status.request("GET", "/metrics");
  }
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("ai_llm_requests_total{ai_provider=\"openai\",ai_model=\"gpt-4o\""),
            std::string::npos);
  EXPECT_NE(metrics.body.find("token_type=\"total_tokens\"} 37"), std::string::npos);
  http_client admin(gw.admin_port());
  auto plugins = admin.request("GET", "/plugins");
  EXPECT_EQ(plugins.status, 200);
  EXPECT_EQ(plugins.body.find("sk-upstream-secret"), std::string::npos);
}

}  // namespace
}  // namespace aiproxy::testlib

namespace aiproxy::testlib {
namespace {

std::string policy_config(const fake_upstream& up, const std::string& streaming,
                          const std::string& model_name_header) {
  return R"yaml(_format_version: "3.0"
routes:
  - name: templated
    paths: ["~/models/(?<model>[a-z0-9.-]+)/chat$"]
    plugins:
      - name: ai-proxy
        config:
          route_type: llm/v1/chat
          response_streaming: )yaml" +
         streaming + "\n          model_name_header: " + model_name_header + R"yaml(
          model:
            provider: openai
            name: "$(uri_captures.model)"
            options:
              upstream_url: ")yaml" +
         up.base_url() + "/v1/$(headers.x-tenant)/chat/completions\"\n";
}

TEST(proxy_policies, templates_pick_model_and_path_from_the_request) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::json(200, fixture("openai/llm-v1-chat/responses/good.json"));
  });
  gateway gw(policy_config(up, "allow", "true"));
  http_client client(gw.proxy_port());
  header_list h = json_content();
  h.add("X-Tenant", "team-a");
  auto res = client.request("POST", "/models/gpt-4o-mini/chat", h,
                            R"({"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.headers.get("x-kong-llm-model").value_or(""), "openai/gpt-4o-mini");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1/team-a/chat/completions");
  EXPECT_EQ(parse_obj(reqs[0].body).at("model"), "gpt-4o-mini");

  // A header value that would escape the path is refused before anything is sent.
  header_list evil = json_content();
  evil.add("X-Tenant", "../admin");
  auto bad = client.request("POST", "/models/gpt-4o-mini/chat", evil,
                            R"({"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(bad.status, 400);
  header_list missing = json_content();
  auto none = client.request("POST", "/models/gpt-4o-mini/chat", missing,
                             R"({"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(parse_obj(none.body).at("error").at("message"),
            "headers key x-tenant was not provided");
  EXPECT_EQ(up.request_count(), 1u);
}

TEST(proxy_policies, streaming_deny_and_always_and_no_model_header) {
  fake_upstream up;
  up.on([](const received_request& r) {
    if (r.body.find("\"stream\":true") != std::string::npos) {
      return action::stream(200, sse_headers(), {sse_chunk("s"), sse_finish, "data: [DONE]\n\n"});
    }
    return action::json(200, fixture("openai/llm-v1-chat/responses/good.json"));
  });
  header_list h = json_content();
  h.add("X-Tenant", "t");
  {
    gateway gw(policy_config(up, "deny", "false"));
    http_client client(gw.proxy_port());
    auto denied = client.request("POST", "/models/m/chat", h,
                                 R"({"stream":true,"messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(denied.status, 400);
    EXPECT_EQ(parse_obj(denied.body).at("error").at("message"),
              "response streaming is not enabled for this LLM");
    auto ok = client.request("POST", "/models/m/chat", h,
                             R"({"messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(ok.status, 200);
    EXPECT_FALSE(ok.headers.contains("x-kong-llm-model"));
  }
  {
    gateway gw(policy_config(up, "always", "true"));
    http_client client(gw.proxy_port());
    auto forced = client.request("POST", "/models/m/chat", h,
                                 R"({"messages":[{"role":"user","content":"x"}]})");
    EXPECT_EQ(forced.status, 200);
    EXPECT_EQ(forced.headers.get("content-type").value_or(""), "text/event-stream");
    EXPECT_NE(forced.body.find("data: [DONE]"), std::string::npos);
  }
}

}  // namespace
}  // namespace aiproxy::testlib

namespace aiproxy::testlib {
namespace {

TEST(service_proxy, a_route_without_ai_proxy_forwards_to_its_service) {
  fake_upstream up;
  up.on([](const received_request& r) {
    return action::respond(201, {}, "echo:" + r.method + " " + r.target + " " + r.body);
  });
  const std::string yaml = R"yaml(_format_version: "3.0"
services:
  - name: plain
    url: )yaml" + up.base_url() +
                           R"yaml(/base
    routes:
      - name: stripped
        paths: [/svc]
      - name: kept
        paths: [/keep]
        strip_path: false
        preserve_host: true
)yaml";
  gateway gw(yaml);
  http_client client(gw.proxy_port());
  header_list h;
  h.add("Host", "client.example");
  auto res = client.request("PUT", "/svc/items/7?x=1", h, "payload");
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.body, "echo:PUT /base/items/7?x=1 payload");
  auto kept = client.request("GET", "/keep/a", h);
  EXPECT_EQ(kept.body, "echo:GET /base/keep/a ");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].headers.get("host").value_or(""), "client.example");
  EXPECT_EQ(reqs[1].headers.get("host").value_or(""), "client.example");
}

}  // namespace
}  // namespace aiproxy::testlib
