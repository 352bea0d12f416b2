// The declarative-config loader (see loader.hpp): YAML -> entities -> Kong's field and entity
// checks -> references -> plugin chains. Every problem is collected with its path before one
// invalid_config is thrown. Values from `${{ env "DECK_X" }}` are never echoed in a message.
// Touches: yaml-cpp (parsing), Boost.URL (service url / upstream_url), OpenSSL (SHA-256 digest and
// derived ids), the environment (env.cpp). No Asio.

#include "aiproxy/config/loader.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include "aiproxy/config/env.hpp"
#include "aiproxy/config/router.hpp"
#include "aiproxy/config/support.hpp"
#include "aiproxy/config/templating.hpp"

namespace aiproxy::config {

namespace {

std::string join_lines(const std::vector<problem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) {
      out.push_back('\n');
    }
    if (!p.path.empty()) {
      out.append(p.path).append(": ");
    }
    out.append(p.message);
  }
  return out;
}

}  // namespace

invalid_config::invalid_config(std::vector<problem> problems)
    : aiproxy::config_error(join_lines(problems)), problems_(std::move(problems)) {}

namespace {

// ------------------------------------------------------------------ small helpers

constexpr std::string_view from_env = "<value from environment>";

std::string key_path(const std::string& path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  return path + "." + std::string(key);
}

std::string index_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(digits[md[i] >> 4]);
    out.push_back(digits[md[i] & 0xF]);
  }
  return out;
}

/// A stable UUID-shaped id (version 8, RFC 9562 "custom") derived from `seed`.
std::string derived_uuid(std::string_view seed) {
  std::string hex = sha256_hex(seed);
  hex[12] = '8';
  static constexpr char variant[] = "89ab";
  hex[16] = variant[(hex[16] <= '9' ? hex[16] - '0' : hex[16] - 'a' + 10) & 3];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') {
        return false;
      }
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool present(const std::optional<YAML::Node>& n) {
  return n.has_value() && !n->IsNull();
}

/// The value under `key` of a map node, or nullopt when `n` is not a map or has no such key.
std::optional<YAML::Node> child(const YAML::Node& n, std::string_view key) {
  if (!n.IsMap()) {
    return std::nullopt;
  }
  YAML::Node c = n[std::string(key)];
  if (!c.IsDefined()) {
    return std::nullopt;
  }
  return c;
}

/// True when a list-valued entity key holds a non-empty list (or anything that is not empty).
bool non_empty(const std::optional<YAML::Node>& n) {
  if (!present(n)) {
    return false;
  }
  if (n->IsSequence() || n->IsMap()) {
    return n->size() > 0;
  }
  return true;
}

std::string quoted_list(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto i : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += "'" + std::string(i) + "'";
  }
  return out;
}

template <class Range>
std::string plain_list(const Range& items) {
  std::string out;
  for (auto i : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += std::string(i);
  }
  return out;
}

/// Kong's utf8_name rule: alphanumerics, ".", "-", "_", "~" and non-ASCII bytes.
bool valid_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!(std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_' || c == '~' || c >= 128)) {
      return false;
    }
  }
  return true;
}

bool valid_header_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) != 0 || c == '-' || c == '_';
  });
}

/// A host name (labels of [A-Za-z0-9_-]), an IPv4 address or a bracketed IPv6 literal.
bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) {
    return false;
  }
  if (h.front() == '[') {
    if (h.back() != ']' || h.size() < 3) {
      return false;
    }
    return std::all_of(h.begin() + 1, h.end() - 1, [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
    });
  }
  if (h.front() == '.' || h.front() == '-') {
    return false;
  }
  return std::all_of(h.begin(), h.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_';
  });
}

/// Kong's route host: a host name with an optional port and at most one wildcard label.
std::optional<std::string> check_route_host(std::string_view h) {
  auto stars = std::count(h.begin(), h.end(), '*');
  if (stars > 1) {
    return "invalid wildcard: must have at most one wildcard";
  }
  if (stars == 1 &&
      !(h.substr(0, 2) == "*." || (h.size() >= 2 && h.substr(h.size() - 2) == ".*"))) {
    return "invalid wildcard: must be placed at leftmost or rightmost label";
  }
  std::string host(h);
  if (auto star = host.find('*'); star != std::string::npos) {
    host.replace(star, 1, "abc");
  }
  std::string port;
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    if (close != std::string::npos && close + 1 < host.size()) {
      if (host[close + 1] != ':') {
        return "invalid hostname: " + std::string(h);
      }
      port = host.substr(close + 2);
      host = host.substr(0, close + 1);
    }
  } else if (auto colon = host.find(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!valid_hostname(host)) {
    return "invalid hostname: " + std::string(h);
  }
  if (!port.empty() || h.find(':') != std::string_view::npos) {
    int value = -1;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value < 0 || value > 65535) {
      return "invalid port number";
    }
  }
  return std::nullopt;
}

/// Kong's typedefs.path checks (RFC 3986 characters, proper percent-encoding).
/// `percent_only` keeps only the percent check (used for regex paths, as Kong does).
std::optional<std::string> check_path_chars(std::string_view p, bool percent_only) {
  if (!percent_only) {
    for (char ch : p) {
      auto c = static_cast<unsigned char>(ch);
      constexpr std::string_view allowed = ".-_~/%:@!$&'()*+,;=";
      if (std::isalnum(c) == 0 && allowed.find(ch) == std::string_view::npos) {
        return "invalid path: '" + std::string(p) +
               "' (characters outside of the reserved list of RFC 3986 found)";
      }
    }
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') {
      continue;
    }
    bool ok = i + 2 < p.size() && std::isxdigit(static_cast<unsigned char>(p[i + 1])) != 0 &&
              std::isxdigit(static_cast<unsigned char>(p[i + 2])) != 0;
    if (!ok) {
      return "invalid url-encoded value: '" + std::string(p.substr(i, 3)) + "'";
    }
    i += 2;
  }
  return std::nullopt;
}

/// file-log's path rule (Kong: `^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$`).
bool valid_log_filename(std::string_view p) {
  if (p.size() < 2) {
    return false;
  }
  auto bad = [](char c) { return c == '*' || c == '&' || c == '%' || c == '`'; };
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  if (bad(p.front()) || space(p.front()) || bad(p.back()) || space(p.back())) {
    return false;
  }
  return std::none_of(p.begin(), p.end(), bad);
}

// ------------------------------------------------------------------ scalar readers

/// A scalar after env substitution; `secret` when any part came from the environment.
struct scalar {
  std::string text;
  bool secret = false;
  std::string shown() const { return secret ? std::string(from_env) : text; }
};

struct reference {
  std::string path;   // where the reference sits, e.g. "routes[0].service"
  std::string field;  // "service" | "route"
  std::string value;  // name or id
  bool secret = false;
};

struct plugin_scope {
  std::optional<std::size_t> service;
  std::optional<std::size_t> route;
  bool consumer = false;
};

class loader {
 public:
  gateway_config load(std::string_view text, std::string_view source_name);

 private:
  // problems
  void add(std::string path, std::string message) {
    problems_.push_back(problem{std::move(path), std::move(message)});
  }

  // readers; each records its problem and returns nullopt on failure
  std::optional<scalar> get_scalar(const YAML::Node& n, const std::string& path,
                                   std::string_view type_message);
  std::optional<scalar> get_string(const YAML::Node& n, const std::string& path);
  std::optional<bool> get_bool(const YAML::Node& n, const std::string& path);
  std::optional<std::int64_t> get_int(const YAML::Node& n, const std::string& path);
  std::optional<double> get_number(const YAML::Node& n, const std::string& path);
  std::optional<std::vector<std::string>> get_strings(const YAML::Node& n, const std::string& path,
                                                      std::string_view type_message);
  std::optional<std::string> get_one_of(const YAML::Node& n, const std::string& path,
                                        std::initializer_list<std::string_view> values);
  bool check_record(const YAML::Node& n, const std::string& path,
                    std::initializer_list<std::string_view> known);
  void check_between(std::optional<std::int64_t> v, std::int64_t lo, std::int64_t hi,
                     const std::string& path);

  // field helpers on a record: read `key` of `n` if present (non-null)
  template <class F>
  void field(const YAML::Node& n, const std::string& path, std::string_view key, F&& f) {
    auto c = child(n, key);
    if (present(c)) {
      f(*c, key_path(path, key));
    }
  }

  // entities
  void parse_root(const YAML::Node& root);
  void parse_service(const YAML::Node& n, const std::string& path);
  void parse_route(const YAML::Node& n, const std::string& path,
                   std::optional<std::size_t> parent_service);
  void parse_plugin(const YAML::Node& n, const std::string& path, plugin_scope scope);
  void parse_consumer(const YAML::Node& n, const std::string& path);
  std::optional<reference> parse_reference(const YAML::Node& n, const std::string& path,
                                           std::string_view field);
  void parse_tags(const YAML::Node& n, const std::string& path, std::vector<std::string>& out);
  void parse_service_url(const scalar& url, const std::string& path, service& s);
  void parse_route_paths(const YAML::Node& n, const std::string& path, route& r);
  void parse_route_headers(const YAML::Node& n, const std::string& path, route& r);

  // plugins
  /// What parsing one ai-proxy target found, for the checks that depend on it.
  struct target_flags {
    bool provider_ok = false;
    bool route_type_ok = false;
    bool azure_api_version_null = false;
  };
  /// What parsing the plugin-level fields found.
  struct plugin_flags {
    bool llm_format_ok = true;
    std::optional<genai_category> genai;  // set explicitly in the file
  };
  /// Where the checks of one ai-proxy configuration report: `target` holds route_type, model,
  /// auth and logging; `plugin` holds llm_format and genai_category (the same path for ai-proxy,
  /// the plugin's config for an ai-proxy-advanced target); `note` ends plugin-level messages.
  struct check_paths {
    std::string target;
    std::string plugin;
    std::string note;
  };
  ai_proxy_config parse_ai_proxy(const YAML::Node& n, const std::string& path);
  bool parse_route_type(const YAML::Node& n, const std::string& path, ai_proxy_config& c);
  target_flags parse_target_fields(const YAML::Node& n, const std::string& path, ai_proxy_config& c,
                                   std::optional<scalar>* model_alias);
  plugin_flags parse_plugin_fields(const YAML::Node& n, const std::string& path,
                                   ai_proxy_config& c);
  void finish_ai_proxy(ai_proxy_config& c, const check_paths& where, const target_flags& tf,
                       const plugin_flags& pf);
  static void bedrock_region_from_env(model_config& m);
  void parse_auth(const YAML::Node& n, const std::string& path, auth_config& a);
  void parse_model(const YAML::Node& n, const std::string& path, model_config& m,
                   target_flags& flags, std::optional<scalar>* model_alias);
  void parse_model_options(const YAML::Node& n, const std::string& path, model_options& o,
                           bool& azure_api_version_null, bool& mock_set);
  void check_ai_proxy(const ai_proxy_config& c, const check_paths& where,
                      bool azure_api_version_null, bool partial);
  ai_proxy_advanced_config parse_ai_proxy_advanced(const YAML::Node& n, const std::string& path);
  ai_target parse_target(const YAML::Node& n, const std::string& path,
                         const ai_proxy_config& shared, const plugin_flags& pf,
                         const std::string& plugin_path, std::size_t index, target_flags& tf,
                         std::optional<scalar>& alias);
  void check_advanced(const ai_proxy_advanced_config& a, const std::string& path,
                      const std::vector<target_flags>& flags,
                      const std::vector<std::optional<scalar>>& aliases);
  void parse_balancer(const YAML::Node& n, const std::string& path, balancer_config& b);
  redis_config parse_redis(const YAML::Node& n, const std::string& path);
  embeddings_config parse_embeddings(const YAML::Node& n, const std::string& path);
  vectordb_config parse_vectordb(const YAML::Node& n, const std::string& path);
  file_log_config parse_file_log(const YAML::Node& n, const std::string& path);

