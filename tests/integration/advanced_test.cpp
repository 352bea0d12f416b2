// ai-proxy-advanced through the real binary against fake upstreams that fail on command:
// balancing across targets, failover across three providers in one request (each attempt
// re-translated and re-signed), retries only before the first byte reached the client, the
// circuit breaker moving traffic away and back, model aliases, tried_targets in the log, and
// two gateway processes sharing balancer state through a real redis-server.

#include "gateway_harness.hpp"
#include "testlib/fake_upstream.hpp"
#include "testlib/http_client.hpp"
#include "testlib/redis_server.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <atomic>
#include <sstream>

namespace aiproxy::testlib {
namespace {

using namespace std::chrono_literals;

std::string openai_answer(const std::string& text, int prompt = 5, int completion = 3) {
  return R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o",)"
         R"("choices":[{"index":0,"message":{"role":"assistant","content":")" +
         text + R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":)" +
         std::to_string(prompt) + R"(,"completion_tokens":)" + std::to_string(completion) +
         R"(,"total_tokens":)" + std::to_string(prompt + completion) + "}}";
}

const std::string anthropic_answer =
    R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-sonnet",)"
    R"("content":[{"type":"text","text":"from anthropic"}],"stop_reason":"end_turn",)"
    R"("usage":{"input_tokens":7,"output_tokens":4}})";

const std::string bedrock_answer =
    R"({"output":{"message":{"role":"assistant","content":[{"text":"from bedrock"}]}},)"
    R"("stopReason":"end_turn","usage":{"inputTokens":9,"outputTokens":2,"totalTokens":11},)"
    R"("metrics":{"latencyMs":10}})";

const std::string chat_body =
    R"({"model":"gpt-4o","messages":[{"role":"user","content":"What is 1 + 1?"}]})";
const std::string stream_body =
    R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Count"}]})";

header_list json_headers() {
  header_list h;
  h.add("Content-Type", "application/json");
  h.add("Authorization", "Bearer client-key-must-not-leak");
  return h;
}

header_list sse_headers() {
  header_list h;
  h.add("Content-Type", "text/event-stream");
  return h;
}

/// An OpenAI target on a fake upstream (no path: the provider's own path on that host).
std::string openai_target(const fake_upstream& up, const std::string& extra = "",
                          int weight = 100) {
  return R"(
          - route_type: llm/v1/chat
            weight: )" +
         std::to_string(weight) + R"(
            auth: {header_name: Authorization, header_value: "Bearer sk-openai-secret"}
            logging: {log_statistics: true}
            model:
              provider: openai
              name: gpt-4o
)" + extra +
         R"(              options:
                upstream_url: ")" +
         up.base_url() + R"("
                input_cost: 1
                output_cost: 1
)";
}

std::string config_with(const std::string& targets, const std::string& balancer,
                        const std::string& log_path, const std::string& extra = "") {
  return R"(_format_version: "3.0"
routes:
  - name: balanced
    paths: [/v1/chat/completions]
    plugins:
      - name: ai-proxy-advanced
        config:
          balancer:
)" + balancer +
         extra + R"(          targets:)" + targets + R"(
plugins:
  - name: file-log
    config:
      path: )" +
         log_path + "\n";
}

/// The file-log records written so far.
std::vector<boost::json::object> log_records(const std::string& path) {
  std::vector<boost::json::object> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(boost::json::parse(line).as_object());
    }
  }
  return out;
}

/// Polls until the log holds `n` records (they are written after the response).
std::vector<boost::json::object> wait_for_records(const std::string& path, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    std::vector<boost::json::object> records;
    try {
      records = log_records(path);
    } catch (const std::exception&) {
      // the file may not exist yet, or a line may be half written
    }
    if (records.size() >= n || std::chrono::steady_clock::now() > deadline) {
      return records;
    }
    std::this_thread::sleep_for(10ms);
  }
}

const boost::json::array& tried_of(const boost::json::object& record) {
  return record.at("ai").at("proxy").at("tried_targets").as_array();
}

