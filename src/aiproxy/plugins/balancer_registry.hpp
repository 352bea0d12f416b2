#pragma once
// The process-wide home of ai-proxy-advanced balancers: one per plugin instance and target set,
// shared by every worker thread, kept across config reloads while the plugin's targets and
// balancer settings stay the same (so latency, usage and breaker state survive a SIGHUP). Also
// holds each plugin's semantic-routing vectors. Thread-safe.

#include "aiproxy/balancer/balancer.hpp"
#include "aiproxy/balancer/state.hpp"
#include "aiproxy/config/config.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace aiproxy::balancer {
class redis_vector_cache;
}

namespace aiproxy::plugins {

/// Description vectors for semantic routing: in-process, or shared through Redis.
class vector_store {
 public:
  virtual ~vector_store() = default;
  virtual std::optional<std::vector<float>> get(const std::string& key) = 0;
  virtual void put(const std::string& key, std::vector<float> v) = 0;
};

/// One ai-proxy-advanced instance's balancing state.
struct balanced_plugin {
  std::shared_ptr<balancer::balancer> lb;
  std::shared_ptr<balancer::shared_state> state;
  std::unique_ptr<vector_store> vectors;
  /// The embeddings model as an ai-proxy configuration (route type llm/v1/embeddings), for
  /// semantic routing.
  std::optional<config::ai_proxy_config> embeddings;
  std::mutex semantic_mutex;  // guards `semantic_loaded` (the index itself is thread-safe)
  std::vector<bool> semantic_loaded;
};

class balancer_registry {
 public:
  /// `instance_id` names this gateway process in shared (Redis) state.
  explicit balancer_registry(std::string instance_id);
  ~balancer_registry();

  /// The balancer for `plugin_id` with this configuration, created on first use.
  std::shared_ptr<balanced_plugin> get(const std::string& plugin_id,
                                       const config::ai_proxy_advanced_config& conf);

  const std::string& instance_id() const noexcept { return instance_id_; }

 private:
  std::string instance_id_;
  struct entry {
    std::string fingerprint;
    std::shared_ptr<balanced_plugin> plugin;
  };
  std::mutex mutex_;
  /// Plugin id -> its balancers (one per configuration it has had; a reload that changes the
  /// targets adds one).
  std::map<std::string, std::vector<entry>, std::less<>> plugins_;
};

}  // namespace aiproxy::plugins