  // after all entities
  void resolve_references();
  void build_chains();
  std::optional<std::size_t> find_service(const reference& ref);
  std::optional<std::size_t> find_route(const reference& ref);

  std::vector<problem> problems_;
  gateway_config cfg_;
  std::vector<std::string> route_paths_;  // file path of each route
  std::vector<std::optional<reference>> route_service_refs_;
  std::vector<std::optional<reference>> plugin_route_refs_;
  std::vector<std::optional<reference>> plugin_service_refs_;
  std::map<std::string, std::size_t> service_names_, service_ids_, route_names_, route_ids_;
  std::map<std::string, std::string> plugin_ids_;  // id -> path
  std::set<std::string> plugin_instance_names_;
  std::set<std::string> consumer_keys_;
};

std::optional<scalar> loader::get_scalar(const YAML::Node& n, const std::string& path,
                                         std::string_view type_message) {
  if (!n.IsScalar()) {
    add(path, std::string(type_message));
    return std::nullopt;
  }
  env_substitution sub = substitute_env(n.Scalar());
  if (!sub.error.empty()) {
    add(path, sub.error);
    return std::nullopt;
  }
  return scalar{std::move(sub.text), sub.substituted};
}

std::optional<scalar> loader::get_string(const YAML::Node& n, const std::string& path) {
  auto s = get_scalar(n, path, "expected a string");
  if (s && s->text.empty()) {
    add(path, "length must be at least 1");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> loader::get_bool(const YAML::Node& n, const std::string& path) {
  auto s = get_scalar(n, path, "expected a boolean");
  if (!s) {
    return std::nullopt;
  }
  // YAML 1.1 booleans, as decK's YAML reader understands them.
  static const std::set<std::string> yes = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                            "on",   "On",   "ON",   "y",   "Y"};
  static const std::set<std::string> no = {"false", "False", "FALSE", "no", "No", "NO",
                                           "off",   "Off",   "OFF",   "n",  "N"};
  if (yes.count(s->text) != 0) {
    return true;
  }
  if (no.count(s->text) != 0) {
    return false;
  }
  add(path, "expected a boolean");
  return std::nullopt;
}

std::optional<std::int64_t> loader::get_int(const YAML::Node& n, const std::string& path) {
  auto s = get_scalar(n, path, "expected an integer");
  if (!s) {
    return std::nullopt;
  }
  std::string_view t = s->text;
  if (!t.empty() && t.front() == '+') {
    t.remove_prefix(1);
  }
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) {
    add(path, "expected an integer");
    return std::nullopt;
  }
  return v;
}

std::optional<double> loader::get_number(const YAML::Node& n, const std::string& path) {
  auto s = get_scalar(n, path, "expected a number");
  if (!s) {
    return std::nullopt;
  }
  const std::string& t = s->text;
  char* end = nullptr;
  errno = 0;
  double v = t.empty() ? 0.0 : std::strtod(t.c_str(), &end);
  if (t.empty() || errno != 0 || end != t.c_str() + t.size() || !std::isfinite(v) ||
      t.find_first_of("xXnN") != std::string::npos) {
    add(path, "expected a number");
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<std::string>> loader::get_strings(const YAML::Node& n,
                                                            const std::string& path,
                                                            std::string_view type_message) {
  if (!n.IsSequence()) {
    add(path, std::string(type_message));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto s = get_string(n[i], index_path(path, i));
    if (s) {
      out.push_back(std::move(s->text));
    } else {
      ok = false;
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> loader::get_one_of(const YAML::Node& n, const std::string& path,
                                              std::initializer_list<std::string_view> values) {
  auto s = get_string(n, path);
  if (!s) {
    return std::nullopt;
  }
  if (std::find(values.begin(), values.end(), s->text) == values.end()) {
    add(path, "expected one of: " + plain_list(values));
    return std::nullopt;
  }
  return s->text;
}

bool loader::check_record(const YAML::Node& n, const std::string& path,
                          std::initializer_list<std::string_view> known) {
  if (!n.IsMap()) {
    add(path, "expected a record");
    return false;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      add(key_path(path, key), "unknown field");
    }
  }
  return true;
}

void loader::check_between(std::optional<std::int64_t> v, std::int64_t lo, std::int64_t hi,
                           const std::string& path) {
  if (v && (*v < lo || *v > hi)) {
    add(path, "value should be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
}

void loader::parse_tags(const YAML::Node& n, const std::string& path,
                        std::vector<std::string>& out) {
  auto tags = get_strings(n, path, "expected a set");
  if (!tags) {
    return;
  }
  for (std::size_t i = 0; i < tags->size(); ++i) {
    const std::string& t = (*tags)[i];
    bool ok = std::all_of(t.begin(), t.end(), [](char ch) {
      auto c = static_cast<unsigned char>(ch);
      return (c >= 32 && c <= 126 && c != ',' && c != '/') || c >= 128;
    });
    if (!ok) {
      add(index_path(path, i), "invalid tag '" + t +
                                   "': expected printable ascii (except `,` and `/`) or valid "
                                   "utf-8 sequences");
    }
  }
  out = std::move(*tags);
}

std::optional<reference> loader::parse_reference(const YAML::Node& n, const std::string& path,
                                                 std::string_view field) {
  if (n.IsMap()) {
    check_record(n, path, {"id", "name"});
    for (std::string_view k : {"id", "name"}) {
      auto c = child(n, k);
      if (present(c)) {
        auto s = get_string(*c, key_path(path, k));
        if (!s) {
          return std::nullopt;
        }
        return reference{path, std::string(field), s->text, s->secret};
      }
    }
    add(path, "expected a " + std::string(field) + " name or id");
    return std::nullopt;
  }
  auto s = get_string(n, path);
  if (!s) {
    return std::nullopt;
  }
  return reference{path, std::string(field), s->text, s->secret};
}

// ------------------------------------------------------------------ root

// Kong entities aiproxy does not have; a non-empty list of them is an error.
constexpr std::string_view unsupported_entities[] = {"upstreams",
                                                     "targets",
                                                     "certificates",
                                                     "ca_certificates",
                                                     "snis",
                                                     "vaults",
                                                     "keys",
                                                     "key_sets",
                                                     "consumer_groups",
                                                     "filter_chains",
                                                     "custom_entities",
                                                     "workspaces",
                                                     "licenses",
                                                     "rbac_roles",
                                                     "rbac_users",
                                                     "partials",
                                                     "parameters",
                                                     "document_objects",
                                                     "degraphql_routes",
                                                     "acls",
                                                     "keyauth_credentials",
                                                     "basicauth_credentials",
                                                     "jwt_secrets",
                                                     "hmacauth_credentials",
                                                     "oauth2_credentials",
                                                     "mtls_auth_credentials"};

void loader::parse_root(const YAML::Node& root) {
  if (!root.IsMap()) {
    add("", root.IsNull() || !root.IsDefined()
                ? "empty configuration: expected a decK file with _format_version: \"3.0\""
                : "expected a record");
    return;
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
    static const std::set<std::string> known = {
        "_format_version", "_transform", "_info",  "_workspace", "_comment", "_ignore",
        "_konnect",        "services",   "routes", "plugins",    "consumers"};
    if (known.count(key) != 0) {
      continue;
    }
    if (std::find(std::begin(unsupported_entities), std::end(unsupported_entities), key) !=
        std::end(unsupported_entities)) {
      if (non_empty(std::optional<YAML::Node>(it->second))) {
        add(key, "'" + key +
                     "' entities are not supported by aiproxy (supported: services, routes, "
                     "plugins, consumers)");
      }
      continue;
    }
    add(key, "unknown field");
  }

  auto version = child(root, "_format_version");
  if (!present(version)) {
    add("_format_version", "required field missing");
  } else if (auto v = get_string(*version, "_format_version"); v && v->text != "3.0") {
    add("_format_version", "expected one of: 3.0");
  }
  field(root, "", "_transform", [&](const YAML::Node& n, const std::string& p) { get_bool(n, p); });
  field(root, "", "_workspace",
        [&](const YAML::Node& n, const std::string& p) { get_string(n, p); });

  auto each = [&](std::string_view key, auto&& f) {
    auto list = child(root, key);
    if (!present(list)) {
      return;
    }
    std::string path(key);
    if (!list->IsSequence()) {
      add(path, "expected an array");
      return;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      f((*list)[i], index_path(path, i));
    }
  };
  each("services", [&](const YAML::Node& n, const std::string& p) { parse_service(n, p); });
  each("routes",
       [&](const YAML::Node& n, const std::string& p) { parse_route(n, p, std::nullopt); });
  each("plugins",
       [&](const YAML::Node& n, const std::string& p) { parse_plugin(n, p, plugin_scope{}); });
  each("consumers", [&](const YAML::Node& n, const std::string& p) { parse_consumer(n, p); });
}

// ------------------------------------------------------------------ services

void loader::parse_service_url(const scalar& url, const std::string& path, service& s) {
  auto parsed = boost::urls::parse_uri(url.text);
  if (!parsed) {
    add(path, "could not parse url");
    return;
  }
  const auto& u = *parsed;
  std::string scheme(u.scheme());
  if (scheme != "http" && scheme != "https") {
    add(path, "expected one of: http, https");
    return;
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    add(path, "missing host in url");
    return;
  }
  s.protocol = scheme;
  s.host = std::string(u.encoded_host());
  if (u.has_port()) {
    if (u.port().empty() || (u.port_number() == 0 && u.port() != "0")) {
      add(path, "invalid port number");
      return;
    }
    s.port = u.port_number();
  } else {
    s.port = scheme == "https" ? 443 : 80;
  }
  s.path = std::string(u.encoded_path());
}

void loader::parse_service(const YAML::Node& n, const std::string& path) {
  if (!check_record(n, path,
                    {"id",
                     "name",
                     "url",
                     "protocol",
                     "host",
                     "port",
                     "path",
                     "retries",
                     "connect_timeout",
                     "write_timeout",
                     "read_timeout",
                     "tags",
                     "enabled",
                     "client_certificate",
                     "tls_verify",
                     "tls_verify_depth",
                     "ca_certificates",
                     "routes",
                     "plugins",
                     "created_at",
                     "updated_at"})) {
    return;
  }
  std::size_t index = cfg_.services.size();
  cfg_.services.emplace_back();
  service s;

  field(n, path, "name", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!valid_name(v->text)) {
        add(p, "invalid value '" + v->shown() +
                   "': the only accepted ascii characters are alphanumerics or ., -, _, and ~");
      } else if (!service_names_.emplace(v->text, index).second) {
        add(p, "uniqueness violation: 'services' entity with name set to '" + v->shown() +
                   "' already declared");
      }
      s.name = v->text;
    }
  });
  field(n, path, "id", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!is_uuid(v->text)) {
        add(p, "expected a valid UUID");
      } else if (!service_ids_.emplace(v->text, index).second) {
        add(p, "uniqueness violation: 'services' entity with primary key set to '" + v->shown() +
                   "' already declared");
      }
      s.id = v->text;
    }
  });
  if (s.id.empty()) {
    s.id = derived_uuid("aiproxy:service:" + (s.name.empty() ? path : s.name));
  }

  bool have_url = false;
  field(n, path, "url", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      have_url = true;
      parse_service_url(*v, p, s);
    }
  });
  field(n, path, "protocol", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_one_of(c, p, {"http", "https"})) {
      s.protocol = *v;
    }
  });
  auto host = child(n, "host");
  if (present(host)) {
    if (auto v = get_string(*host, key_path(path, "host"))) {
      if (!valid_hostname(v->text)) {
        add(key_path(path, "host"), "invalid value: " + v->shown());
      }
      s.host = v->text;
    }
  } else if (!have_url) {
    add(key_path(path, "host"), "required field missing");
  }
  field(n, path, "port", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_int(c, p);
    check_between(v, 0, 65535, p);
    if (v && *v >= 0 && *v <= 65535) {
      s.port = static_cast<std::uint16_t>(*v);
    }
  });
  field(n, path, "path", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (v->text.front() != '/') {
        add(p, "should start with: /");
      } else if (v->text.find("//") != std::string::npos) {
        add(p, "must not have empty segments");
      } else if (auto err = check_path_chars(v->text, false)) {
        add(p, v->secret ? "invalid path" : *err);
      }
      s.path = v->text;
    }
  });
  auto timeout = [&](std::string_view key, std::int64_t& out) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) {
      auto v = get_int(c, p);
      check_between(v, 1, 2147483646, p);
      if (v) {
        out = *v;
      }
    });
  };
  timeout("connect_timeout", s.connect_timeout_ms);
  timeout("write_timeout", s.write_timeout_ms);
  timeout("read_timeout", s.read_timeout_ms);
  field(n, path, "retries", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_int(c, p);
    check_between(v, 0, 32767, p);
    if (v) {
      s.retries = *v;
    }
  });
  field(n, path, "enabled", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_bool(c, p)) {
      s.enabled = *v;
    }
  });
  field(n, path, "tls_verify", [&](const YAML::Node& c, const std::string& p) { get_bool(c, p); });
  field(n, path, "tls_verify_depth",
        [&](const YAML::Node& c, const std::string& p) { check_between(get_int(c, p), 0, 64, p); });
  for (std::string_view k : {"client_certificate", "ca_certificates"}) {
    if (non_empty(child(n, k))) {
      add(key_path(path, k), "not supported by aiproxy: it has no certificates entities");
    }
  }
  field(n, path, "tags",
        [&](const YAML::Node& c, const std::string& p) { parse_tags(c, p, s.tags); });
  cfg_.services[index] = std::move(s);

  field(n, path, "routes", [&](const YAML::Node& c, const std::string& p) {
    if (!c.IsSequence()) {
      add(p, "expected an array");
      return;
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
      parse_route(c[i], index_path(p, i), index);
    }
  });
  field(n, path, "plugins", [&](const YAML::Node& c, const std::string& p) {
    if (!c.IsSequence()) {
      add(p, "expected an array");
      return;
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
      parse_plugin(c[i], index_path(p, i), plugin_scope{index, std::nullopt, false});
    }
  });
}

