#pragma once
// A small blocking HTTP/1.1 client for tests (Beast on a private io_context, every step under a
// deadline): send a request and read the whole response, or read a streamed (chunked/SSE) body
// piece by piece. Throws std::runtime_error on any failure so that a test reports it.

#include "aiproxy/core/headers.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::testlib {

struct http_response {
  int status = 0;
  header_list headers;
  std::string body;
};

class http_client {
 public:
  explicit http_client(std::uint16_t port, std::string host = "127.0.0.1",
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends one request (connecting first when needed; keep-alive otherwise) and reads the whole
  /// response. Content-Length is set from `body`; Host is set unless `headers` has it.
  http_response request(std::string_view method, std::string_view target,
                        const header_list& headers = {}, std::string_view body = {});

  /// Streaming: send() then read_head(), then read_some() until it returns nullopt.
  void send(std::string_view method, std::string_view target, const header_list& headers = {},
            std::string_view body = {});
  /// Status and headers of the response to the last send() (body empty).
  http_response read_head();
  /// The next piece of the body as it arrives; nullopt once the body has ended.
  std::optional<std::string> read_some();
  /// Reads until the body read so far (returned) contains `needle` or the body ends.
  std::string read_until(std::string_view needle);
  /// Reads the rest of the body.
  std::string read_rest();

  /// Changes the deadline of each following step.
  void set_timeout(std::chrono::milliseconds timeout);
  bool is_open() const;
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aiproxy::testlib
