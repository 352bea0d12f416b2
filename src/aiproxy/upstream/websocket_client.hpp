#pragma once
// The upstream WebSocket client of one worker thread: opens ws:// or wss:// connections to a
// provider (TLS verified with SNI, as upstream::client does), sends the opening handshake with
// the request's headers, and returns the connection as an http::websocket, or the provider's
// HTTP answer when it declined the upgrade. Runs on the calling coroutine's executor only.

#include "aiproxy/core/error.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/http/websocket.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/upstream/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace aiproxy::upstream {

struct websocket_limits {
  std::size_t max_message_bytes = 16 * 1024 * 1024;  // a larger message fails (close 1009)
  std::chrono::milliseconds close_timeout{5000};     // wait for the peer's close frame
};

/// What the provider answered to the opening handshake.
struct websocket_connection {
  std::unique_ptr<http::websocket> socket;  // set when it answered 101
  int status = 0;                           // else its status, headers and body (hop-by-hop out)
  header_list headers;
  std::string body;
};

class websocket_client {
 public:
  /// Uses `options.tls_verify` and `options.ca_file` as upstream::client does.
  explicit websocket_client(client_options options);
  ~websocket_client();
  websocket_client(const websocket_client&) = delete;
  websocket_client& operator=(const websocket_client&) = delete;

  /// Connects to `req.scheme` "http" (plain ws) or "https" (wss) at req.host:req.port and asks
  /// to upgrade `req.target` (GET) with `req.headers`. Resolve, connect and TLS fit in
  /// t.connect; the handshake answer in t.read; each later write in t.write. Errors: 502
  /// (unreachable, TLS failure, invalid answer), 504 (a deadline passed).
  boost::asio::awaitable<result<websocket_connection>> connect(
      const providers::upstream_request& req, const timeouts& t, const websocket_limits& limits);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aiproxy::upstream
