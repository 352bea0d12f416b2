// Cloud identity tokens: the Google RS256 JWT (verified with the public half of a key made here),
// identity resolution and token requests (pure), token answers, and identity_tokens against
// testlib::fake_upstream for Google, Azure client credentials and App Service managed identity:
// caching, refresh before expiry, one fetch shared by concurrent callers, errors without secrets.

#include "aiproxy/upstream/cloud_identity.hpp"
#include "aiproxy/upstream/google_jwt.hpp"
#include "run_coroutine.hpp"

#include "testlib/fake_upstream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace aiproxy::upstream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testlib::action;
using testlib::fake_upstream;
using testlib::received_request;

// ---------------------------------------------------------------- helpers

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string pem_of(EVP_PKEY* key, bool public_half) {
  BIO* bio = BIO_new(BIO_s_mem());
  int ok = public_half ? PEM_write_bio_PUBKEY(bio, key)
                       : PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

/// One RSA key per test binary (generating one takes a moment).
EVP_PKEY* test_rsa_key() {
  static pkey_ptr key(EVP_RSA_gen(2048));
  return key.get();
}

std::string service_account_json(std::string token_uri = {}) {
  boost::json::object o;
  o["type"] = "service_account";
  o["project_id"] = "proj";
  o["private_key_id"] = "kid-123";
  o["private_key"] = pem_of(test_rsa_key(), false);
  o["client_email"] = "robot@proj.iam.gserviceaccount.com";
  if (!token_uri.empty())
    o["token_uri"] = token_uri;
  return boost::json::serialize(o);
}

std::string base64url_decode(std::string_view in) {
  std::string b64(in);
  for (char& c : b64) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
  }
  std::size_t pad = (4 - b64.size() % 4) % 4;
  b64.append(pad, '=');
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  EXPECT_GE(n, 0);
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

struct decoded_jwt {
  boost::json::object header;
  boost::json::object claims;
  bool signature_ok = false;
};

/// A string member, or "" when absent or not a string.
std::string text(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

/// Splits a JWT, decodes its parts and checks its RS256 signature with `key`'s public half.
decoded_jwt decode_and_verify(std::string_view jwt, EVP_PKEY* key) {
  decoded_jwt d;
  auto dot1 = jwt.find('.');
  auto dot2 = jwt.find('.', dot1 + 1);
  EXPECT_NE(dot1, std::string_view::npos);
  EXPECT_NE(dot2, std::string_view::npos);
  if (dot1 == std::string_view::npos || dot2 == std::string_view::npos)
    return d;
  d.header = boost::json::parse(base64url_decode(jwt.substr(0, dot1))).as_object();
  d.claims =
      boost::json::parse(base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1))).as_object();
  std::string sig = base64url_decode(jwt.substr(dot2 + 1));
  std::string_view signed_part = jwt.substr(0, dot2);

  // Verify with a key rebuilt from the public PEM only.
  std::string pub = pem_of(key, true);
  BIO* bio = BIO_new_mem_buf(pub.data(), static_cast<int>(pub.size()));
  pkey_ptr pubkey(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  d.signature_ok =
      pubkey && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pubkey.get()) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return d;
}

/// The value of form or query parameter `name` (decoded), or nullopt.
std::optional<std::string> param(std::string_view query, std::string_view name) {
  const std::string ref = "?" + std::string(query);  // the view below points into it
  auto u = boost::urls::parse_uri_reference(ref);
  if (!u)
    return std::nullopt;
  for (auto p : u->params()) {
    if (p.key == name)
      return std::string(p.value);
  }
  return std::nullopt;
}

std::string query_of(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
}

