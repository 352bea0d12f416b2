// Static auth for every provider (see auth.hpp). Pure: no I/O.
#include "aiproxy/providers/auth.hpp"

#include <boost/json/object.hpp>

namespace aiproxy::providers {

std::optional<body_auth_field> apply_auth(const config::auth_config& auth, header_list& headers,
                                          query_builder& query,
                                          const boost::json::object& client_body) {
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
      if (auth.allow_override && client_body.contains(auth.param_name)) {
        return std::nullopt;
      }
      return body_auth_field{auth.param_name, auth.param_value};
    case config::param_location::none:
      break;
  }
  return std::nullopt;
}

}  // namespace aiproxy::providers
