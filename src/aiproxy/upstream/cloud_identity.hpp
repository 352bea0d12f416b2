#pragma once
// Cloud identities whose access token is fetched over HTTP before a provider call: Google service
// accounts (Gemini / Vertex AI, `auth.gcp_use_service_account`) and Microsoft Entra ID for Azure
// (`auth.azure_use_managed_identity`: client credentials, App Service managed identity or the
// instance metadata endpoint). The pure part (which identity, which token request, how to read
// the answer) is declared first and does no I/O; identity_tokens fetches, caches and refreshes
// tokens on one worker's io_context through upstream::client. No message ever holds a secret.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/upstream/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace aiproxy::upstream {

// ---------------------------------------------------------------- pure part

inline constexpr std::string_view azure_default_authority = "https://login.microsoftonline.com";
inline constexpr std::string_view azure_cognitive_resource = "https://cognitiveservices.azure.com/";
inline constexpr std::string_view azure_cognitive_scope =
    "https://cognitiveservices.azure.com/.default";
inline constexpr std::string_view azure_imds_host = "169.254.169.254";

/// The environment variables the identities read, captured once (workers never call getenv on
/// the data path).
struct identity_env {
  std::string gcp_service_account;   // GCP_SERVICE_ACCOUNT (key file JSON, as Kong reads it)
  std::string azure_client_id;       // AZURE_CLIENT_ID
  std::string azure_client_secret;   // AZURE_CLIENT_SECRET
  std::string azure_tenant_id;       // AZURE_TENANT_ID
  std::string azure_authority_host;  // AZURE_AUTHORITY_HOST; empty = azure_default_authority
  std::string identity_endpoint;     // IDENTITY_ENDPOINT (App Service / Functions)
  std::string identity_header;       // IDENTITY_HEADER

  static identity_env from(const std::function<const char*(const char*)>& getenv);
};

enum class identity_kind {
  none,
  google_service_account,
  azure_client_credentials,
  azure_managed_identity,  // App Service when IDENTITY_ENDPOINT + IDENTITY_HEADER, else IMDS
};

/// Which identity a config needs. The views point into the config or the identity_env and are
/// valid while both live.
struct identity_ref {
  identity_kind kind = identity_kind::none;
  std::string_view service_account_json;  // google
  std::string_view
      service_account_source;      // "auth.gcp_service_account_json" | "GCP_SERVICE_ACCOUNT"
  std::string_view client_id;      // azure; optional for managed identity
  std::string_view client_secret;  // azure client credentials
  std::string_view tenant_id;      // azure client credentials
};

/// True when the config's provider uses a fetched token: gemini with gcp_use_service_account,
/// azure with azure_use_managed_identity.
bool needs_cloud_token(const config::ai_proxy_config& conf) noexcept;

/// The identity `conf` needs (kind none when it needs none). Config fields win over the
/// environment, field by field. Errors: 500 when the identity is enabled but incomplete.
result<identity_ref> resolve_identity(const config::ai_proxy_config& conf, const identity_env& env);

/// The HTTP request that fetches a token for `id` (Google: signs a fresh JWT with `now_unix`).
/// Errors: 500 for an unusable key file, key or endpoint URL.
result<providers::upstream_request> token_request(const identity_ref& id, const identity_env& env,
                                                  std::int64_t now_unix);

struct access_token {
  std::string token;            // secret
  std::int64_t expires_at = 0;  // unix seconds
};

/// Reads a token endpoint's answer: `access_token` plus `expires_in` (number or string) or
/// `expires_on` (unix seconds, number or string). An answer without either is taken to last
/// 10 minutes. Errors: 502 for a non-2xx status (naming the OAuth `error` code when it has one)
/// or an answer without a token. `who` is "a Google" or "an Azure".
result<access_token> parse_token_response(int status, std::string_view body, std::int64_t now_unix,
                                          std::string_view who);

// ---------------------------------------------------------------- fetching and caching

/// Per worker thread (no locks; one instance per io_context, next to its client). Caches one
/// token per identity (matched on the identity's fields, which are never logged) and refreshes
/// it 5 minutes before it expires (halfway through, for tokens that live under 10 minutes).
/// Callers on the same worker that need a token while it is being fetched wait for that fetch
/// instead of starting another; while a still-valid token is being refreshed, they get the
/// cached one at once. A failed refresh keeps serving the old token until it expires.
/// It must outlive every bearer_token call in progress (it lives as long as its worker).
class identity_tokens {
 public:
  using getenv_fn = std::function<const char*(const char*)>;
  using clock_fn = std::function<std::int64_t()>;  // unix seconds

  /// Reads the environment once, here. `now_unix` empty = the system clock.
  explicit identity_tokens(client& c, const getenv_fn& getenv = ::getenv, clock_fn now_unix = {});
  ~identity_tokens();
  identity_tokens(const identity_tokens&) = delete;
  identity_tokens& operator=(const identity_tokens&) = delete;

  /// The bearer token the config's cloud identity needs, or an empty string when it needs none
  /// (see needs_cloud_token; callers may check that first to skip the coroutine). `conf` must
  /// outlive the call. Errors: 500 (identity misconfigured), 502/504 (token endpoint failed).
  boost::asio::awaitable<result<std::string>> bearer_token(const config::ai_proxy_config& conf,
                                                           const timeouts& t);

  /// Token requests sent so far (for tests and metrics).
  std::size_t fetches() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aiproxy::upstream
