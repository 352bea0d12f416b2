// raw_conn: see raw_conn.hpp. Test-only.
#include "raw_conn.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cerrno>

#include <stdexcept>
#include <utility>

namespace aiproxy::testlib {

raw_conn::raw_conn(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect failed");
  }
}

raw_conn::~raw_conn() {
  ::close(fd_);
}

void raw_conn::send(std::string_view s) {
  while (!s.empty()) {
    auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      throw std::runtime_error("send failed");
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string raw_conn::read_head() {
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) {
      throw std::runtime_error("connection ended inside a head: [" + buf_ + "]");
    }
  }
  std::string head = buf_.substr(0, end + 4);
  buf_.erase(0, end + 4);
  return head;
}

std::string raw_conn::read_exactly(std::size_t n) {
  while (buf_.size() < n) {
    if (!fill()) {
      throw std::runtime_error("connection ended before " + std::to_string(n) + " bytes; have [" +
                               buf_ + "]");
    }
  }
  std::string out = buf_.substr(0, n);
  buf_.erase(0, n);
  return out;
}

std::string raw_conn::read_to_eof() {
  while (fill()) {
  }
  return std::exchange(buf_, {});
}

bool raw_conn::fill() {
  char tmp[4096];
  auto n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n < 0 && errno == ECONNRESET) {
    reset_ = true;
    return false;
  }
  if (n < 0) {
    throw std::runtime_error("no bytes before the deadline; have [" + buf_ + "]");
  }
  buf_.append(tmp, static_cast<std::size_t>(n));
  return n > 0;
}

}  // namespace aiproxy::testlib
