// Unit tests of semantic routing: semantic_index (cosine on normalised vectors, euclidean,
// thresholds, dimension mismatch, readiness) and the semantic algorithm's CATCHALL fallback.

#include "aiproxy/balancer/balancer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using namespace aiproxy;
using namespace aiproxy::balancer;

const std::span<const bool> none{};

TEST(SemanticIndex, ReadyWhenEveryNonCatchallTargetHasAVector) {
  semantic_index idx({false, true, false});
  EXPECT_FALSE(idx.ready());
  idx.set(0, {1, 0});
  EXPECT_FALSE(idx.ready());
  idx.set(2, {0, 1});
  EXPECT_TRUE(idx.ready());
  idx.set(7, {1, 1});  // out of range: ignored
  EXPECT_TRUE(idx.ready());
}

TEST(SemanticIndex, CosineIgnoresLengthAndHonoursThreshold) {
  semantic_index idx({false, false});
  idx.set(0, {10, 0, 0});
  idx.set(1, {0, 0.001f, 0});
  const std::vector<float> q{1, 0.2f, 0};
  EXPECT_EQ(idx.nearest(q, distance_metric::cosine, 0.9, none), 0u);
  const std::vector<float> q1{0.1f, 5, 0};
  EXPECT_EQ(idx.nearest(q1, distance_metric::cosine, 0.9, none), 1u);
  const std::vector<float> far{0, 0, 1};
  EXPECT_FALSE(idx.nearest(far, distance_metric::cosine, 0.5, none));
  // Similarity exactly at the threshold matches.
  const std::vector<float> same{3, 0, 0};
  EXPECT_EQ(idx.nearest(same, distance_metric::cosine, 1.0, none), 0u);
}

TEST(SemanticIndex, EuclideanUsesRawVectorsAndThreshold) {
  semantic_index idx({false, false});
  idx.set(0, {0, 0});
  idx.set(1, {3, 4});
  const std::vector<float> q{2.5f, 3.5f};
  EXPECT_EQ(idx.nearest(q, distance_metric::euclidean, 1.0, none), 1u);
  EXPECT_FALSE(idx.nearest(q, distance_metric::euclidean, 0.5, none));
  const std::vector<float> origin{0.5f, 0};
  EXPECT_EQ(idx.nearest(origin, distance_metric::euclidean, 0.5, none), 0u);  // distance 0.5
}

TEST(SemanticIndex, ExcludedTargetYieldsTheNextNearestWithinThreshold) {
  semantic_index idx({false, false, false});
  idx.set(0, {1, 0});
  idx.set(1, {0.8f, 0.6f});
  idx.set(2, {0, 1});
  const std::vector<float> q{1, 0.1f};
  std::array<bool, 3> excluded{true, false, false};
  EXPECT_EQ(idx.nearest(q, distance_metric::cosine, 0.5, excluded), 1u);
  excluded[1] = true;
  EXPECT_FALSE(idx.nearest(q, distance_metric::cosine, 0.5, excluded));  // 2 is too far
}

TEST(SemanticIndex, DimensionMismatchZeroAndEmptyVectorsNeverMatch) {
  semantic_index idx({false, false});
  idx.set(0, {1, 0, 0});
  idx.set(1, {0, 0});
  const std::vector<float> q2{1, 0};
  EXPECT_FALSE(idx.nearest(q2, distance_metric::cosine, -1.0, none));  // 0: 3-dim; 1: zero
  EXPECT_EQ(idx.nearest(q2, distance_metric::euclidean, 1.0, none), 1u);
  EXPECT_FALSE(idx.nearest({}, distance_metric::cosine, -1.0, none));
  const std::vector<float> zero{0, 0, 0};
  EXPECT_FALSE(idx.nearest(zero, distance_metric::cosine, -1.0, none));
}