/// An injectable environment.
struct fake_env {
  std::map<std::string, std::string> vars;
  identity_tokens::getenv_fn fn() {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

config::ai_proxy_config gemini_conf(std::string sa_json) {
  config::ai_proxy_config c;
  c.model.provider = config::provider_kind::gemini;
  c.auth.gcp_use_service_account = true;
  c.auth.gcp_service_account_json = std::move(sa_json);
  return c;
}

config::ai_proxy_config azure_conf(std::string client_id = {}, std::string secret = {},
                                   std::string tenant = {}) {
  config::ai_proxy_config c;
  c.model.provider = config::provider_kind::azure;
  c.auth.azure_use_managed_identity = true;
  c.auth.azure_client_id = std::move(client_id);
  c.auth.azure_client_secret = std::move(secret);
  c.auth.azure_tenant_id = std::move(tenant);
  return c;
}

/// A port nobody listens on (bound, then released).
std::uint16_t closed_port() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

action token_answer(std::string token, std::string expiry = R"("expires_in":3599)") {
  return action::json(
      200, R"({"access_token":")" + token + R"(",)" + expiry + R"(,"token_type":"Bearer"})");
}

// ---------------------------------------------------------------- JWT (pure)

TEST(google_jwt, base64url_has_no_padding_and_url_safe_alphabet) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff\xbf"), "-_-_");
}

TEST(google_jwt, signed_assertion_verifies_and_carries_the_claims) {
  auto sa = parse_service_account(service_account_json(), "auth.gcp_service_account_json");
  ASSERT_TRUE(sa) << sa.error().message;
  EXPECT_EQ(sa->token_uri, "https://oauth2.googleapis.com/token");  // the default
  auto jwt = make_google_jwt(*sa, 1700000000);
  ASSERT_TRUE(jwt) << jwt.error().message;
  EXPECT_EQ(jwt->find('='), std::string::npos);

  auto d = decode_and_verify(*jwt, test_rsa_key());
  EXPECT_TRUE(d.signature_ok);
  EXPECT_EQ(text(d.header, "alg"), "RS256");
  EXPECT_EQ(text(d.header, "typ"), "JWT");
  EXPECT_EQ(text(d.header, "kid"), "kid-123");
  EXPECT_EQ(text(d.claims, "iss"), "robot@proj.iam.gserviceaccount.com");
  EXPECT_EQ(text(d.claims, "scope"), "https://www.googleapis.com/auth/cloud-platform");
  EXPECT_EQ(text(d.claims, "aud"), "https://oauth2.googleapis.com/token");
  EXPECT_EQ(d.claims.at("iat").as_int64(), 1700000000);
  EXPECT_EQ(d.claims.at("exp").as_int64(), 1700003600);
  EXPECT_EQ(d.claims.size(), 5u);
}

TEST(google_jwt, a_changed_claim_no_longer_verifies) {
  auto sa = parse_service_account(service_account_json(), "x");
  ASSERT_TRUE(sa);
  auto jwt = make_google_jwt(*sa, 1700000000);
  ASSERT_TRUE(jwt);
  auto dot1 = jwt->find('.');
  auto dot2 = jwt->find('.', dot1 + 1);
  auto other = make_google_jwt(*sa, 1700000001);
  ASSERT_TRUE(other);
  // Header and claims of `other` with the signature of `jwt`.
  std::string forged = other->substr(0, other->rfind('.')) + jwt->substr(dot2);
  EXPECT_FALSE(decode_and_verify(forged, test_rsa_key()).signature_ok);
  EXPECT_TRUE(decode_and_verify(*other, test_rsa_key()).signature_ok);
}

TEST(google_jwt, form_body_names_the_jwt_bearer_grant) {
  std::string form = google_token_form("aaa.bbb.ccc");
  EXPECT_EQ(param(form, "grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  EXPECT_EQ(param(form, "assertion"), "aaa.bbb.ccc");
}

TEST(google_jwt, invalid_key_files_give_clear_500s_without_their_content) {
  auto not_json = parse_service_account("{\"private_key\":\"SECRETPEM", "GCP_SERVICE_ACCOUNT");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().status, 500);
  EXPECT_NE(not_json.error().message.find("GCP_SERVICE_ACCOUNT"), std::string::npos);
  EXPECT_EQ(not_json.error().message.find("SECRETPEM"), std::string::npos);

  auto no_email = parse_service_account(R"({"private_key":"SECRETPEM"})", "auth.x");
  ASSERT_FALSE(no_email);
  EXPECT_EQ(no_email.error().message, "auth.x has no client_email");

  auto wrong_type = parse_service_account(
      R"({"type":"authorized_user","client_email":"a","private_key":"k"})", "auth.x");
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().status, 500);

  service_account bad{"a@b", "-----BEGIN PRIVATE KEY-----\nSECRETPEM\n-----END PRIVATE KEY-----\n",
                      "", std::string(google_default_token_uri)};
  auto jwt = make_google_jwt(bad, 1);
  ASSERT_FALSE(jwt);
  EXPECT_EQ(jwt.error().status, 500);
  EXPECT_EQ(jwt.error().message.find("SECRETPEM"), std::string::npos);
  EXPECT_NE(jwt.error().message.find("private_key"), std::string::npos);
}

TEST(google_jwt, a_non_rsa_key_is_refused) {
  pkey_ptr ec(EVP_EC_gen("P-256"));
  ASSERT_TRUE(ec);
  service_account sa{"a@b", pem_of(ec.get(), false), "", std::string(google_default_token_uri)};
  auto jwt = make_google_jwt(sa, 1);
  ASSERT_FALSE(jwt);
  EXPECT_NE(jwt.error().message.find("not an RSA key"), std::string::npos);
}

// ---------------------------------------------------------------- resolution and requests (pure)

TEST(cloud_identity, configs_without_a_cloud_identity_need_no_token) {
  identity_env env;
  config::ai_proxy_config openai;
  openai.auth.gcp_use_service_account = true;  // ignored: not gemini
  EXPECT_FALSE(needs_cloud_token(openai));
  auto g = gemini_conf("{}");
  g.auth.gcp_use_service_account = false;
  EXPECT_FALSE(needs_cloud_token(g));
  auto a = azure_conf();
  a.auth.azure_use_managed_identity = false;
  EXPECT_FALSE(needs_cloud_token(a));
  auto id = resolve_identity(a, env);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->kind, identity_kind::none);
}

