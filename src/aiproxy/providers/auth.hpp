#pragma once
// The one place every provider applies the configured static auth (`auth.header_*`,
// `auth.param_*` with param_location query or body, `auth.allow_override`). Cloud identities
// (SigV4, GCP, Azure managed identity) are applied by their providers. Pure: no I/O.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/fwd.hpp>

#include <functional>
#include <optional>
#include <string_view>

namespace aiproxy::providers {

/// A field the translator must write into the upstream body (param_location: body).
struct body_auth_field {
  std::string_view name;
  std::string_view value;
};

/// True when apply_auth removes the client's header `name` for `auth`: a client credential
/// header (Authorization, api-key, x-api-key, x-goog-api-key) when the gateway supplies its own,
/// except the configured header itself under allow_override.
bool auth_replaces_client_header(const config::auth_config& auth, std::string_view name);

/// Applies header auth to `headers` (which already hold the client's forwarded headers) and
/// query auth to `query` (which already holds the client's parameters): the configured value
/// replaces the client's, except with allow_override when the client sent that header or
/// parameter. Returns the body field to set for param_location body, unless allow_override and
/// `client_body` already has that field (then the client's value stays).
std::optional<body_auth_field> apply_auth(const config::auth_config& auth, header_list& headers,
                                          query_builder& query,
                                          const boost::json::object& client_body);

/// The same, for a caller without a parsed body: `client_body_has` says whether the client's
/// body has a top-level field of that name.
std::optional<body_auth_field> apply_auth(
    const config::auth_config& auth, header_list& headers, query_builder& query,
    const std::function<bool(std::string_view)>& client_body_has);

}  // namespace aiproxy::providers