// ------------------------------------------------------------------ routes

void loader::parse_route_paths(const YAML::Node& n, const std::string& path, route& r) {
  auto paths = get_strings(n, path, "expected an array");
  if (!paths) {
    return;
  }
  for (std::size_t i = 0; i < paths->size(); ++i) {
    const std::string& p = (*paths)[i];
    std::string ip = index_path(path, i);
    bool regex = p.rfind("~/", 0) == 0;
    if (p.front() != '/' && !regex) {
      add(ip, "should start with: / (fixed path) or ~/ (regex path)");
      continue;
    }
    if (p.find("//") != std::string::npos) {
      add(ip, "must not have empty segments");
      continue;
    }
    if (auto err = check_path_chars(p, regex)) {
      add(ip, *err);
      continue;
    }
    if (regex) {
      if (auto err = check_route_regex(std::string_view(p).substr(1))) {
        add(ip, "invalid regex: '" + p.substr(1) + "' (" + *err + ")");
        continue;
      }
    } else if (std::string norm = normalize_path(p); norm != p) {
      add(ip, "non-normalized path, consider use '" + norm + "' instead");
      continue;
    }
    r.paths.push_back(p);
  }
}

void loader::parse_route_headers(const YAML::Node& n, const std::string& path, route& r) {
  if (!n.IsMap()) {
    add(path, "expected a map");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
    std::string hp = key_path(path, name);
    if (!valid_header_name(name)) {
      add(hp, "bad header name '" + name + "', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
      continue;
    }
    std::string lname = name;
    std::transform(lname.begin(), lname.end(), lname.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lname == "host") {
      add(hp, "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
      continue;
    }
    auto values = get_strings(it->second, hp, "expected an array");
    if (!values) {
      continue;
    }
    bool ok = true;
    for (std::size_t i = 0; i < values->size(); ++i) {
      const std::string& v = (*values)[i];
      if (v.rfind("~*", 0) == 0) {
        if (auto err = check_route_regex(std::string_view(v).substr(2))) {
          add(index_path(hp, i), "invalid regex: '" + v.substr(2) + "' (" + *err + ")");
          ok = false;
        }
      }
    }
    if (ok) {
      auto& dst = r.headers[lname];
      dst.insert(dst.end(), values->begin(), values->end());
    }
  }
}

void loader::parse_route(const YAML::Node& n, const std::string& path,
                         std::optional<std::size_t> parent_service) {
  if (!check_record(n, path,
                    {"id",
                     "name",
                     "protocols",
                     "methods",
                     "hosts",
                     "paths",
                     "headers",
                     "https_redirect_status_code",
                     "regex_priority",
                     "strip_path",
                     "path_handling",
                     "preserve_host",
                     "request_buffering",
                     "response_buffering",
                     "snis",
                     "sources",
                     "destinations",
                     "tags",
                     "service",
                     "plugins",
                     "created_at",
                     "updated_at",
                     "expression",
                     "priority"})) {
    return;
  }
  std::size_t index = cfg_.routes.size();
  cfg_.routes.emplace_back();
  route_paths_.push_back(path);
  route_service_refs_.emplace_back();
  route r;
  r.service = parent_service;

  field(n, path, "name", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!valid_name(v->text)) {
        add(p, "invalid value '" + v->shown() +
                   "': the only accepted ascii characters are alphanumerics or ., -, _, and ~");
      } else if (!route_names_.emplace(v->text, index).second) {
        add(p, "uniqueness violation: 'routes' entity with name set to '" + v->shown() +
                   "' already declared");
      }
      r.name = v->text;
    }
  });
  field(n, path, "id", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!is_uuid(v->text)) {
        add(p, "expected a valid UUID");
      } else if (!route_ids_.emplace(v->text, index).second) {
        add(p, "uniqueness violation: 'routes' entity with primary key set to '" + v->shown() +
                   "' already declared");
      }
      r.id = v->text;
    }
  });
  if (r.id.empty()) {
    r.id = derived_uuid("aiproxy:route:" + (r.name.empty() ? path : r.name));
  }
  field(n, path, "service", [&](const YAML::Node& c, const std::string& p) {
    if (parent_service) {
      add(p, "cannot set 'service' on a route nested under a service");
      return;
    }
    route_service_refs_[index] = parse_reference(c, p, "service");
  });
  field(n, path, "protocols", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_strings(c, p, "expected a set");
    if (!v) {
      return;
    }
    if (v->empty()) {
      add(p, "length must be at least 1");
      return;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      if ((*v)[i] != "http" && (*v)[i] != "https") {
        add(index_path(p, i), "expected one of: http, https");
      }
    }
    r.protocols = *v;
  });
  field(n, path, "methods", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_strings(c, p, "expected a set");
    if (!v) {
      return;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      const std::string& m = (*v)[i];
      if (!std::all_of(m.begin(), m.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
        add(index_path(p, i), "invalid value: " + m);
      }
    }
    r.methods = *v;
  });
  field(n, path, "hosts", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_strings(c, p, "expected an array");
    if (!v) {
      return;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      std::string h = (*v)[i];
      if (auto err = check_route_host(h)) {
        add(index_path(p, i), *err);
        continue;
      }
      std::transform(h.begin(), h.end(), h.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      r.hosts.push_back(h);
    }
  });
  field(n, path, "paths",
        [&](const YAML::Node& c, const std::string& p) { parse_route_paths(c, p, r); });
  field(n, path, "headers",
        [&](const YAML::Node& c, const std::string& p) { parse_route_headers(c, p, r); });
  auto boolean = [&](std::string_view key, bool& out) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) {
      if (auto v = get_bool(c, p)) {
        out = *v;
      }
    });
  };
  boolean("strip_path", r.strip_path);
  boolean("preserve_host", r.preserve_host);
  boolean("request_buffering", r.request_buffering);
  boolean("response_buffering", r.response_buffering);
  field(n, path, "regex_priority", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_int(c, p)) {
      r.regex_priority = *v;
    }
  });
  field(n, path, "path_handling", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_one_of(c, p, {"v0", "v1"})) {
      r.path_handling = *v;
    }
  });
  field(n, path, "https_redirect_status_code", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_int(c, p)) {
      if (*v != 426 && *v != 301 && *v != 302 && *v != 307 && *v != 308) {
        add(p, "expected one of: 426, 301, 302, 307, 308");
      } else {
        r.https_redirect_status_code = *v;
      }
    }
  });
  for (std::string_view k : {"snis", "sources", "destinations"}) {
    if (non_empty(child(n, k))) {
      add(key_path(path, k),
          "not supported by aiproxy: routes match on methods, hosts, "
          "headers and paths");
    }
  }
  for (std::string_view k : {"expression", "priority"}) {
    auto c = child(n, k);
    if (present(c) && !(k == "priority" && c->IsScalar() && c->Scalar() == "0")) {
      add(key_path(path, k),
          "not supported by aiproxy: it uses the traditional_compatible "
          "router (no expressions)");
    }
  }
  field(n, path, "tags",
        [&](const YAML::Node& c, const std::string& p) { parse_tags(c, p, r.tags); });

  bool https = std::find(r.protocols.begin(), r.protocols.end(), "https") != r.protocols.end();
  bool any_criteria = present(child(n, "methods")) || present(child(n, "hosts")) ||
                      present(child(n, "headers")) || present(child(n, "paths"));
  if (!any_criteria) {
    add(path, https ? "must set one of " +
                          quoted_list({"methods", "hosts", "headers", "paths", "snis"}) +
                          " when 'protocols' is 'https'"
                    : "must set one of " + quoted_list({"methods", "hosts", "headers", "paths"}) +
                          " when 'protocols' is 'http'");
  }
  cfg_.routes[index] = std::move(r);

  field(n, path, "plugins", [&](const YAML::Node& c, const std::string& p) {
    if (!c.IsSequence()) {
      add(p, "expected an array");
      return;
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
      parse_plugin(c[i], index_path(p, i), plugin_scope{std::nullopt, index, false});
    }
  });
}

// ------------------------------------------------------------------ consumers

