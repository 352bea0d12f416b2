#pragma once
// The ai-proxy-advanced plugin's request flow: prepare the request once, let the balancer pick a
// target, attempt it, and on a failure that matches the failover criteria (and before any byte
// reached the client) re-translate and re-sign for the next target. Reports every attempt to the
// balancer (breaker, latency, usage) and lists it in the log record's tried_targets.

#include "aiproxy/config/config.hpp"
#include "aiproxy/config/router.hpp"
#include "aiproxy/http/downstream.hpp"
#include "aiproxy/observability/request_record.hpp"
#include "aiproxy/plugins/runtime.hpp"

namespace aiproxy::plugins {

struct ai_proxy_advanced_call {
  const config::ai_proxy_advanced_config& conf;
  const std::string& plugin_id;
  const config::route_match& match;
};

boost::asio::awaitable<void> run_ai_proxy_advanced(http::downstream& d,
                                                   const ai_proxy_advanced_call& call,
                                                   worker_services& services,
                                                   observability::request_record& record);

}  // namespace aiproxy::plugins