TEST(cloud_identity, google_key_from_config_else_environment) {
  const identity_env no_env;
  identity_env env;
  env.gcp_service_account = "{from env}";
  const auto c_from_conf = gemini_conf("{from conf}");  // the identity points into it
  auto from_conf = resolve_identity(c_from_conf, env);
  ASSERT_TRUE(from_conf);
  EXPECT_EQ(from_conf->kind, identity_kind::google_service_account);
  EXPECT_EQ(from_conf->service_account_json, "{from conf}");
  const auto c_from_env = gemini_conf("");  // the identity points into it
  auto from_env = resolve_identity(c_from_env, env);
  ASSERT_TRUE(from_env);
  EXPECT_EQ(from_env->service_account_json, "{from env}");
  EXPECT_EQ(from_env->service_account_source, "GCP_SERVICE_ACCOUNT");
  const auto c_neither = gemini_conf("");  // the identity points into it
  auto neither = resolve_identity(c_neither, no_env);
  ASSERT_FALSE(neither);
  EXPECT_EQ(neither.error().status, 500);
}

TEST(cloud_identity, azure_client_credentials_or_managed_identity) {
  const identity_env no_env;
  identity_env env;
  const auto c_cc = azure_conf("cid", "csecret", "tid");  // the identity points into it
  auto cc = resolve_identity(c_cc, env);
  ASSERT_TRUE(cc);
  EXPECT_EQ(cc->kind, identity_kind::azure_client_credentials);

  env.azure_client_secret = "envsecret";
  env.azure_tenant_id = "envtenant";
  env.azure_client_id = "envcid";
  const auto c_from_env = azure_conf();  // the identity points into it
  auto from_env = resolve_identity(c_from_env, env);
  ASSERT_TRUE(from_env);
  EXPECT_EQ(from_env->kind, identity_kind::azure_client_credentials);
  EXPECT_EQ(from_env->client_id, "envcid");
  EXPECT_EQ(from_env->tenant_id, "envtenant");

  const auto c_mi = azure_conf("user-assigned");  // the identity points into it
  auto mi = resolve_identity(c_mi, no_env);
  ASSERT_TRUE(mi);
  EXPECT_EQ(mi->kind, identity_kind::azure_managed_identity);
  EXPECT_EQ(mi->client_id, "user-assigned");

  const auto c_partial = azure_conf("cid", "csecret");  // the identity points into it
  auto partial = resolve_identity(c_partial, no_env);
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error().status, 500);
  EXPECT_EQ(partial.error().message.find("csecret"), std::string::npos);
}

