#pragma once
// The gateway's request handler: matches a route, runs its plugin chain (ai-proxy, or a plain
// proxy to the route's service), and emits the request's log record exactly once.

#include "aiproxy/http/downstream.hpp"
#include "aiproxy/plugins/runtime.hpp"

namespace aiproxy::plugins {

class gateway_handler final : public http::request_handler {
 public:
  explicit gateway_handler(worker_services services) : services_(std::move(services)) {}
  boost::asio::awaitable<void> handle(http::downstream& d) override;

 private:
  worker_services services_;
};

}  // namespace aiproxy::plugins