TEST(advanced, round_robin_spreads_requests_by_weight) {
  fake_upstream a;
  fake_upstream b;
  a.on([](const received_request&) { return action::json(200, openai_answer("a")); });
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string log_dir = make_temp_dir("adv-rr").string();
  gateway gw(config_with(openai_target(a, "", 200) + openai_target(b, "", 100),
                         "            algorithm: round-robin\n", log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  for (int i = 0; i < 9; ++i) {
    auto res = client.request("POST", "/v1/chat/completions", json_headers(), chat_body);
    ASSERT_EQ(res.status, 200) << res.body;
  }
  EXPECT_EQ(a.request_count(), 6u);
  EXPECT_EQ(b.request_count(), 3u);
  // The upstream got the configured credential, never the client's.
  for (const auto& r : a.requests()) {
    EXPECT_EQ(r.headers.get("authorization").value_or(""), "Bearer sk-openai-secret");
  }
  auto records = wait_for_records(log_dir + "/log.jsonl", 9);
  ASSERT_EQ(records.size(), 9u);
  const auto& tried = tried_of(records[0]);
  ASSERT_EQ(tried.size(), 1u);
  EXPECT_EQ(tried[0].at("outcome"), "success");
  EXPECT_EQ(tried[0].at("provider"), "openai");
  EXPECT_EQ(tried[0].at("status"), 200);

  // The admin API lists the plugin's targets, never their credentials.
  http_client admin(gw.admin_port());
  auto plugins = admin.request("GET", "/plugins");
  ASSERT_EQ(plugins.status, 200);
  auto listed = boost::json::parse(plugins.body).at("data").as_array();
  bool found = false;
  for (const auto& p : listed) {
    if (p.at("name") == "ai-proxy-advanced") {
      found = true;
      EXPECT_EQ(p.at("algorithm"), "round-robin");
      EXPECT_EQ(p.at("targets").as_array().size(), 2u);
      EXPECT_EQ(p.at("targets").at(0).at("weight"), 200);
    }
  }
  EXPECT_TRUE(found) << plugins.body;
  EXPECT_EQ(plugins.body.find("sk-openai-secret"), std::string::npos);
}

TEST(advanced, failover_across_three_providers_in_one_request) {
  fake_upstream openai_up;
  fake_upstream anthropic_up;
  fake_upstream bedrock_up;
  openai_up.on([](const received_request&) {
    return action::json(500, R"({"error":{"message":"openai is down"}})");
  });
  anthropic_up.on([](const received_request&) {
    return action::json(
        503, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  });
  bedrock_up.on([](const received_request&) { return action::json(200, bedrock_answer); });
  const std::string log_dir = make_temp_dir("adv-3p").string();
  const std::string targets = openai_target(openai_up, "", 300) + R"(
          - route_type: llm/v1/chat
            weight: 200
            auth: {header_name: x-api-key, header_value: sk-ant-secret}
            logging: {log_statistics: true}
            model:
              provider: anthropic
              name: claude-3-5-sonnet
              options:
                anthropic_version: "2023-06-01"
                upstream_url: ")" +
                              anthropic_up.base_url() +
                              R"("
          - route_type: llm/v1/chat
            weight: 100
            auth: {aws_access_key_id: AKIDEXAMPLE, aws_secret_access_key: bedrock-secret-key}
            logging: {log_statistics: true}
            model:
              provider: bedrock
              name: anthropic.claude-3-haiku
              options:
                bedrock: {aws_region: us-east-1}
                upstream_url: ")" +
                              bedrock_up.base_url() + "\"\n";
  gateway gw(config_with(targets,
                         "            algorithm: priority\n"
                         "            retries: 3\n"
                         "            failover_criteria: [error, timeout, http_500, http_503, "
                         "non_idempotent]\n",
                         log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_headers(), chat_body);
  ASSERT_EQ(res.status, 200) << res.body;
  auto body = boost::json::parse(res.body).as_object();
  EXPECT_EQ(body.at("object"), "chat.completion");
  EXPECT_EQ(body.at("choices").at(0).at("message").at("content"), "from bedrock");
  EXPECT_EQ(res.headers.get("x-kong-llm-model").value_or(""), "bedrock/anthropic.claude-3-haiku");

  // Each provider got the request in its own format, with its own credential.
  ASSERT_EQ(openai_up.request_count(), 1u);
  EXPECT_EQ(openai_up.requests()[0].target, "/v1/chat/completions");
  ASSERT_EQ(anthropic_up.request_count(), 1u);
  const auto ant = anthropic_up.requests()[0];
  EXPECT_EQ(ant.target, "/v1/messages");
  EXPECT_EQ(ant.headers.get("x-api-key").value_or(""), "sk-ant-secret");
  EXPECT_FALSE(ant.headers.get("authorization").has_value());
  EXPECT_EQ(boost::json::parse(ant.body).at("model"), "claude-3-5-sonnet");
  ASSERT_EQ(bedrock_up.request_count(), 1u);
  const auto bed = bedrock_up.requests()[0];
  EXPECT_EQ(bed.target, "/model/anthropic.claude-3-haiku/converse");
  EXPECT_EQ(bed.headers.get("authorization").value_or("").substr(0, 16), "AWS4-HMAC-SHA256");
  EXPECT_TRUE(boost::json::parse(bed.body).as_object().contains("messages"));

  auto records = wait_for_records(log_dir + "/log.jsonl", 1);
  ASSERT_EQ(records.size(), 1u);
  const auto& tried = tried_of(records[0]);
  ASSERT_EQ(tried.size(), 3u);
  EXPECT_EQ(tried[0].at("provider"), "openai");
  EXPECT_EQ(tried[0].at("outcome"), "http_500");
  EXPECT_EQ(tried[1].at("provider"), "anthropic");
  EXPECT_EQ(tried[1].at("outcome"), "http_503");
  EXPECT_EQ(tried[2].at("provider"), "bedrock");
  EXPECT_EQ(tried[2].at("outcome"), "success");
  const auto& meta = records[0].at("ai").at("proxy").at("meta");
  EXPECT_EQ(meta.at("provider_name"), "bedrock");
  EXPECT_EQ(records[0].at("ai").at("proxy").at("usage").at("total_tokens"), 11);
  const std::string log_text = read_file(log_dir + "/log.jsonl");
  for (const char* secret : {"sk-openai-secret", "sk-ant-secret", "bedrock-secret-key"}) {
    EXPECT_EQ(log_text.find(secret), std::string::npos) << secret;
  }
}

TEST(advanced, a_post_the_upstream_saw_is_not_replayed_without_non_idempotent) {
  fake_upstream a;
  fake_upstream b;
  a.on([](const received_request&) { return action::json(500, R"({"error":"a down"})"); });
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string log_dir = make_temp_dir("adv-idem").string();
  gateway gw(config_with(openai_target(a, "", 200) + openai_target(b, "", 100),
                         "            algorithm: priority\n"
                         "            failover_criteria: [error, timeout, http_500]\n",
                         log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_headers(), chat_body);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, R"({"error":"a down"})");  // passed through as it came
  EXPECT_EQ(b.request_count(), 0u);
}

TEST(advanced, a_refused_connection_is_retried_even_for_a_post) {
  std::uint16_t closed_port = 0;
  {
    fake_upstream gone;
    closed_port = gone.port();
  }  // nothing listens there any more
  fake_upstream b;
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string log_dir = make_temp_dir("adv-refused").string();
  std::string dead = R"(
          - route_type: llm/v1/chat
            weight: 200
            model:
              provider: openai
              name: gpt-4o
              options: {upstream_url: "http://127.0.0.1:)" +
                     std::to_string(closed_port) + R"("})";
  gateway gw(config_with(dead + openai_target(b, "", 100),
                         "            algorithm: priority\n",  // default criteria: error, timeout
                         log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_headers(), chat_body);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(b.request_count(), 1u);
  auto records = wait_for_records(log_dir + "/log.jsonl", 1);
  ASSERT_EQ(records.size(), 1u);
  const auto& tried = tried_of(records[0]);
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_EQ(tried[0].at("outcome"), "error");
  EXPECT_EQ(tried[1].at("outcome"), "success");
}

TEST(advanced, a_stream_failing_before_its_first_byte_is_retried) {
  fake_upstream a;
  fake_upstream b;
  a.on([](const received_request&) {
    return action::stream(200, sse_headers(), {"data: {never sent"}).close_after_headers();
  });
  b.on([](const received_request&) {
    return action::stream(
        200, sse_headers(),
        {R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"from b"},"finish_reason":null}]})"
         "\n\n",
         R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
         "\n\n",
         "data: [DONE]\n\n"});
  });
  const std::string log_dir = make_temp_dir("adv-stream").string();
  gateway gw(config_with(openai_target(a, "", 200) + openai_target(b, "", 100),
                         "            algorithm: priority\n"
                         "            failover_criteria: [error, timeout, non_idempotent]\n",
                         log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  auto res = client.request("POST", "/v1/chat/completions", json_headers(), stream_body);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("from b"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("data: [DONE]"), std::string::npos);
  EXPECT_EQ(res.body.find("\"error\""), std::string::npos) << res.body;
  EXPECT_EQ(a.request_count(), 1u);
  EXPECT_EQ(b.request_count(), 1u);
}

TEST(advanced, a_stream_failing_after_its_first_byte_ends_with_an_error_event) {
  fake_upstream a;
  fake_upstream b;
  const std::string first =
      R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]})"
      "\n\n";
  a.on([&](const received_request&) {
    return action::stream(200, sse_headers(), {first, "data: {\"id\":\"c1\",\"cho"})
        .gate()
        .reset_after(400);
  });
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string log_dir = make_temp_dir("adv-midstream").string();
  gateway gw(config_with(openai_target(a, "", 200) + openai_target(b, "", 100),
                         "            algorithm: priority\n"
                         "            failover_criteria: [error, timeout, non_idempotent]\n",
                         log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  client.send("POST", "/v1/chat/completions", json_headers(), stream_body);
  auto head = client.read_head();
  ASSERT_EQ(head.status, 200);
  std::string got = client.read_until("partial");
  ASSERT_NE(got.find("partial"), std::string::npos);
  a.release();  // the rest goes out and the connection is reset mid-event
  got += client.read_rest();
  EXPECT_NE(got.find("\"error\""), std::string::npos) << got;
  EXPECT_EQ(b.request_count(), 0u);  // the client never gets a second, partial answer
}

TEST(advanced, breaker_moves_traffic_away_and_back_after_a_429_storm) {
  fake_upstream a;
  fake_upstream b;
  std::atomic<bool> storm{true};
  a.on([&](const received_request&) {
    if (storm) {
      return action::json(429, R"({"error":{"message":"rate limited"}})");
    }
    return action::json(200, openai_answer("a"));
  });
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string log_dir = make_temp_dir("adv-storm").string();
  gateway gw(config_with(openai_target(a) + openai_target(b),
                         "            algorithm: round-robin\n"
                         "            max_fails: 2\n"
                         "            fail_timeout: 400\n"
                         "            failover_criteria: [error, timeout, http_429, "
                         "non_idempotent]\n",
                         log_dir + "/log.jsonl"),
             {"--workers", "1"});
  http_client client(gw.proxy_port());
  // During the storm every client request still succeeds (retried on B), and once A's breaker
  // opened A stops receiving requests.
  for (int i = 0; i < 10; ++i) {
    auto res = client.request("POST", "/v1/chat/completions", json_headers(), chat_body);
    ASSERT_EQ(res.status, 200) << res.body;
  }
  const std::size_t a_during_storm = a.request_count();
  EXPECT_EQ(a_during_storm, 2u);  // max_fails failures, then the breaker is open
  EXPECT_EQ(b.request_count(), 10u);

  // A recovers: after fail_timeout one probe goes to A, succeeds, and A is back in rotation.
  storm = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (a.request_count() < a_during_storm + 3 && std::chrono::steady_clock::now() < deadline) {
    auto res = client.request("POST", "/v1/chat/completions", json_headers(), chat_body);
    ASSERT_EQ(res.status, 200) << res.body;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(a.request_count(), a_during_storm + 3);
}

TEST(advanced, a_model_alias_selects_its_target) {
  fake_upstream a;
  fake_upstream b;
  a.on([](const received_request&) { return action::json(200, openai_answer("a")); });
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string log_dir = make_temp_dir("adv-alias").string();
  gateway gw(config_with(openai_target(a, "              model_alias: fast\n") +
                             openai_target(b, "              model_alias: smart\n"),
                         "            algorithm: round-robin\n", log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  for (int i = 0; i < 3; ++i) {
    auto res = client.request("POST", "/v1/chat/completions", json_headers(),
                              R"({"model":"smart","messages":[{"role":"user","content":"hi"}]})");
    ASSERT_EQ(res.status, 200) << res.body;
  }
  EXPECT_EQ(a.request_count(), 0u);
  ASSERT_EQ(b.request_count(), 3u);
  // The alias is the client's name for the target; the upstream gets the target's model.
  EXPECT_EQ(boost::json::parse(b.requests()[0].body).at("model"), "gpt-4o");
}

TEST(advanced, consistent_hashing_keeps_a_key_on_one_target) {
  fake_upstream a;
  fake_upstream b;
  a.on([](const received_request&) { return action::json(200, openai_answer("a")); });
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string log_dir = make_temp_dir("adv-hash").string();
  gateway gw(config_with(openai_target(a) + openai_target(b),
                         "            algorithm: consistent-hashing\n"
                         "            hash_on_header: X-User\n",
                         log_dir + "/log.jsonl"));
  http_client client(gw.proxy_port());
  std::size_t moved = 0;
  for (int user = 0; user < 20; ++user) {
    auto h = json_headers();
    h.add("X-User", "user-" + std::to_string(user));
    const auto a0 = a.request_count();
    for (int i = 0; i < 3; ++i) {
      auto res = client.request("POST", "/v1/chat/completions", h, chat_body);
      ASSERT_EQ(res.status, 200) << res.body;
    }
    const auto hits = a.request_count() - a0;
    moved += (hits != 0 && hits != 3) ? 1 : 0;  // a key split across targets
  }
  EXPECT_EQ(moved, 0u);
  EXPECT_GT(a.request_count(), 0u);  // 20 keys do not all land on one target
  EXPECT_GT(b.request_count(), 0u);
}

/// Two gateway processes with one redis-server: what one learns, the other acts on.
std::string shared_config(const fake_upstream& a, const fake_upstream& b, const redis_server& r,
                          const std::string& algorithm, const std::string& log_path) {
  return config_with(openai_target(a, "              model_alias: only-a\n") +
                         openai_target(b, "              model_alias: only-b\n"),
                     "            algorithm: " + algorithm +
                         "\n"
                         "            max_fails: 1\n"
                         "            fail_timeout: 60000\n"
                         "            failover_criteria: [error, timeout, http_500, "
                         "non_idempotent]\n",
                     log_path,
                     "          redis:\n            host: 127.0.0.1\n            port: " +
                         std::to_string(r.port()) + "\n            sync_interval: 20\n");
}

/// Waits long enough for both gateways' Redis sync threads to push and pull (several intervals).
void let_redis_sync() {
  std::this_thread::sleep_for(500ms);
}

TEST(advanced_redis, two_gateways_agree_on_lowest_usage) {
  redis_server redis;
  fake_upstream a;
  fake_upstream b;
  a.on([](const received_request&) { return action::json(200, openai_answer("a", 500, 500)); });
  b.on([](const received_request&) { return action::json(200, openai_answer("b", 5, 5)); });
  const std::string dir = make_temp_dir("adv-redis-usage").string();
  gateway gw1(shared_config(a, b, redis, "lowest-usage", dir + "/log1.jsonl"));
  gateway gw2(shared_config(a, b, redis, "lowest-usage", dir + "/log2.jsonl"));
  http_client c1(gw1.proxy_port());
  http_client c2(gw2.proxy_port());
  // gw2 starts its state; gw1 gives A a large usage through its alias.
  ASSERT_EQ(c2.request("POST", "/v1/chat/completions", json_headers(),
                       R"({"model":"only-b","messages":[{"role":"user","content":"hi"}]})")
                .status,
            200);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(c1.request("POST", "/v1/chat/completions", json_headers(),
                         R"({"model":"only-a","messages":[{"role":"user","content":"hi"}]})")
                  .status,
              200);
  }
  let_redis_sync();
  const auto a_before = a.request_count();
  // gw2 never served A itself; it knows A's usage only from Redis, so it sends everything to B.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c2.request("POST", "/v1/chat/completions", json_headers(), chat_body).status, 200);
  }
  EXPECT_EQ(a.request_count(), a_before);
}

TEST(advanced_redis, a_breaker_opened_by_one_gateway_protects_the_other) {
  redis_server redis;
  fake_upstream a;
  fake_upstream b;
  std::atomic<int> a_calls{0};
  a.on([&](const received_request&) {
    // Only the first request fails: later ones would succeed, so if gw2 sent any to A it would
    // not learn of the failure by itself.
    if (a_calls++ == 0) {
      return action::json(500, R"({"error":{"message":"a down"}})");
    }
    return action::json(200, openai_answer("a"));
  });
  b.on([](const received_request&) { return action::json(200, openai_answer("b")); });
  const std::string dir = make_temp_dir("adv-redis-breaker").string();
  gateway gw1(shared_config(a, b, redis, "round-robin", dir + "/log1.jsonl"));
  gateway gw2(shared_config(a, b, redis, "round-robin", dir + "/log2.jsonl"));
  http_client c1(gw1.proxy_port());
  http_client c2(gw2.proxy_port());
  ASSERT_EQ(c2.request("POST", "/v1/chat/completions", json_headers(),
                       R"({"model":"only-b","messages":[{"role":"user","content":"hi"}]})")
                .status,
            200);
  // gw1 trips A's breaker (the alias pins the request to A; the 500 is passed through).
  EXPECT_EQ(c1.request("POST", "/v1/chat/completions", json_headers(),
                       R"({"model":"only-a","messages":[{"role":"user","content":"hi"}]})")
                .status,
            500);
  let_redis_sync();
  const int a_before = a_calls.load();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c2.request("POST", "/v1/chat/completions", json_headers(), chat_body).status, 200);
  }
  EXPECT_EQ(a_calls.load(), a_before);  // round-robin would have sent A five of them
}

}  // namespace
}  // namespace aiproxy::testlib