TEST(cloud_identity, imds_request_shape) {
  identity_env env;
  auto conf = azure_conf("my-client");
  auto id = resolve_identity(conf, env);
  ASSERT_TRUE(id);
  auto r = token_request(*id, env, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->scheme, "http");
  EXPECT_EQ(r->host, "169.254.169.254");
  EXPECT_EQ(r->port, 80);
  EXPECT_EQ(r->target.substr(0, r->target.find('?')), "/metadata/identity/oauth2/token");
  auto q = query_of(r->target);
  EXPECT_EQ(param(q, "api-version"), "2018-02-01");
  EXPECT_EQ(param(q, "resource"), "https://cognitiveservices.azure.com/");
  EXPECT_EQ(param(q, "client_id"), "my-client");
  EXPECT_EQ(r->headers.get("Metadata"), "true");
  EXPECT_TRUE(r->body.empty());

  auto system_assigned = azure_conf();
  auto id2 = resolve_identity(system_assigned, env);
  ASSERT_TRUE(id2);
  auto r2 = token_request(*id2, env, 0);
  ASSERT_TRUE(r2);
  EXPECT_FALSE(param(query_of(r2->target), "client_id"));
}

TEST(cloud_identity, client_credentials_request_shape) {
  identity_env env;
  env.azure_authority_host = "https://login.microsoftonline.us/";
  auto conf = azure_conf("cid", "se&cr=et", "tenant-1");
  auto id = resolve_identity(conf, env);
  ASSERT_TRUE(id);
  auto r = token_request(*id, env, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->scheme, "https");
  EXPECT_EQ(r->host, "login.microsoftonline.us");
  EXPECT_EQ(r->port, 443);
  EXPECT_EQ(r->target, "/tenant-1/oauth2/v2.0/token");
  EXPECT_EQ(r->headers.get("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(param(r->body, "grant_type"), "client_credentials");
  EXPECT_EQ(param(r->body, "client_id"), "cid");
  EXPECT_EQ(param(r->body, "client_secret"), "se&cr=et");  // escaped, decoded back
  EXPECT_EQ(param(r->body, "scope"), "https://cognitiveservices.azure.com/.default");
}

TEST(cloud_identity, token_answers) {
  auto in_number =
      parse_token_response(200, R"({"access_token":"t1","expires_in":3599})", 100, "a Google");
  ASSERT_TRUE(in_number);
  EXPECT_EQ(in_number->token, "t1");
  EXPECT_EQ(in_number->expires_at, 3699);

  auto in_string = parse_token_response(
      200, R"({"access_token":"t2","expires_in":"86399","expires_on":"1"})", 100, "an Azure");
  ASSERT_TRUE(in_string);
  EXPECT_EQ(in_string->expires_at, 86499);

  auto on_string =
      parse_token_response(200, R"({"access_token":"t3","expires_on":"1700000000"})", 100, "x");
  ASSERT_TRUE(on_string);
  EXPECT_EQ(on_string->expires_at, 1700000000);

  auto no_expiry = parse_token_response(200, R"({"access_token":"t4"})", 100, "x");
  ASSERT_TRUE(no_expiry);
  EXPECT_EQ(no_expiry->expires_at, 700);

  auto no_token = parse_token_response(200, R"({"token_type":"Bearer"})", 100, "an Azure");
  ASSERT_FALSE(no_token);
  EXPECT_EQ(no_token.error().status, 502);
  EXPECT_EQ(no_token.error().message,
            "could not obtain an Azure access token: the token endpoint's answer holds no "
            "access_token");

  auto bad_token = parse_token_response(200, R"({"access_token":"a\r\nX-Evil: 1"})", 100, "x");
  ASSERT_FALSE(bad_token);

  auto refused = parse_token_response(
      401, R"({"error":"invalid_client","error_description":"AADSTS7000215 secret ABC"})", 100,
      "an Azure");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 502);
  EXPECT_EQ(refused.error().message,
            "could not obtain an Azure access token: the token endpoint answered 401 "
            "(invalid_client)");

  auto odd_code = parse_token_response(400, R"({"error":"Bad secret=XYZ"})", 100, "a Google");
  ASSERT_FALSE(odd_code);
  EXPECT_EQ(odd_code.error().message,
            "could not obtain a Google access token: the token endpoint answered 400");
}

// ---------------------------------------------------------------- identity_tokens (fake server)

using test::run;

class identity_tokens_test : public ::testing::Test {
 protected:
  asio::io_context ioc;
  client http{ioc, {}};
  timeouts t{1000ms, 1000ms, 1000ms};
  fake_env env;
  std::int64_t now = 1700000000;
  identity_tokens::clock_fn clock = [this] { return now; };

  result<std::string> token(identity_tokens& tokens, const config::ai_proxy_config& conf) {
    return run(ioc, tokens.bearer_token(conf, t));
  }
};

TEST_F(identity_tokens_test, no_identity_means_no_token_and_no_request) {
  fake_upstream up;
  identity_tokens tokens(http, env.fn(), clock);
  config::ai_proxy_config openai;
  auto r = token(tokens, openai);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "");
  EXPECT_EQ(tokens.fetches(), 0u);
}

