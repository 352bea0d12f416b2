// redis_state: two instances (different instance ids, same prefix) on one real redis-server agree
// on usage, in-flight counts, latency peaks and breaker state after flush_now(); a dead instance's
// numbers expire; an outage leaves callers on local state and the fleet resyncs afterwards. The
// background sync interval is long, so flush_now() alone decides when data moves; breaker times are
// explicit now_ms values.

#include "aiproxy/balancer/redis_state.hpp"

#include "aiproxy/balancer/redis_connection.hpp"
#include "testlib/redis_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace aiproxy::balancer {
namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;  // a fake clock's epoch ms

config::redis_config config_for(const testlib::redis_server& server) {
  config::redis_config conf;
  conf.host = server.host();
  conf.port = server.port();
  conf.timeout_ms = 2000;
  conf.sync_interval_ms = 600000;  // only the first sync runs by itself; the tests flush
  return conf;
}

std::string test_prefix() {
  return std::string("aiproxy-test:") +
         testing::UnitTest::GetInstance()->current_test_info()->name();
}

void flush(redis_state& s) {
  auto r = s.flush_now();
  ASSERT_TRUE(r) << r.error().message;
}

TEST(RedisState, InstancesAgreeOnUsageAndInFlight) {
  testlib::redis_server server;
  auto conf = config_for(server);
  auto a = make_redis_state(conf, test_prefix(), 2, {}, "a");
  auto b = make_redis_state(conf, test_prefix(), 2, {}, "b");
  a->add_usage(0, 100);
  a->add_usage(0, 20.5);
  b->add_usage(0, 7);
  b->add_usage(1, 3);
  a->started(1);
  a->started(1);
  b->started(1);
  b->started(0);
  // Before any sync each sees only itself.
  EXPECT_DOUBLE_EQ(b->view(0, t0).usage, 7);
  flush(*a);
  flush(*b);
  flush(*a);
  for (auto* s : {a.get(), b.get()}) {
    SCOPED_TRACE(s->instance_id());
    EXPECT_DOUBLE_EQ(s->view(0, t0).usage, 127.5);
    EXPECT_DOUBLE_EQ(s->view(1, t0).usage, 3);
    EXPECT_EQ(s->view(0, t0).in_flight, 1);
    EXPECT_EQ(s->view(1, t0).in_flight, 3);
  }
  // Local changes show at once, the other instance's after the next sync.
  a->finished(1);
  a->add_usage(1, 10);
  EXPECT_EQ(a->view(1, t0).in_flight, 2);
  EXPECT_DOUBLE_EQ(a->view(1, t0).usage, 13);
  EXPECT_EQ(b->view(1, t0).in_flight, 3);
  flush(*a);
  flush(*b);
  EXPECT_EQ(b->view(1, t0).in_flight, 2);
  EXPECT_DOUBLE_EQ(b->view(1, t0).usage, 13);
  // Pushing again does not count twice.
  flush(*a);
  flush(*a);
  flush(*b);
  EXPECT_DOUBLE_EQ(b->view(0, t0).usage, 127.5);
}

TEST(RedisState, LatencyIsTheFleetPeak) {
  testlib::redis_server server;
  auto conf = config_for(server);
  auto a = make_redis_state(conf, test_prefix(), 2, {}, "a");
  auto b = make_redis_state(conf, test_prefix(), 2, {}, "b");
  a->observe_latency(0, 250, t0);
  b->observe_latency(0, 40, t0);
  b->observe_latency(1, 90, t0);
  flush(*a);
  flush(*b);
  flush(*a);
  EXPECT_DOUBLE_EQ(a->view(0, t0).latency_ms.value_or(-1), 250);
  EXPECT_DOUBLE_EQ(b->view(0, t0).latency_ms.value_or(-1), 250);
  EXPECT_DOUBLE_EQ(a->view(1, t0).latency_ms.value_or(-1), 90);
  EXPECT_DOUBLE_EQ(b->view(1, t0).latency_ms.value_or(-1), 90);
}