void loader::parse_consumer(const YAML::Node& n, const std::string& path) {
  static constexpr std::string_view credentials[] = {
      "keyauth_credentials",  "basicauth_credentials", "jwt_secrets",           "acls",
      "hmacauth_credentials", "oauth2_credentials",    "mtls_auth_credentials", "groups"};
  if (!n.IsMap()) {
    add(path, "expected a record");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
    static const std::set<std::string> known = {"id",      "username",   "custom_id", "tags",
                                                "plugins", "created_at", "updated_at"};
    if (known.count(key) != 0) {
      continue;
    }
    if (std::find(std::begin(credentials), std::end(credentials), key) != std::end(credentials)) {
      if (non_empty(std::optional<YAML::Node>(it->second))) {
        add(key_path(path, key),
            "not supported by aiproxy: consumers are accepted but not "
            "authenticated");
      }
      continue;
    }
    add(key_path(path, key), "unknown field");
  }
  bool any = false;
  for (std::string_view k : {"username", "custom_id"}) {
    field(n, path, k, [&](const YAML::Node& c, const std::string& p) {
      if (auto v = get_string(c, p)) {
        any = true;
        if (!consumer_keys_.insert(std::string(k) + ":" + v->text).second) {
          add(p, "uniqueness violation: 'consumers' entity with " + std::string(k) + " set to '" +
                     v->shown() + "' already declared");
        }
      }
    });
  }
  if (!any) {
    add(path, "at least one of these fields must be non-empty: " +
                  quoted_list({"custom_id", "username"}));
  }
  field(n, path, "id", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p); v && !is_uuid(v->text)) {
      add(p, "expected a valid UUID");
    }
  });
  std::vector<std::string> tags;
  field(n, path, "tags",
        [&](const YAML::Node& c, const std::string& p) { parse_tags(c, p, tags); });
  field(n, path, "plugins", [&](const YAML::Node& c, const std::string& p) {
    if (!c.IsSequence()) {
      add(p, "expected an array");
      return;
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
      parse_plugin(c[i], index_path(p, i), plugin_scope{std::nullopt, std::nullopt, true});
    }
  });
}

// ------------------------------------------------------------------ plugins

constexpr std::string_view consumer_scoped =
    "consumer-scoped plugins are not supported: aiproxy does not identify consumers";

void loader::parse_plugin(const YAML::Node& n, const std::string& path, plugin_scope scope) {
  if (!check_record(
          n, path,
          {"id", "name", "instance_name", "enabled", "config", "route", "service", "consumer",
           "consumer_group", "protocols", "tags", "ordering", "created_at", "updated_at"})) {
    return;
  }
  if (scope.consumer) {
    add(path, std::string(consumer_scoped));
    return;
  }
  for (std::string_view k : {"consumer", "consumer_group"}) {
    if (present(child(n, k))) {
      add(key_path(path, k), std::string(consumer_scoped));
    }
  }
  if (present(child(n, "ordering"))) {
    add(key_path(path, "ordering"),
        "not supported by aiproxy: plugins run in their fixed priority order");
  }

  plugin_instance pl;
  pl.source_path = path;
  pl.service = scope.service;
  pl.route = scope.route;
  std::optional<reference> route_ref;
  std::optional<reference> service_ref;

  auto name_node = child(n, "name");
  std::string name;
  if (!present(name_node)) {
    add(key_path(path, "name"), "required field missing");
  } else if (auto v = get_string(*name_node, key_path(path, "name"))) {
    name = v->text;
    if (name != "ai-proxy" && name != "ai-proxy-advanced" && name != "file-log") {
      add(key_path(path, "name"), "plugin '" + v->shown() +
                                      "' is not available in aiproxy (available: ai-proxy, "
                                      "ai-proxy-advanced, file-log)");
      name.clear();
    }
  }
  pl.name = name;

  field(n, path, "id", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!is_uuid(v->text)) {
        add(p, "expected a valid UUID");
      } else if (auto [it, fresh] = plugin_ids_.emplace(v->text, path); !fresh) {
        add(p, "uniqueness violation: 'plugins' entity with primary key set to '" + v->shown() +
                   "' already declared");
      }
      pl.id = v->text;
    }
  });
  if (pl.id.empty()) {
    pl.id = derived_uuid("aiproxy:plugin:" + path);
  }
  field(n, path, "instance_name", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!valid_name(v->text)) {
        add(p, "invalid value '" + v->shown() +
                   "': the only accepted ascii characters are alphanumerics or ., -, _, and ~");
      } else if (!plugin_instance_names_.insert(v->text).second) {
        add(p, "uniqueness violation: 'plugins' entity with instance_name set to '" + v->shown() +
                   "' already declared");
      }
      pl.instance_name = v->text;
    }
  });
  field(n, path, "enabled", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_bool(c, p)) {
      pl.enabled = *v;
    }
  });
  field(n, path, "protocols", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_strings(c, p, "expected a set");
    if (!v) {
      return;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      if ((*v)[i] != "http" && (*v)[i] != "https") {
        add(index_path(p, i), "expected one of: http, https");
      }
    }
    pl.protocols = *v;
  });
  field(n, path, "tags",
        [&](const YAML::Node& c, const std::string& p) { parse_tags(c, p, pl.tags); });
  field(n, path, "route", [&](const YAML::Node& c, const std::string& p) {
    if (scope.route) {
      add(p, "cannot set 'route' on a plugin nested under a route");
      return;
    }
    route_ref = parse_reference(c, p, "route");
  });
  field(n, path, "service", [&](const YAML::Node& c, const std::string& p) {
    if (scope.service) {
      add(p, "cannot set 'service' on a plugin nested under a service");
      return;
    }
    service_ref = parse_reference(c, p, "service");
  });

  std::string config_path = key_path(path, "config");
  auto config = child(n, "config");
  YAML::Node empty_map(YAML::NodeType::Map);
  const YAML::Node& cfg_node = present(config) ? *config : empty_map;
  if (name == "ai-proxy") {
    pl.config = parse_ai_proxy(cfg_node, config_path);
  } else if (name == "ai-proxy-advanced") {
    auto adv = parse_ai_proxy_advanced(cfg_node, config_path);
    adv.fingerprint = balancer_fingerprint(adv);
    pl.config = std::move(adv);
  } else if (name == "file-log") {
    pl.config = parse_file_log(cfg_node, config_path);
  }
  cfg_.plugins.push_back(std::move(pl));
  plugin_route_refs_.push_back(std::move(route_ref));
  plugin_service_refs_.push_back(std::move(service_ref));
}

file_log_config loader::parse_file_log(const YAML::Node& n, const std::string& path) {
  file_log_config c;
  if (!check_record(n, path, {"path", "reopen", "custom_fields_by_lua"})) {
    return c;
  }
  auto p = child(n, "path");
  if (!present(p)) {
    add(key_path(path, "path"), "required field missing");
  } else if (auto v = get_string(*p, key_path(path, "path"))) {
    if (!valid_log_filename(v->text)) {
      add(key_path(path, "path"), "not a valid filename");
    }
    c.path = v->text;
  }
  field(n, path, "reopen", [&](const YAML::Node& x, const std::string& xp) {
    if (auto v = get_bool(x, xp)) {
      c.reopen = *v;
    }
  });
  if (non_empty(child(n, "custom_fields_by_lua"))) {
    add(key_path(path, "custom_fields_by_lua"), "not supported: aiproxy runs no Lua");
  }
  return c;
}

// ------------------------------------------------------------------ ai-proxy

constexpr std::string_view templates_in_auth = "templates are not allowed in auth fields";

void loader::parse_auth(const YAML::Node& n, const std::string& path, auth_config& a) {
  if (!check_record(n, path,
                    {"header_name", "header_value", "param_name", "param_value", "param_location",
                     "allow_override", "gcp_use_service_account", "gcp_service_account_json",
                     "aws_access_key_id", "aws_secret_access_key", "azure_use_managed_identity",
                     "azure_client_id", "azure_client_secret", "azure_tenant_id"})) {
    return;
  }
  auto str = [&](std::string_view key, std::string& out) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) {
      if (auto v = get_string(c, p)) {
        if (has_placeholders(v->text)) {
          add(p, std::string(templates_in_auth));
        }
        out = std::move(v->text);
      }
    });
  };
  auto flag = [&](std::string_view key, bool& out) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) {
      if (auto v = get_bool(c, p)) {
        out = *v;
      }
    });
  };
  str("header_name", a.header_name);
  str("header_value", a.header_value);
  str("param_name", a.param_name);
  str("param_value", a.param_value);
  field(n, path, "param_location", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_one_of(c, p, {"query", "body"})) {
      a.param_location = *v == "query" ? param_location::query : param_location::body;
    }
  });
  flag("allow_override", a.allow_override);
  flag("gcp_use_service_account", a.gcp_use_service_account);
  str("gcp_service_account_json", a.gcp_service_account_json);
  str("aws_access_key_id", a.aws_access_key_id);
  str("aws_secret_access_key", a.aws_secret_access_key);
  flag("azure_use_managed_identity", a.azure_use_managed_identity);
  str("azure_client_id", a.azure_client_id);
  str("azure_client_secret", a.azure_client_secret);
  str("azure_tenant_id", a.azure_tenant_id);
}

