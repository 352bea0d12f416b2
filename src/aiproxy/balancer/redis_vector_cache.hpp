#pragma once
// redis_vector_cache: embeddings (of target descriptions, for semantic routing) shared by a fleet
// of gateways through Redis. Callers only touch a local mirror: put() stores there at once and
// queues the write; get() answers from the mirror. One background thread (redis_worker) writes
// the queue and copies entries other instances wrote, at start and every sync_interval_ms.
//
// Key (P = key_prefix): P:vec, a hash key -> the vector as little-endian IEEE-754 float32 bytes.
// An entry's value is treated as fixed once written (a key should name the embedding model and
// the text); a mirror entry is filled once and then never re-read.

#include "aiproxy/balancer/redis_worker.hpp"
#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::balancer {

class redis_vector_cache {
 public:
  /// Starts the background thread (its first sync, which loads every entry, runs at once).
  redis_vector_cache(const config::redis_config& conf, std::string key_prefix);
  ~redis_vector_cache();
  redis_vector_cache(const redis_vector_cache&) = delete;
  redis_vector_cache& operator=(const redis_vector_cache&) = delete;

  /// Stores in the mirror and queues the write to Redis. Never blocks on the network.
  void put(std::string key, std::vector<float> vector);
  /// From the mirror (this instance's puts and what the last sync brought in).
  std::optional<std::vector<float>> get(std::string_view key) const;
  /// How many entries the mirror holds.
  std::size_t size() const;

  /// One write-and-read now, on the caller's thread (tests, shutdown).
  result<void> flush_now();

  /// The stored form of a vector, and back (nullopt when the length is not a multiple of 4).
  static std::string encode(const std::vector<float>& vector);
  static std::optional<std::vector<float>> decode(std::string_view bytes);

 private:
  result<void> sync(redis_connection& conn);

  std::string hash_key_;
  mutable std::shared_mutex mirror_mutex_;
  std::map<std::string, std::vector<float>, std::less<>> mirror_;
  std::mutex queue_mutex_;
  std::map<std::string, std::vector<float>> queue_;  // written on the next sync
  bool loaded_ = false;                              // sync only: the whole hash was read once
  redis_worker worker_;  // last: stopped and joined before anything above is destroyed
};

std::unique_ptr<redis_vector_cache> make_redis_vector_cache(const config::redis_config& conf,
                                                            std::string key_prefix);

}  // namespace aiproxy::balancer
