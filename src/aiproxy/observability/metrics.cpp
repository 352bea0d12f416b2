// Per-worker Prometheus registries and their text rendering.

#include "aiproxy/observability/metrics.hpp"

#include <charconv>
#include <cstdio>

namespace aiproxy::observability {

namespace {

void append_escaped(std::string& out, std::string_view v) {
  bool plain = true;
  for (char c : v) {
    plain = plain && c != '\\' && c != '"' && c != '\n';
  }
  if (plain) {
    out += v;  // the usual label value: nothing to escape
    return;
  }
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

// Kong's AI metric labels, so Kong's Grafana dashboards work unchanged.
void ai_labels(std::string& l, std::string_view provider, std::string_view model,
               std::string_view mode) {
  l.clear();
  l += "ai_provider=\"";
  append_escaped(l, provider);
  l += "\",ai_model=\"";
  append_escaped(l, model);
  l += "\",cache_status=\"\",vector_db=\"\",embeddings_provider=\"\",embeddings_model=\"\","
       "workspace=\"default\",request_mode=\"";
  append_escaped(l, mode);
  l += '"';
}

template <class Map>
typename Map::mapped_type& slot(Map& m, const std::string& key) {
  auto it = m.find(std::string_view(key));
  if (it == m.end()) {
    it = m.emplace(key, typename Map::mapped_type{}).first;
  }
  return it->second;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void render_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help,
                   const std::map<std::string, double, std::less<>>& values) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  for (const auto& [labels, v] : values) {
    out.append(name).append("{").append(labels).append("} ").append(number(v)).append("\n");
  }
}

}  // namespace

void metrics_registry::count_request(std::string_view route, int status) {
  if (last_http_.count != nullptr && last_http_.status == status && last_http_.route == route) {
    std::lock_guard lock(mu_);
    *last_http_.count += 1;
    return;
  }
  scratch_.clear();
  scratch_ += "route=\"";
  append_escaped(scratch_, route);
  scratch_ += "\",code=\"";
  char code[16];
  scratch_.append(code, std::to_chars(code, code + sizeof code, status).ptr);
  scratch_ += '"';
  std::lock_guard lock(mu_);
  double& count = slot(data_.http_requests, scratch_);
  count += 1;
  last_http_.route.assign(route);
  last_http_.status = status;
  last_http_.count = &count;
}

void metrics_registry::observe_ai(std::string_view provider, std::string_view model,
                                  std::string_view mode, const json::usage& usage, double cost,
                                  double latency_ms) {
  const bool same = last_ai_.series != nullptr && last_ai_.provider == provider &&
                    last_ai_.model == model && last_ai_.mode == mode;
  if (!same) {
    ai_labels(scratch_, provider, model, mode);
  }
  std::lock_guard lock(mu_);
  if (!same) {
    last_ai_.series = &slot(data_.ai, scratch_);
    last_ai_.provider.assign(provider);
    last_ai_.model.assign(model);
    last_ai_.mode.assign(mode);
  }
  auto& s = *last_ai_.series;
  s.requests += 1;
  s.prompt_tokens += static_cast<double>(usage.prompt_tokens);
  s.completion_tokens += static_cast<double>(usage.completion_tokens);
  s.total_tokens += static_cast<double>(usage.total_tokens);
  s.cached_tokens += static_cast<double>(usage.cached_tokens);
  s.reasoning_tokens += static_cast<double>(usage.reasoning_tokens);
  s.cost += cost;
  for (std::size_t i = 0; i < latency_buckets_ms.size(); ++i) {
    if (latency_ms <= latency_buckets_ms[i]) {
      ++s.latency.buckets[i];
    }
  }
  ++s.latency.count;
  s.latency.sum += latency_ms;
}

void metrics_registry::merge_into(data& into) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, v] : data_.http_requests)
    into.http_requests[k] += v;
  for (const auto& [k, v] : data_.ai) {
    auto& t = into.ai[k];
    t.requests += v.requests;
    t.prompt_tokens += v.prompt_tokens;
    t.completion_tokens += v.completion_tokens;
    t.total_tokens += v.total_tokens;
    t.cached_tokens += v.cached_tokens;
    t.reasoning_tokens += v.reasoning_tokens;
    t.cost += v.cost;
    for (std::size_t i = 0; i < v.latency.buckets.size(); ++i)
      t.latency.buckets[i] += v.latency.buckets[i];
    t.latency.count += v.latency.count;
    t.latency.sum += v.latency.sum;
  }
}