void loader::parse_model_options(const YAML::Node& n, const std::string& path, model_options& o,
                                 bool& azure_api_version_null, bool& mock_set) {
  if (!check_record(n, path,
                    {"max_tokens",
                     "input_cost",
                     "output_cost",
                     "temperature",
                     "top_p",
                     "top_k",
                     "anthropic_version",
                     "azure_instance",
                     "azure_api_version",
                     "azure_deployment_id",
                     "llama2_format",
                     "mistral_format",
                     "upstream_url",
                     "upstream_path",
                     "embeddings_dimensions",
                     "gemini",
                     "bedrock",
                     "huggingface",
                     "cohere",
                     "mock"})) {
    return;
  }
  auto integer = [&](std::string_view key, std::optional<std::int64_t>& out) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) { out = get_int(c, p); });
  };
  auto number = [&](std::string_view key, std::optional<double>& out) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) { out = get_number(c, p); });
  };
  auto str = [&](const YAML::Node& rec, const std::string& rec_path, std::string_view key,
                 std::string& out) {
    field(rec, rec_path, key, [&](const YAML::Node& c, const std::string& p) {
      if (auto v = get_string(c, p)) {
        if (auto err = check_template(v->text)) {
          add(p, v->secret ? "cannot parse a placeholder" : *err);
        }
        out = std::move(v->text);
      }
    });
  };
  auto one_of = [&](std::string_view key, std::string& out,
                    std::initializer_list<std::string_view> values) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) {
      if (auto v = get_one_of(c, p, values)) {
        out = *v;
      }
    });
  };

  integer("max_tokens", o.max_tokens);
  number("input_cost", o.input_cost);
  number("output_cost", o.output_cost);
  for (auto [key, v] : {std::pair{"input_cost", &o.input_cost}, {"output_cost", &o.output_cost}}) {
    if (*v && **v <= 0) {
      add(key_path(path, key), "value must be greater than 0");
      v->reset();
    }
  }
  number("temperature", o.temperature);
  if (o.temperature && (*o.temperature < 0 || *o.temperature > 5)) {
    add(key_path(path, "temperature"), "value should be between 0 and 5");
  }
  number("top_p", o.top_p);
  if (o.top_p && (*o.top_p < 0 || *o.top_p > 1)) {
    add(key_path(path, "top_p"), "value should be between 0 and 1");
  }
  integer("top_k", o.top_k);
  check_between(o.top_k, 0, 500, key_path(path, "top_k"));
  integer("embeddings_dimensions", o.embeddings_dimensions);
  if (o.embeddings_dimensions && *o.embeddings_dimensions <= 0) {
    add(key_path(path, "embeddings_dimensions"), "value must be greater than 0");
  }
  str(n, path, "anthropic_version", o.anthropic_version);
  str(n, path, "azure_instance", o.azure_instance);
  auto api_version = child(n, "azure_api_version");
  azure_api_version_null = api_version.has_value() && api_version->IsNull();
  str(n, path, "azure_api_version", o.azure_api_version);
  str(n, path, "azure_deployment_id", o.azure_deployment_id);
  one_of("llama2_format", o.llama2_format, {"raw", "openai", "ollama"});
  one_of("mistral_format", o.mistral_format, {"openai", "ollama"});
  field(n, path, "upstream_url", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_string(c, p);
    if (!v) {
      return;
    }
    o.upstream_url = v->text;
    if (auto err = check_template(v->text)) {
      add(p, v->secret ? "cannot parse a placeholder" : *err);
      return;
    }
    auto parsed = boost::urls::parse_uri(v->text);
    if (!parsed) {
      add(p, "could not parse url");
      return;
    }
    if (!parsed->has_authority() || parsed->encoded_host().empty()) {
      add(p, "missing host in url");
      return;
    }
    if (parsed->scheme() != "http" && parsed->scheme() != "https") {
      add(p, "expected an http or https url");
      return;
    }
    if (auto err = check_url_template(v->text)) {
      add(p, *err);
    }
  });
  str(n, path, "upstream_path", o.upstream_path);

  field(n, path, "gemini", [&](const YAML::Node& c, const std::string& p) {
    if (!check_record(c, p, {"api_endpoint", "project_id", "location_id", "endpoint_id"})) {
      return;
    }
    str(c, p, "api_endpoint", o.gemini.api_endpoint);
    str(c, p, "project_id", o.gemini.project_id);
    str(c, p, "location_id", o.gemini.location_id);
    str(c, p, "endpoint_id", o.gemini.endpoint_id);
    if (auto err = check_host_template(o.gemini.api_endpoint)) {
      add(key_path(p, "api_endpoint"), *err);
    }
    int set = !o.gemini.api_endpoint.empty() + !o.gemini.project_id.empty() +
              !o.gemini.location_id.empty();
    if (set != 0 && set != 3) {
      add(p, "all or none of these fields must be set: " +
                 quoted_list({"api_endpoint", "project_id", "location_id"}));
    }
  });
  field(n, path, "bedrock", [&](const YAML::Node& c, const std::string& p) {
    if (!check_record(
            c, p,
            {"aws_region", "aws_assume_role_arn", "aws_role_session_name", "aws_sts_endpoint_url",
             "embeddings_normalize", "performance_config_latency"})) {
      return;
    }
    str(c, p, "aws_region", o.bedrock.aws_region);
    str(c, p, "aws_assume_role_arn", o.bedrock.aws_assume_role_arn);
    str(c, p, "aws_role_session_name", o.bedrock.aws_role_session_name);
    str(c, p, "aws_sts_endpoint_url", o.bedrock.aws_sts_endpoint_url);
    str(c, p, "performance_config_latency", o.bedrock.performance_config_latency);
    field(c, p, "embeddings_normalize", [&](const YAML::Node& x, const std::string& xp) {
      if (auto v = get_bool(x, xp)) {
        o.bedrock.embeddings_normalize = *v;
      }
    });
  });
  field(n, path, "huggingface", [&](const YAML::Node& c, const std::string& p) {
    if (!check_record(c, p, {"use_cache", "wait_for_model"})) {
      return;
    }
    field(c, p, "use_cache", [&](const YAML::Node& x, const std::string& xp) {
      o.huggingface.use_cache = get_bool(x, xp);
    });
    field(c, p, "wait_for_model", [&](const YAML::Node& x, const std::string& xp) {
      o.huggingface.wait_for_model = get_bool(x, xp);
    });
  });
  field(n, path, "cohere", [&](const YAML::Node& c, const std::string& p) {
    if (!check_record(c, p, {"embedding_input_type", "wait_for_model"})) {
      return;
    }
    field(c, p, "embedding_input_type", [&](const YAML::Node& x, const std::string& xp) {
      if (auto v = get_one_of(
              x, xp,
              {"classification", "clustering", "image", "search_document", "search_query"})) {
        o.cohere.embedding_input_type = *v;
      }
    });
    field(c, p, "wait_for_model", [&](const YAML::Node& x, const std::string& xp) {
      o.cohere.wait_for_model = get_bool(x, xp);
    });
  });
  field(n, path, "mock", [&](const YAML::Node& c, const std::string& p) {
    mock_set = true;
    if (!check_record(c, p, {"latency_ms", "chunk_delay_ms", "reply"})) {
      return;
    }
    auto ms = [&](std::string_view key, std::int64_t& out) {
      field(c, p, key, [&](const YAML::Node& x, const std::string& xp) {
        if (auto v = get_int(x, xp)) {
          if (*v < 0) {
            add(xp, "value must be greater than or equal to 0");
          } else {
            out = *v;
          }
        }
      });
    };
    ms("latency_ms", o.mock.latency_ms);
    ms("chunk_delay_ms", o.mock.chunk_delay_ms);
    str(c, p, "reply", o.mock.reply);
  });
}

constexpr std::string_view provider_names[] = {"openai",      "azure",  "anthropic", "cohere",
                                               "mistral",     "llama2", "gemini",    "bedrock",
                                               "huggingface", "mock"};

void loader::parse_model(const YAML::Node& n, const std::string& path, model_config& m,
                         target_flags& flags, std::optional<scalar>* model_alias) {
  if (!check_record(n, path, {"provider", "name", "options", "model_alias"})) {
    return;
  }
  auto provider = child(n, "provider");
  std::string provider_path = key_path(path, "provider");
  if (!present(provider)) {
    add(provider_path, "required field missing");
  } else if (auto v = get_string(*provider, provider_path)) {
    if (has_placeholders(v->text)) {
      add(provider_path, "templates are not allowed in model.provider");
    } else {
      auto it = std::find(std::begin(provider_names), std::end(provider_names), v->text);
      if (it == std::end(provider_names)) {
        add(provider_path, "expected one of: " + plain_list(provider_names));
      } else {
        m.provider = static_cast<provider_kind>(it - std::begin(provider_names));
        flags.provider_ok = true;
      }
    }
  }
  field(n, path, "name", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (auto err = check_template(v->text)) {
        add(p, v->secret ? "cannot parse a placeholder" : *err);
      }
      m.name = v->text;
    }
  });
  // Kong 3.14: model.model_alias. Used by ai-proxy-advanced targets; accepted and unused by
  // ai-proxy, whose schema shares the record.
  field(n, path, "model_alias", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p); v && model_alias != nullptr) {
      *model_alias = std::move(v);
    }
  });
  bool mock_set = false;
  field(n, path, "options", [&](const YAML::Node& c, const std::string& p) {
    parse_model_options(c, p, m.options, flags.azure_api_version_null, mock_set);
  });
  if (flags.provider_ok && mock_set && m.provider != provider_kind::mock) {
    add(key_path(path, "options.mock"), "only used by the 'mock' provider");
  }
}

bool loader::parse_route_type(const YAML::Node& n, const std::string& path, ai_proxy_config& c) {
  auto rt = child(n, "route_type");
  std::string rt_path = key_path(path, "route_type");
  if (!present(rt)) {
    add(rt_path, "required field missing");
    return false;
  }
  auto v = get_string(*rt, rt_path);
  if (!v) {
    return false;
  }
  static const std::vector<std::pair<std::string_view, route_type>> types = {
      {"llm/v1/chat", route_type::llm_v1_chat},
      {"llm/v1/completions", route_type::llm_v1_completions},
      {"llm/v1/embeddings", route_type::llm_v1_embeddings},
      {"llm/v1/responses", route_type::llm_v1_responses},
      {"llm/v1/files", route_type::llm_v1_files},
      {"llm/v1/batches", route_type::llm_v1_batches},
      {"llm/v1/assistants", route_type::llm_v1_assistants},
      {"audio/v1/audio/speech", route_type::audio_v1_audio_speech},
      {"audio/v1/audio/transcriptions", route_type::audio_v1_audio_transcriptions},
      {"audio/v1/audio/translations", route_type::audio_v1_audio_translations},
      {"image/v1/images/generations", route_type::image_v1_images_generations},
      {"image/v1/images/edits", route_type::image_v1_images_edits},
      {"video/v1/videos/generations", route_type::video_v1_videos_generations},
      {"realtime/v1/realtime", route_type::realtime_v1_realtime},
  };
  for (const auto& [name, type] : types) {
    if (v->text == name) {
      c.route_type = type;
      return true;
    }
  }
  if (v->text == "preserve") {
    add(rt_path,
        "route_type 'preserve' is not available in aiproxy: use llm_format for a provider's "
        "native API, or a route with a service and no ai-proxy for a plain proxy");
  } else {
    std::string all;
    for (const auto& [name, type] : types) {
      all += (all.empty() ? "" : ", ") + std::string(name);
    }
    add(rt_path, "expected one of: " + all);
  }
  return false;
}

loader::target_flags loader::parse_target_fields(const YAML::Node& n, const std::string& path,
                                                 ai_proxy_config& c,
                                                 std::optional<scalar>* model_alias) {
  target_flags flags;
  flags.route_type_ok = parse_route_type(n, path, c);
  field(n, path, "auth",
        [&](const YAML::Node& x, const std::string& p) { parse_auth(x, p, c.auth); });
  auto model = child(n, "model");
  if (!present(model)) {
    add(key_path(path, "model"), "required field missing");
  } else {
    parse_model(*model, key_path(path, "model"), c.model, flags, model_alias);
  }
  field(n, path, "logging", [&](const YAML::Node& x, const std::string& p) {
    if (!check_record(x, p, {"log_statistics", "log_payloads"})) {
      return;
    }
    for (auto [key, out] : {std::pair{"log_statistics", &c.logging.log_statistics},
                            {"log_payloads", &c.logging.log_payloads}}) {
      field(x, p, key, [&, out = out](const YAML::Node& y, const std::string& yp) {
        if (auto v = get_bool(y, yp)) {
          *out = *v;
        }
      });
    }
  });
  return flags;
}

constexpr std::string_view genai_names[] = {
    "text/generation",  "text/embeddings",  "audio/speech",       "audio/transcription",
    "image/generation", "video/generation", "realtime/generation"};

loader::plugin_flags loader::parse_plugin_fields(const YAML::Node& n, const std::string& path,
                                                 ai_proxy_config& c) {
  plugin_flags flags;
  field(n, path, "response_streaming", [&](const YAML::Node& x, const std::string& p) {
    if (auto v = get_one_of(x, p, {"allow", "deny", "always"})) {
      c.response_streaming = *v == "allow"  ? streaming_policy::allow
                             : *v == "deny" ? streaming_policy::deny
                                            : streaming_policy::always;
    }
  });
  field(n, path, "max_request_body_size", [&](const YAML::Node& x, const std::string& p) {
    if (auto v = get_int(x, p)) {
      if (*v < 0) {
        add(p, "value must be greater than or equal to 0");
      } else {
        c.max_request_body_size = *v;
      }
    }
  });
  field(n, path, "model_name_header", [&](const YAML::Node& x, const std::string& p) {
    if (auto v = get_bool(x, p)) {
      c.model_name_header = *v;
    }
  });
  field(n, path, "normalize_errors", [&](const YAML::Node& x, const std::string& p) {
    if (auto v = get_bool(x, p)) {
      c.normalize_errors = *v;
    }
  });
  field(n, path, "llm_format", [&](const YAML::Node& x, const std::string& p) {
    if (auto v = get_one_of(
            x, p, {"openai", "anthropic", "bedrock", "cohere", "gemini", "huggingface"})) {
      c.llm_format = *v;
    } else {
      flags.llm_format_ok = false;
    }
  });
  field(n, path, "model_options_precedence", [&](const YAML::Node& x, const std::string& p) {
    if (auto v = get_one_of(x, p, {"request", "config"})) {
      c.precedence = *v == "request" ? options_precedence::request : options_precedence::config;
    }
  });
  field(n, path, "genai_category", [&](const YAML::Node& x, const std::string& p) {
    auto v = get_string(x, p);
    if (!v) {
      return;
    }
    auto it = std::find(std::begin(genai_names), std::end(genai_names), v->text);
    if (it == std::end(genai_names)) {
      add(p, "expected one of: " + plain_list(genai_names));
      return;
    }
    flags.genai = static_cast<genai_category>(it - std::begin(genai_names));
  });
  return flags;
}

