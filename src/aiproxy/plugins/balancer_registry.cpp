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

/// Everything that, when changed, makes the old balancer state meaningless.
std::string fingerprint(const config::ai_proxy_advanced_config& c) {
  std::string f;
  for (const auto& t : c.targets) {
    f += target_key(t);
    f += '#' + std::to_string(t.weight) + '\n';
  }
  const auto& b = c.balancer;
  f += std::to_string(static_cast<int>(b.algorithm)) + ',' + std::to_string(b.slots) + ',' +
       std::to_string(b.max_fails) + ',' + std::to_string(b.fail_timeout_ms) + ',' +
       std::to_string(static_cast<int>(b.latency_strategy)) + ',' +
       std::to_string(static_cast<int>(b.tokens_count_strategy)) + ',' + b.hash_on_header;
  if (c.redis) {
    f += "|redis:" + c.redis->host + ':' + std::to_string(c.redis->port) + '/' +
         std::to_string(c.redis->database);
  }
  if (c.vectordb) {
    f += "|vectordb:" + c.vectordb->strategy + ',' + c.vectordb->distance_metric + ',' +
         std::to_string(c.vectordb->threshold);
  }
  if (c.embeddings) {
    f += "|embeddings:" + std::string(config::to_string(c.embeddings->model.provider)) + '/' +
         c.embeddings->model.name;
  }
  return f;
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

std::string target_key(const config::ai_target& t) {
  const auto& m = t.conf.model;
  return std::string(config::to_string(m.provider)) + '|' + m.name + '|' + m.options.upstream_url +
         '|' + m.options.azure_instance + '/' + m.options.azure_deployment_id + '|' + t.description;
}

balancer_registry::balancer_registry(std::string instance_id)
    : instance_id_(std::move(instance_id)) {}

balancer_registry::~balancer_registry() = default;

std::shared_ptr<balanced_plugin> balancer_registry::get(
    const std::string& plugin_id, const config::ai_proxy_advanced_config& conf) {
  const std::string key = plugin_id + '\n' + fingerprint(conf);
  std::lock_guard lock(mutex_);
  if (auto it = plugins_.find(key); it != plugins_.end()) {
    return it->second;
  }
  auto p = std::make_shared<balanced_plugin>();
  const balancer::breaker_settings breaker{conf.balancer.max_fails, conf.balancer.fail_timeout_ms};
  const std::string prefix = "aiproxy:lb:" + plugin_id + ':' + hex_digest(fingerprint(conf));
  if (conf.redis) {
    p->state =
        balancer::make_redis_state(*conf.redis, prefix, conf.targets.size(), breaker, instance_id_);
  } else {
    p->state = balancer::make_in_process_state(conf.targets.size(), breaker);
  }
  std::vector<balancer::target_spec> specs;
  for (const auto& t : conf.targets) {
    specs.push_back(
        balancer::target_spec{static_cast<std::uint32_t>(t.weight), target_key(t), t.description});
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
  plugins_.emplace(key, p);
  return p;
}

}  // namespace aiproxy::plugins