std::string render_prometheus(const std::vector<const metrics_registry*>& registries,
                              const process_gauges& gauges) {
  metrics_registry::data all;
  for (const auto* r : registries) {
    r->merge_into(all);
  }
  std::string out;
  out.reserve(4096);
  render_family(out, "aiproxy_http_requests_total", "counter",
                "HTTP requests answered by the proxy, by route and status code", all.http_requests);
  std::map<std::string, double, std::less<>> requests, tokens, cost;
  for (const auto& [labels, v] : all.ai) {
    requests[labels] = v.requests;
    tokens[labels + ",token_type=\"prompt_tokens\""] = v.prompt_tokens;
    tokens[labels + ",token_type=\"completion_tokens\""] = v.completion_tokens;
    tokens[labels + ",token_type=\"total_tokens\""] = v.total_tokens;
    if (v.cached_tokens > 0) {
      tokens[labels + ",token_type=\"cached_tokens\""] = v.cached_tokens;
    }
    if (v.reasoning_tokens > 0) {
      tokens[labels + ",token_type=\"reasoning_tokens\""] = v.reasoning_tokens;
    }
    cost[labels] = v.cost;
  }
  render_family(out, "ai_llm_requests_total", "counter", "AI requests sent to providers", requests);
  render_family(out, "ai_llm_tokens_total", "counter", "Tokens used, by token type", tokens);
  render_family(out, "ai_llm_cost_total", "counter", "Cost of AI requests (configured prices)",
                cost);
  out += "# HELP ai_llm_provider_latency_ms Provider latency of AI requests in milliseconds\n";
  out += "# TYPE ai_llm_provider_latency_ms histogram\n";
  for (const auto& [labels, v] : all.ai) {
    const auto& h = v.latency;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
      out.append("ai_llm_provider_latency_ms_bucket{").append(labels).append(",le=\"");
      out.append(number(metrics_registry::latency_buckets_ms[i])).append("\"} ");
      out.append(std::to_string(h.buckets[i])).append("\n");
    }
    out.append("ai_llm_provider_latency_ms_bucket{").append(labels).append(",le=\"+Inf\"} ");
    out.append(std::to_string(h.count)).append("\n");
    out.append("ai_llm_provider_latency_ms_sum{").append(labels).append("} ");
    out.append(number(h.sum)).append("\n");
    out.append("ai_llm_provider_latency_ms_count{").append(labels).append("} ");
    out.append(std::to_string(h.count)).append("\n");
  }
  out += "# HELP aiproxy_connections Open client connections\n# TYPE aiproxy_connections gauge\n";
  out += "aiproxy_connections " + std::to_string(gauges.connections) + "\n";
  out += "# HELP aiproxy_log_lines_dropped_total Log lines dropped because a queue was full\n";
  out += "# TYPE aiproxy_log_lines_dropped_total counter\n";
  out += "aiproxy_log_lines_dropped_total " + std::to_string(gauges.log_lines_dropped) + "\n";
  out += "# HELP aiproxy_config_reloads_total Configuration reloads, by result\n";
  out += "# TYPE aiproxy_config_reloads_total counter\n";
  out += "aiproxy_config_reloads_total{result=\"success\"} " +
         std::to_string(gauges.config_reloads) + "\n";
  out += "aiproxy_config_reloads_total{result=\"failure\"} " +
         std::to_string(gauges.config_reload_failures) + "\n";
  return out;
}

}  // namespace aiproxy::observability
