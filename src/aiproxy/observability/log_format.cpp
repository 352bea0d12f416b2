// Kong-shaped JSON log lines and access log lines from a request_record. Pure.

#include "aiproxy/observability/log_format.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cmath>
#include <ctime>

namespace aiproxy::observability {

namespace {

constexpr header_name_set always_secret({"authorization", "proxy-authorization", "cookie",
                                         "set-cookie", "x-api-key", "api-key", "x-goog-api-key",
                                         "x-amz-security-token", "x-auth-token",
                                         "ocp-apim-subscription-key"});

bool is_named_secret(std::string_view name, const std::vector<std::string>& names) {
  if (is_secret_header(name)) {
    return true;
  }
  for (const auto& n : names) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

boost::json::object headers_object(const header_list& headers,
                                   const std::vector<std::string>& secret_names) {
  boost::json::object out;
  for (const auto& [name, value] : headers.fields()) {
    std::string key(name);
    for (auto& c : key) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string_view shown =
        is_named_secret(key, secret_names) ? std::string_view("REDACTED") : std::string_view(value);
    if (auto* existing = out.if_contains(key)) {
      if (existing->is_array()) {
        existing->as_array().emplace_back(shown);
      } else {
        boost::json::array both;
        both.emplace_back(*existing);
        both.emplace_back(shown);
        *existing = std::move(both);
      }
    } else {
      out[key] = shown;
    }
  }
  return out;
}

/// A number for the log: whole values as integers (Kong writes 0, not 0.0), others rounded to
/// three decimals.
boost::json::value number(double v) {
  double r = std::round(v * 1000.0) / 1000.0;
  if (r == std::floor(r) && std::fabs(r) < 9e15) {
    return static_cast<std::int64_t>(r);
  }
  return r;
}

std::string_view query_of(std::string_view uri) {
  auto q = uri.find('?');
  return q == std::string_view::npos ? std::string_view{} : uri.substr(q + 1);
}

boost::json::object querystring_object(std::string_view uri,
                                       const std::vector<std::string>& secret_names) {
  boost::json::object out;
  std::string_view q = query_of(uri);
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    auto eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    if (eq == std::string_view::npos) {
      out[key] = true;  // Kong logs a bare flag as true
      continue;
    }
    bool secret = false;
    for (const auto& n : secret_names) {
      secret = secret || n == key;
    }
    out[key] = secret ? std::string_view("REDACTED") : pair.substr(eq + 1);
  }
  return out;
}

boost::json::object ai_object(const ai_record& ai) {
  boost::json::object proxy;
  if (ai.log_statistics) {
    boost::json::object meta;
    meta["plugin_id"] = ai.plugin_id;
    meta["provider_name"] = ai.provider_name;
    meta["request_model"] = ai.request_model.empty() ? "UNSPECIFIED" : ai.request_model;
    meta["response_model"] = ai.response_model.empty() ? ai.request_model : ai.response_model;
    meta["llm_latency"] = ai.llm_latency_ms;
    meta["request_mode"] = ai.request_mode;
    if (!ai.azure_instance_id.empty()) {
      meta["azure_instance_id"] = ai.azure_instance_id;
      meta["azure_deployment_id"] = ai.azure_deployment_id;
      meta["azure_api_version"] = ai.azure_api_version;
    }
    if (!ai.incomplete_reason.empty()) {
      meta["incomplete"] = ai.incomplete_reason;
    }
    if (ai.images > 0) {
      meta["images"] = ai.images;
    }
    proxy["meta"] = std::move(meta);

    boost::json::object usage;
    usage["prompt_tokens"] = ai.usage.prompt_tokens;
    usage["completion_tokens"] = ai.usage.completion_tokens;
    usage["total_tokens"] = ai.usage.total_tokens;
    if (ai.usage.cached_tokens > 0) {
      usage["prompt_tokens_details"] = {{"cached_tokens", ai.usage.cached_tokens}};
    }
    if (ai.usage.reasoning_tokens > 0) {
      usage["completion_tokens_details"] = {{"reasoning_tokens", ai.usage.reasoning_tokens}};
    }
    usage["time_per_token"] =
        number(ai.usage.completion_tokens > 0 ? static_cast<double>(ai.llm_latency_ms) /
                                                    static_cast<double>(ai.usage.completion_tokens)
                                              : 0.0);
    if (ai.time_to_first_token_ms) {
      usage["time_to_first_token"] = number(*ai.time_to_first_token_ms);
    }
    usage["cost"] = ai.cost == 0 ? boost::json::value(0) : boost::json::value(ai.cost);
    proxy["usage"] = std::move(usage);
  }
  if (ai.log_payloads) {
    boost::json::object payload;
    payload["request"] = ai.request_payload;
    payload["response"] = ai.response_payload;
    proxy["payload"] = std::move(payload);
  }
  if (!ai.tried_targets.empty()) {
    boost::json::array tried;
    for (const auto& t : ai.tried_targets) {
      boost::json::object o;
      o["provider"] = t.provider;
      o["model"] = t.model;
      o["upstream_uri"] = t.upstream_uri;
      if (t.status != 0) {
        o["status"] = t.status;
      }
      o["outcome"] = t.outcome;
      o["latency"] = number(t.latency_ms);
      tried.emplace_back(std::move(o));
    }
    proxy["tried_targets"] = std::move(tried);
  }
  boost::json::object out;
  out["proxy"] = std::move(proxy);
  return out;
}

}  // namespace

bool is_secret_header(std::string_view name) {
  return always_secret.contains(name);
}

std::string redact_query(std::string_view uri, const std::vector<std::string>& names) {
  auto q = uri.find('?');
  if (q == std::string_view::npos || names.empty()) {
    return std::string(uri);
  }
  std::string out(uri.substr(0, q + 1));
  std::string_view rest = uri.substr(q + 1);
  bool first = true;
  while (true) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    bool secret = false;
    for (const auto& n : names) {
      secret = secret || n == key;
    }
    if (!first) {
      out += '&';
    }
    first = false;
    if (secret && eq != std::string_view::npos) {
      out.append(key).append("=REDACTED");
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    rest = rest.substr(amp + 1);
  }
  return out;
}

std::string format_json_log(const request_record& r) {
  boost::json::object root;
  boost::json::object request;
  request["method"] = r.method;
  request["uri"] = redact_query(r.uri, r.secret_names);
  request["url"] = "http://" + std::string(r.host) + redact_query(r.uri, r.secret_names);
  request["size"] = r.request_size;
  request["querystring"] = querystring_object(r.uri, r.secret_names);
  request["headers"] = r.request_headers != nullptr
                           ? headers_object(*r.request_headers, r.secret_names)
                           : boost::json::object();
  root["request"] = std::move(request);

  boost::json::object response;
  response["status"] = r.status;
  response["size"] = r.response_size;
  response["headers"] = headers_object(r.response_headers, r.secret_names);
  root["response"] = std::move(response);

  boost::json::object latencies;
  latencies["request"] = static_cast<std::int64_t>(std::llround(r.request_latency_ms));
  latencies["proxy"] = static_cast<std::int64_t>(std::llround(r.upstream_latency_ms));
  latencies["kong"] = static_cast<std::int64_t>(
      std::llround(std::max(0.0, r.request_latency_ms - r.upstream_latency_ms)));
  root["latencies"] = std::move(latencies);

  if (!r.route_id.empty()) {
    root["route"] = {{"id", r.route_id}, {"name", r.route_name}};
  }
  if (!r.service_id.empty()) {
    root["service"] = {{"id", r.service_id}, {"name", r.service_name}};
  }
  root["client_ip"] = r.client_ip;
  root["started_at"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(r.started_at.time_since_epoch())
          .count();
  if (!r.upstream_uri.empty()) {
    root["upstream_uri"] = redact_query(r.upstream_uri, r.secret_names);
  }
  if (!r.error_message.empty()) {
    root["error"] = r.error_message;
  }
  if (r.client_aborted) {
    root["client_aborted"] = true;
  }
  if (r.ai && (r.ai->log_statistics || r.ai->log_payloads)) {
    root["ai"] = ai_object(*r.ai);
  }
  return boost::json::serialize(root);
}

std::string format_access_log(const request_record& r) {
  std::time_t t = std::chrono::system_clock::to_time_t(r.started_at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  std::string line;
  line.reserve(160 + r.uri.size());
  line.append(r.client_ip.empty() ? "-" : r.client_ip).append(" - - [").append(when).append("] \"");
  line.append(r.method)
      .append(" ")
      .append(redact_query(r.uri, r.secret_names))
      .append(" HTTP/1.1\" ");
  line.append(std::to_string(r.status)).append(" ").append(std::to_string(r.response_size));
  line.append(" \"-\" \"").append(r.user_agent.empty() ? "-" : r.user_agent).append("\" ");
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", r.request_latency_ms / 1000.0);
  line.append(secs);
  return line;
}

}  // namespace aiproxy::observability
