// The blocking nghttp2 test client: POSIX socket, poll() for reads, nghttp2 for the framing.

#include "h2_client.hpp"

#include <nghttp2/nghttp2.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace aiproxy::testlib {

std::optional<std::string> h2_response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) {
      return v;
    }
  }
  return std::nullopt;
}

namespace {

struct callbacks_deleter {
  void operator()(nghttp2_session_callbacks* p) const { nghttp2_session_callbacks_del(p); }
};

}  // namespace

h2_client::h2_client(std::uint16_t port, bool handshake) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) {
    throw std::runtime_error("socket() failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect() failed");
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  nghttp2_session_callbacks* raw = nullptr;
  nghttp2_session_callbacks_new(&raw);
  std::unique_ptr<nghttp2_session_callbacks, callbacks_deleter> cbs(raw);
  nghttp2_session_callbacks_set_on_header_callback(
      raw, [](nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
              std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
              void* user) {
        auto& self = *static_cast<h2_client*>(user);
        if (frame->hd.type != NGHTTP2_HEADERS) {
          return 0;
        }
        auto& r = self.responses_[frame->hd.stream_id];
        std::string n(reinterpret_cast<const char*>(name), namelen);
        std::string v(reinterpret_cast<const char*>(value), valuelen);
        if (n == ":status") {
          r.status = std::stoi(v);
          r.headers.clear();  // a 1xx head is replaced by the final one
        } else {
          r.headers.emplace_back(std::move(n), std::move(v));
        }
        return 0;
      });
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      raw, [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
              std::size_t len, void* user) {
        auto& r = static_cast<h2_client*>(user)->responses_[id];
        r.chunks.emplace_back(reinterpret_cast<const char*>(data), len);
        r.body.append(reinterpret_cast<const char*>(data), len);
        return 0;
      });
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      raw, [](nghttp2_session*, const nghttp2_frame* frame, void* user) {
        auto& self = *static_cast<h2_client*>(user);
        if (frame->hd.type == NGHTTP2_GOAWAY) {
          self.goaway_ = true;
          self.goaway_error_ = frame->goaway.error_code;
          self.goaway_last_ = frame->goaway.last_stream_id;
        } else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
                   (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
          self.responses_[frame->hd.stream_id].ended = true;
        }
        return 0;
      });
  nghttp2_session_callbacks_set_on_stream_close_callback(
      raw, [](nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
        auto& self = *static_cast<h2_client*>(user);
        self.close_order_.push_back(id);
        auto& r = self.responses_[id];
        r.closed = true;
        r.close_code = code;
        return 0;
      });
  if (nghttp2_session_client_new(&session_, raw, this) != 0) {
    ::close(fd_);
    throw std::runtime_error("nghttp2_session_client_new failed");
  }
  if (handshake) {
    nghttp2_settings_entry window{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, &window, 1);
  }
}

h2_client::~h2_client() {
  nghttp2_session_del(session_);
  ::close(fd_);
}

std::int32_t h2_client::submit(std::string_view method, std::string_view path,
                               std::vector<std::pair<std::string, std::string>> headers,
                               std::optional<std::string> body, bool keep_open) {
  std::vector<std::pair<std::string, std::string>> all = {{":method", std::string(method)},
                                                          {":scheme", "http"},
                                                          {":authority", "gateway.test:8080"},
                                                          {":path", std::string(path)}};
  all.insert(all.end(), headers.begin(), headers.end());
  std::vector<nghttp2_nv> nva;
  for (auto& [n, v] : all) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(n.data()),
                   reinterpret_cast<std::uint8_t*>(v.data()), n.size(), v.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  nghttp2_data_provider provider{};
  provider.read_callback = [](nghttp2_session*, std::int32_t id, std::uint8_t* buf,
                              std::size_t length, std::uint32_t* flags, nghttp2_data_source*,
                              void* user) -> ssize_t {
    auto& self = *static_cast<h2_client*>(user);
    auto& up = self.uploads_[id];
    const std::size_t n = std::min(length, up.data.size() - up.offset);
    std::memcpy(buf, up.data.data() + up.offset, n);
    up.offset += n;
    if (up.offset == up.data.size()) {
      if (up.keep_open) {
        return n > 0 ? static_cast<ssize_t>(n) : static_cast<ssize_t>(NGHTTP2_ERR_DEFERRED);
      }
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return static_cast<ssize_t>(n);
  };
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                                 body ? &provider : nullptr, nullptr);
  if (id < 0) {
    throw std::runtime_error(std::string("submit failed: ") + nghttp2_strerror(id));
  }
  if (body) {
    uploads_[id] = upload{std::move(*body), 0, keep_open};
  }
  responses_[id];
  return id;
}

void h2_client::reset(std::int32_t id, std::uint32_t code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
}

bool h2_client::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      eof_ = true;  // the server closed the connection
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void h2_client::send_raw(std::string_view bytes) {
  if (!send_all(bytes)) {
    throw std::runtime_error("send() failed");
  }
}

void h2_client::flush(bool byte_by_byte) {
  for (;;) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      throw std::runtime_error(std::string("mem_send: ") + nghttp2_strerror(static_cast<int>(n)));
    }
    if (n == 0) {
      return;
    }
    const std::string_view bytes(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (!byte_by_byte) {
      if (!send_all(bytes)) {
        return;
      }
      continue;
    }
    for (char c : bytes) {
      if (!send_all(std::string_view(&c, 1))) {
        return;
      }
    }
  }
}

bool h2_client::read_once(std::chrono::milliseconds timeout) {
  // Short slices, so that a condition set by another thread is seen soon.
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, static_cast<int>(std::min<long>(timeout.count(), 20)));
  if (ready <= 0) {
    return false;
  }
  char buf[16 * 1024];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  const ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<std::uint8_t*>(buf),
                                              static_cast<std::size_t>(n));
  if (rv < 0) {
    throw std::runtime_error(std::string("mem_recv: ") + nghttp2_strerror(static_cast<int>(rv)));
  }
  return true;
}

bool h2_client::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!eof_) {
      flush();
    }
    if (done()) {
      return true;
    }
    if (eof_) {
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    read_once(left);
  }
}

const h2_response& h2_client::wait(std::int32_t id) {
  if (!run_until([&] { return responses_[id].closed; })) {
    throw std::runtime_error("stream " + std::to_string(id) + " did not close");
  }
  return responses_[id];
}

}  // namespace aiproxy::testlib
