// Cloud identity tokens: the pure request builders and answer parser, and the per-worker cache
// that fetches through upstream::client. Touches the network only through that client, and the
// environment only in identity_env::from.

#include "aiproxy/upstream/cloud_identity.hpp"

#include "aiproxy/core/log.hpp"
#include "aiproxy/upstream/google_jwt.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <vector>

namespace aiproxy::upstream {
namespace {

namespace asio = boost::asio;

constexpr std::size_t max_token_answer_bytes = 64 * 1024;
constexpr std::int64_t refresh_margin_s = 300;
constexpr std::int64_t default_lifetime_s = 600;
constexpr std::int64_t failed_refresh_backoff_s = 10;
constexpr std::size_t max_cached_identities = 64;

std::string escape(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string_view first_set(std::string_view a, std::string_view b) {
  return a.empty() ? b : a;
}

std::string_view who(identity_kind k) {
  return k == identity_kind::google_service_account ? "a Google" : "an Azure";
}

/// A request for an absolute http(s) URL; `what` names the URL's origin for errors.
result<providers::upstream_request> request_for(std::string_view url, std::string_view what) {
  auto u = boost::urls::parse_uri(url);
  if (!u || !u->has_authority() || u->host_address().empty()) {
    return error::internal(std::string(what) + " is not an absolute http(s) URL");
  }
  providers::upstream_request r;
  std::string scheme(u->scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https")
    return error::internal(std::string(what) + " is not an absolute http(s) URL");
  r.scheme = scheme;
  r.host = u->host_address();
  r.port = u->has_port() ? u->port_number() : (scheme == "https" ? 443 : 80);
  if (u->has_port() && u->port_number() == 0)
    return error::internal(std::string(what) + " has an invalid port");
  r.target = u->encoded_path().empty() ? std::string("/") : std::string(u->encoded_path());
  if (u->has_query()) {
    r.target += '?';
    r.target += u->encoded_query();
  }
  r.headers.add("Accept", "application/json");
  return r;
}

void append_param(std::string& target, std::string_view name, std::string_view value) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += name;
  target += '=';
  target += escape(value);
}

/// A number or a decimal string holding one.
std::optional<std::int64_t> seconds_field(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v)
    return std::nullopt;
  if (v->is_int64())
    return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double())
    return static_cast<std::int64_t>(v->get_double());
  if (v->is_string()) {
    std::string_view s = v->get_string();
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size())
      return n;
  }
  return std::nullopt;
}

/// The OAuth `error` code of an error answer, when it is a plain code (never free text, which
/// could echo a request field).
std::string oauth_error_code(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object())
    return {};
  const auto* e = v.get_object().if_contains("error");
  if (!e || !e->is_string())
    return {};
  std::string_view code = e->get_string();
  if (code.empty() || code.size() > 64)
    return {};
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || c == '_'))
      return {};
  }
  return std::string(code);
}

}  // namespace

// ---------------------------------------------------------------- pure part

identity_env identity_env::from(const std::function<const char*(const char*)>& getenv) {
  auto read = [&](const char* name) {
    const char* v = getenv ? getenv(name) : nullptr;
    return v ? std::string(v) : std::string();
  };
  identity_env e;
  e.gcp_service_account = read("GCP_SERVICE_ACCOUNT");
  e.azure_client_id = read("AZURE_CLIENT_ID");
  e.azure_client_secret = read("AZURE_CLIENT_SECRET");
  e.azure_tenant_id = read("AZURE_TENANT_ID");
  e.azure_authority_host = read("AZURE_AUTHORITY_HOST");
  e.identity_endpoint = read("IDENTITY_ENDPOINT");
  e.identity_header = read("IDENTITY_HEADER");
  return e;
}

bool needs_cloud_token(const config::ai_proxy_config& conf) noexcept {
  switch (conf.model.provider) {
    case config::provider_kind::gemini:
      return conf.auth.gcp_use_service_account;
    case config::provider_kind::azure:
      return conf.auth.azure_use_managed_identity;
    default:
      return false;
  }
}

