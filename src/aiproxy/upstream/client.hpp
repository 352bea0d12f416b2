#pragma once
// The upstream HTTP/1.1 client of one worker thread: connection pool per (scheme, host, port),
// TLS with verification and SNI, a DNS cache, and a timeout on every connect, write and read.
// Everything here runs on the worker's io_context only; nothing is shared between threads.

#include "aiproxy/core/error.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/providers/provider.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace aiproxy::upstream {

struct timeouts {
  std::chrono::milliseconds connect{60000};
  std::chrono::milliseconds write{60000};
  std::chrono::milliseconds read{60000};  // between two successive reads, as nginx does
};

struct client_options {
  bool tls_verify = true;  // certificate chain and host name
  std::string ca_file;     // extra CA bundle (PEM); empty = system CAs only
  std::size_t max_idle_per_host = 64;
  std::chrono::seconds idle_timeout{60};  // pooled connections older than this are closed
  std::chrono::seconds dns_ttl{30};
  std::size_t max_header_bytes = 64 * 1024;
};

struct response_head {
  int status = 0;
  header_list headers;    // as received, minus hop-by-hop fields
  bool inflated = false;  // the body is being inflated (Content-Encoding was gzip/deflate)
};

class exchange;

/// A request body that arrives in pieces (an upload relayed to the upstream as it comes).
class body_source {
 public:
  virtual ~body_source() = default;
  /// The next piece of the body, valid until the next call; an empty view once the body ended.
  /// An error aborts the upstream request (its connection is closed with the body incomplete)
  /// and is what send_streamed() returns.
  virtual boost::asio::awaitable<result<std::string_view>> next() = 0;
  /// The body's whole length when known, asked once, right after the first next(): it is sent
  /// as Content-Length (a source that then yields another total fails the request with a 500);
  /// nullopt: the body goes with Transfer-Encoding: chunked.
  virtual std::optional<std::uint64_t> length() const noexcept { return std::nullopt; }
};

class client {
 public:
  client(boost::asio::io_context& ioc, client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends `req` (reusing a pooled connection when one is idle) and reads the response head.
  /// A pooled connection that turns out dead before any response byte is replaced once.
  /// `sent_at`: a steady_clock reading taken just before the call (a caller timing the upstream
  /// passes its own, so that one reading serves it, the pool's idle check and a reused
  /// connection's write deadline; a reading on a VM costs about 40 ns).
  /// Errors: 502 bad_gateway (unreachable, reset, TLS failure, invalid HTTP), 504 (timeout).
  boost::asio::awaitable<result<std::unique_ptr<exchange>>> send(
      const providers::upstream_request& req, const timeouts& t,
      std::chrono::steady_clock::time_point sent_at = std::chrono::steady_clock::now());

  /// Sends `req` (its `body` unused) with the body read from `body` while it is being written:
  /// the first piece is taken before any connection is made (a source failing at once costs no
  /// upstream request), then each piece goes out as soon as the previous one was written.
  /// The response head is read meanwhile: an upstream that answers before the body is all sent
  /// (401, 413) gets that answer returned, the rest of the body is not sent, and the connection
  /// is not reused. A pooled connection that turns out dead before any response byte is
  /// replaced once, replaying the body, only while every byte taken from the source is still
  /// held (the first piece, plus up to 64 KiB more); otherwise the failure is returned, never a
  /// partial body sent twice. A failing source aborts the request (connection closed, body
  /// incomplete) and its error is returned. Errors otherwise as send().
  boost::asio::awaitable<result<std::unique_ptr<exchange>>> send_streamed(
      const providers::upstream_request& req, body_source& body, const timeouts& t);

  /// Connections currently idle in the pool (for tests and metrics).
  std::size_t idle_connections() const noexcept;

 private:
  friend class exchange;
  struct impl;
  static std::optional<error> scheme_problem(const impl& s, const providers::upstream_request& req);
  std::unique_ptr<impl> impl_;
};

/// One request/response on one upstream connection. Destroying it returns the connection to
/// the pool when the body was read to the end and keep-alive is allowed; otherwise it closes.
class exchange {
 public:
  ~exchange();
  const response_head& head() const noexcept;
  /// Hands the response's fields over without copying them; head().headers is empty after.
  header_list take_headers() noexcept;
  /// Reads the rest of the body (inflated when needed). Fails with 502 past `max_bytes`.
  boost::asio::awaitable<result<std::string>> read_all(std::size_t max_bytes);
  /// Reads the next available piece of the body (inflated when needed) and appends it to `out`.
  /// Returns false once the body has ended (nothing appended then).
  boost::asio::awaitable<result<bool>> read_some(std::string& out);

  struct impl;
  explicit exchange(std::unique_ptr<impl> p);

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace aiproxy::upstream