TEST_F(identity_tokens_test, google_service_account_exchange) {
  fake_upstream up;
  up.on([](const received_request&) { return token_answer("ya29.google-token"); });
  const std::string token_uri = up.base_url() + "/oauth2/token";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = gemini_conf(service_account_json(token_uri));
  auto r = token(tokens, conf);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "ya29.google-token");

  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/oauth2/token");
  EXPECT_EQ(reqs[0].headers.get("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(param(reqs[0].body, "grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  auto assertion = param(reqs[0].body, "assertion");
  ASSERT_TRUE(assertion);
  auto d = decode_and_verify(*assertion, test_rsa_key());
  EXPECT_TRUE(d.signature_ok);
  EXPECT_EQ(text(d.claims, "aud"), token_uri);
  EXPECT_EQ(d.claims.at("iat").as_int64(), now);
}

TEST_F(identity_tokens_test, google_key_from_the_environment) {
  fake_upstream up;
  up.on([](const received_request&) { return token_answer("from-env-key"); });
  env.vars["GCP_SERVICE_ACCOUNT"] = service_account_json(up.base_url() + "/token");
  identity_tokens tokens(http, env.fn(), clock);
  auto r = token(tokens, gemini_conf(""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "from-env-key");
}

TEST_F(identity_tokens_test, azure_client_credentials_via_authority_host) {
  fake_upstream up;
  up.on([](const received_request&) {
    return token_answer("entra-token", R"("expires_in":3599,"ext_expires_in":3599)");
  });
  env.vars["AZURE_AUTHORITY_HOST"] = up.base_url();
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf("cid", "csecret", "tenant-1");
  auto r = token(tokens, conf);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "entra-token");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/tenant-1/oauth2/v2.0/token");
  EXPECT_EQ(param(reqs[0].body, "grant_type"), "client_credentials");
  EXPECT_EQ(param(reqs[0].body, "client_id"), "cid");
  EXPECT_EQ(param(reqs[0].body, "client_secret"), "csecret");
  EXPECT_EQ(param(reqs[0].body, "scope"), "https://cognitiveservices.azure.com/.default");
}

TEST_F(identity_tokens_test, azure_managed_identity_via_identity_endpoint) {
  fake_upstream up;
  up.on([this](const received_request&) {
    return token_answer("mi-token", R"("expires_on":")" + std::to_string(now + 3600) + "\"");
  });
  env.vars["IDENTITY_ENDPOINT"] = up.base_url() + "/msi/token";
  env.vars["IDENTITY_HEADER"] = "header-secret";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf("user-assigned-id");
  auto r = token(tokens, conf);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "mi-token");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target.substr(0, reqs[0].target.find('?')), "/msi/token");
  auto q = query_of(reqs[0].target);
  EXPECT_EQ(param(q, "api-version"), "2019-08-01");
  EXPECT_EQ(param(q, "resource"), "https://cognitiveservices.azure.com/");
  EXPECT_EQ(param(q, "client_id"), "user-assigned-id");
  EXPECT_EQ(reqs[0].headers.get("x-identity-header"), "header-secret");
  EXPECT_FALSE(reqs[0].headers.contains("metadata"));
}

