// Unit tests of balancer::balancer: each algorithm's distribution with seeded randomness and a
// fake clock, tried targets, the breaker as pick sees it, what on_finish records, and many
// threads sharing one balancer.

#include "aiproxy/balancer/balancer.hpp"
#include "aiproxy/balancer/in_process_state.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Designated initializers name only the fields a test cares about; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using namespace aiproxy;
using namespace aiproxy::balancer;
using algo = config::balancer_algorithm;

config::balancer_config conf_for(algo a, std::int64_t max_fails = 0,
                                 std::int64_t fail_timeout_ms = 10000) {
  config::balancer_config c;
  c.algorithm = a;
  c.max_fails = max_fails;
  c.fail_timeout_ms = fail_timeout_ms;
  return c;
}

std::vector<target_spec> specs(std::vector<std::uint32_t> weights) {
  std::vector<target_spec> out;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    out.push_back({weights[i], "openai/gpt-4o/target-" + std::to_string(i), ""});
  }
  return out;
}

/// A tried-set usable as std::span<const bool>.
struct tried_set {
  std::array<bool, 16> flags{};
  std::size_t n;
  explicit tried_set(std::size_t size) : n(size) {}
  std::span<const bool> span() const { return {flags.data(), n}; }
  bool& operator[](std::size_t i) { return flags[i]; }
};

const std::span<const bool> none{};

/// One whole attempt: pick, start, finish with `report`.
std::optional<std::size_t> attempt(class balancer& b, const pick_input& in,
                                   attempt_report report = {.success = true}) {
  auto t = b.pick(in, none);
  if (t) {
    b.on_start(*t);
    report.now_ms = in.now_ms;
    b.on_finish(*t, report);
  }
  return t;
}

// ---------------------------------------------------------------- round-robin