result<identity_ref> resolve_identity(const config::ai_proxy_config& conf,
                                      const identity_env& env) {
  identity_ref id;
  if (!needs_cloud_token(conf))
    return id;
  const auto& a = conf.auth;
  if (conf.model.provider == config::provider_kind::gemini) {
    id.kind = identity_kind::google_service_account;
    if (!a.gcp_service_account_json.empty()) {
      id.service_account_json = a.gcp_service_account_json;
      id.service_account_source = "auth.gcp_service_account_json";
    } else if (!env.gcp_service_account.empty()) {
      id.service_account_json = env.gcp_service_account;
      id.service_account_source = "GCP_SERVICE_ACCOUNT";
    } else {
      return error::internal(
          "auth.gcp_use_service_account is set but neither auth.gcp_service_account_json nor "
          "the GCP_SERVICE_ACCOUNT environment variable holds a service-account key");
    }
    return id;
  }
  id.client_id = first_set(a.azure_client_id, env.azure_client_id);
  id.client_secret = first_set(a.azure_client_secret, env.azure_client_secret);
  id.tenant_id = first_set(a.azure_tenant_id, env.azure_tenant_id);
  if (id.client_secret.empty()) {
    id.kind = identity_kind::azure_managed_identity;
    id.tenant_id = {};
    return id;
  }
  if (id.client_id.empty() || id.tenant_id.empty()) {
    return error::internal(
        "an Azure client secret is set (auth.azure_client_secret or AZURE_CLIENT_SECRET) but "
        "client credentials also need auth.azure_client_id and auth.azure_tenant_id (or "
        "AZURE_CLIENT_ID and AZURE_TENANT_ID)");
  }
  id.kind = identity_kind::azure_client_credentials;
  return id;
}

result<providers::upstream_request> token_request(const identity_ref& id, const identity_env& env,
                                                  std::int64_t now_unix) {
  switch (id.kind) {
    case identity_kind::none:
      return error::internal("no cloud identity to fetch a token for");

    case identity_kind::google_service_account: {
      auto sa = parse_service_account(id.service_account_json, id.service_account_source);
      if (!sa)
        return sa.error();
      auto jwt = make_google_jwt(*sa, now_unix);
      if (!jwt)
        return jwt.error();
      auto r = request_for(sa->token_uri, "the service account's token_uri");
      if (!r)
        return r.error();
      r->method = "POST";
      r->headers.add("Content-Type", "application/x-www-form-urlencoded");
      r->body = google_token_form(*jwt);
      return r;
    }

    case identity_kind::azure_client_credentials: {
      std::string authority(first_set(env.azure_authority_host, azure_default_authority));
      while (!authority.empty() && authority.back() == '/')
        authority.pop_back();
      auto r = request_for(authority + "/" + escape(id.tenant_id) + "/oauth2/v2.0/token",
                           "AZURE_AUTHORITY_HOST");
      if (!r)
        return r.error();
      r->method = "POST";
      r->headers.add("Content-Type", "application/x-www-form-urlencoded");
      r->body = "grant_type=client_credentials&client_id=" + escape(id.client_id) +
                "&client_secret=" + escape(id.client_secret) +
                "&scope=" + escape(azure_cognitive_scope);
      return r;
    }

    case identity_kind::azure_managed_identity: {
      const bool app_service = !env.identity_endpoint.empty() && !env.identity_header.empty();
      providers::upstream_request r;
      if (app_service) {
        auto parsed = request_for(env.identity_endpoint, "IDENTITY_ENDPOINT");
        if (!parsed)
          return parsed.error();
        r = std::move(*parsed);
        append_param(r.target, "api-version", "2019-08-01");
        r.headers.add("X-IDENTITY-HEADER", env.identity_header);
      } else {
        r.scheme = "http";
        r.host = azure_imds_host;
        r.port = 80;
        r.target = "/metadata/identity/oauth2/token";
        append_param(r.target, "api-version", "2018-02-01");
        r.headers.add("Accept", "application/json");
        r.headers.add("Metadata", "true");
      }
      r.method = "GET";
      append_param(r.target, "resource", azure_cognitive_resource);
      if (!id.client_id.empty())
        append_param(r.target, "client_id", id.client_id);
      return r;
    }
  }
  return error::internal("unknown cloud identity");
}

result<access_token> parse_token_response(int status, std::string_view body, std::int64_t now_unix,
                                          std::string_view who) {
  std::string prefix = "could not obtain " + std::string(who) + " access token: ";
  if (status < 200 || status > 299) {
    std::string msg = prefix + "the token endpoint answered " + std::to_string(status);
    if (auto code = oauth_error_code(body); !code.empty())
      msg += " (" + code + ")";
    return error::bad_gateway(std::move(msg));
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  const boost::json::object* o = (!ec && v.is_object()) ? &v.get_object() : nullptr;
  const auto* tok = o ? o->if_contains("access_token") : nullptr;
  if (!tok || !tok->is_string() || tok->get_string().empty())
    return error::bad_gateway(prefix + "the token endpoint's answer holds no access_token");
  std::string_view token = tok->get_string();
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)  // would break the header
      return error::bad_gateway(prefix + "the token endpoint's access_token is not printable");
  }
  access_token out;
  out.token = token;
  if (auto in = seconds_field(*o, "expires_in"))
    out.expires_at = now_unix + *in;
  else if (auto on = seconds_field(*o, "expires_on"))
    out.expires_at = *on;
  else
    out.expires_at = now_unix + default_lifetime_s;
  return out;
}

// ---------------------------------------------------------------- fetching and caching

