// The exact bytes upstream::client writes for a request, seen by a raw server socket: the request
// line, Host (host:port, a preserved Host trimmed, a Host with a line break replaced), fields in
// order without hop-by-hop/Host/Content-Length, Content-Length rules per method and body, and the
// refusals (a field name that is not a token, a line break in a value, a bad method or target)
// before any byte is sent. Touches only its own sockets and server thread.

#include "aiproxy/upstream/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace aiproxy::upstream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// Accepts connections one at a time on 127.0.0.1:0 and records every request as raw bytes
/// (head plus Content-Length body), answering each with an empty 200.
class raw_server {
 public:
  raw_server() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 8);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~raw_server() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (int fd = conn_fd_.load(); fd >= 0) {
      ::shutdown(fd, SHUT_RDWR);
    }
    thread_.join();
    ::close(listen_fd_);
  }
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  static std::size_t content_length(const std::string& head) {
    std::string lower = head;
    for (auto& ch : lower) {
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    auto at = lower.find("\r\ncontent-length: ");
    return at == std::string::npos ? 0 : std::stoul(lower.substr(at + 18));
  }

  void serve() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      conn_fd_ = fd;
      serve_connection(fd);
      conn_fd_ = -1;
      ::close(fd);
    }
  }

  void serve_connection(int fd) {
    std::string buf;
    char tmp[4096];
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos ||
             buf.size() < end + 4 + content_length(buf.substr(0, end + 4))) {
        auto n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) {
          return;
        }
        buf.append(tmp, static_cast<std::size_t>(n));
      }
      const std::size_t total = end + 4 + content_length(buf.substr(0, end + 4));
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(buf.substr(0, total));
      }
      buf.erase(0, total);
      static constexpr std::string_view ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
      if (::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ok.size())) {
        return;
      }
    }
  }

  int listen_fd_ = -1;
  std::atomic<int> conn_fd_{-1};
  std::atomic<bool> stopping_{false};
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

struct answered {
  int status = 0;
};

/// Sends `req` on a fresh client and returns the response status (or the client's error).
result<answered> send(const providers::upstream_request& req) {
  asio::io_context ioc;
  client c(ioc, {});
  std::optional<result<answered>> out;
  std::exception_ptr failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<result<answered>> {
        auto ex = co_await c.send(req, timeouts{2s, 2s, 2s});
        if (!ex) {
          co_return ex.error();
        }
        co_return answered{(*ex)->head().status};
      },
      [&](std::exception_ptr e, result<answered> r) {
        failure = e;
        out.emplace(std::move(r));
      });
  ioc.run();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return *out;
}

class request_bytes_test : public ::testing::Test {
 protected:
  raw_server server;

  providers::upstream_request request(std::string method, std::string body = {}) {
    providers::upstream_request r;
    r.method = std::move(method);
    r.scheme = "http";
    r.host = "127.0.0.1";
    r.port = server.port();
    r.target = "/v1/x?y=1";
    r.body = std::move(body);
    return r;
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(server.port()); }

  /// The one request the server saw for `req`.
  std::string bytes_of(const providers::upstream_request& req) {
    auto r = send(req);
    EXPECT_TRUE(r) << r.error().message;
    auto reqs = server.requests();
    EXPECT_EQ(reqs.size(), 1u);
    return reqs.empty() ? std::string() : reqs.back();
  }
};

TEST_F(request_bytes_test, post_with_body_exact_bytes) {
  auto req = request("POST", "{}");
  req.headers.add("Content-Type", "application/json");
  req.headers.add("X-Trim", " \tv v\t ");
  req.headers.add("Connection", "keep-alive, X-Secret");
  req.headers.add("Transfer-Encoding", "chunked");
  req.headers.add("TE", "trailers");
  req.headers.add("Host", "evil.example");
  req.headers.add("Content-Length", "99");
  req.headers.add("X-Dup", "1");
  req.headers.add("X-Dup", "2");
  EXPECT_EQ(bytes_of(req), "POST /v1/x?y=1 HTTP/1.1\r\nHost: " + host() +
                               "\r\nContent-Type: application/json\r\nX-Trim: v v\r\n"
                               "X-Dup: 1\r\nX-Dup: 2\r\nContent-Length: 2\r\n\r\n{}");
}

