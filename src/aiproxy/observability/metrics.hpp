#pragma once
// Prometheus metrics. Each worker thread owns one metrics_registry and is its only writer; the
// status endpoint merges all registries when scraped. Names follow Kong's AI metrics
// (ai_llm_requests_total, ai_llm_tokens_total, ai_llm_cost_total, ai_llm_provider_latency_ms)
// so existing dashboards keep working.

#include "aiproxy/json/usage.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::observability {

class metrics_registry {
 public:
  static constexpr std::array<double, 16> latency_buckets_ms = {
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 120000};

  /// Called by the owning worker only. No allocation once a label set has been seen.
  void count_request(std::string_view route, int status);
  void observe_ai(std::string_view provider, std::string_view model, std::string_view mode,
                  const json::usage& usage, double cost, double latency_ms);

  struct histogram {
    std::array<std::uint64_t, latency_buckets_ms.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  /// Everything counted for one AI label set.
  struct ai_series {
    double requests = 0;
    double prompt_tokens = 0;
    double completion_tokens = 0;
    double total_tokens = 0;
    double cached_tokens = 0;
    double reasoning_tokens = 0;
    double cost = 0;
    histogram latency;
  };
  struct data {
    std::map<std::string, double, std::less<>> http_requests;  // rendered labels -> count
    std::map<std::string, ai_series, std::less<>> ai;          // rendered labels -> series
  };
  /// Adds this registry's values into `into` (called by the scraping thread).
  void merge_into(data& into) const;

 private:
  mutable std::mutex mu_;  // uncontended except while a scrape copies
  data data_;
  std::string scratch_;  // label buffer, reused (owning worker only)
  // The label set of the previous call and its series (map nodes never move or go away), so a
  // worker serving one route and model skips building and looking up the labels.
  struct last_http {
    std::string route;
    int status = 0;
    double* count = nullptr;
  } last_http_;
  struct last_ai {
    std::string provider, model, mode;
    ai_series* series = nullptr;
  } last_ai_;
};

/// Extra gauges the status endpoint reports next to the registries.
struct process_gauges {
  std::uint64_t connections = 0;
  std::uint64_t log_lines_dropped = 0;
  std::uint64_t config_reloads = 0;
  std::uint64_t config_reload_failures = 0;
};

/// Prometheus text exposition format (version 0.0.4) of the merged registries.
std::string render_prometheus(const std::vector<const metrics_registry*>& registries,
                              const process_gauges& gauges);

}  // namespace aiproxy::observability
