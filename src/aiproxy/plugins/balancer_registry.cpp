// balancer_registry: creates and keeps the balancers of ai-proxy-advanced instances
// (see balancer_registry.hpp).

#include "aiproxy/plugins/balancer_registry.hpp"

#include "aiproxy/balancer/redis_state.hpp"
#include "aiproxy/balancer/redis_vector_cache.hpp"

#include <openssl/sha.h>

#include <cstdio>
#include <unordered_map>

namespace aiproxy::plugins {

namespace {

std::string hex_digest(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  std::string out;
  char buf[3];
  for (int i = 0; i < 8; ++i) {  // 64 bits are plenty to tell configurations apart
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

class memory_vectors final : public vector_store {
 public:
  std::optional<std::vector<float>> get(const std::string& key) override {
    std::lock_guard lock(mutex_);
    if (auto it = vectors_.find(key); it != vectors_.end()) {
      return it->second;
    }
    return std::nullopt;
  }
  void put(const std::string& key, std::vector<float> v) override {
    std::lock_guard lock(mutex_);
    vectors_[key] = std::move(v);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<float>> vectors_;
};

class redis_vectors final : public vector_store {
 public:
  explicit redis_vectors(std::unique_ptr<balancer::redis_vector_cache> cache)
      : cache_(std::move(cache)) {}
  std::optional<std::vector<float>> get(const std::string& key) override {
    if (auto v = local_.get(key)) {
      return v;
    }
    return cache_->get(key);
  }
  void put(const std::string& key, std::vector<float> v) override {
    local_.put(key, v);
    cache_->put(key, std::move(v));
  }

 private:
  memory_vectors local_;
  std::unique_ptr<balancer::redis_vector_cache> cache_;
};

}  // namespace

balancer_registry::balancer_registry(std::string instance_id)
    : instance_id_(std::move(instance_id)) {}

balancer_registry::~balancer_registry() = default;

std::shared_ptr<balanced_plugin> balancer_registry::get(
    const std::string& plugin_id, const config::ai_proxy_advanced_config& conf) {
  // The loader computes the fingerprint once; a configuration built by hand may lack it.
  std::string computed;
  const std::string& fp =
      conf.fingerprint.empty() ? (computed = config::balancer_fingerprint(conf)) : conf.fingerprint;
  std::lock_guard lock(mutex_);
  auto& entries = plugins_[plugin_id];
  for (const auto& e : entries) {
    if (e.fingerprint == fp) {
      return e.plugin;
    }
  }
  auto p = std::make_shared<balanced_plugin>();
  const balancer::breaker_settings breaker{conf.balancer.max_fails, conf.balancer.fail_timeout_ms};
  const std::string prefix = "aiproxy:lb:" + plugin_id + ':' + hex_digest(fp);
  if (conf.redis) {
    p->state =
        balancer::make_redis_state(*conf.redis, prefix, conf.targets.size(), breaker, instance_id_);
  } else {
    p->state = balancer::make_in_process_state(conf.targets.size(), breaker);
  }
  std::vector<balancer::target_spec> specs;
  for (const auto& t : conf.targets) {
    specs.push_back(balancer::target_spec{static_cast<std::uint32_t>(t.weight),
                                          config::target_key(t), t.description});
  }
  balancer::semantic_settings semantic;
  if (conf.vectordb) {
    semantic.metric = balancer::distance_metric_from(conf.vectordb->distance_metric);
    semantic.threshold = conf.vectordb->threshold;
  }
  p->lb = std::make_shared<balancer::balancer>(conf.balancer, std::move(specs), p->state, semantic);
  if (conf.embeddings) {
    config::ai_proxy_config e;
    e.route_type = config::route_type::llm_v1_embeddings;
    e.model = conf.embeddings->model;
    e.auth = conf.embeddings->auth;
    p->embeddings = std::move(e);
  }
  const config::redis_config* vector_redis = nullptr;
  if (conf.vectordb && conf.vectordb->strategy == "redis") {
    vector_redis =
        conf.vectordb->redis ? &*conf.vectordb->redis : (conf.redis ? &*conf.redis : nullptr);
  }
  if (vector_redis != nullptr) {
    p->vectors = std::make_unique<redis_vectors>(
        balancer::make_redis_vector_cache(*vector_redis, "aiproxy"));
  } else {
    p->vectors = std::make_unique<memory_vectors>();
  }
  p->semantic_loaded.assign(conf.targets.size(), false);
  entries.push_back(entry{fp, p});
  return p;
}

}  // namespace aiproxy::plugins
