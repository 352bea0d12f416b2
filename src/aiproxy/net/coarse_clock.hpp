#pragma once
// A cheap reading of steady_clock for deadlines and idle ages, where a few milliseconds do not
// matter: the kernel's time of its last tick (CLOCK_MONOTONIC_COARSE, the same timeline as
// steady_clock's CLOCK_MONOTONIC) plus one tick. Reading it copies a value from the vDSO page
// instead of reading and scaling the TSC, which costs 5-10x less on a VM's kvm-clock; the
// connection deadlines of every request read the clock several times. Never earlier than
// steady_clock::now() taken at the same moment, at most about one tick (1-10 ms) later, so a
// deadline computed from it never fires early. Touches nothing but the clock.

#include <chrono>
#include <ctime>

namespace aiproxy::net {

/// One tick of the coarse clock, as the kernel reports it (read once).
inline std::chrono::nanoseconds coarse_clock_tick() noexcept {
  static const std::chrono::nanoseconds tick = [] {
    timespec res{};
    if (::clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) {
      return std::chrono::nanoseconds(std::chrono::milliseconds(10));
    }
    return std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec);
  }();
  return tick;
}

/// steady_clock::now(), rounded up to the next coarse tick (see above).
inline std::chrono::steady_clock::time_point coarse_now_ceil() noexcept {
  timespec ts{};
  if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) {
    return std::chrono::steady_clock::now();
  }
  const auto since_epoch = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(since_epoch +
                                                                      coarse_clock_tick()));
}

}  // namespace aiproxy::net