TEST_F(request_bytes_test, get_without_body_has_no_content_length) {
  EXPECT_EQ(bytes_of(request("GET")), "GET /v1/x?y=1 HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
}

TEST_F(request_bytes_test, methods_without_a_body_semantics_send_no_length_when_empty) {
  for (const char* method : {"DELETE", "HEAD", "PATCH"}) {
    auto r = send(request(method));
    ASSERT_TRUE(r) << method << ": " << r.error().message;
  }
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0], "DELETE /v1/x?y=1 HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
  EXPECT_EQ(reqs[1], "HEAD /v1/x?y=1 HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
  EXPECT_EQ(reqs[2], "PATCH /v1/x?y=1 HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
}

TEST_F(request_bytes_test, post_put_options_send_content_length_zero_when_empty) {
  for (const char* method : {"POST", "PUT", "OPTIONS"}) {
    auto r = send(request(method));
    ASSERT_TRUE(r) << method << ": " << r.error().message;
  }
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string method = i == 0 ? "POST" : i == 1 ? "PUT" : "OPTIONS";
    EXPECT_EQ(reqs[i],
              method + " /v1/x?y=1 HTTP/1.1\r\nHost: " + host() + "\r\nContent-Length: 0\r\n\r\n");
  }
}

TEST_F(request_bytes_test, get_with_body_sends_its_length) {
  EXPECT_EQ(bytes_of(request("GET", "abc")),
            "GET /v1/x?y=1 HTTP/1.1\r\nHost: " + host() + "\r\nContent-Length: 3\r\n\r\nabc");
}

TEST_F(request_bytes_test, empty_target_is_slash) {
  auto req = request("GET");
  req.target.clear();
  EXPECT_EQ(bytes_of(req), "GET / HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
}

TEST_F(request_bytes_test, preserved_host_is_trimmed) {
  auto req = request("GET");
  req.host_header = "  client.example:8443\t";
  EXPECT_EQ(bytes_of(req), "GET /v1/x?y=1 HTTP/1.1\r\nHost: client.example:8443\r\n\r\n");
}

TEST_F(request_bytes_test, preserved_host_with_a_line_break_falls_back_to_host_port) {
  auto req = request("GET");
  req.host_header = "client.example\r\nX-Injected: yes";
  EXPECT_EQ(bytes_of(req), "GET /v1/x?y=1 HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
}

TEST_F(request_bytes_test, field_name_that_is_not_a_token_is_an_internal_error) {
  for (const char* name : {"Bad Name", "Bad:Name", "", "X-Del\x7f"}) {
    auto req = request("POST", "{}");
    req.headers.add("X-Fine", "ok");
    req.headers.add(name, "v");
    auto r = send(req);
    ASSERT_FALSE(r) << "[" << name << "]";
    EXPECT_EQ(r.error().status, 500) << name;
    EXPECT_NE(r.error().message.find("is not a valid name"), std::string::npos)
        << r.error().message;
  }
  EXPECT_TRUE(server.requests().empty());  // refused before anything was written
}

TEST_F(request_bytes_test, line_break_in_a_field_is_the_old_error) {
  for (const std::string& value :
       {std::string("a\r\nX-Injected: yes"), std::string("a\nb"), std::string("a\0b", 3)}) {
    auto req = request("POST", "{}");
    req.headers.add("X-Bad", value);
    auto r = send(req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 500);
    EXPECT_EQ(r.error().message, "upstream request header 'X-Bad' holds a line break");
  }
  auto req = request("POST", "{}");
  req.headers.add("X-Bad\r\nX-Injected", "v");
  auto r = send(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
  EXPECT_NE(r.error().message.find("holds a line break"), std::string::npos) << r.error().message;
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(request_bytes_test, invalid_method_or_target_is_an_internal_error) {
  auto bad_method = request("GE T");
  auto bad_target = request("GET");
  bad_target.target = "/a b";
  auto ctl_target = request("GET");
  ctl_target.target = "/a\r\nX: y";
  for (const auto* req : {&bad_method, &bad_target, &ctl_target}) {
    auto r = send(*req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 500);
  }
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace aiproxy::upstream
