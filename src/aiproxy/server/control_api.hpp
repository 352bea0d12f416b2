#pragma once
// The admin API (read-only view of the running configuration) and the status API (/status,
// /status/ready, /metrics). Both run on the control thread through the same HTTP session code.

#include "aiproxy/http/downstream.hpp"
#include "aiproxy/plugins/runtime.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace aiproxy::server {

struct control_state {
  std::function<std::shared_ptr<const plugins::runtime_config>()> current_config;
  std::function<std::string()> metrics;        // Prometheus text
  std::function<std::uint64_t()> connections;  // open proxy connections
  std::size_t worker_count = 0;
};

/// GET / (node info), /routes, /services, /plugins (no secrets), /status.
class admin_handler final : public http::request_handler {
 public:
  explicit admin_handler(const control_state& s) : state_(s) {}
  boost::asio::awaitable<void> handle(http::downstream& d) override;

 private:
  const control_state& state_;
};

/// GET /status, /status/ready, /metrics.
class status_handler final : public http::request_handler {
 public:
  explicit status_handler(const control_state& s) : state_(s) {}
  boost::asio::awaitable<void> handle(http::downstream& d) override;

 private:
  const control_state& state_;
};

}  // namespace aiproxy::server
