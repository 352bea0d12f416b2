#pragma once
// Google service-account keys and the RS256 JWT assertion exchanged for an OAuth access token
// (Google's "OAuth 2.0 for server to server applications"). Pure: OpenSSL and Boost.JSON only,
// no I/O, no clock (the caller passes the time). Messages never hold a key or an assertion.

#include "aiproxy/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace aiproxy::upstream {

inline constexpr std::string_view google_default_token_uri = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view google_cloud_platform_scope =
    "https://www.googleapis.com/auth/cloud-platform";

/// The fields of a service-account key file that the token exchange needs.
struct service_account {
  std::string client_email;
  std::string private_key;  // PEM; secret
  std::string private_key_id;
  std::string token_uri;  // google_default_token_uri when the file has none
};

/// Parses a service-account key file (JSON). `source` names where it came from (e.g.
/// "auth.gcp_service_account_json") for the error message, which never quotes the content.
/// Errors: 500 internal.
result<service_account> parse_service_account(std::string_view json, std::string_view source);

/// base64url without padding (RFC 7515 §2).
std::string base64url(std::string_view bytes);

/// The signed assertion `header.claims.signature`: header {"alg":"RS256","typ":"JWT","kid"},
/// claims {iss, scope, aud = token_uri, iat = now, exp = now + 3600}. Errors: 500 internal when
/// the private key is not a PEM RSA key or signing fails.
result<std::string> make_google_jwt(const service_account& sa, std::int64_t now_unix,
                                    std::string_view scope = google_cloud_platform_scope);

/// The form body POSTed to the token URI for `assertion`.
std::string google_token_form(std::string_view assertion);

}  // namespace aiproxy::upstream
