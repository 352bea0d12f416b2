#pragma once
// One open WebSocket connection as the gateway's handlers see it, whichever side it faces: the
// client's (accepted by the HTTP session, downstream.hpp) or a provider's (upstream/
// websocket_client.hpp). Whole messages in and out, text or binary; no Beast types. Both
// implementations run on one worker's io_context; one read and one write (or close) may be
// pending at the same time, from two coroutines.

#include "aiproxy/core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::http {

/// One whole WebSocket message.
struct ws_message {
  std::string data;
  bool binary = false;  // false: a text message (UTF-8)
};

/// The status of a close frame (RFC 6455 section 7.4). code 0 = the frame carried no status.
struct ws_close {
  std::uint16_t code = 0;
  std::string reason;
};

namespace ws_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace ws_code

class websocket {
 public:
  virtual ~websocket() = default;

  /// The next whole message. nullopt: the peer sent a close frame (answered already; see
  /// peer_close()). An error: the connection failed (reset, timeout, a message over the size
  /// limit, a protocol violation); it is closed then.
  virtual boost::asio::awaitable<result<std::optional<ws_message>>> read() = 0;

  /// Sends one message as one frame. Completes when the bytes are handed to the socket, so the
  /// writer is paced by its peer; a write that cannot finish within the write timeout closes the
  /// connection and fails.
  virtual boost::asio::awaitable<result<void>> write(std::string_view data, bool binary) = 0;

  /// Starts (or answers) the closing handshake with `code` and `reason` (code 0: no status) and
  /// waits, within a short bound, for the peer's close frame; then the connection is closed.
  /// A no-op when a close was already sent or the connection is gone.
  virtual boost::asio::awaitable<void> close(std::uint16_t code, std::string_view reason) = 0;

  /// The close frame the peer sent, once read() returned nullopt (or close() completed).
  virtual std::optional<ws_close> peer_close() const = 0;
};

}  // namespace aiproxy::http
