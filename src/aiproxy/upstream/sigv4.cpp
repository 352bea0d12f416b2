// AWS Signature Version 4 (see sigv4.hpp): canonical request, string to sign, signing key and
// Authorization header, on OpenSSL's SHA-256 and HMAC. Pure: no Asio, no clock, no environment.
#include "aiproxy/upstream/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

namespace aiproxy::upstream {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

using digest = std::array<unsigned char, 32>;

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0F]);
  }
  return out;
}

digest hmac(std::string_view key, std::string_view data) {
  digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string_view as_view(const digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// SigV4's URI encoding: every byte but the unreserved ones (and '/' when `keep_slash`) as %XX.
void uri_encode(std::string& out, std::string_view s, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0x0F]);
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Percent-decodes `s`; a '%' not followed by two hex digits stays as it is.
std::string uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) {
      continue;
    }
    const auto eq = param.find('=');
    std::string key;
    std::string value;
    uri_encode(key, uri_decode(param.substr(0, eq)), false);
    if (eq != std::string_view::npos) {
      uri_encode(value, uri_decode(param.substr(eq + 1)), false);
    }
    params.emplace_back(std::move(key), std::move(value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  });
  return out;
}

// A header value as SigV4 canonicalizes it: trimmed, runs of spaces collapsed to one.
void append_trimmed(std::string& out, std::string_view v) {
  bool space = false;
  bool started = false;
  for (const char c : v) {
    if (c == ' ' || c == '\t') {
      space = started;
      continue;
    }
    if (space) {
      out.push_back(' ');
      space = false;
    }
    out.push_back(c);
    started = true;
  }
}

// host[:port] as the upstream client sends it.
std::string host_value(const providers::upstream_request& req) {
  if (!req.host_header.empty()) {
    return req.host_header;
  }
  std::string host =
      req.host.find(':') != std::string::npos ? "[" + req.host + "]" : std::string(req.host);
  const bool default_port =
      (req.scheme == "https" && req.port == 443) || (req.scheme == "http" && req.port == 80);
  if (!default_port) {
    host += ":" + std::to_string(req.port);
  }
  return host;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  digest d{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  return hex(d.data(), d.size());
}

std::string amz_date(std::int64_t unix_seconds) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{unix_seconds}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

sigv4_signature compute_sigv4(std::string_view method, std::string_view target,
                              const header_list& headers,
                              std::span<const std::string> signed_headers,
                              std::string_view payload_sha256_hex, const aws_credentials& c,
                              std::string_view region, std::string_view service,
                              std::string_view amz_date_value) {
  std::vector<std::string> names;
  names.reserve(signed_headers.size());
  for (const auto& n : signed_headers) {
    names.push_back(lower(n));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  sigv4_signature s;
  std::string& creq = s.canonical_request;
  creq.reserve(512);
  creq.append(method);
  creq.push_back('\n');
  if (path.empty()) {
    creq.push_back('/');
  } else {
    uri_encode(creq, path, true);
  }
  creq.push_back('\n');
  creq += canonical_query(query);
  creq.push_back('\n');
  std::string signed_list;
  for (const auto& name : names) {
    creq += name;
    creq.push_back(':');
    bool first = true;
    for (const auto& [n, v] : headers.fields()) {
      if (iequals(n, name)) {
        if (!first) {
          creq.push_back(',');
        }
        first = false;
        append_trimmed(creq, v);
      }
    }
    creq.push_back('\n');
    if (!signed_list.empty()) {
      signed_list.push_back(';');
    }
    signed_list += name;
  }
  creq.push_back('\n');
  creq += signed_list;
  creq.push_back('\n');
  creq.append(payload_sha256_hex);

  const std::string_view date = amz_date_value.substr(0, 8);
  std::string scope;
  scope.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  s.string_to_sign.append(algorithm).append("\n").append(amz_date_value).append("\n");
  s.string_to_sign.append(scope).append("\n").append(sha256_hex(creq));

  const digest k_date = hmac("AWS4" + c.secret_access_key, date);
  const digest k_region = hmac(as_view(k_date), region);
  const digest k_service = hmac(as_view(k_region), service);
  const digest k_signing = hmac(as_view(k_service), "aws4_request");
  const digest sig = hmac(as_view(k_signing), s.string_to_sign);

  s.authorization.append(algorithm).append(" Credential=").append(c.access_key_id);
  s.authorization.append("/").append(scope).append(", SignedHeaders=").append(signed_list);
  s.authorization.append(", Signature=").append(hex(sig.data(), sig.size()));
  return s;
}

void sign_sigv4(providers::upstream_request& req, const aws_credentials& c, std::string_view region,
                std::string_view service, std::int64_t unix_seconds) {
  const std::string date = amz_date(unix_seconds);
  const std::string payload_hash = sha256_hex(req.body);
  req.headers.set("X-Amz-Date", date);
  req.headers.set("X-Amz-Content-Sha256", payload_hash);
  if (c.session_token.empty()) {
    req.headers.erase("X-Amz-Security-Token");
  } else {
    req.headers.set("X-Amz-Security-Token", c.session_token);
  }

  header_list signing;
  signing.reserve(5);
  signing.add("host", host_value(req));
  std::vector<std::string> names = {"host", "x-amz-content-sha256", "x-amz-date"};
  if (const auto ct = req.headers.get("content-type")) {
    signing.add("content-type", *ct);
    names.emplace_back("content-type");
  }
  signing.add("x-amz-content-sha256", payload_hash);
  signing.add("x-amz-date", date);
  if (!c.session_token.empty()) {
    signing.add("x-amz-security-token", c.session_token);
    names.emplace_back("x-amz-security-token");
  }
  const auto s =
      compute_sigv4(req.method, req.target, signing, names, payload_hash, c, region, service, date);
  req.headers.set("Authorization", s.authorization);
}

std::optional<aws_credentials> aws_credentials_from(
    const config::auth_config& auth, const std::function<const char*(const char*)>& getenv) {
  if (!auth.aws_access_key_id.empty() && !auth.aws_secret_access_key.empty()) {
    return aws_credentials{auth.aws_access_key_id, auth.aws_secret_access_key, {}};
  }
  if (!getenv) {
    return std::nullopt;
  }
  const auto env = [&](const char* name) {
    const char* v = getenv(name);
    return v != nullptr ? std::string(v) : std::string();
  };
  aws_credentials c{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"),
                    env("AWS_SESSION_TOKEN")};
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return std::nullopt;
  }
  return c;
}

}  // namespace aiproxy::upstream
