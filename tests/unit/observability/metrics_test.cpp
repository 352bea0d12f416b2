#include "aiproxy/observability/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace aiproxy::observability {
namespace {

TEST(metrics, registries_are_summed_when_rendered) {
  metrics_registry a;
  metrics_registry b;
  a.count_request("chat", 200);
  b.count_request("chat", 200);
  b.count_request("chat", 502);
  a.observe_ai("openai", "gpt-4o", "oneshot", json::usage{10, 5, 15, 0, 0, true}, 0.5, 42);
  b.observe_ai("openai", "gpt-4o", "oneshot", json::usage{1, 2, 3, 0, 0, true}, 0.25, 3000);
  std::string text = render_prometheus({&a, &b}, process_gauges{3, 1, 2, 0});
  EXPECT_NE(text.find("aiproxy_http_requests_total{route=\"chat\",code=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("aiproxy_http_requests_total{route=\"chat\",code=\"502\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("token_type=\"prompt_tokens\"} 11\n"), std::string::npos);
  EXPECT_NE(text.find("token_type=\"total_tokens\"} 18\n"), std::string::npos);
  EXPECT_NE(text.find("ai_llm_cost_total{ai_provider=\"openai\",ai_model=\"gpt-4o\""),
            std::string::npos);
  EXPECT_NE(text.find("} 0.75\n"), std::string::npos);
  EXPECT_NE(text.find(",le=\"50\"} 1\n"), std::string::npos);    // 42 ms
  EXPECT_NE(text.find(",le=\"5000\"} 2\n"), std::string::npos);  // both
  EXPECT_NE(text.find(",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("aiproxy_connections 3\n"), std::string::npos);
}

TEST(metrics, latency_buckets_are_cumulative_with_inclusive_bounds) {
  metrics_registry a;
  metrics_registry b;
  const json::usage u{1, 1, 2, 0, 0, true};
  for (double ms : {0.0, 0.5, 1.0, 1.5, 7.0}) {
    a.observe_ai("openai", "gpt-4o", "oneshot", u, 0, ms);
  }
  b.observe_ai("openai", "gpt-4o", "oneshot", u, 0, 120000);
  b.observe_ai("openai", "gpt-4o", "oneshot", u, 0, 120000.5);      // past every bound: +Inf only
  b.observe_ai("openai", "gpt-4o", "oneshot", u, 0, std::nan(""));  // counted, in no bucket
  const std::string text = render_prometheus({&a, &b}, process_gauges{});
  const auto bucket = [&](std::string_view le) {
    const std::string key = ",le=\"" + std::string(le) + "\"} ";
    const auto at = text.find(key);
    return at == std::string::npos
               ? std::string("<none>")
               : text.substr(at + key.size(), text.find('\n', at) - at - key.size());
  };
  EXPECT_EQ(bucket("1"), "3");  // 0, 0.5 and 1 (the bound is inclusive)
  EXPECT_EQ(bucket("2"), "4");
  EXPECT_EQ(bucket("5"), "4");
  EXPECT_EQ(bucket("10"), "5");
  EXPECT_EQ(bucket("60000"), "5");
  EXPECT_EQ(bucket("120000"), "6");
  EXPECT_EQ(bucket("+Inf"), "8");
  EXPECT_NE(text.find("ai_llm_provider_latency_ms_count{"), std::string::npos);
}

TEST(metrics, alternating_label_sets_land_in_their_own_series) {
  // The registry remembers the previous label set; a change of route, status, model or mode
  // must still count in the right series.
  metrics_registry a;
  a.count_request("chat", 200);
  a.count_request("embed", 200);
  a.count_request("chat", 200);
  a.count_request("chat", 429);
  a.observe_ai("openai", "gpt-4o", "oneshot", json::usage{1, 1, 2, 0, 0, true}, 0, 1);
  a.observe_ai("openai", "gpt-4o-mini", "oneshot", json::usage{10, 10, 20, 0, 0, true}, 0, 1);
  a.observe_ai("openai", "gpt-4o", "stream", json::usage{100, 100, 200, 0, 0, true}, 0, 1);
  a.observe_ai("openai", "gpt-4o", "oneshot", json::usage{1, 1, 2, 0, 0, true}, 0, 1);
  metrics_registry::data d;
  a.merge_into(d);
  EXPECT_EQ(d.http_requests["route=\"chat\",code=\"200\""], 2);
  EXPECT_EQ(d.http_requests["route=\"embed\",code=\"200\""], 1);
  EXPECT_EQ(d.http_requests["route=\"chat\",code=\"429\""], 1);
  ASSERT_EQ(d.ai.size(), 3u);
  for (const auto& [labels, series] : d.ai) {
    if (labels.find("ai_model=\"gpt-4o\"") != std::string::npos &&
        labels.find("request_mode=\"oneshot\"") != std::string::npos) {
      EXPECT_EQ(series.requests, 2);
      EXPECT_EQ(series.total_tokens, 4);
    } else {
      EXPECT_EQ(series.requests, 1);
    }
  }
}

TEST(metrics, label_values_are_escaped) {
  metrics_registry a;
  a.count_request("we\"ird\\route", 200);
  std::string text = render_prometheus({&a}, {});
  EXPECT_NE(text.find("route=\"we\\\"ird\\\\route\""), std::string::npos);
}

}  // namespace
}  // namespace aiproxy::observability
