#pragma once
// in_process_state: the shared_state of one process's worker threads (state.hpp). Each target has
// its own mutex (in-flight count is an atomic), so threads picking different targets never wait
// on each other. Also the local half of redis_state, which builds on it. Pure: no Asio, no I/O.

#include "aiproxy/balancer/state.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

namespace aiproxy::balancer {

/// Peak EWMA time constant: a sample below the current value pulls it with weight
/// 1 - exp(-dt / latency_tau_ms), dt the time since the previous sample.
inline constexpr double latency_tau_ms = 10000.0;

/// How long a half-open probe may stay unreported before another probe is let through (a safety
/// net for a caller that never reports; every acquired attempt should be reported).
inline constexpr std::int64_t probe_lease_ms = 300000;

class in_process_state final : public shared_state {
 public:
  in_process_state(std::size_t targets, breaker_settings breaker);

  std::size_t size() const noexcept override { return size_; }
  void started(std::size_t target) override;
  void finished(std::size_t target) override;
  void observe_latency(std::size_t target, double sample_ms, std::int64_t now_ms) override;
  void add_usage(std::size_t target, double amount) override;
  void failed(std::size_t target, std::int64_t now_ms) override;
  void succeeded(std::size_t target, std::int64_t now_ms) override;
  bool try_acquire(std::size_t target, std::int64_t now_ms) override;
  target_view view(std::size_t target, std::int64_t now_ms) const override;

  const breaker_settings& breaker() const noexcept { return breaker_; }

 private:
  enum class breaker_phase { closed, open, probing };

  struct slot {
    std::atomic<std::int64_t> in_flight{0};
    mutable std::mutex mutex;
    // Guarded by mutex:
    std::optional<double> latency_ms;
    std::int64_t latency_at_ms = 0;
    double usage = 0;
    breaker_phase phase = breaker_phase::closed;
    std::deque<std::int64_t> failures;  // times of recent failures while closed
    std::int64_t open_until_ms = 0;     // open: no request before this
    std::int64_t probe_since_ms = 0;    // probing: when the probe was let through
  };

  slot* at(std::size_t target) const noexcept { return target < size_ ? &slots_[target] : nullptr; }
  void open(slot& s, std::int64_t now_ms);

  std::size_t size_;
  breaker_settings breaker_;
  std::unique_ptr<slot[]> slots_;
};

}  // namespace aiproxy::balancer