namespace aiproxy::testlib {
namespace {

/// An OpenAI embeddings answer whose vector depends on the words of the input: "integral" or
/// "math" → x axis, "poem" or "poetry" → y axis, anything else → z axis.
action embeddings_for(const received_request& r) {
  const auto input = std::string(boost::json::parse(r.body).at("input").as_string());
  std::string vec = "[0,0,1]";
  if (input.find("integral") != std::string::npos || input.find("math") != std::string::npos) {
    vec = "[1,0.1,0]";
  } else if (input.find("poem") != std::string::npos || input.find("poetry") != std::string::npos) {
    vec = "[0.1,1,0]";
  }
  return action::json(200, R"({"object":"list","model":"text-embedding-3-small","data":[)"
                           R"({"object":"embedding","index":0,"embedding":)" +
                               vec + R"(}],"usage":{"prompt_tokens":3,"total_tokens":3}})");
}

TEST(advanced, semantic_routing_picks_the_nearest_description_or_the_catchall) {
  fake_upstream embed;
  fake_upstream math;
  fake_upstream poetry;
  fake_upstream other;
  embed.on(embeddings_for);
  math.on([](const received_request&) { return action::json(200, openai_answer("math")); });
  poetry.on([](const received_request&) { return action::json(200, openai_answer("poetry")); });
  other.on([](const received_request&) { return action::json(200, openai_answer("other")); });
  const std::string log_dir = make_temp_dir("adv-semantic").string();
  auto described = [](const fake_upstream& up, const std::string& description) {
    return openai_target(up, "").replace(openai_target(up, "").find("            auth:"), 0,
                                         "            description: " + description + "\n");
  };
  const std::string extra = R"(          embeddings:
            auth: {header_name: Authorization, header_value: "Bearer sk-embed-secret"}
            model:
              provider: openai
              name: text-embedding-3-small
              options: {upstream_url: ")" +
                            embed.base_url() +
                            R"("}
          vectordb: {strategy: memory, dimensions: 3, distance_metric: cosine, threshold: 0.8}
)";
  gateway gw(config_with(described(math, "math questions") + described(poetry, "writing poetry") +
                             described(other, "CATCHALL"),
                         "            algorithm: semantic\n", log_dir + "/log.jsonl", extra));
  http_client client(gw.proxy_port());
  auto ask = [&](const std::string& text) {
    auto res =
        client.request("POST", "/v1/chat/completions", json_headers(),
                       R"({"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},)"
                       R"({"role":"user","content":")" +
                           text + R"("}]})");
    EXPECT_EQ(res.status, 200) << res.body;
    return std::string(
        boost::json::parse(res.body).at("choices").at(0).at("message").at("content").as_string());
  };
  EXPECT_EQ(ask("solve this integral"), "math");
  EXPECT_EQ(ask("write me a poem about rain"), "poetry");
  EXPECT_EQ(ask("what is the weather like"), "other");  // nothing near enough: CATCHALL
  EXPECT_EQ(ask("more math please"), "math");
  // Two descriptions embedded once, then one embedding per request.
  EXPECT_EQ(embed.request_count(), 2u + 4u);
  for (const auto& r : embed.requests()) {
    EXPECT_EQ(r.target, "/v1/embeddings");
    EXPECT_EQ(r.headers.get("authorization").value_or(""), "Bearer sk-embed-secret");
  }
}

}  // namespace
}  // namespace aiproxy::testlib