void loader::finish_ai_proxy(ai_proxy_config& c, const check_paths& where, const target_flags& tf,
                             const plugin_flags& pf) {
  const model_options& o = c.model.options;
  c.has_templates =
      has_placeholders(c.model.name) || has_placeholders(o.anthropic_version) ||
      has_placeholders(o.azure_instance) || has_placeholders(o.azure_api_version) ||
      has_placeholders(o.azure_deployment_id) || has_placeholders(o.upstream_url) ||
      has_placeholders(o.upstream_path) || has_placeholders(o.mock.reply) ||
      has_placeholders(o.gemini.api_endpoint) || has_placeholders(o.gemini.project_id) ||
      has_placeholders(o.gemini.location_id) || has_placeholders(o.gemini.endpoint_id) ||
      has_placeholders(o.bedrock.aws_region) || has_placeholders(o.bedrock.aws_assume_role_arn) ||
      has_placeholders(o.bedrock.aws_role_session_name) ||
      has_placeholders(o.bedrock.aws_sts_endpoint_url) ||
      has_placeholders(o.bedrock.performance_config_latency);
  bedrock_region_from_env(c.model);

  c.genai_category = pf.genai.value_or(implied_category(c.route_type));
  if (pf.genai && tf.route_type_ok && !category_fits(c.route_type, *pf.genai)) {
    add(key_path(where.plugin, "genai_category"),
        "genai_category '" + std::string(to_string(*pf.genai)) + "' does not match route_type '" +
            std::string(to_string(c.route_type)) + "' (expected " +
            std::string(to_string(implied_category(c.route_type))) + ")" + where.note);
  }
  if (tf.provider_ok) {
    check_ai_proxy(c, where, tf.azure_api_version_null, !(tf.route_type_ok && pf.llm_format_ok));
  }
}

void loader::bedrock_region_from_env(model_config& m) {
  // Bedrock's region, like the AWS SDKs: the option, else AWS_REGION, else AWS_DEFAULT_REGION.
  if (m.provider == provider_kind::bedrock && m.options.bedrock.aws_region.empty()) {
    for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
      if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
        m.options.bedrock.aws_region = v;
        break;
      }
    }
  }
}

ai_proxy_config loader::parse_ai_proxy(const YAML::Node& n, const std::string& path) {
  ai_proxy_config c;
  if (!check_record(n, path,
                    {"route_type", "auth", "model", "logging", "response_streaming",
                     "max_request_body_size", "model_name_header", "llm_format",
                     "model_options_precedence", "genai_category", "normalize_errors"})) {
    return c;
  }
  target_flags tf = parse_target_fields(n, path, c, nullptr);
  plugin_flags pf = parse_plugin_fields(n, path, c);
  finish_ai_proxy(c, check_paths{path, path, ""}, tf, pf);
  return c;
}

void loader::check_ai_proxy(const ai_proxy_config& c, const check_paths& where,
                            bool azure_api_version_null, bool partial) {
  const std::string& path = where.target;
  const std::string auth = key_path(path, "auth");
  const std::string options = key_path(path, "model.options");
  const provider_kind p = c.model.provider;
  const auth_config& a = c.auth;
  const model_options& o = c.model.options;

  if ((p == provider_kind::bedrock || p == provider_kind::gemini) && a.allow_override) {
    add(key_path(auth, "allow_override"),
        "bedrock and gemini only support auth.allow_override = false");
  }
  if (a.header_name.empty() != a.header_value.empty()) {
    add(key_path(auth, a.header_name.empty() ? "header_name" : "header_value"),
        "all or none of these fields must be set: " +
            quoted_list({"auth.header_name", "auth.header_value"}));
  }
  int params =
      !a.param_name.empty() + !a.param_value.empty() + (a.param_location != param_location::none);
  if (params != 0 && params != 3) {
    std::string_view missing = a.param_name.empty()    ? "param_name"
                               : a.param_value.empty() ? "param_value"
                                                       : "param_location";
    add(key_path(auth, missing),
        "all or none of these fields must be set: " +
            quoted_list({"auth.param_name", "auth.param_value", "auth.param_location"}));
  }
  auto require = [&](bool ok, std::string_view option, std::string_view provider) {
    if (!ok) {
      add(key_path(options, option), "must set 'model.options." + std::string(option) + "' for " +
                                         std::string(provider) + " provider");
    }
  };
  if (p == provider_kind::llama2) {
    require(!o.llama2_format.empty(), "llama2_format", "llama2");
  }
  if (p == provider_kind::mistral) {
    require(!o.mistral_format.empty(), "mistral_format", "mistral");
  }
  if (p == provider_kind::anthropic) {
    require(!o.anthropic_version.empty(), "anthropic_version", "anthropic");
  }
  if (p == provider_kind::bedrock && o.bedrock.aws_region.empty()) {
    add(key_path(options, "bedrock.aws_region"),
        "must set 'model.options.bedrock.aws_region' for bedrock provider, or AWS_REGION in "
        "the environment");
  }
  if (p == provider_kind::azure) {
    require(!o.azure_instance.empty(), "azure_instance", "azure");
    require(!o.azure_api_version.empty() || !azure_api_version_null, "azure_api_version", "azure");
    require(!o.azure_deployment_id.empty(), "azure_deployment_id", "azure");
  }
  if (p == provider_kind::llama2 && o.upstream_url.empty()) {
    add(key_path(options, "upstream_url"),
        "must set 'model.options.upstream_url' for self-hosted providers/models");
  }
  if (partial) {
    return;  // route_type or llm_format is invalid: the checks below depend on them
  }
  if (!provider_offers(p, c.route_type)) {
    std::string offered;
    for (provider_kind q : providers_offering(c.route_type)) {
      offered += (offered.empty() ? "" : ", ") + std::string(to_string(q));
    }
    std::string message = "provider " + std::string(to_string(p)) + " does not offer route_type " +
                          std::string(to_string(c.route_type)) +
                          " in aiproxy (providers for it: " + offered + ")";
    if (p == provider_kind::mock) {
      message +=
          "; the mock provider answers llm/v1/chat, llm/v1/completions and "
          "llm/v1/embeddings only";
    }
    add(key_path(path, "route_type"), message);
  }
  if (p == provider_kind::azure && c.route_type == route_type::llm_v1_responses &&
      !o.azure_api_version.empty() && o.azure_api_version != "preview" &&
      !has_placeholders(o.azure_api_version)) {
    add(key_path(options, "azure_api_version"),
        "the Azure Responses API (route_type llm/v1/responses) needs "
        "'model.options.azure_api_version' = 'preview' (leave it unset to get it)");
  }
  if (p == provider_kind::mistral && c.route_type == route_type::llm_v1_completions &&
      o.upstream_url.empty()) {
    add(key_path(options, "upstream_url"),
        "must set 'model.options.upstream_url' for mistral provider when route_type is "
        "llm/v1/completions (Mistral has no default completions endpoint)");
  }
  if (c.logging.log_statistics && p == provider_kind::anthropic &&
      c.route_type == route_type::llm_v1_completions) {
    add(key_path(path, "logging.log_statistics"),
        "anthropic does not support statistics when route_type is llm/v1/completions");
  }
  if (c.llm_format != "openai") {
    const std::string llm_format = key_path(where.plugin, "llm_format");
    if (c.route_type != route_type::llm_v1_chat) {
      add(llm_format,
          "native provider options in llm_format can only be used with the 'llm/v1/chat' "
          "route_type" +
              where.note);
    }
    if (c.llm_format != to_string(p)) {
      add(llm_format, "native llm_format '" + c.llm_format + "' can only be used with the '" +
                          c.llm_format + "' model.provider" + where.note);
    }
  }
  if (auto reason = not_yet_supported(c)) {
    add(path, *reason);
  }
}

// ------------------------------------------------------------------ ai-proxy-advanced

constexpr std::int64_t max_ms = 2147483646;

redis_config loader::parse_redis(const YAML::Node& n, const std::string& path) {
  redis_config r;
  if (!check_record(n, path,
                    {"host",
                     "port",
                     "username",
                     "password",
                     "database",
                     "timeout",
                     "sync_interval",
                     "connect_timeout",
                     "read_timeout",
                     "send_timeout",
                     "ssl",
                     "ssl_verify",
                     "server_name",
                     "keepalive_pool_size",
                     "keepalive_backlog",
                     "connection_is_proxied",
                     "cluster_max_redirections",
                     "sentinel_master",
                     "sentinel_role",
                     "sentinel_nodes",
                     "sentinel_username",
                     "sentinel_password",
                     "cluster_nodes",
                     "cloud_authentication"})) {
    return r;
  }
  field(n, path, "host", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!valid_hostname(v->text)) {
        add(p, "invalid value: " + v->shown());
      }
      r.host = v->text;
    }
  });
  field(n, path, "port", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_int(c, p);
    check_between(v, 1, 65535, p);
    if (v) {
      r.port = *v;
    }
  });
  field(n, path, "username", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      r.username = v->text;
    }
  });
  field(n, path, "password", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {  // a secret: no message below may show it
      r.password = v->text;
    }
  });
  field(n, path, "database", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_int(c, p)) {
      if (*v < 0) {
        add(p, "value must be greater than or equal to 0");
      } else {
        r.database = *v;
      }
    }
  });
  // aiproxy has one Redis timeout; Kong's connect/send/read timeouts map onto it (the largest).
  std::optional<std::int64_t> timeout;
  for (std::string_view key : {"timeout", "connect_timeout", "send_timeout", "read_timeout"}) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) {
      auto v = get_int(c, p);
      check_between(v, 1, max_ms, p);
      if (v && *v >= 1 && *v <= max_ms) {
        timeout = std::max(timeout.value_or(0), *v);
      }
    });
  }
  if (timeout) {
    r.timeout_ms = *timeout;
  }
  field(n, path, "sync_interval", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_int(c, p);
    check_between(v, 1, max_ms, p);
    if (v) {
      r.sync_interval_ms = *v;
    }
  });
  field(n, path, "ssl", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_bool(c, p); v && *v) {
      add(p, "not supported by aiproxy: it connects to Redis without TLS");
    }
  });
  for (std::string_view key : {"ssl_verify", "connection_is_proxied"}) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) { get_bool(c, p); });
  }
  field(n, path, "server_name",
        [&](const YAML::Node& c, const std::string& p) { get_string(c, p); });
  field(n, path, "keepalive_pool_size", [&](const YAML::Node& c, const std::string& p) {
    check_between(get_int(c, p), 1, max_ms, p);
  });
  field(n, path, "keepalive_backlog", [&](const YAML::Node& c, const std::string& p) {
    check_between(get_int(c, p), 0, max_ms, p);
  });
  field(n, path, "cluster_max_redirections",
        [&](const YAML::Node& c, const std::string& p) { get_int(c, p); });
  for (std::string_view key :
       {"sentinel_master", "sentinel_role", "sentinel_nodes", "sentinel_username",
        "sentinel_password", "cluster_nodes", "cloud_authentication"}) {
    if (non_empty(child(n, key))) {
      add(key_path(path, key),
          "not supported by aiproxy: it uses one Redis server (host, port), without sentinel, "
          "cluster or cloud authentication");
    }
  }
  return r;
}

