#pragma once
// The downstream side of one request as the gateway's handlers see it: the request head, a body
// read with a per-route limit, and a response sent whole or streamed in chunks. Implemented by
// the HTTP/1.1 session (session.cpp); handlers never see Beast types.

#include "aiproxy/core/error.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/http/websocket.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::http {

struct request_head {
  std::string method;
  std::string target;  // as received: path plus optional "?query"
  std::string path;    // target up to '?'
  std::string query;   // target after '?', without it
  std::string host;    // Host header without port, lower case
  header_list headers;
  unsigned version = 11;  // 10 or 11
  std::string client_address;
};

class downstream {
 public:
  virtual ~downstream() = default;

  virtual const request_head& head() const noexcept = 0;

  /// Reads the whole request body, at most `limit` bytes (0 = no per-route limit; the session's
  /// hard cap still applies). Over the limit: error 413, and the connection closes after the
  /// response. Answers `Expect: 100-continue` when it starts reading.
  virtual boost::asio::awaitable<result<std::string_view>> read_body(std::uint64_t limit) = 0;

  /// read_body(limit) when it can answer without waiting (the body arrived with the head, or an
  /// error), so a caller can take it without a coroutine; nothing when it would have to read or
  /// write (then read_body() is the way).
  virtual std::optional<result<std::string_view>> held_body(std::uint64_t limit) {
    return std::nullopt;
  }

  /// Reads the request body piece by piece as it arrives, so an upload can be relayed without
  /// being held whole: each call returns the next piece (valid until the next call), and an
  /// empty view once the body has ended. Past `limit` bytes in all (0 = the session's hard cap
  /// only): error 413, and the connection closes after the response. Answers
  /// `Expect: 100-continue` on the first call. Not to be mixed with read_body().
  virtual boost::asio::awaitable<result<std::string_view>> read_body_part(std::uint64_t limit) = 0;

  /// The body's length when the client declared it (Content-Length), before it is read.
  virtual std::optional<std::uint64_t> declared_body_length() const noexcept = 0;

  /// Sends a complete response. Content-Length is set by the session.
  virtual boost::asio::awaitable<result<void>> respond(int status, const header_list& headers,
                                                       std::string body) = 0;

  /// Starts a streamed response (chunked for HTTP/1.1). Then write_chunk() any number of times
  /// and end_stream() once. Each write completes only when the client took the bytes, so the
  /// caller is paced by the client (backpressure).
  virtual boost::asio::awaitable<result<void>> begin_stream(int status,
                                                            const header_list& headers) = 0;
  virtual boost::asio::awaitable<result<void>> write_chunk(std::string_view data) = 0;
  virtual boost::asio::awaitable<result<void>> end_stream() = 0;

  /// The started response cannot be completed (the upstream failed mid-body where the framing
  /// has no room for an error event): the connection is closed without ending the response, so
  /// the client sees it as incomplete instead of a complete, truncated body. A stream left
  /// without end_stream() is aborted the same way when the handler returns.
  virtual void abort_response() noexcept = 0;

  /// True once any response byte went out (then an error can only end the stream).
  virtual bool response_started() const noexcept = 0;
  virtual int response_status() const noexcept = 0;
  virtual std::uint64_t bytes_received() const noexcept = 0;
  virtual std::uint64_t bytes_sent() const noexcept = 0;

  /// True when the request asks for a WebSocket upgrade (RFC 6455: HTTP/1.1 GET with
  /// `Connection: Upgrade` and `Upgrade: websocket`).
  virtual bool wants_websocket() const noexcept { return false; }

  /// Answers the upgrade with 101 Switching Protocols (plus `extra_headers`) and hands over the
  /// connection as a WebSocket. This is the request's response: afterwards respond() and
  /// begin_stream() must not be called, and the connection ends when the handler returns. The
  /// websocket must not outlive the handler's call. Errors: the request is not a valid upgrade
  /// (the session then already answered it with 400 or 426), or the client went away.
  virtual boost::asio::awaitable<result<std::unique_ptr<websocket>>> accept_websocket(
      const header_list& extra_headers) {
    (void)extra_headers;
    co_return error::bad_request("this connection cannot be upgraded to a WebSocket");
  }
};

/// Runs the gateway's work for one request. Must send exactly one response (or end a stream).
class request_handler {
 public:
  virtual ~request_handler() = default;
  virtual boost::asio::awaitable<void> handle(downstream& d) = 0;
};

/// The one place a gateway error becomes bytes for the client: a JSON error response, or, when
/// a stream already started, an SSE error event followed by the end of the stream.
boost::asio::awaitable<void> send_error(downstream& d, const error& e);

/// Response headers for a gateway-generated JSON body.
header_list json_headers();

}  // namespace aiproxy::http
