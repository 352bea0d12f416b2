#pragma once
// redis_connection: one synchronous hiredis connection for a background thread (never the data
// path): connect with a timeout, AUTH, SELECT, single commands and pipelines. Reconnects on the
// next call after an I/O failure. The configured password never appears in an error message.
// Touches only its own socket.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace aiproxy::balancer {

/// A RESP2 reply, copied out of hiredis.
struct redis_reply {
  enum class kind { nil, integer, string, status, array, error };
  kind type = kind::nil;
  std::int64_t integer = 0;
  std::string str;  // string, status and error replies
  std::vector<redis_reply> elements;

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_error() const noexcept { return type == kind::error; }
};

/// One command: its arguments, binary-safe.
using redis_command = std::vector<std::string>;

class redis_connection {
 public:
  explicit redis_connection(config::redis_config conf);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// "host:port", for messages.
  std::string endpoint() const;
  bool connected() const noexcept { return ctx_ != nullptr; }

  /// Connects (closing any previous connection) within timeout_ms, then AUTH and SELECT as
  /// configured. A failure leaves the connection closed.
  result<void> connect();
  void disconnect() noexcept;

  /// One command (connecting first when needed). An I/O failure closes the connection (the next
  /// call reconnects); an error reply from Redis is returned as an error too.
  result<redis_reply> command(std::initializer_list<std::string_view> args);
  result<redis_reply> command(const redis_command& args);

  /// Several commands in one round trip; the replies in order. Error replies stay in the vector
  /// (kind::error); only an I/O failure fails the whole call.
  result<std::vector<redis_reply>> pipeline(const std::vector<redis_command>& commands);

 private:
  template <class Args>
  result<redis_reply> run(const Args& args);
  result<redis_reply> read_reply();
  error fail(std::string_view what);
  std::string scrub(std::string text) const;

  config::redis_config conf_;
  redisContext* ctx_ = nullptr;
};

}  // namespace aiproxy::balancer
