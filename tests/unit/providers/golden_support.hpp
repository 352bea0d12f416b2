#pragma once
// Test support for provider tests: reading config structs and client requests from JSON,
// a pretty-printer for golden files, and SSE event splitting. Header-only (the unit-test glob
// compiles only *_test.cpp). Test-only.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/json/writer.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

inline boost::json::value parse_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << "invalid JSON: " << ec.message() << "\n" << text;
  return v;
}

inline std::filesystem::path source_dir() {
  if (const char* env = std::getenv("AIPROXY_SOURCE_DIR")) {
    return env;
  }
  return AIPROXY_SOURCE_DIR;
}

namespace golden_detail {

inline std::string str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline bool boolean(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

template <class T>
inline void number(const boost::json::object& o, std::string_view key, std::optional<T>& out) {
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_number()) {
    out = v->to_number<T>();
  }
}

inline const boost::json::object& sub(const boost::json::object& o, std::string_view key) {
  static const boost::json::object empty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->get_object() : empty;
}

inline config::provider_kind provider_from(std::string_view p) {
  using config::provider_kind;
  if (p == "azure")
    return provider_kind::azure;
  if (p == "anthropic")
    return provider_kind::anthropic;
  if (p == "cohere")
    return provider_kind::cohere;
  if (p == "mistral")
    return provider_kind::mistral;
  if (p == "llama2")
    return provider_kind::llama2;
  if (p == "gemini")
    return provider_kind::gemini;
  if (p == "bedrock")
    return provider_kind::bedrock;
  if (p == "huggingface")
    return provider_kind::huggingface;
  if (p == "mock")
    return provider_kind::mock;
  return provider_kind::openai;
}

inline void pretty_to(std::string& out, const boost::json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  const std::string close_pad(static_cast<std::size_t>(indent), ' ');
  if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : *o) {
      if (!first)
        out += ",\n";
      first = false;
      out += pad;
      json::write_string(out, kv.key());
      out += ": ";
      pretty_to(out, kv.value(), indent + 2);
    }
    out += "\n" + close_pad + "}";
    return;
  }
  if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& e : *a) {
      if (!first)
        out += ",\n";
      first = false;
      out += pad;
      pretty_to(out, e, indent + 2);
    }
    out += "\n" + close_pad + "]";
    return;
  }
  json::write_value(out, v);
}

inline std::string_view payload_of(std::string_view event) {
  constexpr std::string_view prefix = "data: ";
  if (event.substr(0, prefix.size()) == prefix) {
    event.remove_prefix(prefix.size());
  }
  return event;
}

}  // namespace golden_detail

using namespace golden_detail;

inline std::optional<bool> opt_bool(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v != nullptr && v->is_bool()) {
    return v->get_bool();
  }
  return std::nullopt;
}

