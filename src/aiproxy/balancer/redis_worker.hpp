#pragma once
// redis_worker: the one background thread behind a Redis-backed balancer object. It runs a sync
// function with its own redis_connection every sync_interval_ms; while Redis is unreachable it
// retries with a capped backoff and logs one warning per outage (and one line when Redis is
// back). Stopping wakes the thread through a condition variable and joins it. Callers on the data
// path never wait for it. Touches only its thread and its connection.

#include "aiproxy/balancer/redis_connection.hpp"
#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace aiproxy::balancer {

class redis_worker {
 public:
  /// Must send only idempotent commands: a sync that fails on a connection kept from an earlier
  /// sync is run again at once on a fresh connection.
  using sync_fn = std::function<result<void>(redis_connection&)>;

  /// `what` names the owner in log lines ("balancer state", "vector cache").
  redis_worker(const config::redis_config& conf, std::string what, sync_fn fn);
  /// Stops and joins the thread.
  ~redis_worker();
  redis_worker(const redis_worker&) = delete;
  redis_worker& operator=(const redis_worker&) = delete;

  /// Starts the thread (the first sync runs at once). Call once the owner is fully built.
  void start();
  /// Stops and joins the thread; prompt (the wait is on a condition variable).
  void stop() noexcept;
  /// One sync now, on the caller's thread (waits for a sync the thread may be running).
  result<void> run_now();
  /// True while the last sync failed.
  bool outage() const;

  /// The longest wait between two attempts while Redis is unreachable.
  static constexpr std::int64_t max_backoff_ms = 5000;

 private:
  void loop();
  result<void> sync_once();

  std::string what_;
  std::int64_t interval_ms_;
  sync_fn fn_;
  redis_connection conn_;
  mutable std::mutex sync_mutex_;  // guards conn_ and down_
  bool down_ = false;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aiproxy::balancer
