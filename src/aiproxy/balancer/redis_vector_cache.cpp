// redis_vector_cache (redis_vector_cache.hpp): the mirror, the write queue and their sync with
// the P:vec hash. Touches only that Redis key.

#include "aiproxy/balancer/redis_vector_cache.hpp"

#include <bit>
#include <cstdint>
#include <mutex>
#include <utility>

namespace aiproxy::balancer {

redis_vector_cache::redis_vector_cache(const config::redis_config& conf, std::string key_prefix)
    : hash_key_(std::move(key_prefix) + ":vec"),
      worker_(conf, "vector cache " + hash_key_,
              [this](redis_connection& conn) { return sync(conn); }) {
  worker_.start();
}

redis_vector_cache::~redis_vector_cache() {
  worker_.stop();
}

std::string redis_vector_cache::encode(const std::vector<float>& vector) {
  std::string out;
  out.reserve(vector.size() * 4);
  for (float f : vector) {
    auto bits = std::bit_cast<std::uint32_t>(f);
    for (int b = 0; b < 4; ++b)
      out.push_back(static_cast<char>((bits >> (8 * b)) & 0xFF));
  }
  return out;
}

std::optional<std::vector<float>> redis_vector_cache::decode(std::string_view bytes) {
  if (bytes.size() % 4 != 0)
    return std::nullopt;
  std::vector<float> out;
  out.reserve(bytes.size() / 4);
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b)
      bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + b])) << (8 * b);
    out.push_back(std::bit_cast<float>(bits));
  }
  return out;
}

void redis_vector_cache::put(std::string key, std::vector<float> vector) {
  {
    std::unique_lock lock(mirror_mutex_);
    mirror_[key] = vector;
  }
  std::lock_guard lock(queue_mutex_);
  queue_[std::move(key)] = std::move(vector);
}

std::optional<std::vector<float>> redis_vector_cache::get(std::string_view key) const {
  std::shared_lock lock(mirror_mutex_);
  auto it = mirror_.find(key);
  if (it == mirror_.end())
    return std::nullopt;
  return it->second;
}

std::size_t redis_vector_cache::size() const {
  std::shared_lock lock(mirror_mutex_);
  return mirror_.size();
}

result<void> redis_vector_cache::flush_now() {
  return worker_.run_now();
}

result<void> redis_vector_cache::sync(redis_connection& conn) {
  std::map<std::string, std::vector<float>> writes;
  {
    std::lock_guard lock(queue_mutex_);
    writes.swap(queue_);
  }
  auto requeue = [&] {
    std::lock_guard lock(queue_mutex_);
    for (auto& [k, v] : writes)
      queue_.try_emplace(k, std::move(v));  // a newer put of the same key wins
  };

  std::vector<redis_command> cmds;
  if (!writes.empty()) {
    redis_command hset{"HSET", hash_key_};
    for (const auto& [k, v] : writes) {
      hset.push_back(k);
      hset.push_back(encode(v));
    }
    cmds.push_back(std::move(hset));
  }
  // The first time everything; then only the names, to fetch the entries not mirrored yet.
  cmds.push_back({loaded_ ? "HKEYS" : "HGETALL", hash_key_});
  auto replies = conn.pipeline(cmds);
  if (!replies) {
    requeue();
    return replies.error();
  }
  for (const auto& r : *replies) {
    if (r.is_error()) {
      requeue();
      return error::service_unavailable("redis: " + r.str);
    }
  }

  std::vector<std::pair<std::string, std::string>> fetched;
  const auto& listing = replies->back().elements;
  if (!loaded_) {
    for (std::size_t f = 0; f + 1 < listing.size(); f += 2)
      fetched.emplace_back(listing[f].str, listing[f + 1].str);
    loaded_ = true;
  } else {
    redis_command hmget{"HMGET", hash_key_};
    {
      std::shared_lock lock(mirror_mutex_);
      for (const auto& name : listing) {
        if (!mirror_.contains(name.str))
          hmget.push_back(name.str);
      }
    }
    if (hmget.size() > 2) {
      auto values = conn.command(hmget);
      if (!values)
        return values.error();
      for (std::size_t i = 0; i < values->elements.size() && i + 2 < hmget.size(); ++i) {
        if (values->elements[i].type == redis_reply::kind::string)
          fetched.emplace_back(hmget[i + 2], values->elements[i].str);
      }
    }
  }
  if (!fetched.empty()) {
    std::unique_lock lock(mirror_mutex_);
    for (auto& [k, bytes] : fetched) {
      if (auto v = decode(bytes))
        mirror_.try_emplace(std::move(k), std::move(*v));  // this instance's own puts stay
    }
  }
  return {};
}

std::unique_ptr<redis_vector_cache> make_redis_vector_cache(const config::redis_config& conf,
                                                            std::string key_prefix) {
  return std::make_unique<redis_vector_cache>(conf, std::move(key_prefix));
}

}  // namespace aiproxy::balancer
