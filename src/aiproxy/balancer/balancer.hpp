#pragma once
// The ai-proxy-advanced target balancer: which target an attempt goes to (seven algorithms), and
// what each finished attempt teaches the shared state (connections, latency peak EWMA, usage,
// circuit breaker). One instance serves every worker thread. Pure: no Asio, no I/O; time and
// randomness come from the caller so tests are deterministic.

#include "aiproxy/balancer/state.hpp"
#include "aiproxy/config/config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::balancer {

/// One target as the balancer sees it.
struct target_spec {
  std::uint32_t weight = 100;  // 0 is taken as 1
  /// Stable identity (built by the plugin from provider/model/upstream/description): the
  /// consistent-hashing wheel is derived from it, so removing a target moves only its keys.
  std::string key;
  std::string description;  // "CATCHALL" = semantic fallback
};

struct pick_input {
  std::string_view hash_key;         // consistent-hashing: the hash_on_header value
  std::span<const float> embedding;  // semantic: the prompt's embedding
  std::int64_t now_ms = 0;           // ms since the Unix epoch (the breaker's clock)
  std::uint64_t random = 0;          // a fresh 64-bit random value per pick
};

/// The outcome of one attempt, for on_finish().
struct attempt_report {
  bool success = false;
  bool counts_as_failure = false;  // a failover_criteria failure: feeds the breaker
  double e2e_ms = 0;
  std::optional<double> tpot_ms;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost = 0;
  std::int64_t now_ms = 0;
};

enum class distance_metric { cosine, euclidean };

/// `vectordb.distance_metric`: "euclidean" (any case) or else cosine.
distance_metric distance_metric_from(std::string_view name) noexcept;

/// `vectordb.threshold` and `distance_metric` for semantic routing.
struct semantic_settings {
  distance_metric metric = distance_metric::cosine;
  double threshold = 0.5;  // cosine: similarity >= threshold; euclidean: distance <= threshold
};

/// Target description vectors for semantic routing (in-process vector store). Thread-safe:
/// set() may run while other threads call nearest().
class semantic_index {
 public:
  /// catchall[i]: target i is a CATCHALL target and needs no vector.
  explicit semantic_index(std::vector<bool> catchall);

  /// Stores the description vector of `target` (and a unit-length copy for cosine).
  void set(std::size_t target, std::vector<float> vector);
  /// Every non-CATCHALL target has a vector.
  bool ready() const;
  /// The nearest target within `threshold` that is not excluded (excluded may be shorter than
  /// the target count). A dimension mismatch or a zero vector never matches.
  std::optional<std::size_t> nearest(std::span<const float> query, distance_metric metric,
                                     double threshold, std::span<const bool> excluded) const;

 private:
  struct entry {
    std::vector<float> raw;
    std::vector<float> unit;  // raw / |raw|; empty for a zero vector
  };
  std::vector<bool> catchall_;
  mutable std::shared_mutex mutex_;
  std::vector<std::optional<entry>> entries_;
};

class balancer {
 public:
  /// `state` may be null: an in-process state with the config's breaker settings is made.
  balancer(const config::balancer_config& conf, std::vector<target_spec> targets,
           std::shared_ptr<shared_state> state, semantic_settings semantic = {});

  /// The target for the next attempt: never one in `tried` (tried[i] true; may be shorter than
  /// size()), never one whose breaker refuses it (a half-open target's probe is acquired here).
  /// nullopt when none is left. Every returned target must be reported with on_start and
  /// on_finish.
  std::optional<std::size_t> pick(const pick_input& in, std::span<const bool> tried);

  void on_start(std::size_t target);
  void on_finish(std::size_t target, const attempt_report& report);

  semantic_index& semantic() noexcept { return semantic_; }
  const semantic_index& semantic() const noexcept { return semantic_; }
  shared_state& state() noexcept { return *state_; }
  std::size_t size() const noexcept { return targets_.size(); }
  const target_spec& target(std::size_t i) const { return targets_[i]; }

 private:
  /// A fixed-size buffer kept on the stack for up to 16 targets (pick allocates nothing then).
  template <class T>
  class scratch {
   public:
    explicit scratch(std::size_t n) : size_(n) {
      if (n > local_.size())
        heap_ = std::make_unique<T[]>(n);
    }
    T* data() noexcept { return heap_ ? heap_.get() : local_.data(); }
    const T* data() const noexcept { return heap_ ? heap_.get() : local_.data(); }
    std::size_t size() const noexcept { return size_; }
    T& operator[](std::size_t i) noexcept { return data()[i]; }
    const T& operator[](std::size_t i) const noexcept { return data()[i]; }
    std::span<const T> span() const noexcept { return {data(), size_}; }

   private:
    std::size_t size_;
    std::array<T, 16> local_{};
    std::unique_ptr<T[]> heap_;
  };
  using mask = scratch<bool>;
  using view_buf = scratch<target_view>;

  std::optional<std::size_t> pick_hashing(const pick_input& in, mask& excluded);
  std::optional<std::size_t> pick_semantic(const pick_input& in, mask& excluded);
  /// Algorithms that read every target's view and keep rotation state under mutex_.
  std::optional<std::size_t> choose_locked(const pick_input& in, const mask& excluded,
                                           const view_buf& views);
  std::optional<std::size_t> rotate(const mask& eligible, std::size_t& cursor) const;

  config::balancer_config conf_;
  std::vector<target_spec> targets_;
  std::shared_ptr<shared_state> state_;
  semantic_settings semantic_settings_;
  semantic_index semantic_;

  // consistent-hashing wheel: wheel_[slot] = owning target. Immutable after construction.
  std::vector<std::uint32_t> wheel_;
  // priority groups: target indices per distinct weight, highest weight first. Immutable.
  std::vector<std::vector<std::size_t>> groups_;

  std::mutex mutex_;  // guards everything below
  std::vector<std::int64_t> swrr_current_;
  std::size_t cursor_ = 0;
  std::vector<std::size_t> group_cursor_;
};

}  // namespace aiproxy::balancer
