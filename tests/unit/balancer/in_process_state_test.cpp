// Unit tests of in_process_state: in-flight counts, peak EWMA, usage, and the circuit breaker
// (closed -> open -> half-open single probe -> closed / open again) on a fake clock.

#include "aiproxy/balancer/in_process_state.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace {

using namespace aiproxy::balancer;

TEST(InProcessState, CountsInFlightAndNeverGoesNegative) {
  auto st = make_in_process_state(2, {});
  st->started(0);
  st->started(0);
  st->started(1);
  EXPECT_EQ(st->view(0, 0).in_flight, 2);
  EXPECT_EQ(st->view(1, 0).in_flight, 1);
  st->finished(0);
  st->finished(1);
  st->finished(1);
  EXPECT_EQ(st->view(0, 0).in_flight, 1);
  EXPECT_EQ(st->view(1, 0).in_flight, 0);
}

TEST(InProcessState, OutOfRangeTargetIsHarmless) {
  auto st = make_in_process_state(1, {.max_fails = 1, .fail_timeout_ms = 10});
  st->started(5);
  st->failed(5, 0);
  EXPECT_FALSE(st->try_acquire(5, 0));
  EXPECT_EQ(st->view(5, 0).in_flight, 0);
  EXPECT_EQ(st->size(), 1u);
}

TEST(InProcessState, PeakEwmaJumpsUpAtOnceAndDecaysDown) {
  auto st = make_in_process_state(1, {});
  EXPECT_FALSE(st->view(0, 0).latency_ms.has_value());
  st->observe_latency(0, 100, 0);
  EXPECT_DOUBLE_EQ(*st->view(0, 0).latency_ms, 100);
  st->observe_latency(0, 500, 10);
  EXPECT_DOUBLE_EQ(*st->view(0, 10).latency_ms, 500);  // peak: at once
  // dt = tau: keep exp(-1) of the old value.
  st->observe_latency(0, 100, 10 + static_cast<std::int64_t>(latency_tau_ms));
  const double expected = 500 * std::exp(-1.0) + 100 * (1 - std::exp(-1.0));
  EXPECT_NEAR(*st->view(0, 0).latency_ms, expected, 1e-9);
  // Many samples a second apart converge to the new level.
  std::int64_t now = 20000;
  for (int i = 0; i < 200; ++i)
    st->observe_latency(0, 100, now += 1000);
  EXPECT_NEAR(*st->view(0, now).latency_ms, 100, 0.01);
}

TEST(InProcessState, SameInstantSampleBelowDoesNotMove) {
  auto st = make_in_process_state(1, {});
  st->observe_latency(0, 300, 1000);
  st->observe_latency(0, 10, 1000);  // dt = 0: weight exp(0) = 1 on the old value
  EXPECT_DOUBLE_EQ(*st->view(0, 1000).latency_ms, 300);
}

TEST(InProcessState, AccumulatesUsage) {
  auto st = make_in_process_state(2, {});
  st->add_usage(1, 10);
  st->add_usage(1, 2.5);
  EXPECT_DOUBLE_EQ(st->view(1, 0).usage, 12.5);
  EXPECT_DOUBLE_EQ(st->view(0, 0).usage, 0);
}

TEST(InProcessState, BreakerOffWhenMaxFailsIsZero) {
  auto st = make_in_process_state(1, {.max_fails = 0, .fail_timeout_ms = 1000});
  for (int i = 0; i < 100; ++i)
    st->failed(0, i);
  EXPECT_TRUE(st->try_acquire(0, 100));
  EXPECT_FALSE(st->view(0, 100).breaker_open);
}

TEST(InProcessState, BreakerOpensHalfOpensWithOneProbeAndCloses) {
  auto st = make_in_process_state(1, {.max_fails = 3, .fail_timeout_ms = 1000});
  st->failed(0, 0);
  st->failed(0, 100);
  EXPECT_TRUE(st->try_acquire(0, 150));
  st->failed(0, 200);  // third within 1000 ms: open until 1200
  EXPECT_TRUE(st->view(0, 200).breaker_open);
  EXPECT_FALSE(st->try_acquire(0, 200));
  EXPECT_FALSE(st->try_acquire(0, 1199));
  EXPECT_FALSE(st->view(0, 1200).breaker_open);  // due for a probe
  EXPECT_TRUE(st->try_acquire(0, 1200));         // the probe
  EXPECT_FALSE(st->try_acquire(0, 1200));        // exactly one
  EXPECT_FALSE(st->try_acquire(0, 5000));
  EXPECT_TRUE(st->view(0, 1300).breaker_open);
  st->succeeded(0, 1300);
  EXPECT_FALSE(st->view(0, 1300).breaker_open);
  EXPECT_TRUE(st->try_acquire(0, 1300));
  EXPECT_TRUE(st->try_acquire(0, 1300));
  // Closed again with an empty window: two failures do not open it.
  st->failed(0, 1400);
  st->failed(0, 1500);
  EXPECT_TRUE(st->try_acquire(0, 1500));
}

TEST(InProcessState, FailedProbeReopensForAnotherTimeout) {
  auto st = make_in_process_state(1, {.max_fails = 1, .fail_timeout_ms = 1000});
  st->failed(0, 0);
  EXPECT_FALSE(st->try_acquire(0, 999));
  EXPECT_TRUE(st->try_acquire(0, 1000));
  st->failed(0, 1100);  // probe failed: open until 2100
  EXPECT_FALSE(st->try_acquire(0, 2099));
  EXPECT_TRUE(st->try_acquire(0, 2100));
  st->succeeded(0, 2200);
  EXPECT_TRUE(st->try_acquire(0, 2200));
}

TEST(InProcessState, FailuresOutsideTheWindowDoNotCount) {
  auto st = make_in_process_state(1, {.max_fails = 2, .fail_timeout_ms = 1000});
  st->failed(0, 0);
  st->failed(0, 1000);  // the first one is exactly fail_timeout old: out of the window
  EXPECT_TRUE(st->try_acquire(0, 1000));
  st->failed(0, 1500);
  EXPECT_FALSE(st->try_acquire(0, 1500));
}

TEST(InProcessState, UnreportedProbeIsReplacedAfterTheLease) {
  auto st = make_in_process_state(1, {.max_fails = 1, .fail_timeout_ms = 10});
  st->failed(0, 0);
  EXPECT_TRUE(st->try_acquire(0, 10));
  EXPECT_FALSE(st->try_acquire(0, 10 + probe_lease_ms - 1));
  EXPECT_TRUE(st->try_acquire(0, 10 + probe_lease_ms));
}

TEST(InProcessState, ConcurrentStartFinishBalance) {
  auto st = make_in_process_state(3, {.max_fails = 5, .fail_timeout_ms = 100});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&st, t] {
      for (int i = 0; i < 5000; ++i) {
        const std::size_t target = static_cast<std::size_t>((i + t) % 3);
        st->started(target);
        st->observe_latency(target, i % 50, i);
        st->add_usage(target, 1);
        if (i % 7 == 0)
          st->failed(target, i);
        (void)st->try_acquire(target, i);
        st->finished(target);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  double usage = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(st->view(i, 0).in_flight, 0);
    usage += st->view(i, 0).usage;
  }
  EXPECT_DOUBLE_EQ(usage, 4 * 5000);
}

}  // namespace
