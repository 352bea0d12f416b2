#pragma once
// A scriptable HTTP/1.1 server for tests: listens on 127.0.0.1:0 (plain or TLS with a certificate
// made at run time), runs on its own thread, records every request and answers each one with the
// action a test's handler returns (respond, stream, reset, hang, garbage, close after headers).
// Used by the unit tests of upstream/ and by the integration tests (the gateway is then another
// process). Touches only its own sockets, thread and one temporary PEM file.

#include "aiproxy/core/headers.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aiproxy::testlib {

struct received_request {
  std::string method;
  std::string target;
  header_list headers;
  std::string body;
  std::size_t connection = 0;  // 1-based number of the connection it arrived on
};

enum class content_coding { identity, gzip, deflate };

/// What the fake upstream does with one request. Build one with the static functions, then
/// adjust it with the chainable modifiers, e.g. `action::respond(200, {}, "hi").gzip()`.
struct action {
  enum class kind { respond, stream, reset, hang, garbage };

  kind what = kind::respond;
  int status = 200;
  header_list headers;
  std::string body;                    // respond
  std::vector<std::string> chunks;     // stream: written one by one
  std::chrono::milliseconds delay{0};  // stream: pause before every chunk but the first
  bool chunked = true;  // stream: Transfer-Encoding: chunked; false = body ends when we close
  bool gated = false;   // stream: each chunk after the first waits for fake_upstream::release()
  content_coding coding = content_coding::identity;
  std::optional<std::size_t> reset_bytes;  // send this many bytes of the response, then RST
  bool headers_only = false;               // send the head (claiming a body), then close
  bool close = false;                      // answer with Connection: close and close after
  bool close_quietly = false;              // close after the response without announcing it
  std::string garbage_bytes;               // garbage: written as is, then close

  /// A complete response; Content-Length is added unless `headers` has one.
  static action respond(int status, header_list headers = {}, std::string body = {});
  /// A complete response with Content-Type: application/json.
  static action json(int status, std::string body);
  /// A response whose body goes out as `chunks`, `delay` apart.
  static action stream(int status, header_list headers, std::vector<std::string> chunks,
                       std::chrono::milliseconds delay = std::chrono::milliseconds(0),
                       bool chunked = true);
  /// Closes the connection at once with a TCP reset, without answering.
  static action reset();
  /// Reads the request and never answers (until the server stops).
  static action hang();
  /// Writes bytes that are not HTTP, then closes.
  static action garbage(std::string bytes = "SSH-2.0-OpenSSH_9.2 not http at all\r\n\r\n");

  /// Content-Encoding gzip / deflate (zlib) for the body (stream: flushed after every chunk).
  action& gzip();
  action& deflate();
  /// Sends only the first `n` bytes of the serialized response, then resets the connection.
  action& reset_after(std::size_t n);
  /// Sends the head (with its Content-Length or chunked framing), then closes the connection.
  action& close_after_headers();
  /// Adds Connection: close and closes after the response.
  action& close_connection();
  /// Closes the connection after the response without a Connection: close header, as a server
  /// does when it drops an idle keep-alive connection.
  action& close_silently();
  /// Each stream chunk after the first waits for one fake_upstream::release().
  action& gate();
  action& header(std::string_view name, std::string_view value);
};

struct fake_upstream_options {
  bool tls = false;
  std::string cert_host = "localhost";  // subject CN and DNS SAN of the generated certificate
  bool cert_ip_san = true;              // also an IP:127.0.0.1 SAN
};

class fake_upstream {
 public:
  using handler = std::function<action(const received_request&)>;

  explicit fake_upstream(fake_upstream_options options = {});
  ~fake_upstream();  // stops the server and joins its thread
  fake_upstream(const fake_upstream&) = delete;
  fake_upstream& operator=(const fake_upstream&) = delete;

  std::uint16_t port() const noexcept;
  bool tls() const noexcept;
  /// "http://127.0.0.1:<port>" (or https).
  std::string base_url() const;
  /// PEM file of the self-signed certificate (TLS mode; empty otherwise). It is its own CA.
  const std::string& ca_file() const noexcept;

  /// Sets the handler for the requests that come next (thread-safe). Default: 200 "ok".
  void on(handler h);
  /// Every request received so far, in arrival order (thread-safe copy).
  std::vector<received_request> requests() const;
  std::size_t request_count() const;
  std::size_t connections_accepted() const noexcept;
  /// Blocks until `n` requests have arrived or `timeout` passed; returns whether they did.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  /// Lets `n` gated stream chunks go (see action::gate()).
  void release(std::size_t n = 1);

  /// Stops accepting, drops every connection and joins the thread. Idempotent.
  void stop();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// The body encoded as gzip or zlib-wrapped deflate (what fake_upstream sends).
std::string encode_body(std::string_view body, content_coding coding);

}  // namespace aiproxy::testlib
