// Static auth for every provider (see auth.hpp). Pure: no I/O.
#include "aiproxy/providers/auth.hpp"

#include <boost/json/object.hpp>

namespace aiproxy::providers {

bool auth_replaces_client_header(const config::auth_config& auth, std::string_view name) {
  // Headers that carry a client's credential. When the gateway supplies the provider
  // credential, the client's own (often a key for the gateway itself) must not travel on.
  static constexpr header_name_set credential_headers(
      {"authorization", "api-key", "x-api-key", "x-goog-api-key"});
  if (auth.header_name.empty() && auth.param_name.empty()) {
    return false;
  }
  return credential_headers.contains(name) &&
         !(auth.allow_override && iequals(name, auth.header_name));
}

std::optional<body_auth_field> apply_auth(const config::auth_config& auth, header_list& headers,
                                          query_builder& query,
                                          const boost::json::object& client_body) {
  return apply_auth(auth, headers, query,
                    [&](std::string_view name) { return client_body.contains(name); });
}

std::optional<body_auth_field> apply_auth(
    const config::auth_config& auth, header_list& headers, query_builder& query,
    const std::function<bool(std::string_view)>& client_body_has) {
  headers.erase_if(
      [&](const header_list::field& f) { return auth_replaces_client_header(auth, f.first); });
  if (!auth.header_name.empty()) {
    if (!(auth.allow_override && headers.contains(auth.header_name))) {
      headers.set(auth.header_name, auth.header_value);
    }
  }
  if (auth.param_name.empty()) {
    return std::nullopt;
  }
  switch (auth.param_location) {
    case config::param_location::query:
      if (!(auth.allow_override && query.client_sent(auth.param_name))) {
        query.set(auth.param_name, auth.param_value, query_builder::origin::gateway);
      }
      return std::nullopt;
    case config::param_location::body:
      if (auth.allow_override && client_body_has(auth.param_name)) {
        return std::nullopt;
      }
      return body_auth_field{auth.param_name, auth.param_value};
    case config::param_location::none:
      break;
  }
  return std::nullopt;
}

}  // namespace aiproxy::providers
