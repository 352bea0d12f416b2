#pragma once
// The ai-proxy plugin's request flow: read and validate the body, resolve templates and model,
// translate, call the provider (or the built-in mock), translate back or stream, and fill the
// request's log record.

#include "aiproxy/config/config.hpp"
#include "aiproxy/config/router.hpp"
#include "aiproxy/http/downstream.hpp"
#include "aiproxy/observability/request_record.hpp"
#include "aiproxy/plugins/runtime.hpp"
#include "aiproxy/upstream/client.hpp"

namespace aiproxy::plugins {

struct ai_proxy_call {
  const config::ai_proxy_config& conf;
  const std::string& plugin_id;
  const config::route_match& match;
  upstream::timeouts timeouts;
};

boost::asio::awaitable<void> run_ai_proxy(http::downstream& d, const ai_proxy_call& call,
                                          worker_services& services,
                                          observability::request_record& record);

}  // namespace aiproxy::plugins
