#pragma once
// A raw HTTP/1.1 upstream for upload tests: it reads request bodies (Content-Length or chunked)
// as they arrive and lets a test wait until a given number of body bytes came in, so that a test
// can prove a body is relayed while the client is still sending it. Per request it can answer
// after the whole body, answer at once and keep draining, answer at once and stop reading, or
// reset after some body bytes. Test-only; touches only its own sockets and threads.

#include "aiproxy/core/headers.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aiproxy::testlib {

/// What the sink does with one request, decided once its head arrived.
struct upload_plan {
  enum class kind {
    answer_after_body,  // read the whole body, then answer (keep-alive)
    answer_early,       // answer right after the head, then read and drop the body until EOF
    answer_and_stall,   // answer right after the head, then never read again
    reset,              // reset the connection after `reset_after` body bytes, never answering
  };
  kind what = kind::answer_after_body;
  int status = 200;
  std::string content_type = "application/json";
  std::string body = R"({"ok":true})";
  std::size_t reset_after = 0;
};

/// One request as the sink saw it (so far).
struct upload_record {
  std::string method;
  std::string target;
  header_list headers;
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
  std::string body;            // body bytes received, chunk framing removed
  bool complete = false;       // the whole body arrived (its length, or the last chunk)
  bool ended = false;          // the sink is done with it (complete, or the connection ended)
  std::size_t connection = 0;  // 1-based number of the connection it came on
};

class upload_sink {
 public:
  using planner = std::function<upload_plan(const upload_record& head)>;

  upload_sink();
  ~upload_sink();  // stop()
  upload_sink(const upload_sink&) = delete;
  upload_sink& operator=(const upload_sink&) = delete;

  std::uint16_t port() const noexcept;
  /// "http://127.0.0.1:<port>".
  std::string base_url() const;
  /// Sets how the requests that come next are handled (thread-safe). Default: answer_after_body.
  void on(planner p);

  std::vector<upload_record> requests() const;
  std::size_t connections_accepted() const;
  /// Blocks until request `index` (0-based, arrival order) has at least `bytes` body bytes.
  bool wait_for_body(std::size_t index, std::size_t bytes, std::chrono::milliseconds timeout) const;
  /// Blocks until request `index` has ended (its body complete, or its connection gone).
  bool wait_for_end(std::size_t index, std::chrono::milliseconds timeout) const;
  /// Blocks until `n` connections have ended.
  bool wait_for_closed_connections(std::size_t n, std::chrono::milliseconds timeout) const;

  /// Stops accepting, ends every connection and joins the threads. Idempotent.
  void stop();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace aiproxy::testlib