namespace {

/// One token fetch in progress; waiters sleep on the timer until the fetcher cancels it.
struct flight {
  explicit flight(const asio::any_io_executor& ex) : wake(ex) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer wake;
  std::optional<result<std::string>> outcome;
};

struct entry {
  identity_kind kind = identity_kind::none;
  std::string json, client_id, client_secret, tenant_id;  // what the identity is; secret
  std::string token;                                      // secret
  std::int64_t expires_at = 0;
  std::int64_t refresh_at = 0;
  std::shared_ptr<flight> in_flight;

  bool matches(const identity_ref& id) const noexcept {
    return kind == id.kind && json == id.service_account_json && client_id == id.client_id &&
           client_secret == id.client_secret && tenant_id == id.tenant_id;
  }
};

}  // namespace

struct identity_tokens::impl {
  client& http;
  identity_env env;
  clock_fn now;
  std::vector<std::unique_ptr<entry>> entries;
  std::size_t fetches = 0;

  std::int64_t now_unix() const {
    if (now)
      return now();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  entry& find_or_add(const identity_ref& id) {
    for (auto& e : entries) {
      if (e->matches(id))
        return *e;
    }
    if (entries.size() >= max_cached_identities) {
      // Old config snapshots left these behind; only a fetcher holds an entry across a wait.
      std::erase_if(entries, [](const auto& e) { return !e->in_flight; });
    }
    auto e = std::make_unique<entry>();
    e->kind = id.kind;
    e->json = id.service_account_json;
    e->client_id = id.client_id;
    e->client_secret = id.client_secret;
    e->tenant_id = id.tenant_id;
    entries.push_back(std::move(e));
    return *entries.back();
  }

  asio::awaitable<result<access_token>> fetch(const identity_ref& id, const timeouts& t,
                                              std::int64_t started) {
    auto req = token_request(id, env, started);
    if (!req)
      co_return req.error();
    ++fetches;
    std::string prefix = "could not obtain " + std::string(who(id.kind)) + " access token: ";
    auto ex = co_await http.send(*req, t);
    if (!ex) {
      error e = ex.error();
      e.message = prefix + e.message;
      co_return e;
    }
    auto body = co_await (*ex)->read_all(max_token_answer_bytes);
    if (!body) {
      error e = body.error();
      e.message = prefix + e.message;
      co_return e;
    }
    co_return parse_token_response((*ex)->head().status, *body, started, who(id.kind));
  }
};

identity_tokens::identity_tokens(client& c, const getenv_fn& getenv, clock_fn now_unix)
    : impl_(
          std::make_unique<impl>(impl{c, identity_env::from(getenv), std::move(now_unix), {}, 0})) {
}

identity_tokens::~identity_tokens() = default;

std::size_t identity_tokens::fetches() const noexcept {
  return impl_->fetches;
}

asio::awaitable<result<std::string>> identity_tokens::bearer_token(
    const config::ai_proxy_config& conf, const timeouts& t) {
  if (!needs_cloud_token(conf))
    co_return std::string();
  auto id = resolve_identity(conf, impl_->env);
  if (!id)
    co_return id.error();
  const std::int64_t now = impl_->now_unix();
  entry& e = impl_->find_or_add(*id);
  const bool valid = !e.token.empty() && now < e.expires_at;
  if (valid && (now < e.refresh_at || e.in_flight))
    co_return e.token;  // fresh, or being refreshed by another caller

  if (auto f = e.in_flight) {  // no usable token: wait for the fetch under way
    co_await f->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (f->outcome)
      co_return *f->outcome;
    co_return error::service_unavailable("the cloud identity token fetch was abandoned");
  }

  auto f = std::make_shared<flight>(co_await asio::this_coro::executor);
  e.in_flight = f;
  // Wakes the waiters however this coroutine ends (also when it is destroyed mid-fetch).
  struct finish_flight {
    entry& e;
    std::shared_ptr<flight> f;
    ~finish_flight() {
      e.in_flight.reset();
      f->wake.cancel();
    }
  } finisher{e, f};

  auto fetched = co_await impl_->fetch(*id, t, now);
  if (fetched) {
    const std::int64_t lifetime = fetched->expires_at - now;
    e.token = std::move(fetched->token);
    e.expires_at = fetched->expires_at;
    e.refresh_at =
        e.expires_at - std::min(refresh_margin_s, std::max<std::int64_t>(lifetime, 0) / 2);
    log::debug("fetched " + std::string(who(id->kind)) + " access token valid for " +
               std::to_string(lifetime) + " s");
    f->outcome.emplace(e.token);
  } else if (!e.token.empty() && impl_->now_unix() < e.expires_at) {
    log::warn(fetched.error().message + "; using the cached token until it expires");
    e.refresh_at = now + failed_refresh_backoff_s;
    f->outcome.emplace(e.token);
  } else {
    if (fetched.error().status != 500)  // a misconfiguration is reported to the client instead
      log::warn(fetched.error().message);
    f->outcome.emplace(fetched.error());
  }
  co_return *f->outcome;
}

}  // namespace aiproxy::upstream
