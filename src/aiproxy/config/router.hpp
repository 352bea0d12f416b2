#pragma once
// Route matching with Kong's `traditional_compatible` rules: paths (prefix or `~` regex, anchored
// at the start), methods, hosts (exact and wildcard), headers; the most specific route wins.
// Built once per config snapshot, then read-only (safe to share between threads). Pure: no I/O,
// no Asio; Boost.Regex stays inside router.cpp.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/headers.hpp"

namespace aiproxy::config {

struct route_match {
  std::size_t route = 0;  // index into gateway_config::routes
  /// Regex captures of the matched path: named groups and numbered ones ("1", "2", ...).
  std::vector<std::pair<std::string, std::string>> uri_captures;
  /// The path to send upstream: the service path joined with the request path after strip_path
  /// (Kong's path_handling v0), percent-encoded where needed.
  std::string upstream_path;
};

class router {
 public:
  explicit router(const gateway_config& config);
  ~router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  /// `path` is the request target's path (a query string, if present, is ignored); `host` is the
  /// Host header (a port is allowed). Never throws; a regex that exceeds Boost.Regex's complexity
  /// limit counts as not matching.
  std::optional<route_match> match(std::string_view method, std::string_view host,
                                   std::string_view path, const header_list& headers) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Kong's request-path normalization (RFC 3986): percent-encoded triplets upper-cased, those of
/// non-reserved characters decoded, dot segments removed, duplicate slashes merged.
std::string normalize_path(std::string_view path);

/// Whether normalize_path would leave `path` as it is because it has no '%', no '.' and no "//"
/// (the usual request path, which the router then matches without a copy).
bool is_normalized_path(std::string_view path) noexcept;

/// nullopt when `pattern` (without the leading `~`) compiles as a route regex; else the reason.
std::optional<std::string> check_route_regex(std::string_view pattern);

}  // namespace aiproxy::config
