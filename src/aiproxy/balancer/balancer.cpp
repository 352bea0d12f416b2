// balancer: target selection for ai-proxy-advanced (round-robin, consistent-hashing,
// least-connections, lowest-latency, lowest-usage, priority, semantic) and the in-process
// semantic vector index. Reads and writes only its own members and the shared_state it was given.

#include "aiproxy/balancer/balancer.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace aiproxy::balancer {

namespace {

/// lowest-latency: share of picks (per 10 000) sent to a target that is not the fastest, so a
/// target that became fast again is noticed.
constexpr std::uint64_t probe_share_per_10k = 500;  // 5 %

constexpr std::int64_t max_slots = std::int64_t{1} << 20;

/// 64-bit FNV-1a: a hash that is the same on every build and every run (std::hash is not).
std::uint64_t fnv1a64(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

/// splitmix64's finalizer: spreads every input bit over the output.
std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

/// A uniform value in (0, 1) from 64 random bits.
double unit_interval(std::uint64_t bits) noexcept {
  return (static_cast<double>(bits >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

bool is_catchall(const target_spec& t) {
  return t.description == "CATCHALL";
}

// Dot product and squared distance with eight independent float lanes: the compiler vectorises
// them (a single double accumulator would serialise every add), and float is ample for
// embeddings.
constexpr std::size_t lanes = 8;

double dot(const float* a, const float* b, std::size_t n) noexcept {
  float acc[lanes] = {};
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    for (std::size_t l = 0; l < lanes; ++l)
      acc[l] += a[i + l] * b[i + l];
  }
  double sum = 0;
  for (; i < n; ++i)
    sum += static_cast<double>(a[i]) * b[i];
  for (float x : acc)
    sum += x;
  return sum;
}

double squared_distance(const float* a, const float* b, std::size_t n) noexcept {
  float acc[lanes] = {};
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    for (std::size_t l = 0; l < lanes; ++l) {
      const float d = a[i + l] - b[i + l];
      acc[l] += d * d;
    }
  }
  double sum = 0;
  for (; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    sum += d * d;
  }
  for (float x : acc)
    sum += x;
  return sum;
}

}  // namespace

distance_metric distance_metric_from(std::string_view name) noexcept {
  constexpr std::string_view euclidean = "euclidean";
  if (name.size() != euclidean.size())
    return distance_metric::cosine;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(name[i])) != euclidean[i]) {
      return distance_metric::cosine;
    }
  }
  return distance_metric::euclidean;
}

// ---------------------------------------------------------------- semantic_index

semantic_index::semantic_index(std::vector<bool> catchall)
    : catchall_(std::move(catchall)), entries_(catchall_.size()) {}

void semantic_index::set(std::size_t target, std::vector<float> vector) {
  entry e;
  double norm2 = 0;
  for (float f : vector)
    norm2 += static_cast<double>(f) * f;
  if (norm2 > 0 && std::isfinite(norm2)) {
    const double inv = 1.0 / std::sqrt(norm2);
    e.unit.reserve(vector.size());
    for (float f : vector)
      e.unit.push_back(static_cast<float>(f * inv));
  }
  e.raw = std::move(vector);
  std::unique_lock lock(mutex_);
  if (target < entries_.size())
    entries_[target] = std::move(e);
}

bool semantic_index::ready() const {
  std::shared_lock lock(mutex_);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (!catchall_[i] && !entries_[i])
      return false;
  }
  return true;
}

std::optional<std::size_t> semantic_index::nearest(std::span<const float> query,
                                                   distance_metric metric, double threshold,
                                                   std::span<const bool> excluded) const {
  if (query.empty())
    return std::nullopt;
  double qnorm = 0;
  if (metric == distance_metric::cosine) {
    qnorm = dot(query.data(), query.data(), query.size());
    if (!(qnorm > 0) || !std::isfinite(qnorm))
      return std::nullopt;
    qnorm = std::sqrt(qnorm);
  }
  std::optional<std::size_t> best;
  double best_score = 0;
  std::shared_lock lock(mutex_);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if ((i < excluded.size() && excluded[i]) || !entries_[i])
      continue;
    const entry& e = *entries_[i];
    if (e.raw.size() != query.size())
      continue;  // another model's vector: never a match
    if (metric == distance_metric::cosine) {
      if (e.unit.empty())
        continue;
      const double similarity = dot(query.data(), e.unit.data(), query.size()) / qnorm;
      if (similarity >= threshold && (!best || similarity > best_score)) {
        best = i;
        best_score = similarity;
      }
    } else {
      const double distance = std::sqrt(squared_distance(query.data(), e.raw.data(), query.size()));
      if (distance <= threshold && (!best || distance < best_score)) {
        best = i;
        best_score = distance;
      }
    }
  }
  return best;
}

// ---------------------------------------------------------------- balancer

namespace {

std::vector<bool> catchall_mask(const std::vector<target_spec>& targets) {
  std::vector<bool> m(targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i)
    m[i] = is_catchall(targets[i]);
  return m;
}

}  // namespace