void loader::parse_balancer(const YAML::Node& n, const std::string& path, balancer_config& b) {
  if (!check_record(n, path,
                    {"algorithm", "retries", "failover_criteria", "connect_timeout", "read_timeout",
                     "write_timeout", "hash_on_header", "latency_strategy", "tokens_count_strategy",
                     "slots", "max_fails", "fail_timeout"})) {
    return;
  }
  field(n, path, "algorithm", [&](const YAML::Node& c, const std::string& p) {
    static constexpr std::pair<std::string_view, balancer_algorithm> names[] = {
        {"round-robin", balancer_algorithm::round_robin},
        {"consistent-hashing", balancer_algorithm::consistent_hashing},
        {"least-connections", balancer_algorithm::least_connections},
        {"lowest-latency", balancer_algorithm::lowest_latency},
        {"lowest-usage", balancer_algorithm::lowest_usage},
        {"priority", balancer_algorithm::priority},
        {"semantic", balancer_algorithm::semantic}};
    if (auto v = get_one_of(c, p,
                            {"round-robin", "consistent-hashing", "least-connections",
                             "lowest-latency", "lowest-usage", "priority", "semantic"})) {
      for (const auto& [name, algo] : names) {
        if (*v == name) {
          b.algorithm = algo;
        }
      }
    }
  });
  field(n, path, "retries", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_int(c, p);
    check_between(v, 0, 32767, p);
    if (v) {
      b.retries = *v;
    }
  });
  field(n, path, "failover_criteria", [&](const YAML::Node& c, const std::string& p) {
    static constexpr std::pair<std::string_view, std::uint32_t> names[] = {
        {"error", failover::error},
        {"timeout", failover::timeout},
        {"invalid_header", failover::invalid_header},
        {"http_403", failover::http_403},
        {"http_404", failover::http_404},
        {"http_429", failover::http_429},
        {"http_500", failover::http_500},
        {"http_502", failover::http_502},
        {"http_503", failover::http_503},
        {"http_504", failover::http_504},
        {"non_idempotent", failover::non_idempotent}};
    auto v = get_strings(c, p, "expected a set");
    if (!v) {
      return;
    }
    std::uint32_t bits = 0;
    bool ok = true;
    for (std::size_t i = 0; i < v->size(); ++i) {
      auto it = std::find_if(std::begin(names), std::end(names),
                             [&](const auto& e) { return e.first == (*v)[i]; });
      if (it == std::end(names)) {
        std::vector<std::string_view> all;
        for (const auto& e : names) {
          all.push_back(e.first);
        }
        add(index_path(p, i), "expected one of: " + plain_list(all));
        ok = false;
      } else {
        bits |= it->second;
      }
    }
    if (ok) {
      b.failover_criteria = bits;
    }
  });
  auto ms = [&](std::string_view key, std::int64_t& out) {
    field(n, path, key, [&](const YAML::Node& c, const std::string& p) {
      auto v = get_int(c, p);
      check_between(v, 1, max_ms, p);
      if (v) {
        out = *v;
      }
    });
  };
  ms("connect_timeout", b.connect_timeout_ms);
  ms("read_timeout", b.read_timeout_ms);
  ms("write_timeout", b.write_timeout_ms);
  ms("fail_timeout", b.fail_timeout_ms);
  field(n, path, "hash_on_header", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      if (!valid_header_name(v->text)) {
        add(p, "bad header name '" + v->shown() +
                   "', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
      } else {
        b.hash_on_header = v->text;
      }
    }
  });
  field(n, path, "latency_strategy", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_one_of(c, p, {"tpot", "e2e"})) {
      b.latency_strategy = *v == "tpot" ? latency_strategy::tpot : latency_strategy::e2e;
    }
  });
  field(n, path, "tokens_count_strategy", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_string(c, p);
    if (!v) {
      return;
    }
    if (v->text == "total-tokens") {
      b.tokens_count_strategy = tokens_count_strategy::total_tokens;
    } else if (v->text == "prompt-tokens") {
      b.tokens_count_strategy = tokens_count_strategy::prompt_tokens;
    } else if (v->text == "completion-tokens") {
      b.tokens_count_strategy = tokens_count_strategy::completion_tokens;
    } else if (v->text == "cost") {
      b.tokens_count_strategy = tokens_count_strategy::cost;
    } else if (v->text == "llm-accuracy") {
      add(p,
          "tokens_count_strategy 'llm-accuracy' is not available in aiproxy (use total-tokens, "
          "prompt-tokens, completion-tokens or cost)");
    } else {
      add(p, "expected one of: total-tokens, prompt-tokens, completion-tokens, cost");
    }
  });
  field(n, path, "slots", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_int(c, p);
    check_between(v, 10, 65536, p);
    if (v) {
      b.slots = *v;
    }
  });
  field(n, path, "max_fails", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_int(c, p)) {
      if (*v < 0) {
        add(p, "value must be greater than or equal to 0");
      } else {
        b.max_fails = *v;
      }
    }
  });
}

embeddings_config loader::parse_embeddings(const YAML::Node& n, const std::string& path) {
  embeddings_config e;
  if (!check_record(n, path, {"model", "auth"})) {
    return e;
  }
  field(n, path, "auth",
        [&](const YAML::Node& x, const std::string& p) { parse_auth(x, p, e.auth); });
  target_flags tf;
  tf.route_type_ok = true;
  const std::string model_path = key_path(path, "model");
  auto model = child(n, "model");
  if (!present(model)) {
    add(model_path, "required field missing");
    return e;
  }
  parse_model(*model, model_path, e.model, tf, nullptr);
  if (model->IsMap() && !present(child(*model, "name"))) {
    add(key_path(model_path, "name"), "required field missing");
  }
  if (!tf.provider_ok) {
    return e;
  }
  static constexpr provider_kind embedders[] = {provider_kind::openai,      provider_kind::azure,
                                                provider_kind::bedrock,     provider_kind::gemini,
                                                provider_kind::huggingface, provider_kind::mistral,
                                                provider_kind::mock};
  if (std::find(std::begin(embedders), std::end(embedders), e.model.provider) ==
      std::end(embedders)) {
    add(key_path(model_path, "provider"),
        "provider " + std::string(to_string(e.model.provider)) +
            " does not offer embeddings in aiproxy (use one of: openai, azure, bedrock, gemini, "
            "huggingface, mistral, mock)");
    return e;
  }
  bedrock_region_from_env(e.model);
  ai_proxy_config as_proxy;
  as_proxy.route_type = route_type::llm_v1_embeddings;
  as_proxy.genai_category = genai_category::text_embeddings;
  as_proxy.model = e.model;
  as_proxy.auth = e.auth;
  check_ai_proxy(as_proxy, check_paths{path, path, ""}, tf.azure_api_version_null, false);
  return e;
}

vectordb_config loader::parse_vectordb(const YAML::Node& n, const std::string& path) {
  vectordb_config v;
  if (!check_record(
          n, path,
          {"strategy", "dimensions", "distance_metric", "threshold", "redis", "pgvector"})) {
    return v;
  }
  auto required = [&](std::string_view key, auto&& f) {
    auto c = child(n, key);
    if (!present(c)) {
      add(key_path(path, key), "required field missing");
    } else {
      f(*c, key_path(path, key));
    }
  };
  required("strategy", [&](const YAML::Node& c, const std::string& p) {
    auto s = get_string(c, p);
    if (!s) {
      return;
    }
    if (s->text == "pgvector") {
      add(p, "vectordb strategy 'pgvector' is not offered by aiproxy: use redis or memory");
    } else if (s->text != "redis" && s->text != "memory") {
      add(p, "expected one of: redis, memory");
    } else {
      v.strategy = s->text;
    }
  });
  required("dimensions", [&](const YAML::Node& c, const std::string& p) {
    if (auto d = get_int(c, p)) {
      if (*d <= 0) {
        add(p, "value must be greater than 0");
      } else {
        v.dimensions = *d;
      }
    }
  });
  required("distance_metric", [&](const YAML::Node& c, const std::string& p) {
    if (auto d = get_one_of(c, p, {"cosine", "euclidean"})) {
      v.distance_metric = *d;
    }
  });
  field(n, path, "threshold", [&](const YAML::Node& c, const std::string& p) {
    if (auto t = get_number(c, p)) {
      if (*t < 0) {
        add(p, "value must be greater than or equal to 0");
      } else {
        v.threshold = *t;
      }
    }
  });
  field(n, path, "redis",
        [&](const YAML::Node& c, const std::string& p) { v.redis = parse_redis(c, p); });
  // `pgvector` settings (a decK dump carries them even with strategy redis) are accepted and
  // unused: the strategy check above refuses pgvector itself.
  field(n, path, "pgvector", [&](const YAML::Node& c, const std::string& p) {
    if (!c.IsMap()) {
      add(p, "expected a record");
    }
  });
  return v;
}

ai_target loader::parse_target(const YAML::Node& n, const std::string& path,
                               const ai_proxy_config& shared, const plugin_flags& pf,
                               const std::string& plugin_path, std::size_t index, target_flags& tf,
                               std::optional<scalar>& alias) {
  ai_target t;
  t.conf = shared;
  if (!check_record(
          n, path,
          {"route_type", "model", "auth", "logging", "weight", "description", "metadata"})) {
    return t;
  }
  tf = parse_target_fields(n, path, t.conf, &alias);
  if (alias) {
    t.model_alias = alias->text;
  }
  field(n, path, "weight", [&](const YAML::Node& c, const std::string& p) {
    auto v = get_int(c, p);
    check_between(v, 1, 65535, p);
    if (v) {
      t.weight = *v;
    }
  });
  field(n, path, "description", [&](const YAML::Node& c, const std::string& p) {
    if (auto v = get_string(c, p)) {
      t.description = v->text;
    }
  });
  field(n, path, "metadata", [&](const YAML::Node& c, const std::string& p) {
    if (!c.IsMap()) {
      add(p, "expected a record");
    }
  });
  finish_ai_proxy(t.conf,
                  check_paths{path, plugin_path, " (in targets[" + std::to_string(index) + "])"},
                  tf, pf);
  return t;
}

