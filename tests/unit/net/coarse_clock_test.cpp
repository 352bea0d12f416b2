// The coarse deadline clock: never earlier than steady_clock, and close to it.

#include "aiproxy/net/coarse_clock.hpp"

#include <gtest/gtest.h>

namespace aiproxy::net {
namespace {

using std::chrono::steady_clock;

TEST(coarse_clock, never_earlier_than_steady_clock_read_before_it) {
  // A deadline counted from the coarse clock must not fire before one counted from
  // steady_clock: without the added tick, the coarse reading lags by up to a tick.
  for (int i = 0; i < 20000; ++i) {
    const auto precise = steady_clock::now();
    const auto coarse = coarse_now_ceil();
    ASSERT_GE(coarse, precise) << "iteration " << i;
  }
}

TEST(coarse_clock, within_two_ticks_of_steady_clock_read_after_it) {
  // Up to a tick of rounding plus a tick of lag; a preempted thread only makes the later
  // reading larger, so the bound holds on a loaded machine.
  const auto tick = coarse_clock_tick();
  ASSERT_GT(tick.count(), 0);
  for (int i = 0; i < 1000; ++i) {
    const auto coarse = coarse_now_ceil();
    const auto precise = steady_clock::now();
    ASSERT_LE(coarse, precise + 2 * tick) << "iteration " << i;
  }
}

}  // namespace
}  // namespace aiproxy::net
