// Service-account key parsing and RS256 JWT signing with OpenSSL EVP. Pure: no I/O, no clock.
// Every failure clears OpenSSL's thread-local error queue so that it cannot leak into the TLS
// code that runs next on the same worker thread.

#include "aiproxy/upstream/google_jwt.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <vector>

namespace aiproxy::upstream {
namespace {

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

/// A password callback that refuses: an encrypted key fails instead of prompting on a terminal.
int no_password(char*, int, int, void*) {
  return 0;
}

error key_error(std::string what) {
  ERR_clear_error();
  return error::internal("the Google service account's " + std::move(what));
}

/// Reads a string member; empty when absent or not a string.
std::string_view member(const boost::json::object& o, std::string_view name) {
  if (auto* v = o.if_contains(name); v && v->is_string())
    return v->get_string();
  return {};
}

}  // namespace

result<service_account> parse_service_account(std::string_view json, std::string_view source) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) {
    return error::internal(std::string(source) +
                           " is not a JSON object (a service-account key file)");
  }
  const auto& o = v.get_object();
  service_account sa;
  sa.client_email = member(o, "client_email");
  sa.private_key = member(o, "private_key");
  sa.private_key_id = member(o, "private_key_id");
  sa.token_uri = member(o, "token_uri");
  if (auto type = member(o, "type"); !type.empty() && type != "service_account") {
    return error::internal(std::string(source) + " is not a service-account key (type is not " +
                           "\"service_account\")");
  }
  if (sa.client_email.empty())
    return error::internal(std::string(source) + " has no client_email");
  if (sa.private_key.empty())
    return error::internal(std::string(source) + " has no private_key");
  if (sa.token_uri.empty())
    sa.token_uri = google_default_token_uri;
  return sa;
}

std::string base64url(std::string_view bytes) {
  if (bytes.empty())
    return {};
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (char& c : out) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return out;
}

result<std::string> make_google_jwt(const service_account& sa, std::int64_t now_unix,
                                    std::string_view scope) {
  std::unique_ptr<BIO, bio_free> bio(
      BIO_new_mem_buf(sa.private_key.data(), static_cast<int>(sa.private_key.size())));
  if (!bio)
    return key_error("private_key could not be read");
  std::unique_ptr<EVP_PKEY, pkey_free> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_password, nullptr));
  if (!key)
    return key_error("private_key is not an unencrypted PEM private key");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
    return key_error("private_key is not an RSA key (RS256 needs one)");

  boost::json::object header;
  header["alg"] = "RS256";
  header["typ"] = "JWT";
  if (!sa.private_key_id.empty())
    header["kid"] = sa.private_key_id;
  boost::json::object claims;
  claims["iss"] = sa.client_email;
  claims["scope"] = scope;
  claims["aud"] = sa.token_uri;
  claims["iat"] = now_unix;
  claims["exp"] = now_unix + 3600;

  std::string jwt = base64url(boost::json::serialize(header));
  jwt += '.';
  jwt += base64url(boost::json::serialize(claims));

  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  std::size_t sig_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len,
                     reinterpret_cast<const unsigned char*>(jwt.data()), jwt.size()) != 1) {
    return key_error("private_key could not sign the token request");
  }
  std::vector<unsigned char> sig(sig_len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_len,
                     reinterpret_cast<const unsigned char*>(jwt.data()), jwt.size()) != 1) {
    return key_error("private_key could not sign the token request");
  }
  jwt += '.';
  jwt += base64url(std::string_view(reinterpret_cast<const char*>(sig.data()), sig_len));
  return jwt;
}

std::string google_token_form(std::string_view assertion) {
  // The assertion is base64url and '.', all unreserved in a form body: no escaping needed.
  std::string form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
  form += assertion;
  return form;
}

}  // namespace aiproxy::upstream