TEST_F(identity_tokens_test, cached_until_five_minutes_before_expiry_then_refreshed) {
  fake_upstream up;
  up.on([](const received_request&) { return token_answer("first", R"("expires_in":3600)"); });
  env.vars["IDENTITY_ENDPOINT"] = up.base_url() + "/mi";
  env.vars["IDENTITY_HEADER"] = "h";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf();

  auto first = token(tokens, conf);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, "first");
  now += 3600 - 300 - 1;  // one second before the refresh point
  auto second = token(tokens, conf);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(up.request_count(), 1u);
  EXPECT_EQ(tokens.fetches(), 1u);

  up.on([](const received_request&) { return token_answer("refreshed", R"("expires_in":3600)"); });
  now += 1;
  auto third = token(tokens, conf);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(*third, "refreshed");
  EXPECT_EQ(up.request_count(), 2u);

  now += 60;
  auto fourth = token(tokens, conf);
  ASSERT_TRUE(fourth);
  EXPECT_EQ(*fourth, "refreshed");
  EXPECT_EQ(up.request_count(), 2u);
}

TEST_F(identity_tokens_test, short_lived_tokens_are_reused_for_half_their_life) {
  fake_upstream up;
  up.on([](const received_request&) { return token_answer("short", R"("expires_in":"60")"); });
  env.vars["IDENTITY_ENDPOINT"] = up.base_url() + "/mi";
  env.vars["IDENTITY_HEADER"] = "h";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf();
  ASSERT_TRUE(token(tokens, conf));
  now += 29;
  ASSERT_TRUE(token(tokens, conf));
  EXPECT_EQ(up.request_count(), 1u);
  now += 1;
  ASSERT_TRUE(token(tokens, conf));
  EXPECT_EQ(up.request_count(), 2u);
}

TEST_F(identity_tokens_test, distinct_identities_get_distinct_tokens) {
  fake_upstream up;
  up.on([](const received_request& r) {
    auto cid = param(query_of(r.target), "client_id");
    return token_answer("tok-" + cid.value_or("system"));
  });
  env.vars["IDENTITY_ENDPOINT"] = up.base_url() + "/mi";
  env.vars["IDENTITY_HEADER"] = "h";
  identity_tokens tokens(http, env.fn(), clock);
  auto a = azure_conf("a");
  auto b = azure_conf("b");
  EXPECT_EQ(token(tokens, a).value(), "tok-a");
  EXPECT_EQ(token(tokens, b).value(), "tok-b");
  EXPECT_EQ(token(tokens, a).value(), "tok-a");
  EXPECT_EQ(up.request_count(), 2u);
}

TEST_F(identity_tokens_test, endpoint_refusal_is_a_clean_502_without_secrets) {
  fake_upstream up;
  up.on([](const received_request&) {
    return action::json(401, R"({"error":"invalid_client","error_description":"bad csecret"})");
  });
  env.vars["AZURE_AUTHORITY_HOST"] = up.base_url();
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf("cid", "csecret", "tenant-1");
  auto r = token(tokens, conf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(r.error().message,
            "could not obtain an Azure access token: the token endpoint answered 401 "
            "(invalid_client)");
  EXPECT_EQ(r.error().to_json().find("csecret"), std::string::npos);

  // A failure is not cached: the next call asks again.
  up.on([](const received_request&) { return token_answer("ok-now"); });
  auto again = token(tokens, conf);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, "ok-now");
  EXPECT_EQ(up.request_count(), 2u);
}

