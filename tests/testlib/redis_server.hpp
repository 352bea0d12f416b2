#pragma once
// redis_server: a real redis-server child for tests, on a free loopback port, with no
// persistence and its own temporary directory; stopped (SIGTERM, then reaped) on destruction.
// It can be stopped and started again on the same port to simulate an outage. Touches only its
// own child process and temporary directory.

#include "process.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace aiproxy::testlib {

struct redis_server_options {
  std::string requirepass{};  // non-empty: the server requires AUTH with this password
};

class redis_server {
 public:
  /// Starts redis-server (from PATH or /usr/bin) and waits until it answers PING. Throws
  /// std::runtime_error with a clear message when redis-server is missing or will not start.
  explicit redis_server(redis_server_options options = {});
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::string host() const { return "127.0.0.1"; }
  int port() const noexcept { return port_; }
  bool running() const noexcept { return child_ != nullptr; }

  /// SIGTERM and reap (a no-op when stopped).
  void stop();
  /// Starts again on the same port (data is gone: there is no persistence); throws on failure.
  void start();

  /// The path of the redis-server binary, or "" when there is none.
  static std::string find_binary();

 private:
  bool try_start(int port, std::string& why);

  redis_server_options options_;
  std::string binary_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<process> child_;
};

}  // namespace aiproxy::testlib
