#pragma once
// What a worker needs to serve requests: the current configuration snapshot (swapped
// atomically on reload; a request keeps the one it started with) and the worker's own services.

#include "aiproxy/config/config.hpp"
#include "aiproxy/config/router.hpp"
#include "aiproxy/observability/log_writer.hpp"
#include "aiproxy/observability/metrics.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace aiproxy::upstream {
class client;
class identity_tokens;
class websocket_client;
}  // namespace aiproxy::upstream

namespace aiproxy::plugins {

class balancer_registry;

/// An immutable, validated configuration with its compiled router.
struct runtime_config {
  explicit runtime_config(config::gateway_config c) : config(std::move(c)), router(config) {}
  runtime_config(const runtime_config&) = delete;
  runtime_config& operator=(const runtime_config&) = delete;

  const config::gateway_config config;
  const config::router router;
};

/// One worker thread's services. Everything here is used from that thread only, except the
/// log writer and the config source, which are thread-safe.
struct worker_services {
  std::size_t index = 0;  // worker number: its log queue
  upstream::client* client = nullptr;
  upstream::identity_tokens* identity = nullptr;    // cloud tokens (Vertex, Azure Entra ID)
  upstream::websocket_client* websocket = nullptr;  // realtime upstreams (same TLS settings)
  observability::metrics_registry* metrics = nullptr;
  balancer_registry* balancers = nullptr;  // process-wide, thread-safe (ai-proxy-advanced)
  observability::log_writer* logs = nullptr;
  std::string access_log;  // destination of access log lines ("-" = stdout, empty = off)
  std::function<std::shared_ptr<const runtime_config>()> current_config;
};

}  // namespace aiproxy::plugins
