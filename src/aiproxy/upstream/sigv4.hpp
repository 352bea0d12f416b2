#pragma once
// AWS Signature Version 4 for upstream requests (Bedrock), and where the credentials come from.
// Pure code on OpenSSL HMAC/SHA-256: no Asio, no clock (the caller passes the time), no
// environment access (the caller passes a getenv-like lookup).

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/providers/provider.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace aiproxy::upstream {

struct aws_credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

/// Signs `req` in place for `service` in `region` at `unix_seconds`: sets X-Amz-Date,
/// X-Amz-Content-Sha256, X-Amz-Security-Token (or removes it when there is no session token)
/// and Authorization. Signed headers: host (as the upstream client will send it: host_header,
/// else host plus a non-default port), content-type when present, x-amz-content-sha256,
/// x-amz-date and x-amz-security-token. The canonical URI is req.target's path encoded once
/// more (SigV4 for services other than S3 encodes each already-encoded segment again), the
/// canonical query its parameters decoded, re-encoded and sorted.
void sign_sigv4(providers::upstream_request& req, const aws_credentials& c, std::string_view region,
                std::string_view service, std::int64_t unix_seconds);

/// Static credentials from `auth` (aws_access_key_id and aws_secret_access_key, both set), else
/// from the environment through `getenv`: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the
/// optional AWS_SESSION_TOKEN. nullopt when neither has a key pair.
std::optional<aws_credentials> aws_credentials_from(
    const config::auth_config& auth, const std::function<const char*(const char*)>& getenv);

// ---------------------------------------------------------------- the parts, for tests

/// What one signature is made of (AWS's test suite publishes each of them).
struct sigv4_signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // the Authorization header value
};

/// Signs a request given as its parts. `target` is the request target (path and optional
/// "?query") as it goes on the wire; `headers` must hold every header named in
/// `signed_headers` (lower-case names, any order; repeated headers are joined with ','),
/// including host and x-amz-date; `amz_date` is the ISO 8601 basic timestamp
/// (20150830T123600Z) the x-amz-date header holds; `payload_sha256_hex` the body's hash.
sigv4_signature compute_sigv4(std::string_view method, std::string_view target,
                              const header_list& headers,
                              std::span<const std::string> signed_headers,
                              std::string_view payload_sha256_hex, const aws_credentials& c,
                              std::string_view region, std::string_view service,
                              std::string_view amz_date);

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// `unix_seconds` as SigV4's timestamp, e.g. 20150830T123600Z.
std::string amz_date(std::int64_t unix_seconds);

}  // namespace aiproxy::upstream
