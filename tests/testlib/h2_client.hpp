#pragma once
// A blocking HTTP/2 test client (h2c with prior knowledge) on nghttp2: opens streams, records
// each response (head, DATA chunks as they arrived, how the stream closed) and the server's
// GOAWAY, and runs the connection until a condition holds. Can also write its bytes one at a
// time or send raw bytes. Test-only; touches nothing but its own socket.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace aiproxy::testlib {

struct h2_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> chunks;  // DATA payloads, as they arrived
  std::string body;
  bool ended = false;            // END_STREAM from the server
  bool closed = false;           // the stream closed (ended, or reset by either side)
  std::uint32_t close_code = 0;  // RST_STREAM error code, 0 when closed normally

  std::optional<std::string> header(std::string_view name) const;
};

class h2_client {
 public:
  /// Connects to 127.0.0.1:`port`. With `handshake`, queues the preface and SETTINGS.
  explicit h2_client(std::uint16_t port, bool handshake = true);
  ~h2_client();
  h2_client(const h2_client&) = delete;
  h2_client& operator=(const h2_client&) = delete;

  /// Opens a stream: `body` is sent as DATA (none: END_STREAM on HEADERS). With `keep_open`,
  /// the upload stays open after the body (the client "stalls"). Returns the stream id.
  std::int32_t submit(std::string_view method, std::string_view path,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      std::optional<std::string> body = std::nullopt, bool keep_open = false);
  void reset(std::int32_t id, std::uint32_t code);

  /// Runs the connection until `done()` holds; false when the connection ended or `timeout`
  /// passed first.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Runs until stream `id` closed; returns its response (throws on timeout).
  const h2_response& wait(std::int32_t id);
  h2_response& response(std::int32_t id) { return responses_[id]; }

  /// Writes what nghttp2 has queued, one byte per send() when `byte_by_byte`.
  void flush(bool byte_by_byte = false);
  /// Writes bytes as they are, outside nghttp2.
  void send_raw(std::string_view bytes);

  bool goaway_received() const noexcept { return goaway_; }
  std::uint32_t goaway_error() const noexcept { return goaway_error_; }
  std::int32_t goaway_last_stream() const noexcept { return goaway_last_; }
  /// The server closed the connection.
  bool eof() const noexcept { return eof_; }
  /// Stream ids in the order their streams closed.
  const std::vector<std::int32_t>& close_order() const noexcept { return close_order_; }

 private:
  struct upload {
    std::string data;
    std::size_t offset = 0;
    bool keep_open = false;
  };
  bool read_once(std::chrono::milliseconds timeout);
  bool send_all(std::string_view bytes);

  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, h2_response> responses_;
  std::map<std::int32_t, upload> uploads_;
  bool goaway_ = false;
  std::uint32_t goaway_error_ = 0;
  std::int32_t goaway_last_ = -1;
  bool eof_ = false;
  std::vector<std::int32_t> close_order_;
};

}  // namespace aiproxy::testlib