balancer::balancer(const config::balancer_config& conf, std::vector<target_spec> targets,
                   std::shared_ptr<shared_state> state, semantic_settings semantic)
    : conf_(conf),
      targets_(std::move(targets)),
      state_(std::move(state)),
      semantic_settings_(semantic),
      semantic_(catchall_mask(targets_)) {
  for (auto& t : targets_)
    t.weight = std::max<std::uint32_t>(t.weight, 1);
  if (!state_) {
    state_ = make_in_process_state(targets_.size(), {conf.max_fails, conf.fail_timeout_ms});
  }
  const std::size_t n = targets_.size();
  swrr_current_.assign(n, 0);

  if (conf_.algorithm == config::balancer_algorithm::consistent_hashing && n > 0) {
    // A wheel of `slots` slots; each slot belongs to the target with the highest weighted
    // rendezvous score -w / ln(u), u from the target key and the slot number. A target owns a
    // share of slots in proportion to its weight, and a slot's owner depends only on the
    // targets that are present: removing one reassigns its slots alone.
    const auto slots =
        static_cast<std::size_t>(std::clamp<std::int64_t>(conf_.slots, 1, max_slots));
    std::vector<std::uint64_t> seeds(n);
    for (std::size_t i = 0; i < n; ++i)
      seeds[i] = mix64(fnv1a64(targets_[i].key));
    wheel_.resize(slots);
    for (std::size_t s = 0; s < slots; ++s) {
      const std::uint64_t slot_hash = mix64(s + 0x9e3779b97f4a7c15ull);
      double best = -1;
      std::uint32_t owner = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double score =
            targets_[i].weight / -std::log(unit_interval(mix64(seeds[i] ^ slot_hash)));
        if (score > best) {
          best = score;
          owner = static_cast<std::uint32_t>(i);
        }
      }
      wheel_[s] = owner;
    }
  }

  if (conf_.algorithm == config::balancer_algorithm::priority) {
    std::vector<std::uint32_t> weights;
    for (const auto& t : targets_)
      weights.push_back(t.weight);
    std::sort(weights.begin(), weights.end(), std::greater<>());
    weights.erase(std::unique(weights.begin(), weights.end()), weights.end());
    for (auto w : weights) {
      auto& g = groups_.emplace_back();
      for (std::size_t i = 0; i < n; ++i) {
        if (targets_[i].weight == w)
          g.push_back(i);
      }
    }
    group_cursor_.assign(groups_.size(), 0);
  }
}

std::optional<std::size_t> balancer::pick(const pick_input& in, std::span<const bool> tried) {
  const std::size_t n = targets_.size();
  mask excluded(n);
  for (std::size_t i = 0; i < n && i < tried.size(); ++i)
    excluded[i] = tried[i];

  switch (conf_.algorithm) {
    case config::balancer_algorithm::consistent_hashing:
      return pick_hashing(in, excluded);
    case config::balancer_algorithm::semantic:
      return pick_semantic(in, excluded);
    default:
      break;
  }
  view_buf views(n);
  for (std::size_t round = 0; round < n; ++round) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!excluded[i])
        views[i] = state_->view(i, in.now_ms);
    }
    std::optional<std::size_t> chosen;
    {
      std::lock_guard lock(mutex_);
      chosen = choose_locked(in, excluded, views);
    }
    if (!chosen)
      return std::nullopt;
    // Another thread may have taken the half-open probe since view(): then look again.
    if (state_->try_acquire(*chosen, in.now_ms))
      return chosen;
    excluded[*chosen] = true;
  }
  return std::nullopt;
}

std::optional<std::size_t> balancer::pick_hashing(const pick_input& in, mask& excluded) {
  const std::size_t n = targets_.size();
  if (wheel_.empty())
    return std::nullopt;
  const std::uint64_t h = in.hash_key.empty() ? in.random : mix64(fnv1a64(in.hash_key));
  const std::size_t start = static_cast<std::size_t>(h % wheel_.size());
  // Clockwise from the key's slot; each target is considered once, at its first slot.
  std::size_t considered = 0;
  mask seen(n);
  for (std::size_t step = 0; step < wheel_.size() && considered < n; ++step) {
    const std::size_t t = wheel_[(start + step) % wheel_.size()];
    if (seen[t])
      continue;
    seen[t] = true;
    ++considered;
    if (!excluded[t] && state_->try_acquire(t, in.now_ms))
      return t;
  }
  return std::nullopt;
}

