// redis_state (redis_state.hpp): the local state's overlay and the push/pull sync that fills it.
// The data-path members take only per-target mutexes; all Redis traffic is in sync(), on the
// worker thread or in flush_now(). Touches only its own Redis keys (under key_prefix).

#include "aiproxy/balancer/redis_state.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <string_view>
#include <type_traits>
#include <utility>

namespace aiproxy::balancer {

namespace {

std::string format_double(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v))
      return std::nullopt;
  }
  return v;
}

// The first error reply of a pipeline, as an error.
std::optional<error> first_error(const std::vector<redis_reply>& replies) {
  for (const auto& r : replies) {
    if (r.is_error())
      return error::service_unavailable("redis: " + r.str);
  }
  return std::nullopt;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

redis_state::redis_state(const config::redis_config& conf, std::string key_prefix,
                         std::size_t targets, breaker_settings breaker, std::string instance_id,
                         redis_state_options options)
    : local_(targets, breaker),
      breaker_(local_.breaker()),
      prefix_(std::move(key_prefix)),
      instance_id_(std::move(instance_id)),
      ttl_ms_(options.instance_ttl_ms > 0
                  ? options.instance_ttl_ms
                  : std::max<std::int64_t>(10 * conf.sync_interval_ms, 2000)),
      slots_(std::make_unique<slot[]>(targets)),
      usage_base_(targets, 0.0),
      worker_(conf, "balancer state " + prefix_,
              [this](redis_connection& conn) { return sync(conn); }) {
  worker_.start();
}

redis_state::~redis_state() {
  worker_.stop();
}

std::string redis_state::key(std::string_view kind, std::size_t target) const {
  std::string k = prefix_;
  k += ':';
  k += kind;
  k += ':';
  k += std::to_string(target);
  return k;
}

// ---------------------------------------------------------------- data path

void redis_state::started(std::size_t target) {
  local_.started(target);
}

void redis_state::finished(std::size_t target) {
  local_.finished(target);
}

void redis_state::observe_latency(std::size_t target, double sample_ms, std::int64_t now_ms) {
  local_.observe_latency(target, sample_ms, now_ms);
}

void redis_state::add_usage(std::size_t target, double amount) {
  local_.add_usage(target, amount);
}

void redis_state::failed(std::size_t target, std::int64_t now_ms) {
  if (target >= size())
    return;
  local_.failed(target, now_ms);
  if (breaker_.max_fails <= 0 || !local_.view(target, now_ms).breaker_open)
    return;
  // Open here: publish the deadline the local breaker uses, once per opening.
  auto& s = slots_[target];
  const std::int64_t until = now_ms + breaker_.fail_timeout_ms;
  std::lock_guard lock(s.mutex);
  if (s.publish_open_until_ms > now_ms)
    return;
  s.publish_open_until_ms = until;
  s.open_until_ms = std::max(s.open_until_ms, until);
  ++s.breaker_version;
}

void redis_state::succeeded(std::size_t target, std::int64_t now_ms) {
  if (target >= size())
    return;
  local_.succeeded(target, now_ms);
  if (breaker_.max_fails <= 0 || local_.view(target, now_ms).breaker_open)
    return;
  auto& s = slots_[target];
  std::lock_guard lock(s.mutex);
  if (s.publish_open_until_ms == 0)
    return;
  // The probe closed the breaker this instance had opened: withdraw it from the fleet.
  s.publish_open_until_ms = 0;
  if (s.open_until_ms <= now_ms)
    s.open_until_ms = 0;
  ++s.breaker_version;
}

bool redis_state::try_acquire(std::size_t target, std::int64_t now_ms) {
  if (target >= size())
    return false;
  {
    auto& s = slots_[target];
    std::lock_guard lock(s.mutex);
    if (s.open_until_ms > now_ms)
      return false;
  }
  return local_.try_acquire(target, now_ms);
}

target_view redis_state::view(std::size_t target, std::int64_t now_ms) const {
  target_view v = local_.view(target, now_ms);
  if (target >= size())
    return v;
  const auto& s = slots_[target];
  std::lock_guard lock(s.mutex);
  v.in_flight += s.others_in_flight;
  if (s.others_latency_ms)
    v.latency_ms = std::max(*s.others_latency_ms, v.latency_ms.value_or(0.0));
  v.usage += s.others_usage;
  if (s.open_until_ms > now_ms)
    v.breaker_open = true;
  return v;
}

// ---------------------------------------------------------------- sync

result<void> redis_state::flush_now() {
  return worker_.run_now();
}

result<void> redis_state::read_usage_base(redis_connection& conn) {
  std::vector<redis_command> cmds;
  for (std::size_t i = 0; i < size(); ++i)
    cmds.push_back({"HGET", key("usage", i), instance_id_});
  auto replies = conn.pipeline(cmds);
  if (!replies)
    return replies.error();
  if (auto e = first_error(*replies))
    return *e;
  for (std::size_t i = 0; i < size(); ++i) {
    const auto& r = (*replies)[i];
    usage_base_[i] =
        r.type == redis_reply::kind::string ? parse_number<double>(r.str).value_or(0) : 0.0;
  }
  usage_base_known_ = true;
  return {};
}

result<void> redis_state::sync(redis_connection& conn) {
  const std::size_t n = size();
  if (!usage_base_known_) {
    if (auto r = read_usage_base(conn); !r)
      return r;
  }

  // What this instance publishes, read from the local state now.
  const std::int64_t now = wall_ms();
  std::vector<target_view> mine(n);
  std::vector<std::int64_t> open_until(n);
  std::vector<std::uint64_t> versions(n);
  for (std::size_t i = 0; i < n; ++i) {
    mine[i] = local_.view(i, now);
    std::lock_guard lock(slots_[i].mutex);
    open_until[i] = slots_[i].publish_open_until_ms;
    versions[i] = slots_[i].breaker_version;
  }
  const std::string inst_key = prefix_ + ":inst:" + instance_id_;
  const std::string set_key = prefix_ + ":instances";

  std::vector<redis_command> cmds;
  redis_command inst{"HSET", inst_key};
  for (std::size_t i = 0; i < n; ++i) {
    cmds.push_back(
        {"HSET", key("usage", i), instance_id_, format_double(usage_base_[i] + mine[i].usage)});
    inst.push_back("inflight:" + std::to_string(i));
    inst.push_back(std::to_string(mine[i].in_flight));
    if (mine[i].latency_ms) {
      inst.push_back("latency:" + std::to_string(i));
      inst.push_back(format_double(*mine[i].latency_ms));
    }
    std::uint64_t pushed;
    {
      std::lock_guard lock(slots_[i].mutex);
      pushed = slots_[i].breaker_pushed;
    }
    if (versions[i] != pushed) {
      if (open_until[i] > 0 && breaker_.fail_timeout_ms > 0)
        cmds.push_back({"SET", key("open_until", i), std::to_string(open_until[i]), "PX",
                        std::to_string(breaker_.fail_timeout_ms)});
      else
        cmds.push_back({"DEL", key("open_until", i)});
    }
  }
  if (n > 0)
    cmds.push_back(std::move(inst));
  cmds.push_back({"PEXPIRE", inst_key, std::to_string(ttl_ms_)});
  cmds.push_back({"SADD", set_key, instance_id_});
  const std::size_t pulls = cmds.size();
  for (std::size_t i = 0; i < n; ++i)
    cmds.push_back({"HGETALL", key("usage", i)});
  redis_command mget{"MGET"};
  for (std::size_t i = 0; i < n; ++i)
    mget.push_back(key("open_until", i));
  if (n > 0)
    cmds.push_back(std::move(mget));
  cmds.push_back({"SMEMBERS", set_key});

  auto replies = conn.pipeline(cmds);
  if (!replies)
    return replies.error();
  if (auto e = first_error(*replies))
    return *e;
  const auto& rep = *replies;

  // Everyone else's in-flight counts and latencies, from their own (expiring) hashes.
  std::vector<std::string> others;
  for (const auto& m : rep.back().elements) {
    if (m.str != instance_id_)
      others.push_back(m.str);
  }
  std::vector<redis_command> reads;
  for (const auto& id : others)
    reads.push_back({"HGETALL", prefix_ + ":inst:" + id});
  std::vector<redis_reply> inst_replies;
  if (!reads.empty()) {
    auto r = conn.pipeline(reads);
    if (!r)
      return r.error();
    if (auto e = first_error(*r))
      return *e;
    inst_replies = std::move(*r);
  }
  std::vector<std::int64_t> in_flight(n, 0);
  std::vector<std::optional<double>> latency(n);
  redis_command gone{"SREM", set_key};
  for (std::size_t k = 0; k < inst_replies.size(); ++k) {
    const auto& fields = inst_replies[k].elements;
    if (fields.empty()) {
      gone.push_back(others[k]);  // expired: the instance stopped syncing
      continue;
    }
    for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
      std::string_view name = fields[f].str;
      const std::string& value = fields[f + 1].str;
      bool is_latency = name.starts_with("latency:");
      if (!is_latency && !name.starts_with("inflight:"))
        continue;
      name.remove_prefix(is_latency ? 8 : 9);
      auto idx = parse_number<std::size_t>(name);
      if (!idx || *idx >= n)
        continue;
      if (is_latency) {
        if (auto v = parse_number<double>(value))
          latency[*idx] = std::max(*v, latency[*idx].value_or(*v));
      } else if (auto v = parse_number<std::int64_t>(value); v && *v > 0) {
        in_flight[*idx] += *v;
      }
    }
  }
  if (gone.size() > 2) {
    if (auto r = conn.command(gone); !r)
      return r.error();
  }

  const std::vector<redis_reply>* opens = n > 0 ? &rep[pulls + n].elements : nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    double others_usage = usage_base_[i];  // this instance's own usage before it started
    const auto& fields = rep[pulls + i].elements;
    for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (fields[f].str != instance_id_)
        others_usage += parse_number<double>(fields[f + 1].str).value_or(0);
    }
    std::int64_t fleet_open = 0;
    if (opens && i < opens->size() && (*opens)[i].type == redis_reply::kind::string)
      fleet_open = parse_number<std::int64_t>((*opens)[i].str).value_or(0);

    auto& s = slots_[i];
    std::lock_guard lock(s.mutex);
    s.others_usage = others_usage;
    s.others_in_flight = in_flight[i];
    s.others_latency_ms = latency[i];
    // What was pushed is acknowledged; a change made meanwhile is pushed next time.
    s.breaker_pushed = versions[i];
    if (s.breaker_version != versions[i])
      fleet_open = std::max(fleet_open, s.publish_open_until_ms);
    s.open_until_ms = fleet_open;
  }
  return {};
}

std::unique_ptr<redis_state> make_redis_state(const config::redis_config& conf,
                                              std::string key_prefix, std::size_t targets,
                                              breaker_settings breaker, std::string instance_id,
                                              redis_state_options options) {
  return std::make_unique<redis_state>(conf, std::move(key_prefix), targets, breaker,
                                       std::move(instance_id), options);
}

}  // namespace aiproxy::balancer