TEST(SemanticIndex, MetricNames) {
  EXPECT_EQ(distance_metric_from("euclidean"), distance_metric::euclidean);
  EXPECT_EQ(distance_metric_from("EUCLIDEAN"), distance_metric::euclidean);
  EXPECT_EQ(distance_metric_from("cosine"), distance_metric::cosine);
  EXPECT_EQ(distance_metric_from(""), distance_metric::cosine);
}

std::vector<target_spec> routed_targets(bool with_catchall) {
  std::vector<target_spec> t{{100, "code", "programming questions"},
                             {100, "cook", "cooking recipes"}};
  if (with_catchall)
    t.push_back({100, "any", "CATCHALL"});
  return t;
}

config::balancer_config semantic_conf(std::int64_t max_fails = 0) {
  config::balancer_config c;
  c.algorithm = config::balancer_algorithm::semantic;
  c.max_fails = max_fails;
  c.fail_timeout_ms = 1000;
  return c;
}

TEST(SemanticRouting, NearestDescriptionThenCatchall) {
  class balancer b(semantic_conf(1), routed_targets(true), nullptr,
                   {.metric = distance_metric::cosine, .threshold = 0.7});
  EXPECT_FALSE(b.semantic().ready());
  b.semantic().set(0, {1, 0, 0});
  b.semantic().set(1, {0, 1, 0});
  EXPECT_TRUE(b.semantic().ready());
  const std::vector<float> code{0.9f, 0.2f, 0.1f};
  const std::vector<float> cook{0.1f, 0.95f, 0};
  const std::vector<float> other{0, 0, 1};
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(b.pick({.embedding = code}, none), 0u);
  EXPECT_EQ(b.pick({.embedding = cook}, none), 1u);
  EXPECT_EQ(b.pick({.embedding = other}, none), 2u);
  // Tried nearest: the other description is below the threshold, so CATCHALL.
  std::array<bool, 3> tried{true, false, false};
  EXPECT_EQ(b.pick({.embedding = code}, tried), 2u);
  // An open breaker on the nearest target also falls to CATCHALL.
  b.on_start(0);
  b.on_finish(0, {.counts_as_failure = true, .now_ms = 0});
  EXPECT_EQ(b.pick({.embedding = code, .now_ms = 10}, none), 2u);
  EXPECT_EQ(b.pick({.embedding = code, .now_ms = 1000}, none), 0u);  // the probe
  // A query of another dimension: CATCHALL, no crash.
  const std::vector<float> wrong_dim(1536, 0.5f);
  EXPECT_EQ(b.pick({.embedding = wrong_dim}, none), 2u);
}

TEST(SemanticRouting, NoCatchallMeansNoTarget) {
  class balancer b(semantic_conf(), routed_targets(false), nullptr,
                   {.metric = distance_metric::euclidean, .threshold = 0.5});
  b.semantic().set(0, {1, 0});
  b.semantic().set(1, {0, 1});
  const std::vector<float> near_cook{0.1f, 0.9f};
  const std::vector<float> between{0.5f, 0.5f};
  EXPECT_EQ(b.pick({.embedding = near_cook}, none), 1u);
  EXPECT_FALSE(b.pick({.embedding = between}, none));  // distance 0.707 to both
  std::array<bool, 2> tried{false, true};
  EXPECT_FALSE(b.pick({.embedding = near_cook}, tried));
}

TEST(SemanticRouting, NextNearestWithinThresholdBeforeCatchall) {
  std::vector<target_spec> t{{100, "a", "A"}, {100, "b", "B"}, {100, "c", "CATCHALL"}};
  class balancer b(semantic_conf(), t, nullptr, {.threshold = 0.5});
  b.semantic().set(0, {1, 0});
  b.semantic().set(1, {0.7f, 0.7f});
  const std::vector<float> q{1, 0.2f};
  std::array<bool, 3> tried{true, false, false};
  EXPECT_EQ(b.pick({.embedding = q}, tried), 1u);
  tried[1] = true;
  EXPECT_EQ(b.pick({.embedding = q}, tried), 2u);
  tried[2] = true;
  EXPECT_FALSE(b.pick({.embedding = q}, tried));
}

}  // namespace