std::optional<std::size_t> balancer::pick_semantic(const pick_input& in, mask& excluded) {
  while (auto t = semantic_.nearest(in.embedding, semantic_settings_.metric,
                                    semantic_settings_.threshold, excluded.span())) {
    if (state_->try_acquire(*t, in.now_ms))
      return t;
    excluded[*t] = true;
  }
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (!excluded[i] && is_catchall(targets_[i]) && state_->try_acquire(i, in.now_ms))
      return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> balancer::rotate(const mask& eligible, std::size_t& cursor) const {
  const std::size_t n = eligible.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (cursor + k) % n;
    if (eligible[i]) {
      cursor = (i + 1) % n;
      return i;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> balancer::choose_locked(const pick_input& in, const mask& excluded,
                                                   const view_buf& views) {
  const std::size_t n = targets_.size();
  mask eligible(n);
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    eligible[i] = !excluded[i] && !views[i].breaker_open;
    count += eligible[i];
  }
  if (count == 0)
    return std::nullopt;

  // The eligible target that is least by `less`, ties going to the first at or after the cursor.
  auto least_rotating = [&](auto less) -> std::size_t {
    std::optional<std::size_t> best;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (cursor_ + k) % n;
      if (eligible[i] && (!best || less(i, *best)))
        best = i;
    }
    cursor_ = (*best + 1) % n;
    return *best;
  };

  switch (conf_.algorithm) {
    case config::balancer_algorithm::round_robin: {
      // nginx's smooth weighted round robin.
      std::int64_t total = 0;
      std::optional<std::size_t> best;
      for (std::size_t i = 0; i < n; ++i) {
        if (!eligible[i])
          continue;
        swrr_current_[i] += targets_[i].weight;
        total += targets_[i].weight;
        if (!best || swrr_current_[i] > swrr_current_[*best])
          best = i;
      }
      swrr_current_[*best] -= total;
      return best;
    }
    case config::balancer_algorithm::least_connections:
      // in_flight / weight, compared exactly: a.in_flight * b.weight < b.in_flight * a.weight.
      return least_rotating([&](std::size_t a, std::size_t b) {
        return views[a].in_flight * static_cast<std::int64_t>(targets_[b].weight) <
               views[b].in_flight * static_cast<std::int64_t>(targets_[a].weight);
      });
    case config::balancer_algorithm::lowest_latency: {
      mask unsampled(n);
      bool any_unsampled = false;
      for (std::size_t i = 0; i < n; ++i) {
        unsampled[i] = eligible[i] && !views[i].latency_ms;
        any_unsampled = any_unsampled || unsampled[i];
      }
      if (any_unsampled)
        return rotate(unsampled, cursor_);
      const std::size_t saved_cursor = cursor_;
      const std::size_t best = least_rotating([&](std::size_t a, std::size_t b) {
        return *views[a].latency_ms < *views[b].latency_ms;
      });
      if (count >= 2 && in.random % 10000 < probe_share_per_10k) {
        cursor_ = saved_cursor;
        // The k-th eligible target other than the fastest, k uniform from the high bits.
        std::size_t k = static_cast<std::size_t>((in.random >> 32) % (count - 1));
        for (std::size_t i = 0; i < n; ++i) {
          if (!eligible[i] || i == best)
            continue;
          if (k-- == 0)
            return i;
        }
      }
      return best;
    }
    case config::balancer_algorithm::lowest_usage:
      return least_rotating(
          [&](std::size_t a, std::size_t b) { return views[a].usage < views[b].usage; });
    case config::balancer_algorithm::priority:
      for (std::size_t g = 0; g < groups_.size(); ++g) {
        const auto& group = groups_[g];
        for (std::size_t k = 0; k < group.size(); ++k) {
          const std::size_t pos = (group_cursor_[g] + k) % group.size();
          if (eligible[group[pos]]) {
            group_cursor_[g] = (pos + 1) % group.size();
            return group[pos];
          }
        }
      }
      return std::nullopt;
    case config::balancer_algorithm::consistent_hashing:
    case config::balancer_algorithm::semantic:
      break;  // handled without this lock
  }
  return std::nullopt;
}

void balancer::on_start(std::size_t target) {
  state_->started(target);
}

void balancer::on_finish(std::size_t target, const attempt_report& report) {
  state_->finished(target);
  // Anything that is not a failover failure shows the target answering: it closes a half-open
  // breaker.
  if (report.counts_as_failure) {
    state_->failed(target, report.now_ms);
  } else {
    state_->succeeded(target, report.now_ms);
  }
  // Latency of successful attempts only: a fast error must not make a target look fast.
  if (report.success) {
    if (conf_.latency_strategy == config::latency_strategy::e2e) {
      state_->observe_latency(target, report.e2e_ms, report.now_ms);
    } else if (report.tpot_ms) {
      state_->observe_latency(target, *report.tpot_ms, report.now_ms);
    }
  }
  double amount = 0;
  switch (conf_.tokens_count_strategy) {
    case config::tokens_count_strategy::total_tokens:
      amount = static_cast<double>(report.prompt_tokens + report.completion_tokens);
      break;
    case config::tokens_count_strategy::prompt_tokens:
      amount = static_cast<double>(report.prompt_tokens);
      break;
    case config::tokens_count_strategy::completion_tokens:
      amount = static_cast<double>(report.completion_tokens);
      break;
    case config::tokens_count_strategy::cost:
      amount = report.cost;
      break;
  }
  if (amount > 0)
    state_->add_usage(target, amount);
}

}  // namespace aiproxy::balancer
