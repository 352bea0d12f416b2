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
  number(opt, "max_tokens", c.model.options.max_tokens);
  number(opt, "temperature", c.model.options.temperature);
  number(opt, "top_p", c.model.options.top_p);
  number(opt, "top_k", c.model.options.top_k);
  number(opt, "input_cost", c.model.options.input_cost);
  number(opt, "output_cost", c.model.options.output_cost);
  number(opt, "embeddings_dimensions", c.model.options.embeddings_dimensions);
  c.model.options.azure_instance = str(opt, "azure_instance");
  c.model.options.azure_api_version = str(opt, "azure_api_version");
  c.model.options.azure_deployment_id = str(opt, "azure_deployment_id");
  c.model.options.llama2_format = str(opt, "llama2_format");
  c.model.options.mistral_format = str(opt, "mistral_format");
  c.model.options.upstream_url = str(opt, "upstream_url");
  c.model.options.mock.reply = str(sub(opt, "mock"), "reply");
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
  const auto& logging = sub(o, "logging");
  c.logging.log_statistics = boolean(logging, "log_statistics");
  c.logging.log_payloads = boolean(logging, "log_payloads");
  const std::string rs = str(o, "response_streaming");
  c.response_streaming = rs == "deny"     ? config::streaming_policy::deny
                         : rs == "always" ? config::streaming_policy::always
                                          : config::streaming_policy::allow;
  c.precedence = str(o, "precedence") == "config" ? config::options_precedence::config
                                                  : config::options_precedence::request;
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
