// redis_worker (redis_worker.hpp): the sync loop, its capped backoff and outage logging.
// Touches only its thread and its connection.

#include "aiproxy/balancer/redis_worker.hpp"

#include "aiproxy/core/log.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace aiproxy::balancer {

redis_worker::redis_worker(const config::redis_config& conf, std::string what, sync_fn fn)
    : what_(std::move(what)),
      interval_ms_(std::max<std::int64_t>(conf.sync_interval_ms, 1)),
      fn_(std::move(fn)),
      conn_(conf) {}

redis_worker::~redis_worker() {
  stop();
}

void redis_worker::start() {
  if (!thread_.joinable())
    thread_ = std::thread([this] { loop(); });
}

void redis_worker::stop() noexcept {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

bool redis_worker::outage() const {
  std::lock_guard lock(sync_mutex_);
  return down_;
}

result<void> redis_worker::sync_once() {
  std::lock_guard lock(sync_mutex_);
  const bool reused = conn_.connected();
  auto r = fn_(conn_);
  if (!r && reused) {
    // A connection kept from an earlier sync may have died meanwhile (Redis restarted, an idle
    // timeout): one more try on a fresh one. Sync functions only send idempotent commands.
    conn_.disconnect();
    r = fn_(conn_);
  }
  if (!r) {
    conn_.disconnect();  // start clean next time (a pipeline may have been cut half-way)
    if (!down_) {
      down_ = true;
      log::warn(what_ + ": Redis unreachable, continuing on local state (" + r.error().message +
                ")");
    }
  } else if (down_) {
    down_ = false;
    log::info(what_ + ": Redis at " + conn_.endpoint() + " is back, shared state resynced");
  }
  return r;
}

result<void> redis_worker::run_now() {
  return sync_once();
}

void redis_worker::loop() {
  std::int64_t backoff_ms = interval_ms_;
  for (;;) {
    std::int64_t wait_ms = interval_ms_;
    if (!sync_once()) {
      wait_ms = backoff_ms;
      backoff_ms = std::min(backoff_ms * 2, std::max(max_backoff_ms, interval_ms_));
    } else {
      backoff_ms = interval_ms_;
    }
    std::unique_lock lock(stop_mutex_);
    if (stop_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_; }))
      return;
  }
}

}  // namespace aiproxy::balancer