/// The ai-proxy plugin fields a golden case's config.json may set (Kong's names, plus
/// `precedence` for model_options_precedence).
inline config::ai_proxy_config config_from_json(const boost::json::object& o) {
  config::ai_proxy_config c;
  const std::string rt = str(o, "route_type");
  c.route_type = rt == "llm/v1/completions"  ? config::route_type::llm_v1_completions
                 : rt == "llm/v1/embeddings" ? config::route_type::llm_v1_embeddings
                                             : config::route_type::llm_v1_chat;
  const auto& model = sub(o, "model");
  c.model.provider = provider_from(str(model, "provider"));
  c.model.name = str(model, "name");
  const auto& opt = sub(model, "options");
  auto& mo = c.model.options;
  number(opt, "max_tokens", mo.max_tokens);
  number(opt, "temperature", mo.temperature);
  number(opt, "top_p", mo.top_p);
  number(opt, "top_k", mo.top_k);
  number(opt, "input_cost", mo.input_cost);
  number(opt, "output_cost", mo.output_cost);
  number(opt, "embeddings_dimensions", mo.embeddings_dimensions);
  mo.anthropic_version = str(opt, "anthropic_version");
  mo.azure_instance = str(opt, "azure_instance");
  mo.azure_api_version = str(opt, "azure_api_version");
  mo.azure_deployment_id = str(opt, "azure_deployment_id");
  mo.llama2_format = str(opt, "llama2_format");
  mo.mistral_format = str(opt, "mistral_format");
  mo.upstream_url = str(opt, "upstream_url");
  mo.upstream_path = str(opt, "upstream_path");
  mo.mock.reply = str(sub(opt, "mock"), "reply");
  const auto& gem = sub(opt, "gemini");
  mo.gemini.api_endpoint = str(gem, "api_endpoint");
  mo.gemini.project_id = str(gem, "project_id");
  mo.gemini.location_id = str(gem, "location_id");
  mo.gemini.endpoint_id = str(gem, "endpoint_id");
  const auto& bed = sub(opt, "bedrock");
  mo.bedrock.aws_region = str(bed, "aws_region");
  mo.bedrock.embeddings_normalize = boolean(bed, "embeddings_normalize");
  mo.bedrock.performance_config_latency = str(bed, "performance_config_latency");
  const auto& hf = sub(opt, "huggingface");
  mo.huggingface.use_cache = opt_bool(hf, "use_cache");
  mo.huggingface.wait_for_model = opt_bool(hf, "wait_for_model");
  const auto& co = sub(opt, "cohere");
  if (auto t = str(co, "embedding_input_type"); !t.empty()) {
    mo.cohere.embedding_input_type = t;
  }
  mo.cohere.wait_for_model = opt_bool(co, "wait_for_model");
  const auto& auth = sub(o, "auth");
  c.auth.header_name = str(auth, "header_name");
  c.auth.header_value = str(auth, "header_value");
  c.auth.param_name = str(auth, "param_name");
  c.auth.param_value = str(auth, "param_value");
  const std::string loc = str(auth, "param_location");
  c.auth.param_location = loc == "query"  ? config::param_location::query
                          : loc == "body" ? config::param_location::body
                                          : config::param_location::none;
  c.auth.allow_override = boolean(auth, "allow_override");
  c.auth.gcp_use_service_account = boolean(auth, "gcp_use_service_account");
  c.auth.azure_use_managed_identity = boolean(auth, "azure_use_managed_identity");
  c.auth.aws_access_key_id = str(auth, "aws_access_key_id");
  c.auth.aws_secret_access_key = str(auth, "aws_secret_access_key");
  const auto& logging = sub(o, "logging");
  c.logging.log_statistics = boolean(logging, "log_statistics");
  c.logging.log_payloads = boolean(logging, "log_payloads");
  const std::string rs = str(o, "response_streaming");
  c.response_streaming = rs == "deny"     ? config::streaming_policy::deny
                         : rs == "always" ? config::streaming_policy::always
                                          : config::streaming_policy::allow;
  c.precedence = str(o, "precedence") == "config" ? config::options_precedence::config
                                                  : config::options_precedence::request;
  if (auto f = str(o, "llm_format"); !f.empty()) {
    c.llm_format = f;
  }
  c.normalize_errors = boolean(o, "normalize_errors");
  return c;
}

inline header_list headers_from_json(const boost::json::value* v) {
  header_list h;
  if (v != nullptr && v->is_object()) {
    for (const auto& kv : v->get_object()) {
      h.add(kv.key(), kv.value().is_string() ? std::string_view(kv.value().get_string()) : "");
    }
  }
  return h;
}

/// JSON equality where numbers compare by value (Lua-written fixtures say 1 for 1.0).
inline bool same_json(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) {
    return a.to_number<double>() == b.to_number<double>();
  }
  if (a.kind() != b.kind()) {
    return false;
  }
  if (a.is_object()) {
    const auto& ao = a.get_object();
    const auto& bo = b.get_object();
    if (ao.size() != bo.size())
      return false;
    for (const auto& kv : ao) {
      const auto* other = bo.if_contains(kv.key());
      if (other == nullptr || !same_json(kv.value(), *other))
        return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& aa = a.get_array();
    const auto& ba = b.get_array();
    if (aa.size() != ba.size())
      return false;
    for (std::size_t i = 0; i < aa.size(); ++i) {
      if (!same_json(aa[i], ba[i]))
        return false;
    }
    return true;
  }
  return a == b;
}

inline std::string pretty(const boost::json::value& v) {
  std::string out;
  pretty_to(out, v, 0);
  out += "\n";
  return out;
}

inline std::vector<std::string> split_events(std::string_view sse) {
  std::vector<std::string> events;
  while (!sse.empty()) {
    const auto end = sse.find("\n\n");
    const auto ev = sse.substr(0, end);
    if (!ev.empty()) {
      events.emplace_back(ev);
    }
    if (end == std::string_view::npos) {
      break;
    }
    sse.remove_prefix(end + 2);
  }
  return events;
}

inline std::string compare_sse(std::string_view expected, std::string_view actual) {
  const auto e = split_events(expected);
  const auto a = split_events(actual);
  for (std::size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    if (i >= e.size())
      return "unexpected extra event " + std::to_string(i) + ": " + a[i];
    if (i >= a.size())
      return "missing event " + std::to_string(i) + ": " + e[i];
    boost::system::error_code ec1;
    boost::system::error_code ec2;
    const auto ev = boost::json::parse(payload_of(e[i]), ec1);
    const auto av = boost::json::parse(payload_of(a[i]), ec2);
    const bool same =
        (!ec1 && !ec2) ? ev == av && e[i].substr(0, 6) == a[i].substr(0, 6) : e[i] == a[i];
    if (!same) {
      return "event " + std::to_string(i) + " differs:\n  expected: " + e[i] +
             "\n  actual:   " + a[i];
    }
  }
  return {};
}

}  // namespace aiproxy::testing
