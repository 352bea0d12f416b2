#pragma once
// The one error type of the data plane, and result<T> built on Boost.System's result.
// Pure: no I/O, no Asio. Turned into a client response in exactly one place (http/error_reply).

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace aiproxy {

/// An error the gateway reports to a client: the HTTP status and the fields of an
/// OpenAI-style body {"error":{"message","type","code"}}. The message must never hold a secret.
/// How an upstream call failed, in nginx `proxy_next_upstream` terms (decides failover).
enum class upstream_failure : std::uint8_t { none, error, timeout, invalid_header };

struct error {
  int status = 500;
  std::string message;
  std::string type = "api_error";  // OpenAI error type
  std::string code;                // machine-readable code; empty = JSON null
  /// Set by the upstream client only; never sent to the client. `request_sent` is false when
  /// the failure happened before any request byte left (resolve, connect, TLS handshake), so
  /// even a non-idempotent request may be retried elsewhere.
  upstream_failure upstream = upstream_failure::none;
  bool request_sent = false;

  static error bad_request(std::string message, std::string code = {});
  static error not_found(std::string message);
  static error method_not_allowed(std::string message);
  static error payload_too_large(std::string message);
  static error bad_gateway(std::string message, std::string code = {});
  static error gateway_timeout(std::string message);
  static error service_unavailable(std::string message);
  static error internal(std::string message);

  /// {"error":{"message":...,"type":...,"code":...}} as compact JSON.
  std::string to_json() const;
};

/// Required by boost::system::result<T, error>::value() when it holds an error.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

/// Thrown only while loading configuration (never on the data path).
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace aiproxy
