#pragma once
// The balancer's view of its targets that must be shared: by every worker thread of a process
// (in_process_state), and with a `redis` block by every gateway instance (redis_state). Per target:
// requests in flight, the latency peak EWMA, accumulated usage, and circuit-breaker state.
// Interface only; pure (no Asio). Times are milliseconds since the Unix epoch, passed in by the
// caller so tests run on a fake clock and instances agree on breaker deadlines.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace aiproxy::balancer {

/// `balancer.max_fails` / `balancer.fail_timeout`: max_fails failures within fail_timeout open the
/// breaker for fail_timeout; then one probe request is let through (half-open): its success
/// closes the breaker, its failure opens it again. max_fails = 0: no breaker.
struct breaker_settings {
  std::int64_t max_fails = 0;
  std::int64_t fail_timeout_ms = 10000;
};

/// What the algorithms read about one target.
struct target_view {
  std::int64_t in_flight = 0;
  std::optional<double> latency_ms;  // peak EWMA of the chosen latency metric; none yet = nullopt
  double usage = 0;                  // accumulated by the tokens_count_strategy
  bool breaker_open = false;         // open and not yet due for a probe
};

/// Thread-safe: every member may be called from any worker thread at once.
class shared_state {
 public:
  virtual ~shared_state() = default;

  virtual std::size_t size() const noexcept = 0;

  /// A request to `target` started / finished (least-connections counts these).
  virtual void started(std::size_t target) = 0;
  virtual void finished(std::size_t target) = 0;

  /// One latency sample (time per output token or end to end, in ms) for the peak EWMA.
  virtual void observe_latency(std::size_t target, double sample_ms, std::int64_t now_ms) = 0;

  /// Adds tokens (or cost) the target used.
  virtual void add_usage(std::size_t target, double amount) = 0;

  /// Breaker bookkeeping: an attempt on `target` failed (a failure that counts) or succeeded.
  virtual void failed(std::size_t target, std::int64_t now_ms) = 0;
  virtual void succeeded(std::size_t target, std::int64_t now_ms) = 0;

  /// Whether `target` may take a request now. Closed: true. Open: false until fail_timeout has
  /// passed, then true for exactly one caller (the half-open probe) until that probe reports
  /// failed() or succeeded().
  virtual bool try_acquire(std::size_t target, std::int64_t now_ms) = 0;

  virtual target_view view(std::size_t target, std::int64_t now_ms) const = 0;
};

/// State shared by the threads of this process only.
std::unique_ptr<shared_state> make_in_process_state(std::size_t targets, breaker_settings breaker);

}  // namespace aiproxy::balancer
