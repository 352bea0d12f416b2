// balancer_registry: one balancer per plugin and configuration, kept across reloads that leave
// the targets and balancer settings alone, replaced when they change.

#include "aiproxy/plugins/balancer_registry.hpp"

#include <gtest/gtest.h>

namespace aiproxy::plugins {
namespace {

config::ai_proxy_advanced_config two_targets(std::int64_t first_weight) {
  config::ai_proxy_advanced_config c;
  for (const char* model : {"gpt-4o", "gpt-4o-mini"}) {
    config::ai_target t;
    t.conf.model.provider = config::provider_kind::openai;
    t.conf.model.name = model;
    c.targets.push_back(t);
  }
  c.targets[0].weight = first_weight;
  c.fingerprint = config::balancer_fingerprint(c);
  return c;
}

TEST(balancer_registry, an_unchanged_plugin_keeps_its_balancer_across_reloads) {
  balancer_registry r("test-instance");
  const auto before = two_targets(100);
  const auto reloaded = two_targets(100);  // another object with the same content
  auto a = r.get("plugin-1", before);
  auto b = r.get("plugin-1", reloaded);
  EXPECT_EQ(a.get(), b.get());
  ASSERT_TRUE(a->lb);
  EXPECT_EQ(a->lb->size(), 2u);
}

TEST(balancer_registry, a_changed_target_set_or_another_plugin_gets_a_new_balancer) {
  balancer_registry r("test-instance");
  auto a = r.get("plugin-1", two_targets(100));
  EXPECT_NE(a.get(), r.get("plugin-1", two_targets(300)).get());  // weights changed
  EXPECT_NE(a.get(), r.get("plugin-2", two_targets(100)).get());  // another plugin
  EXPECT_EQ(a.get(), r.get("plugin-1", two_targets(100)).get());  // the first one is still kept
}

TEST(balancer_registry, a_configuration_without_a_fingerprint_is_fingerprinted_on_the_fly) {
  balancer_registry r("test-instance");
  auto with = two_targets(100);
  auto without = two_targets(100);
  without.fingerprint.clear();
  EXPECT_EQ(r.get("p", with).get(), r.get("p", without).get());
}

}  // namespace
}  // namespace aiproxy::plugins