TEST(RedisState, BreakerOpenedOnOneInstanceIsOpenOnAll) {
  testlib::redis_server server;
  auto conf = config_for(server);
  const breaker_settings breaker{.max_fails = 2, .fail_timeout_ms = 60000};
  auto a = make_redis_state(conf, test_prefix(), 2, breaker, "a");
  auto b = make_redis_state(conf, test_prefix(), 2, breaker, "b");
  a->failed(0, t0);
  a->failed(0, t0 + 10);  // opens until t0 + 10 + 60000
  EXPECT_FALSE(a->try_acquire(0, t0 + 20));
  EXPECT_TRUE(b->try_acquire(0, t0 + 20));  // not synced yet
  flush(*a);
  flush(*b);
  EXPECT_FALSE(b->try_acquire(0, t0 + 30));
  EXPECT_TRUE(b->view(0, t0 + 30).breaker_open);
  EXPECT_TRUE(b->try_acquire(1, t0 + 30));  // only that target
  EXPECT_FALSE(b->view(1, t0 + 30).breaker_open);
  EXPECT_FALSE(b->try_acquire(0, t0 + 60009));

  // After the deadline B's own (closed) breaker decides, and A lets one probe through.
  EXPECT_TRUE(b->try_acquire(0, t0 + 60010));
  EXPECT_FALSE(b->view(0, t0 + 60010).breaker_open);
  EXPECT_TRUE(a->try_acquire(0, t0 + 60010));
  EXPECT_FALSE(a->try_acquire(0, t0 + 60011));  // the probe is out

  // The probe's success closes A's breaker and withdraws it from Redis.
  redis_connection raw(conf);
  auto key = test_prefix() + ":open_until:0";
  auto before = raw.command({"EXISTS", key});
  ASSERT_TRUE(before);
  EXPECT_EQ(before->integer, 1);
  a->succeeded(0, t0 + 60020);
  flush(*a);
  auto after = raw.command({"EXISTS", key});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->integer, 0);
  EXPECT_TRUE(a->try_acquire(0, t0 + 60030));
}

TEST(RedisState, AFailedProbeReopensForTheFleet) {
  testlib::redis_server server;
  auto conf = config_for(server);
  const breaker_settings breaker{.max_fails = 1, .fail_timeout_ms = 60000};
  auto a = make_redis_state(conf, test_prefix(), 1, breaker, "a");
  auto b = make_redis_state(conf, test_prefix(), 1, breaker, "b");
  a->failed(0, t0);
  flush(*a);
  flush(*b);
  EXPECT_FALSE(b->try_acquire(0, t0 + 59999));
  ASSERT_TRUE(a->try_acquire(0, t0 + 60000));  // the probe
  a->failed(0, t0 + 60100);                    // fails: open until t0 + 120100
  flush(*a);
  flush(*b);
  EXPECT_FALSE(b->try_acquire(0, t0 + 120000));
  EXPECT_TRUE(b->try_acquire(0, t0 + 120100));
}

TEST(RedisState, ADeadInstancesInFlightCountExpires) {
  testlib::redis_server server;
  auto conf = config_for(server);
  redis_state_options opts{.instance_ttl_ms = 300};
  auto b = make_redis_state(conf, test_prefix(), 1, {}, "b", opts);
  {
    auto a = make_redis_state(conf, test_prefix(), 1, {}, "a", opts);
    a->started(0);
    a->started(0);
    a->add_usage(0, 5);
    flush(*a);
    flush(*b);
    EXPECT_EQ(b->view(0, t0).in_flight, 2);
  }  // "a" stops syncing without finishing its requests
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (b->view(0, t0).in_flight != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    flush(*b);
  }
  EXPECT_EQ(b->view(0, t0).in_flight, 0);
  EXPECT_DOUBLE_EQ(b->view(0, t0).usage, 5);  // usage outlives the instance
  redis_connection raw(conf);
  auto members = raw.command({"SMEMBERS", test_prefix() + ":instances"});
  ASSERT_TRUE(members);
  ASSERT_EQ(members->elements.size(), 1u);
  EXPECT_EQ(members->elements[0].str, "b");
}