ai_proxy_advanced_config loader::parse_ai_proxy_advanced(const YAML::Node& n,
                                                         const std::string& path) {
  ai_proxy_advanced_config a;
  if (!check_record(
          n, path,
          {"targets", "balancer", "embeddings", "vectordb", "redis", "acls", "response_streaming",
           "max_request_body_size", "model_name_header", "llm_format", "genai_category",
           "normalize_errors", "model_options_precedence"})) {
    return a;
  }
  ai_proxy_config shared;
  const plugin_flags pf = parse_plugin_fields(n, path, shared);
  if (non_empty(child(n, "acls"))) {
    add(key_path(path, "acls"),
        "not supported by aiproxy: it does not identify consumers; restrict models with routes");
  }
  field(n, path, "balancer",
        [&](const YAML::Node& c, const std::string& p) { parse_balancer(c, p, a.balancer); });
  field(n, path, "redis",
        [&](const YAML::Node& c, const std::string& p) { a.redis = parse_redis(c, p); });
  field(n, path, "embeddings",
        [&](const YAML::Node& c, const std::string& p) { a.embeddings = parse_embeddings(c, p); });
  field(n, path, "vectordb",
        [&](const YAML::Node& c, const std::string& p) { a.vectordb = parse_vectordb(c, p); });
  if (a.vectordb && a.vectordb->strategy == "redis" && !a.vectordb->redis) {
    a.vectordb->redis = a.redis.value_or(redis_config{});
  }

  const std::string targets_path = key_path(path, "targets");
  auto targets = child(n, "targets");
  std::vector<target_flags> flags;
  std::vector<std::optional<scalar>> aliases;
  if (!present(targets)) {
    add(targets_path, "required field missing");
  } else if (!targets->IsSequence()) {
    add(targets_path, "expected an array");
  } else if (targets->size() == 0) {
    add(targets_path, "length must be at least 1");
  } else {
    flags.resize(targets->size());
    aliases.resize(targets->size());
    for (std::size_t i = 0; i < targets->size(); ++i) {
      a.targets.push_back(parse_target((*targets)[i], index_path(targets_path, i), shared, pf, path,
                                       i, flags[i], aliases[i]));
    }
  }
  check_advanced(a, path, flags, aliases);
  return a;
}

void loader::check_advanced(const ai_proxy_advanced_config& a, const std::string& path,
                            const std::vector<target_flags>& flags,
                            const std::vector<std::optional<scalar>>& aliases) {
  const std::string targets_path = key_path(path, "targets");
  auto target = [&](std::size_t i) { return index_path(targets_path, i); };
  auto name = [&](std::size_t i) { return "targets[" + std::to_string(i) + "]"; };

  std::optional<std::size_t> first_typed;
  std::optional<std::size_t> catchall;
  std::map<std::string, std::size_t> alias_owner;
  for (std::size_t i = 0; i < a.targets.size(); ++i) {
    const ai_target& t = a.targets[i];
    if (flags[i].route_type_ok) {
      if (!first_typed) {
        first_typed = i;
      } else if (t.conf.route_type != a.targets[*first_typed].conf.route_type) {
        add(key_path(target(i), "route_type"),
            "all targets must have the same route_type (" + name(*first_typed) + " has '" +
                std::string(to_string(a.targets[*first_typed].conf.route_type)) + "')");
      }
    }
    if (t.description == "CATCHALL") {
      if (catchall) {
        add(key_path(target(i), "description"), "only one target may have description CATCHALL (" +
                                                    name(*catchall) + " already has it)");
      } else {
        catchall = i;
      }
    }
    if (aliases[i]) {
      auto [it, fresh] = alias_owner.emplace(aliases[i]->text, i);
      if (!fresh) {
        add(key_path(target(i), "model.model_alias"),
            "model_alias '" + aliases[i]->shown() + "' is already used by " + name(it->second) +
                ": aliases must be unique among targets");
      }
    }
  }

  const balancer_config& b = a.balancer;
  if (b.algorithm == balancer_algorithm::semantic) {
    constexpr std::string_view why = "required when balancer.algorithm is 'semantic'";
    if (!a.embeddings) {
      add(key_path(path, "embeddings"), std::string(why));
    }
    if (!a.vectordb) {
      add(key_path(path, "vectordb"), std::string(why));
    }
    for (std::size_t i = 0; i < a.targets.size(); ++i) {
      if (a.targets[i].description.empty()) {
        add(key_path(target(i), "description"),
            std::string(why) + ": semantic routing compares the prompt with each description");
      }
    }
  }
  if (b.algorithm == balancer_algorithm::lowest_usage &&
      b.tokens_count_strategy == tokens_count_strategy::cost) {
    for (std::size_t i = 0; i < a.targets.size(); ++i) {
      if (!flags[i].provider_ok) {
        continue;
      }
      const model_options& o = a.targets[i].conf.model.options;
      for (auto [key, set] : {std::pair{"input_cost", o.input_cost.has_value()},
                              {"output_cost", o.output_cost.has_value()}}) {
        if (!set) {
          add(key_path(target(i), std::string("model.options.") + key),
              std::string("must set 'model.options.") + key +
                  "' when balancer.tokens_count_strategy is 'cost'");
        }
      }
    }
  }
}

// ------------------------------------------------------------------ references and chains

std::optional<std::size_t> loader::find_service(const reference& ref) {
  if (auto it = service_names_.find(ref.value); it != service_names_.end()) {
    return it->second;
  }
  if (auto it = service_ids_.find(ref.value); it != service_ids_.end()) {
    return it->second;
  }
  return std::nullopt;
}

std::optional<std::size_t> loader::find_route(const reference& ref) {
  if (auto it = route_names_.find(ref.value); it != route_names_.end()) {
    return it->second;
  }
  if (auto it = route_ids_.find(ref.value); it != route_ids_.end()) {
    return it->second;
  }
  return std::nullopt;
}

void loader::resolve_references() {
  auto missing = [&](const reference& ref, std::string_view entity) {
    add(ref.path, "invalid reference '" + ref.field + ": " +
                      (ref.secret ? std::string(from_env) : ref.value) + "' (no such entry in '" +
                      std::string(entity) + "')");
  };
  for (std::size_t i = 0; i < route_service_refs_.size(); ++i) {
    if (const auto& ref = route_service_refs_[i]) {
      if (auto s = find_service(*ref)) {
        cfg_.routes[i].service = s;
      } else {
        missing(*ref, "services");
      }
    }
  }
  for (std::size_t i = 0; i < cfg_.plugins.size(); ++i) {
    if (const auto& ref = plugin_route_refs_[i]) {
      if (auto r = find_route(*ref)) {
        cfg_.plugins[i].route = r;
      } else {
        missing(*ref, "routes");
      }
    }
    if (const auto& ref = plugin_service_refs_[i]) {
      if (auto s = find_service(*ref)) {
        cfg_.plugins[i].service = s;
      } else {
        missing(*ref, "services");
      }
    }
  }
  // One instance per plugin name and scope (Kong's plugin cache key).
  std::map<std::tuple<std::string, std::optional<std::size_t>, std::optional<std::size_t>>,
           std::size_t>
      seen;
  for (std::size_t i = 0; i < cfg_.plugins.size(); ++i) {
    const plugin_instance& p = cfg_.plugins[i];
    if (p.name.empty()) {
      continue;
    }
    auto [it, fresh] = seen.emplace(std::make_tuple(p.name, p.route, p.service), i);
    if (!fresh) {
      add(p.source_path, "uniqueness violation: plugin '" + p.name +
                             "' is already configured for the same route and service at " +
                             cfg_.plugins[it->second].source_path);
    }
  }
}

void loader::build_chains() {
  cfg_.chains.assign(cfg_.routes.size(), plugin_chain{});
  std::set<std::pair<std::size_t, std::size_t>> reported_conflicts;
  for (std::size_t ri = 0; ri < cfg_.routes.size(); ++ri) {
    const route& r = cfg_.routes[ri];
    // best[name] = (level, plugin index); higher level wins
    std::map<std::string, std::pair<int, std::size_t>> best;
    for (std::size_t pi = 0; pi < cfg_.plugins.size(); ++pi) {
      const plugin_instance& p = cfg_.plugins[pi];
      if (!p.enabled || p.name.empty()) {
        continue;
      }
      int level = -1;
      if (p.route && p.service) {
        level = (*p.route == ri && r.service == p.service) ? 3 : -1;
      } else if (p.route) {
        level = *p.route == ri ? 2 : -1;
      } else if (p.service) {
        level = r.service == p.service ? 1 : -1;
      } else {
        level = 0;
      }
      if (level < 0) {
        continue;
      }
      auto it = best.find(p.name);
      if (it == best.end() || it->second.first < level) {
        best[p.name] = {level, pi};
      }
    }
    plugin_chain& chain = cfg_.chains[ri];
    // ai-proxy and ai-proxy-advanced fill the same slot, with the same precedence; at the same
    // level neither can win.
    auto simple = best.find("ai-proxy");
    auto advanced = best.find("ai-proxy-advanced");
    if (simple != best.end() && advanced != best.end() &&
        simple->second.first == advanced->second.first) {
      auto pair = std::minmax(simple->second.second, advanced->second.second);
      if (reported_conflicts.insert(pair).second) {
        static constexpr std::string_view levels[] = {"global", "service", "route",
                                                      "route and service"};
        const plugin_instance& later = cfg_.plugins[pair.second];
        const plugin_instance& earlier = cfg_.plugins[pair.first];
        add(later.source_path,
            "plugin '" + later.name + "' and plugin '" + earlier.name + "' at " +
                earlier.source_path + " both apply to route '" +
                (r.name.empty() ? route_paths_[ri] : r.name) + "' at the same level (" +
                std::string(levels[simple->second.first]) +
                "): a route is served by one of them; remove one or scope it elsewhere");
      }
      continue;
    }
    if (simple != best.end() &&
        (advanced == best.end() || simple->second.first > advanced->second.first)) {
      chain.ai_proxy = simple->second.second;
    } else if (advanced != best.end()) {
      chain.ai_proxy = advanced->second.second;
    }
    if (auto it = best.find("file-log"); it != best.end()) {
      chain.loggers.push_back(it->second.second);
    }
    if (!r.service && !chain.ai_proxy) {
      add(route_paths_[ri],
          "route has neither a service nor an ai-proxy plugin: aiproxy has "
          "nowhere to send its requests");
    }
  }
}

/// Kong's default azure_api_version, or "preview" for the Azure Responses API (the only
/// version it answers).
void apply_azure_default(model_config& m, route_type t) {
  if (m.provider == provider_kind::azure && m.options.azure_api_version.empty()) {
    m.options.azure_api_version = t == route_type::llm_v1_responses ? "preview" : "2023-05-15";
  }
}

gateway_config loader::load(std::string_view text, std::string_view source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where = std::string(source_name);
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    throw invalid_config({problem{"", "invalid YAML at " + where + ": " + e.msg}});
  }
  parse_root(root);
  resolve_references();
  if (problems_.empty()) {
    build_chains();
  }
  if (!problems_.empty()) {
    throw invalid_config(std::move(problems_));
  }
  for (auto& plugin : cfg_.plugins) {
    if (auto* ai = std::get_if<ai_proxy_config>(&plugin.config)) {
      apply_azure_default(ai->model, ai->route_type);
    } else if (auto* adv = std::get_if<ai_proxy_advanced_config>(&plugin.config)) {
      for (auto& t : adv->targets) {
        apply_azure_default(t.conf.model, t.conf.route_type);
      }
      if (adv->embeddings) {
        apply_azure_default(adv->embeddings->model, route_type::llm_v1_embeddings);
      }
    }
  }
  cfg_.source_digest = sha256_hex(substitute_env(text, true).text);
  return std::move(cfg_);
}

}  // namespace

gateway_config load_config_string(std::string_view yaml, std::string_view source_name) {
  try {
    loader l;
    return l.load(yaml, source_name);
  } catch (const invalid_config&) {
    throw;
  } catch (const YAML::Exception& e) {
    throw invalid_config(
        {problem{"", "invalid YAML in " + std::string(source_name) + ": " + e.msg}});
  } catch (const std::bad_alloc&) {
    throw invalid_config({problem{"", "configuration too large: out of memory"}});
  } catch (const std::exception& e) {
    throw invalid_config({problem{"", std::string("cannot load configuration: ") + e.what()}});
  }
}

gateway_config load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw invalid_config({problem{"", "cannot read '" + path + "': " + std::strerror(errno)}});
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return load_config_string(buffer.str(), path);
}

}  // namespace aiproxy::config
