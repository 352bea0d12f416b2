// in_process_state: per-target counters, peak EWMA and circuit breaker for the worker threads of
// one process. Touches nothing outside this object.

#include "aiproxy/balancer/in_process_state.hpp"

#include <algorithm>
#include <cmath>

namespace aiproxy::balancer {

in_process_state::in_process_state(std::size_t targets, breaker_settings breaker)
    : size_(targets), breaker_(breaker), slots_(std::make_unique<slot[]>(targets)) {
  if (breaker_.fail_timeout_ms < 0)
    breaker_.fail_timeout_ms = 0;
}

void in_process_state::started(std::size_t target) {
  if (auto* s = at(target))
    s->in_flight.fetch_add(1, std::memory_order_relaxed);
}

void in_process_state::finished(std::size_t target) {
  auto* s = at(target);
  if (!s)
    return;
  // Never below zero, even if a caller reports a finish twice.
  auto cur = s->in_flight.load(std::memory_order_relaxed);
  while (cur > 0 && !s->in_flight.compare_exchange_weak(cur, cur - 1, std::memory_order_relaxed)) {
  }
}

void in_process_state::observe_latency(std::size_t target, double sample_ms, std::int64_t now_ms) {
  auto* s = at(target);
  if (!s || !std::isfinite(sample_ms) || sample_ms < 0)
    return;
  std::lock_guard lock(s->mutex);
  if (!s->latency_ms || sample_ms >= *s->latency_ms) {
    s->latency_ms = sample_ms;  // peak: a slower sample counts at once
  } else {
    const double dt = static_cast<double>(std::max<std::int64_t>(0, now_ms - s->latency_at_ms));
    const double keep = std::exp(-dt / latency_tau_ms);
    s->latency_ms = *s->latency_ms * keep + sample_ms * (1.0 - keep);
  }
  s->latency_at_ms = std::max(s->latency_at_ms, now_ms);
}

void in_process_state::add_usage(std::size_t target, double amount) {
  auto* s = at(target);
  if (!s || !std::isfinite(amount))
    return;
  std::lock_guard lock(s->mutex);
  s->usage += amount;
}

void in_process_state::open(slot& s, std::int64_t now_ms) {
  s.phase = breaker_phase::open;
  s.open_until_ms = now_ms + breaker_.fail_timeout_ms;
  s.failures.clear();
}

void in_process_state::failed(std::size_t target, std::int64_t now_ms) {
  auto* s = at(target);
  if (!s || breaker_.max_fails <= 0)
    return;
  std::lock_guard lock(s->mutex);
  switch (s->phase) {
    case breaker_phase::closed: {
      // Sliding window: only failures within the last fail_timeout count.
      s->failures.push_back(now_ms);
      while (!s->failures.empty() && s->failures.front() <= now_ms - breaker_.fail_timeout_ms) {
        s->failures.pop_front();
      }
      if (static_cast<std::int64_t>(s->failures.size()) >= breaker_.max_fails)
        open(*s, now_ms);
      break;
    }
    case breaker_phase::probing:
      open(*s, now_ms);  // the probe failed: open for another fail_timeout
      break;
    case breaker_phase::open:
      break;  // a request started before the breaker opened; the breaker already knows
  }
}

void in_process_state::succeeded(std::size_t target, std::int64_t /*now_ms*/) {
  auto* s = at(target);
  if (!s || breaker_.max_fails <= 0)
    return;
  std::lock_guard lock(s->mutex);
  if (s->phase == breaker_phase::probing) {
    s->phase = breaker_phase::closed;
    s->failures.clear();
  }
}

bool in_process_state::try_acquire(std::size_t target, std::int64_t now_ms) {
  auto* s = at(target);
  if (!s)
    return false;
  if (breaker_.max_fails <= 0)
    return true;
  std::lock_guard lock(s->mutex);
  switch (s->phase) {
    case breaker_phase::closed:
      return true;
    case breaker_phase::open:
      if (now_ms < s->open_until_ms)
        return false;
      s->phase = breaker_phase::probing;
      s->probe_since_ms = now_ms;
      return true;
    case breaker_phase::probing:
      if (now_ms - s->probe_since_ms < probe_lease_ms)
        return false;
      s->probe_since_ms = now_ms;  // the previous probe was never reported
      return true;
  }
  return false;
}

target_view in_process_state::view(std::size_t target, std::int64_t now_ms) const {
  target_view v;
  const auto* s = at(target);
  if (!s)
    return v;
  v.in_flight = s->in_flight.load(std::memory_order_relaxed);
  std::lock_guard lock(s->mutex);
  v.latency_ms = s->latency_ms;
  v.usage = s->usage;
  if (breaker_.max_fails > 0) {
    switch (s->phase) {
      case breaker_phase::closed:
        break;
      case breaker_phase::open:
        v.breaker_open = now_ms < s->open_until_ms;
        break;
      case breaker_phase::probing:
        v.breaker_open = now_ms - s->probe_since_ms < probe_lease_ms;
        break;
    }
  }
  return v;
}

std::unique_ptr<shared_state> make_in_process_state(std::size_t targets, breaker_settings breaker) {
  return std::make_unique<in_process_state>(targets, breaker);
}

}  // namespace aiproxy::balancer
