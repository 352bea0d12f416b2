#pragma once
// redis_state: the shared_state of a fleet of gateways that share one Redis server. Decisions use
// a local in_process_state plus an overlay of the fleet's view; the network is touched only by one
// background thread (redis_worker) that every sync_interval_ms pushes this instance's numbers and
// pulls everyone else's. Redis down: everything keeps working on local state, and the next
// successful sync republishes what this instance holds (its pushes are idempotent).
//
// Keys (P = key_prefix, i = target index, ID = instance_id):
//   P:usage:<i>       hash ID -> this instance's cumulative usage of target i (kept forever; the
//                     fleet total is the sum of the fields; a restart with the same ID continues)
//   P:inst:<ID>       hash inflight:<i> -> requests in flight, latency:<i> -> peak EWMA (ms);
//                     PEXPIREd every sync, so a dead instance's numbers vanish after the TTL
//   P:instances       set of instance ids (a member whose P:inst:<ID> expired is removed)
//   P:open_until:<i>  epoch ms until which target i's breaker is open (SET PX fail_timeout_ms)

#include "aiproxy/balancer/in_process_state.hpp"
#include "aiproxy/balancer/redis_worker.hpp"
#include "aiproxy/balancer/state.hpp"
#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace aiproxy::balancer {

struct redis_state_options {
  /// How long an instance's in-flight counts and latency outlive its last sync.
  /// 0: max(10 × sync_interval_ms, 2000).
  std::int64_t instance_ttl_ms = 0;
};

class redis_state final : public shared_state {
 public:
  /// Starts the background thread (its first sync runs at once). instance_id must be unique in
  /// the fleet (e.g. host name and pid).
  redis_state(const config::redis_config& conf, std::string key_prefix, std::size_t targets,
              breaker_settings breaker, std::string instance_id, redis_state_options options = {});
  /// Stops the background thread promptly (no final push; call flush_now() for one).
  ~redis_state() override;

  std::size_t size() const noexcept override { return local_.size(); }
  void started(std::size_t target) override;
  void finished(std::size_t target) override;
  void observe_latency(std::size_t target, double sample_ms, std::int64_t now_ms) override;
  void add_usage(std::size_t target, double amount) override;
  void failed(std::size_t target, std::int64_t now_ms) override;
  void succeeded(std::size_t target, std::int64_t now_ms) override;
  /// False while the target's breaker is open anywhere in the fleet; then the local breaker
  /// (and its half-open probe) decides.
  bool try_acquire(std::size_t target, std::int64_t now_ms) override;
  /// Local numbers combined with the fleet's as of the last sync: in_flight and usage are fleet
  /// sums, latency the fleet maximum, breaker_open true when open here or anywhere.
  target_view view(std::size_t target, std::int64_t now_ms) const override;

  /// One push and pull now, on the caller's thread (tests, shutdown). Blocks for up to the Redis
  /// timeout; never call it on the data path.
  result<void> flush_now();
  const std::string& instance_id() const noexcept { return instance_id_; }

 private:
  struct slot {
    mutable std::mutex mutex;
    // Pulled from the fleet: other instances' numbers (others_usage also holds this instance's
    // usage from before it started), and the fleet's breaker deadline:
    std::int64_t others_in_flight = 0;
    std::optional<double> others_latency_ms;
    double others_usage = 0;
    std::int64_t open_until_ms = 0;  // 0: no breaker open in the fleet
    // This instance's breaker as it should be published:
    std::int64_t publish_open_until_ms = 0;  // 0: not open here
    std::uint64_t breaker_version = 0;       // bumped on every change of publish_open_until_ms
    std::uint64_t breaker_pushed = 0;        // the version Redis holds
  };

  result<void> sync(redis_connection& conn);
  result<void> read_usage_base(redis_connection& conn);
  std::string key(std::string_view kind, std::size_t target) const;

  in_process_state local_;
  breaker_settings breaker_;
  std::string prefix_;
  std::string instance_id_;
  std::int64_t ttl_ms_;
  std::unique_ptr<slot[]> slots_;
  // Owned by the sync (under the worker's lock): usage this instance had before it started.
  std::vector<double> usage_base_;
  bool usage_base_known_ = false;
  redis_worker worker_;  // last: stopped and joined before anything above is destroyed
};

/// A redis_state as the balancer sees it (flush_now stays reachable through the concrete type).
std::unique_ptr<redis_state> make_redis_state(const config::redis_config& conf,
                                              std::string key_prefix, std::size_t targets,
                                              breaker_settings breaker, std::string instance_id,
                                              redis_state_options options = {});

}  // namespace aiproxy::balancer
