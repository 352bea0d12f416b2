#include "aiproxy/observability/log_format.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace aiproxy::observability {
namespace {

const header_list& sample_headers() {
  static const header_list h = [] {
    header_list l;
    l.add("Authorization", "Bearer sk-client-secret");
    l.add("api-key", "azure-secret");
    l.add("X-Custom-Auth", "custom-secret");
    l.add("Content-Type", "application/json");
    return l;
  }();
  return h;
}

request_record sample() {
  request_record r;
  r.started_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  r.method = "POST";
  r.uri = "/v1/chat/completions?key=sk-secret&x=1";
  r.host = "gw.example.com";
  r.client_ip = "10.0.0.7";
  r.user_agent = "OpenAI/JS 6.0";
  r.request_headers = &sample_headers();
  r.request_size = 321;
  r.status = 200;
  r.response_size = 654;
  r.request_latency_ms = 120.4;
  r.upstream_latency_ms = 118.0;
  r.route_id = "r-1";
  r.route_name = "chat";
  r.upstream_uri = "https://api.openai.com/v1/chat/completions?key=sk-secret";
  r.secret_names = {"X-Custom-Auth", "key"};
  ai_record ai;
  ai.plugin_id = "p-1";
  ai.provider_name = "openai";
  ai.request_model = "gpt-4o";
  ai.response_model = "gpt-4o-2024-08-06";
  ai.request_mode = "oneshot";
  ai.llm_latency_ms = 118;
  ai.usage = json::usage{25, 12, 40, 5, 3, true};
  ai.cost = 0.00037;
  ai.log_statistics = true;
  r.ai = ai;
  return r;
}

TEST(log_format, json_log_has_kong_shape_and_provider_total) {
  auto v = boost::json::parse(format_json_log(sample())).as_object();
  const auto& proxy = v.at("ai").at("proxy").as_object();
  EXPECT_EQ(proxy.at("meta").at("provider_name"), "openai");
  EXPECT_EQ(proxy.at("meta").at("request_model"), "gpt-4o");
  EXPECT_EQ(proxy.at("meta").at("response_model"), "gpt-4o-2024-08-06");
  EXPECT_EQ(proxy.at("meta").at("llm_latency"), 118);
  EXPECT_EQ(proxy.at("usage").at("prompt_tokens"), 25);
  EXPECT_EQ(proxy.at("usage").at("completion_tokens"), 12);
  EXPECT_EQ(proxy.at("usage").at("total_tokens"), 40);  // the provider's, not 25 + 12
  EXPECT_EQ(proxy.at("usage").at("prompt_tokens_details").at("cached_tokens"), 5);
  EXPECT_EQ(proxy.at("usage").at("completion_tokens_details").at("reasoning_tokens"), 3);
  EXPECT_DOUBLE_EQ(proxy.at("usage").at("time_per_token").as_double(), 9.833);
  EXPECT_DOUBLE_EQ(proxy.at("usage").at("cost").as_double(), 0.00037);
  EXPECT_FALSE(proxy.contains("payload"));
  EXPECT_EQ(v.at("latencies").at("request"), 120);
  EXPECT_EQ(v.at("latencies").at("proxy"), 118);
  EXPECT_EQ(v.at("latencies").at("kong"), 2);
  EXPECT_EQ(v.at("started_at"), 1700000000123);
  EXPECT_EQ(v.at("route").at("name"), "chat");
}

TEST(log_format, secrets_never_reach_the_log) {
  std::string line = format_json_log(sample());
  EXPECT_EQ(line.find("sk-client-secret"), std::string::npos);
  EXPECT_EQ(line.find("azure-secret"), std::string::npos);
  EXPECT_EQ(line.find("custom-secret"), std::string::npos);
  EXPECT_EQ(line.find("sk-secret"), std::string::npos);
  auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("request").at("headers").at("authorization"), "REDACTED");
  EXPECT_EQ(v.at("request").at("headers").at("x-custom-auth"), "REDACTED");
  EXPECT_EQ(v.at("request").at("headers").at("content-type"), "application/json");
  EXPECT_EQ(v.at("request").at("querystring").at("key"), "REDACTED");
  EXPECT_EQ(v.at("request").at("querystring").at("x"), "1");
  EXPECT_EQ(v.at("upstream_uri"), "https://api.openai.com/v1/chat/completions?key=REDACTED");
  std::string access = format_access_log(sample());
  EXPECT_EQ(access.find("sk-secret"), std::string::npos);
}

TEST(log_format, statistics_off_means_no_meta_and_payloads_on_adds_payload) {
  auto r = sample();
  r.ai->log_statistics = false;
  auto v = boost::json::parse(format_json_log(r)).as_object();
  EXPECT_FALSE(v.contains("ai"));
  r.ai->log_payloads = true;
  r.ai->request_payload = "{\"model\":\"gpt-4o\"}";
  r.ai->response_payload = "{\"choices\":[]}";
  v = boost::json::parse(format_json_log(r)).as_object();
  const auto& proxy = v.at("ai").at("proxy").as_object();
  EXPECT_FALSE(proxy.contains("meta"));
  EXPECT_EQ(proxy.at("payload").at("request"), "{\"model\":\"gpt-4o\"}");
}

TEST(log_format, access_log_line) {
  EXPECT_EQ(format_access_log(sample()),
            "10.0.0.7 - - [14/Nov/2023:22:13:20 +0000] \"POST "
            "/v1/chat/completions?key=REDACTED&x=1 HTTP/1.1\" 200 654 \"-\" \"OpenAI/JS 6.0\" "
            "0.120");
}

TEST(log_format, redact_query_keeps_other_parameters) {
  EXPECT_EQ(redact_query("/p?a=1&key=s&b", {"key"}), "/p?a=1&key=REDACTED&b");
  EXPECT_EQ(redact_query("/p", {"key"}), "/p");
  EXPECT_EQ(redact_query("/p?keyx=1", {"key"}), "/p?keyx=1");
}

}  // namespace
}  // namespace aiproxy::observability
