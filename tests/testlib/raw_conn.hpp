#pragma once
// A blocking client socket for tests that must see a server's exact bytes (HTTP heads, bodies,
// framing). Test-only; touches nothing but its own socket.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aiproxy::testlib {

/// Connects to 127.0.0.1:`port`; every read waits at most 10 s. Throws std::runtime_error on
/// connect/send failure, on the deadline, or when the connection ends inside a head.
class raw_conn {
 public:
  explicit raw_conn(std::uint16_t port);
  ~raw_conn();
  raw_conn(const raw_conn&) = delete;
  raw_conn& operator=(const raw_conn&) = delete;

  void send(std::string_view s);
  /// The next head, up to and including its blank line; what follows stays buffered.
  std::string read_head();
  /// The next `n` bytes (throws when the connection ends first).
  std::string read_exactly(std::size_t n);
  /// Everything until the server closes the connection (with a FIN or a reset).
  std::string read_to_eof();
  /// Whether the server ended the connection with a reset (RST) rather than a FIN.
  bool was_reset() const noexcept { return reset_; }

 private:
  bool fill();

  int fd_ = -1;
  bool reset_ = false;
  std::string buf_;
};

}  // namespace aiproxy::testlib