TEST(RoundRobin, SmoothWeightedOrderIsNginxs) {
  class balancer b(conf_for(algo::round_robin), specs({5, 1, 1}), nullptr);
  std::vector<std::size_t> seq;
  for (int i = 0; i < 7; ++i)
    seq.push_back(*attempt(b, {}));
  EXPECT_EQ(seq, (std::vector<std::size_t>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(RoundRobin, WeightsHonouredExactly) {
  class balancer b(conf_for(algo::round_robin), specs({300, 200, 100}), nullptr);
  std::array<int, 3> counts{};
  for (int i = 0; i < 6000; ++i)
    ++counts[*attempt(b, {})];
  EXPECT_EQ(counts, (std::array<int, 3>{3000, 2000, 1000}));
}

TEST(RoundRobin, EqualWeightsRotateInOrder) {
  class balancer b(conf_for(algo::round_robin), specs({100, 100, 100}), nullptr);
  std::vector<std::size_t> seq;
  for (int i = 0; i < 6; ++i)
    seq.push_back(*attempt(b, {}));
  EXPECT_EQ(seq, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

// ---------------------------------------------------------------- every algorithm: tried

class EveryAlgorithm : public ::testing::TestWithParam<algo> {};

TEST_P(EveryAlgorithm, NeverPicksATriedTargetAndEndsWithNullopt) {
  std::vector<target_spec> t = specs({100, 50, 100, 10});
  t[3].description = "CATCHALL";
  class balancer b(conf_for(GetParam()), t, nullptr,
                   {.metric = distance_metric::cosine, .threshold = 0.1});
  b.semantic().set(0, {1, 0, 0});
  b.semantic().set(1, {0.9f, 0.3f, 0});
  b.semantic().set(2, {0.8f, 0, 0.5f});
  const std::vector<float> query{1, 0.1f, 0.1f};
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    tried_set tried(4);
    for (int k = 0; k < 4; ++k) {
      auto p = b.pick({.hash_key = "k" + std::to_string(round),
                       .embedding = query,
                       .now_ms = round,
                       .random = rng()},
                      tried.span());
      ASSERT_TRUE(p.has_value()) << "round " << round << " pick " << k;
      ASSERT_LT(*p, 4u);
      EXPECT_FALSE(tried[*p]) << "target " << *p << " picked twice";
      tried[*p] = true;
      b.on_start(*p);
      b.on_finish(*p, {.success = true, .e2e_ms = 10.0 + *p, .now_ms = round});
    }
    EXPECT_FALSE(b.pick({.hash_key = "x", .embedding = query, .random = rng()}, tried.span()));
  }
}

TEST_P(EveryAlgorithm, SkipsOpenTargetsAndNulloptWhenAllOpen) {
  std::vector<target_spec> t = specs({100, 100});
  class balancer b(conf_for(GetParam(), 1, 1000), t, nullptr);
  b.semantic().set(0, {1, 0});
  b.semantic().set(1, {0, 1});
  b.state().failed(0, 0);  // max_fails 1: open until 1000
  const std::vector<float> q0{1, 0};
  for (int i = 0; i < 20; ++i) {
    auto p = b.pick({.hash_key = std::to_string(i),
                     .embedding = q0,
                     .now_ms = 10,
                     .random = static_cast<std::uint64_t>(i) * 977},
                    none);
    if (GetParam() == algo::semantic) {
      // Nearest is 0 (open); 1 is orthogonal: below the 0.5 threshold; no CATCHALL.
      EXPECT_FALSE(p.has_value());
    } else {
      ASSERT_TRUE(p.has_value());
      EXPECT_EQ(*p, 1u);
    }
  }
  b.state().failed(1, 20);
  EXPECT_FALSE(b.pick({.hash_key = "k", .embedding = q0, .now_ms = 30}, none));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, EveryAlgorithm,
                         ::testing::Values(algo::round_robin, algo::consistent_hashing,
                                           algo::least_connections, algo::lowest_latency,
                                           algo::lowest_usage, algo::priority, algo::semantic));

// ---------------------------------------------------------------- consistent-hashing

std::vector<target_spec> named(std::vector<std::string> names, std::vector<std::uint32_t> w) {
  std::vector<target_spec> out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out.push_back({w[i], names[i], ""});
  return out;
}

TEST(ConsistentHashing, SameKeySameTarget) {
  class balancer b(conf_for(algo::consistent_hashing), specs({100, 100, 100}), nullptr);
  for (int k = 0; k < 100; ++k) {
    const std::string key = "request-" + std::to_string(k);
    const auto first = b.pick({.hash_key = key, .random = 1}, none);
    ASSERT_TRUE(first);
    for (int r = 0; r < 5; ++r) {
      EXPECT_EQ(b.pick({.hash_key = key, .random = static_cast<std::uint64_t>(r) * 31}, none),
                first);
    }
  }
}

TEST(ConsistentHashing, WeightsHonouredWithinThreePercent) {
  class balancer b(conf_for(algo::consistent_hashing), specs({100, 200, 100}), nullptr);
  std::array<int, 3> counts{};
  for (int k = 0; k < 10000; ++k)
    ++counts[*b.pick({.hash_key = "key:" + std::to_string(k)}, none)];
  EXPECT_NEAR(counts[0], 2500, 300);
  EXPECT_NEAR(counts[1], 5000, 300);
  EXPECT_NEAR(counts[2], 2500, 300);
}

TEST(ConsistentHashing, RemovingATargetMovesOnlyItsKeys) {
  const auto before_specs = named({"a", "b", "c", "d"}, {100, 100, 200, 100});
  const auto after_specs = named({"a", "b", "d"}, {100, 100, 100});
  class balancer before(conf_for(algo::consistent_hashing), before_specs, nullptr);
  class balancer after(conf_for(algo::consistent_hashing), after_specs, nullptr);
  int moved_from_c = 0;
  std::map<std::string, int> c_went_to;
  for (int k = 0; k < 10000; ++k) {
    const std::string key = "user-" + std::to_string(k);
    const std::string was = before_specs[*before.pick({.hash_key = key}, none)].key;
    const std::string now = after_specs[*after.pick({.hash_key = key}, none)].key;
    if (was == "c") {
      ++moved_from_c;
      ++c_went_to[now];
    } else {
      ASSERT_EQ(was, now) << "key " << key << " moved although its target stayed";
    }
  }
  EXPECT_NEAR(moved_from_c, 4000, 400);  // c had weight 200 of 500
  EXPECT_EQ(c_went_to.size(), 3u);       // c's keys spread over the others
}

TEST(ConsistentHashing, TriedTargetFallsToTheSameNextTarget) {
  class balancer b(conf_for(algo::consistent_hashing), specs({100, 100, 100, 100}), nullptr);
  for (int k = 0; k < 200; ++k) {
    const std::string key = "k" + std::to_string(k);
    const auto first = *b.pick({.hash_key = key}, none);
    tried_set tried(4);
    tried[first] = true;
    const auto second = b.pick({.hash_key = key}, tried.span());
    ASSERT_TRUE(second);
    EXPECT_NE(*second, first);
    EXPECT_EQ(b.pick({.hash_key = key, .random = 99}, tried.span()), second);
  }
}

TEST(ConsistentHashing, EmptyKeyUsesTheRandomValue) {
  class balancer b(conf_for(algo::consistent_hashing), specs({100, 100, 100}), nullptr);
  std::mt19937_64 rng(42);
  std::array<int, 3> counts{};
  for (int i = 0; i < 3000; ++i)
    ++counts[*b.pick({.random = rng()}, none)];
  for (int c : counts)
    EXPECT_NEAR(c, 1000, 150);
}

// ---------------------------------------------------------------- least-connections

TEST(LeastConnections, InFlightFollowsWeight) {
  class balancer b(conf_for(algo::least_connections), specs({300, 100}), nullptr);
  for (int i = 0; i < 400; ++i)
    b.on_start(*b.pick({}, none));
  EXPECT_NEAR(b.state().view(0, 0).in_flight, 300, 1);
  EXPECT_NEAR(b.state().view(1, 0).in_flight, 100, 1);
  // Finishing target 1's requests makes it the least loaded.
  for (int i = 0; i < 100; ++i)
    b.on_finish(1, {.success = true});
  EXPECT_EQ(b.pick({}, none), 1u);
}

TEST(LeastConnections, TiesGoRoundRobin) {
  class balancer b(conf_for(algo::least_connections), specs({100, 100, 100}), nullptr);
  std::vector<std::size_t> seq;
  for (int i = 0; i < 6; ++i)
    seq.push_back(*attempt(b, {}));
  EXPECT_EQ(seq, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

// ---------------------------------------------------------------- lowest-latency

struct latency_run {
  std::array<int, 3> counts{};
};

/// `picks` attempts 10 ms apart, target i answering in latency[i] ms.
latency_run run_latency(class balancer& b, std::mt19937_64& rng, std::int64_t& now,
                        const std::array<double, 3>& latency, int picks) {
  latency_run r;
  for (int i = 0; i < picks; ++i) {
    now += 10;
    auto t = b.pick({.now_ms = now, .random = rng()}, none);
    b.on_start(*t);
    b.on_finish(*t, {.success = true, .e2e_ms = latency[*t], .now_ms = now});
    ++r.counts[*t];
  }
  return r;
}

config::balancer_config latency_conf() {
  auto c = conf_for(algo::lowest_latency);
  c.latency_strategy = config::latency_strategy::e2e;
  return c;
}

TEST(LowestLatency, UnsampledTargetsFirstThenFastestWithProbeShare) {
  class balancer b(latency_conf(), specs({100, 100, 100}), nullptr);
  std::mt19937_64 rng(1);
  std::int64_t now = 0;
  const auto warm = run_latency(b, rng, now, {100, 200, 300}, 3);
  EXPECT_EQ(warm.counts, (std::array<int, 3>{1, 1, 1}));
  const auto r = run_latency(b, rng, now, {100, 200, 300}, 10000);
  const int probes = r.counts[1] + r.counts[2];
  EXPECT_GE(probes, 200);   // 2 %
  EXPECT_LE(probes, 1000);  // 10 %
  EXPECT_GT(r.counts[1], 100);
  EXPECT_GT(r.counts[2], 100);
}

TEST(LowestLatency, SlowdownMovesTrafficAtOnceAndRecoveryBringsItBack) {
  class balancer b(latency_conf(), specs({100, 100, 100}), nullptr);
  std::mt19937_64 rng(2);
  std::int64_t now = 0;
  run_latency(b, rng, now, {100, 200, 300}, 1000);
  // Target 0 slows to 1000 ms: peak EWMA takes the first slow sample at once.
  const auto slow = run_latency(b, rng, now, {1000, 200, 300}, 2000);
  EXPECT_GT(slow.counts[1], 1700);
  EXPECT_LT(slow.counts[0], 100);
  // Target 0 recovers to 50 ms: probes decay its EWMA until it is the fastest again.
  const auto recovering = run_latency(b, rng, now, {50, 200, 300}, 6000);
  (void)recovering;
  const auto recovered = run_latency(b, rng, now, {50, 200, 300}, 2000);
  EXPECT_GT(recovered.counts[0], 1700);
  EXPECT_LT(*b.state().view(0, now).latency_ms, 200);
}

TEST(LowestLatency, TpotStrategyIgnoresAttemptsWithoutTpotAndFailures) {
  class balancer b(conf_for(algo::lowest_latency), specs({100}), nullptr);
  b.on_start(0);
  b.on_finish(0, {.success = true, .e2e_ms = 500, .now_ms = 1});
  EXPECT_FALSE(b.state().view(0, 1).latency_ms);
  b.on_start(0);
  b.on_finish(0, {.success = false, .counts_as_failure = true, .tpot_ms = 1.0, .now_ms = 2});
  EXPECT_FALSE(b.state().view(0, 2).latency_ms);
  b.on_start(0);
  b.on_finish(0, {.success = true, .e2e_ms = 500, .tpot_ms = 12.5, .now_ms = 3});
  ASSERT_TRUE(b.state().view(0, 3).latency_ms);
  EXPECT_DOUBLE_EQ(*b.state().view(0, 3).latency_ms, 12.5);
}

// ---------------------------------------------------------------- lowest-usage

TEST(LowestUsage, PicksTheLeastUsedAndCountsByStrategy) {
  auto c = conf_for(algo::lowest_usage);
  c.tokens_count_strategy = config::tokens_count_strategy::total_tokens;
  class balancer b(c, specs({100, 100, 100}), nullptr);
  b.state().add_usage(0, 100);
  b.state().add_usage(1, 50);
  EXPECT_EQ(*attempt(b, {}, {.success = true, .prompt_tokens = 150, .completion_tokens = 50}), 2u);
  EXPECT_DOUBLE_EQ(b.state().view(2, 0).usage, 200);
  EXPECT_EQ(*attempt(b, {}, {.success = true, .prompt_tokens = 100}), 1u);
  EXPECT_EQ(*attempt(b, {}), 0u);  // 100 vs 150 vs 200
}

TEST(LowestUsage, TiesRotateAndOtherStrategies) {
  for (auto strategy :
       {config::tokens_count_strategy::prompt_tokens,
        config::tokens_count_strategy::completion_tokens, config::tokens_count_strategy::cost}) {
    auto c = conf_for(algo::lowest_usage);
    c.tokens_count_strategy = strategy;
    class balancer b(c, specs({100, 100}), nullptr);
    EXPECT_EQ(*b.pick({}, none), 0u);
    EXPECT_EQ(*b.pick({}, none), 1u);  // tie: rotates
    b.on_start(0);
    b.on_finish(0, {.success = true, .prompt_tokens = 7, .completion_tokens = 3, .cost = 0.25});
    const double expected = strategy == config::tokens_count_strategy::prompt_tokens       ? 7
                            : strategy == config::tokens_count_strategy::completion_tokens ? 3
                                                                                           : 0.25;
    EXPECT_DOUBLE_EQ(b.state().view(0, 0).usage, expected);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(*b.pick({}, none), 1u);
  }
}

TEST(LowestUsage, SpreadsUsageEvenlyOverManyRequests) {
  class balancer b(conf_for(algo::lowest_usage), specs({100, 100, 100}), nullptr);
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> tokens(10, 1000);
  for (int i = 0; i < 3000; ++i) {
    attempt(b, {}, {.success = true, .prompt_tokens = tokens(rng)});
  }
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(b.state().view(i, 0).usage, b.state().view(0, 0).usage, 1000);
  }
}

// ---------------------------------------------------------------- priority

TEST(Priority, TopGroupRoundRobinThenFallThroughThenRecovery) {
  class balancer b(conf_for(algo::priority, 1, 1000), specs({10, 5, 10, 1}), nullptr);
  std::vector<std::size_t> seq;
  for (int i = 0; i < 4; ++i)
    seq.push_back(*attempt(b, {.now_ms = 0}));
  EXPECT_EQ(seq, (std::vector<std::size_t>{0, 2, 0, 2}));

  tried_set tried(4);
  tried[0] = true;
  EXPECT_EQ(b.pick({}, tried.span()), 2u);  // still inside the top group
  tried[2] = true;
  EXPECT_EQ(b.pick({}, tried.span()), 1u);  // whole top group tried: next group
  tried[1] = true;
  EXPECT_EQ(b.pick({}, tried.span()), 3u);

  // Both top targets fail: their breakers open, traffic falls to weight 5.
  b.on_start(0);
  b.on_finish(0, {.counts_as_failure = true, .now_ms = 100});
  b.on_start(2);
  b.on_finish(2, {.counts_as_failure = true, .now_ms = 100});
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(*attempt(b, {.now_ms = 500}), 1u);
  // After fail_timeout a probe reaches the top group; while it runs the rest go lower.
  const auto probe = b.pick({.now_ms = 1100}, none);
  ASSERT_TRUE(probe);
  EXPECT_TRUE(*probe == 0 || *probe == 2);
  b.on_start(*probe);
  const auto other_probe = b.pick({.now_ms = 1100}, none);
  ASSERT_TRUE(other_probe);
  EXPECT_EQ(*other_probe, *probe == 0 ? 2u : 0u);  // the other top target's own probe
  b.on_start(*other_probe);
  EXPECT_EQ(b.pick({.now_ms = 1100}, none), 1u);
  b.on_finish(*probe, {.success = true, .now_ms = 1200});
  b.on_finish(*other_probe, {.counts_as_failure = true, .now_ms = 1200});
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(*attempt(b, {.now_ms = 1300}), *probe);
}

// ---------------------------------------------------------------- breaker through pick

TEST(Breaker, OpenHalfOpenSingleProbeThenCloseOrReopen) {
  class balancer b(conf_for(algo::round_robin, 2, 1000), specs({100, 100}), nullptr);
  b.on_start(0);
  b.on_finish(0, {.counts_as_failure = true, .now_ms = 0});
  std::array<int, 2> closed{};
  for (int i = 0; i < 4; ++i)
    ++closed[*b.pick({.now_ms = 10}, none)];
  EXPECT_EQ(closed, (std::array<int, 2>{2, 2}));  // one failure: still closed
  b.on_start(0);
  b.on_finish(0, {.counts_as_failure = true, .now_ms = 20});  // second: open until 1020
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(*attempt(b, {.now_ms = 500}), 1u);
  // Half-open: exactly one pick reaches target 0.
  int zero = 0;
  std::optional<std::size_t> probe;
  for (int i = 0; i < 10; ++i) {
    auto p = b.pick({.now_ms = 1020}, none);
    ASSERT_TRUE(p);
    if (*p == 0) {
      ++zero;
      probe = p;
    }
  }
  EXPECT_EQ(zero, 1);
  ASSERT_TRUE(probe);
  b.on_start(0);
  b.on_finish(0, {.counts_as_failure = true, .now_ms = 1100});  // probe failed: open until 2100
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(*attempt(b, {.now_ms = 2000}), 1u);
  std::array<int, 2> second{};
  for (int i = 0; i < 4; ++i)
    ++second[*b.pick({.now_ms = 2100}, none)];
  EXPECT_EQ(second, (std::array<int, 2>{1, 3}));  // the next probe, once
  b.on_start(0);
  b.on_finish(0, {.success = true, .now_ms = 2150});  // closes
  std::array<int, 2> counts{};
  for (int i = 0; i < 10; ++i)
    ++counts[*attempt(b, {.now_ms = 2200})];
  EXPECT_EQ(counts, (std::array<int, 2>{5, 5}));
}

TEST(Breaker, NonFailoverErrorClosesAProbe) {
  class balancer b(conf_for(algo::round_robin, 1, 1000), specs({100}), nullptr);
  b.on_start(0);
  b.on_finish(0, {.counts_as_failure = true, .now_ms = 0});
  EXPECT_FALSE(b.pick({.now_ms = 999}, none));
  ASSERT_EQ(b.pick({.now_ms = 1000}, none), 0u);
  b.on_start(0);
  b.on_finish(0, {.success = false, .counts_as_failure = false, .now_ms = 1001});  // e.g. a 400
  EXPECT_EQ(b.pick({.now_ms = 1002}, none), 0u);
  EXPECT_EQ(b.pick({.now_ms = 1002}, none), 0u);
}

// ---------------------------------------------------------------- threads

TEST(Concurrency, ManyThreadsShareOneBalancer) {
  for (auto a : {algo::round_robin, algo::least_connections, algo::lowest_latency,
                 algo::consistent_hashing, algo::priority}) {
    class balancer b(conf_for(a, 1000, 1000), specs({300, 100, 200}), nullptr);
    std::array<std::atomic<int>, 3> counts{};
    std::atomic<int> misses{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(static_cast<std::uint64_t>(t));
        for (int i = 0; i < 3000; ++i) {
          const std::int64_t now = i;
          auto p = b.pick({.hash_key = std::to_string(rng() % 100), .now_ms = now, .random = rng()},
                          none);
          if (!p) {
            ++misses;
            continue;
          }
          ++counts[*p];
          b.on_start(*p);
          b.on_finish(*p, {.success = true,
                           .e2e_ms = 10.0 + static_cast<double>(*p),
                           .tpot_ms = 1.0,
                           .prompt_tokens = 3,
                           .now_ms = now});
        }
      });
    }
    for (auto& th : threads)
      th.join();
    EXPECT_EQ(misses.load(), 0);
    EXPECT_EQ(counts[0] + counts[1] + counts[2], 12000);
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_EQ(b.state().view(i, 0).in_flight, 0);
    if (a == algo::round_robin) {
      // The rotation is one sequence however the threads interleave: exact shares.
      EXPECT_EQ(counts[0].load(), 6000);
      EXPECT_EQ(counts[1].load(), 2000);
      EXPECT_EQ(counts[2].load(), 4000);
    }
  }
}

}  // namespace