TEST_F(identity_tokens_test, google_refusal_does_not_leak_the_key_or_assertion) {
  fake_upstream up;
  up.on([](const received_request& r) {
    return action::json(
        400, R"({"error":"invalid_grant","error_description":")" + r.body.substr(0, 40) + "\"}");
  });
  identity_tokens tokens(http, env.fn(), clock);
  auto json = service_account_json(up.base_url() + "/token");
  auto conf = gemini_conf(json);
  auto r = token(tokens, conf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(r.error().message,
            "could not obtain a Google access token: the token endpoint answered 400 "
            "(invalid_grant)");
  EXPECT_EQ(r.error().message.find("assertion"), std::string::npos);
  EXPECT_EQ(r.error().message.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(identity_tokens_test, unreachable_endpoint_is_a_502_naming_the_identity) {
  env.vars["IDENTITY_ENDPOINT"] = "http://127.0.0.1:" + std::to_string(closed_port()) + "/mi";
  env.vars["IDENTITY_HEADER"] = "header-secret";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf();
  auto r = token(tokens, conf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(r.error().message.rfind("could not obtain an Azure access token: ", 0), 0u)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("header-secret"), std::string::npos);
}

TEST_F(identity_tokens_test, invalid_service_account_is_a_500_and_sends_nothing) {
  fake_upstream up;
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = gemini_conf(R"({"client_email":"a@b","private_key":"SECRETPEM","token_uri":")" +
                          up.base_url() + "/token\"}");
  auto r = token(tokens, conf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
  EXPECT_EQ(r.error().message.find("SECRETPEM"), std::string::npos);
  EXPECT_EQ(up.request_count(), 0u);
  EXPECT_EQ(tokens.fetches(), 0u);
}

TEST_F(identity_tokens_test, failed_refresh_keeps_serving_the_valid_token) {
  fake_upstream up;
  up.on([](const received_request&) { return token_answer("still-good", R"("expires_in":3600)"); });
  env.vars["IDENTITY_ENDPOINT"] = up.base_url() + "/mi";
  env.vars["IDENTITY_HEADER"] = "h";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf();
  ASSERT_TRUE(token(tokens, conf));

  up.on([](const received_request&) { return action::json(503, "{}"); });
  now += 3400;  // past the refresh point, before expiry
  auto r = token(tokens, conf);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "still-good");
  EXPECT_EQ(up.request_count(), 2u);
  // No new attempt during the back-off ...
  ASSERT_TRUE(token(tokens, conf));
  EXPECT_EQ(up.request_count(), 2u);
  // ... and once the token has expired, the failure shows.
  now += 200;
  auto expired = token(tokens, conf);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().status, 502);
  EXPECT_EQ(up.request_count(), 3u);
}

TEST_F(identity_tokens_test, concurrent_callers_share_one_fetch) {
  fake_upstream up;
  up.on([](const received_request&) { return token_answer("shared"); });
  env.vars["IDENTITY_ENDPOINT"] = up.base_url() + "/mi";
  env.vars["IDENTITY_HEADER"] = "h";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf();

  std::vector<std::optional<result<std::string>>> got(4);
  for (auto& slot : got) {
    asio::co_spawn(ioc, tokens.bearer_token(conf, t),
                   [&slot](std::exception_ptr e, result<std::string> r) {
                     ASSERT_FALSE(e);
                     slot.emplace(std::move(r));
                   });
  }
  ioc.run();
  for (auto& slot : got) {
    ASSERT_TRUE(slot.has_value());
    ASSERT_TRUE(*slot) << (*slot).error().message;
    EXPECT_EQ(**slot, "shared");
  }
  EXPECT_EQ(up.request_count(), 1u);
  EXPECT_EQ(tokens.fetches(), 1u);
}

TEST_F(identity_tokens_test, concurrent_callers_share_one_failure) {
  fake_upstream up;
  up.on([](const received_request&) { return action::json(403, R"({"error":"forbidden"})"); });
  env.vars["IDENTITY_ENDPOINT"] = up.base_url() + "/mi";
  env.vars["IDENTITY_HEADER"] = "h";
  identity_tokens tokens(http, env.fn(), clock);
  auto conf = azure_conf();

  std::vector<std::optional<result<std::string>>> got(3);
  for (auto& slot : got) {
    asio::co_spawn(ioc, tokens.bearer_token(conf, t),
                   [&slot](std::exception_ptr e, result<std::string> r) {
                     ASSERT_FALSE(e);
                     slot.emplace(std::move(r));
                   });
  }
  ioc.run();
  for (auto& slot : got) {
    ASSERT_TRUE(slot.has_value());
    ASSERT_FALSE(*slot);
    EXPECT_EQ((*slot).error().message,
              "could not obtain an Azure access token: the token endpoint answered 403 "
              "(forbidden)");
  }
  EXPECT_EQ(up.request_count(), 1u);
}

}  // namespace
}  // namespace aiproxy::upstream
