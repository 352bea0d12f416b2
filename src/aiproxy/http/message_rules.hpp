#pragma once
// Rules both downstream sessions (HTTP/1.1 in session.cpp, HTTP/2 in h2_session.cpp) apply to
// the messages they read and write: which statuses carry no body, which field names and values
// may be written, and the routing host of a Host header or :authority. Pure: no I/O.

#include "aiproxy/core/header_chars.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace aiproxy::http {

/// Statuses whose responses never carry a body (RFC 9110 sections 6.4.1, 15.3.5, 15.4.5).
inline bool bodyless_status(int status) noexcept {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

/// A field name is a token: no separators, white space or control characters.
inline bool valid_field_name(std::string_view name) noexcept {
  return is_header_token(name);
}

/// A value without line breaks or NUL, so it cannot end the field or the head early.
inline bool valid_field_value(std::string_view value) noexcept {
  return !has_line_break_or_nul(value);
}

/// The value without leading and trailing SP/HTAB.
inline std::string_view trim_field_value(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return v;
}

/// The host a Host header or an :authority names, for routing: without user information and
/// port (IPv6 brackets kept), lower case.
inline std::string routing_host(std::string_view authority) {
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    if (auto end = authority.find(']'); end != std::string_view::npos) {
      authority = authority.substr(0, end + 1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    authority = authority.substr(0, colon);
  }
  std::string host(authority);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

}  // namespace aiproxy::http
