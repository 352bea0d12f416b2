#pragma once
// Building the upstream URL: the provider's default endpoint, `model.options.upstream_url`
// overrides and the query string (provider defaults, the client's parameters, pinned
// parameters, auth). Pure: Boost.URL only, no I/O.

#include "aiproxy/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::providers {

/// An ordered query string whose parameters are kept percent-encoded.
class query_builder {
 public:
  /// Who set a parameter decides who may replace it.
  enum class origin {
    provider_default,  // e.g. Azure api-version from config: a client parameter replaces it
    pinned,            // from upstream_url: the client cannot replace it
    client,
    gateway,  // auth
  };

  /// Sets `key` to `value` (both plain text, encoded here), replacing every parameter `key`.
  void set(std::string_view key, std::string_view value, origin o);
  /// Adds the client's raw query string (without '?'): a parameter replaces a provider default
  /// with the same key, is dropped when the key is pinned, and is appended otherwise. Invalid
  /// percent-encoding is a 400.
  result<void> add_client_query(std::string_view raw);
  /// True when some parameter named `key` came from the client.
  bool client_sent(std::string_view key) const;
  /// All parameters joined with '&' (empty when there are none).
  std::string encoded() const;

 private:
  struct param {
    std::string key;      // decoded
    std::string encoded;  // "k=v" or "k", percent-encoded
    origin from;
  };
  std::vector<param> params_;
};

/// Where a request goes.
struct endpoint {
  std::string scheme = "https";
  std::string host;
  std::uint16_t port = 443;
  std::string path;  // percent-encoded, starts with '/'
  query_builder query;

  /// path plus "?query" when there is a query.
  std::string target() const&;
  /// The same, taking the path's storage instead of copying it.
  std::string target() &&;
};

/// Applies `model.options.upstream_url` to `ep` (whose host/path are the provider's defaults,
/// possibly empty). A URL with a path other than "" or "/" replaces the whole endpoint and its
/// query parameters are pinned; a URL without a path keeps `ep.path`. A missing port is 80 for
/// http and 443 for https. Errors (500: a configuration problem) for unparsable URLs or schemes
/// other than http/https.
result<void> apply_upstream_url(endpoint& ep, std::string_view upstream_url);

/// Percent-encodes every byte outside RFC 3986 "unreserved" (ALPHA DIGIT - . _ ~).
std::string percent_encode(std::string_view s);

}  // namespace aiproxy::providers