TEST(RedisState, KeepsWorkingLocallyWhileRedisIsDownAndResyncsAfter) {
  testlib::redis_server server;
  auto conf = config_for(server);
  const breaker_settings breaker{.max_fails = 1, .fail_timeout_ms = 60000};
  auto a = make_redis_state(conf, test_prefix(), 2, breaker, "a");
  auto b = make_redis_state(conf, test_prefix(), 2, breaker, "b");
  a->add_usage(0, 10);
  b->add_usage(0, 1);
  flush(*a);
  flush(*b);
  flush(*a);
  ASSERT_DOUBLE_EQ(a->view(0, t0).usage, 11);
  ASSERT_DOUBLE_EQ(b->view(0, t0).usage, 11);

  testing::internal::CaptureStderr();
  server.stop();
  a->add_usage(0, 5);
  a->started(1);
  a->failed(1, t0);
  EXPECT_FALSE(a->flush_now());
  EXPECT_FALSE(a->flush_now());
  const std::string log = testing::internal::GetCapturedStderr();
  // Local decisions go on, on local numbers plus the last fleet view.
  EXPECT_DOUBLE_EQ(a->view(0, t0).usage, 16);
  EXPECT_EQ(a->view(1, t0).in_flight, 1);
  EXPECT_FALSE(a->try_acquire(1, t0 + 1));
  EXPECT_TRUE(a->try_acquire(0, t0 + 1));
  // One warning for the outage, however many attempts fail.
  std::size_t warnings = 0;
  for (auto at = log.find("Redis unreachable"); at != std::string::npos;
       at = log.find("Redis unreachable", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << log;

  // The restarted server has lost everything; the next syncs put the fleet's numbers back.
  server.start();
  flush(*a);
  flush(*b);
  EXPECT_DOUBLE_EQ(b->view(0, t0).usage, 16);
  EXPECT_EQ(b->view(1, t0).in_flight, 1);
  EXPECT_FALSE(b->try_acquire(1, t0 + 2));  // the breaker opened during the outage
}

TEST(RedisState, ARestartedInstanceWithTheSameIdContinuesItsUsage) {
  testlib::redis_server server;
  auto conf = config_for(server);
  {
    auto a = make_redis_state(conf, test_prefix(), 1, {}, "a");
    a->add_usage(0, 40);
    flush(*a);
  }
  auto again = make_redis_state(conf, test_prefix(), 1, {}, "a");
  again->add_usage(0, 2);
  flush(*again);
  EXPECT_DOUBLE_EQ(again->view(0, t0).usage, 42);
}

TEST(RedisState, WorkerThreadsAndSyncsRunTogether) {
  testlib::redis_server server;
  auto conf = config_for(server);
  auto a = make_redis_state(conf, test_prefix(), 2, {.max_fails = 3, .fail_timeout_ms = 1000}, "a");
  auto b = make_redis_state(conf, test_prefix(), 2, {}, "b");
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&a, w] {
      for (int i = 0; i < 2000; ++i) {
        const std::size_t t = static_cast<std::size_t>((i + w) % 2);
        a->started(t);
        a->add_usage(t, 1);
        a->observe_latency(t, 10.0 + i % 7, t0 + i);
        (void)a->view(t, t0 + i);
        (void)a->try_acquire(t, t0 + i);
        a->finished(t);
      }
    });
  }
  for (int i = 0; i < 20; ++i)
    flush(*a);
  for (auto& w : workers)
    w.join();
  flush(*a);
  flush(*b);
  EXPECT_DOUBLE_EQ(b->view(0, t0).usage + b->view(1, t0).usage, 8000);
  EXPECT_EQ(b->view(0, t0).in_flight + b->view(1, t0).in_flight, 0);
  EXPECT_TRUE(b->view(0, t0).latency_ms.has_value());
}

TEST(RedisState, UnreachableRedisNeverBlocksCallers) {
  config::redis_config conf;
  conf.host = "127.0.0.1";
  {
    testlib::redis_server server;  // a port that was free a moment ago and is closed now
    conf.port = server.port();
  }
  conf.sync_interval_ms = 10;
  auto s = make_redis_state(conf, test_prefix(), 1, {.max_fails = 1, .fail_timeout_ms = 100}, "x");
  s->started(0);
  s->add_usage(0, 3);
  s->failed(0, t0);
  EXPECT_EQ(s->view(0, t0).in_flight, 1);
  EXPECT_DOUBLE_EQ(s->view(0, t0).usage, 3);
  EXPECT_FALSE(s->try_acquire(0, t0 + 50));
  EXPECT_TRUE(s->try_acquire(0, t0 + 100));
  auto r = s->flush_now();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(std::to_string(conf.port)), std::string::npos);
}

}  // namespace
}  // namespace aiproxy::balancer
