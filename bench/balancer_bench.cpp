// Micro-benchmark of the ai-proxy-advanced balancer: one pick + on_start + on_finish per
// iteration, for each algorithm with 3 and 10 targets over the in-process state (semantic with
// 1536-dim description vectors). Single-threaded: the cost a request pays, not contention.
#include "aiproxy/balancer/balancer.hpp"

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace aiproxy;
using namespace aiproxy::balancer;
using algo = config::balancer_algorithm;

constexpr std::size_t embedding_dims = 1536;

std::vector<float> random_vector(std::mt19937_64& rng) {
  std::normal_distribution<float> d(0, 1);
  std::vector<float> v(embedding_dims);
  for (auto& f : v)
    f = d(rng);
  return v;
}

void bm_pick(benchmark::State& st, algo a) {
  const auto n = static_cast<std::size_t>(st.range(0));
  config::balancer_config conf;
  conf.algorithm = a;
  conf.max_fails = 5;
  conf.latency_strategy = config::latency_strategy::e2e;
  std::vector<target_spec> targets;
  for (std::size_t i = 0; i < n; ++i) {
    target_spec t;
    t.weight = static_cast<std::uint32_t>(100 + 50 * (i % 3));
    t.key = "openai/gpt-4o/https://api.example.com/target-" + std::to_string(i);
    t.description = i + 1 == n ? "CATCHALL" : "description " + std::to_string(i);
    targets.push_back(t);
  }
  class balancer b(conf, targets, nullptr, {.metric = distance_metric::cosine, .threshold = -1});
  std::mt19937_64 rng(1);
  for (std::size_t i = 0; i + 1 < n; ++i)
    b.semantic().set(i, random_vector(rng));
  const std::vector<float> query = random_vector(rng);
  const std::string hash_key = "0b9f6a4e-5c1d-4e8a-9b2f-7d3c1a0e6f42";

  std::int64_t now = 1'700'000'000'000;
  std::uint64_t random = 0x9e3779b97f4a7c15ull;
  for (auto _ : st) {
    ++now;
    random ^= random << 13;
    random ^= random >> 7;
    random ^= random << 17;
    pick_input in;
    in.hash_key = hash_key;
    in.embedding = query;
    in.now_ms = now;
    in.random = random;
    auto t = b.pick(in, {});
    benchmark::DoNotOptimize(t);
    b.on_start(*t);
    attempt_report r;
    r.success = true;
    r.e2e_ms = 100 + static_cast<double>(*t);
    r.tpot_ms = 10;
    r.prompt_tokens = 100;
    r.completion_tokens = 20;
    r.now_ms = now;
    b.on_finish(*t, r);
  }
}

#define AIPROXY_BALANCER_BENCH(name, algorithm) \
  BENCHMARK_CAPTURE(bm_pick, name, algorithm)->Arg(3)->Arg(10)

AIPROXY_BALANCER_BENCH(round_robin, algo::round_robin);
AIPROXY_BALANCER_BENCH(consistent_hashing, algo::consistent_hashing);
AIPROXY_BALANCER_BENCH(least_connections, algo::least_connections);
AIPROXY_BALANCER_BENCH(lowest_latency, algo::lowest_latency);
AIPROXY_BALANCER_BENCH(lowest_usage, algo::lowest_usage);
AIPROXY_BALANCER_BENCH(priority, algo::priority);
AIPROXY_BALANCER_BENCH(semantic, algo::semantic);

}  // namespace

BENCHMARK_MAIN();
