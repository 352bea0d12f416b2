#pragma once
// The HTTP/1.1 server session: one coroutine per client connection that reads requests (with
// header, body and time limits), hands each to a request_handler, and writes the response, or
// hands the connection over as a WebSocket when the handler accepts an upgrade (the connection
// then ends with the handler). Runs on one worker's io_context; the tracker lets the worker
// drain its connections (a WebSocket counts as busy until the drain deadline closes it).

#include "aiproxy/http/downstream.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>

namespace aiproxy::http {

struct session_options {
  std::chrono::milliseconds header_timeout{60000};  // reading a head, and idle keep-alive wait
  std::chrono::milliseconds body_timeout{60000};    // reading a body
  std::chrono::milliseconds write_timeout{60000};   // each write to the client
  std::size_t max_header_bytes = 32 * 1024;
  std::uint64_t max_body_bytes = 128ull * 1024 * 1024;  // hard cap over any route's limit
  std::size_t max_requests_per_connection = 10000;
  /// A WebSocket message from the client larger than this fails the connection (close 1009).
  std::size_t max_websocket_message_bytes = 16 * 1024 * 1024;
  /// How long a WebSocket closing handshake may wait for the client's close frame.
  std::chrono::milliseconds websocket_close_timeout{5000};
  /// After answering a request whose body was not read (a 413), the connection keeps reading and
  /// discarding for up to this long and this many bytes before it closes, so that the client,
  /// still uploading, reads the answer instead of a reset.
  std::chrono::milliseconds linger_timeout{2000};
  std::uint64_t linger_max_bytes = 32ull * 1024 * 1024;
  /// Serve HTTP/2 with prior knowledge (h2c) on the same port: a connection that opens with the
  /// HTTP/2 preface is handed to the HTTP/2 session (h2_session.hpp).
  bool http2 = true;
  /// Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
  std::uint32_t h2_max_concurrent_streams = 128;
};

/// The live connections of one worker thread (not thread-safe; used on that thread only).
class session_tracker {
 public:
  struct entry {
    std::function<void()> close;  // closes the socket, waking any pending operation
    bool idle = true;             // waiting for the next request head
    /// Called when the worker begins draining while the connection is busy (an HTTP/2
    /// connection then sends GOAWAY at once); empty: the connection looks at draining().
    std::function<void()> drain;
  };
  using handle = std::list<entry>::iterator;

  handle add(std::function<void()> close);
  void remove(handle h);
  void set_idle(handle h, bool idle) { h->idle = idle; }
  void on_drain(handle h, std::function<void()> drain) { h->drain = std::move(drain); }

  /// Stop keeping connections alive: idle ones close now, busy ones after their response (and
  /// hear of it through their drain hook, if they set one).
  void begin_drain();
  /// Close every connection now (the drain deadline passed).
  void close_all();
  bool draining() const noexcept { return draining_; }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  std::list<entry> entries_;
  bool draining_ = false;
};

boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket,
                                         request_handler& handler, const session_options& options,
                                         session_tracker& tracker);

}  // namespace aiproxy::http
