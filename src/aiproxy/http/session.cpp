// The HTTP/1.1 server session (Beast): reads heads and bodies within limits and deadlines, runs
// the handler, writes whole or chunked responses, keeps connections alive, drains on request.

#include "aiproxy/http/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <span>
#include <sstream>

namespace aiproxy::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

session_tracker::handle session_tracker::add(std::function<void()> close) {
  entries_.push_back(entry{std::move(close), true});
  return std::prev(entries_.end());
}

void session_tracker::remove(handle h) {
  entries_.erase(h);
}

void session_tracker::begin_drain() {
  draining_ = true;
  for (auto& e : entries_) {
    if (e.idle) {
      e.close();
    }
  }
}

void session_tracker::close_all() {
  draining_ = true;
  for (auto& e : entries_) {
    e.close();
  }
}

namespace {

std::string lower_host(std::string_view host_header) {
  std::string host(host_header);
  // Strip the port (keep IPv6 brackets intact).
  if (!host.empty() && host.front() == '[') {
    auto end = host.find(']');
    host = end == std::string::npos ? host : host.substr(0, end + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

bool is_timeout(const boost::system::error_code& ec) {
  return ec == beast::error::timeout || ec == asio::error::timed_out;
}

/// One request on a session: the downstream interface over the session's stream and parser.
class session_downstream final : public downstream {
 public:
  session_downstream(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                     bhttp::request_parser<bhttp::string_body>& parser,
                     const session_options& options, request_head head, std::uint64_t head_bytes)
      : stream_(stream),
        buffer_(buffer),
        parser_(parser),
        options_(options),
        head_(std::move(head)),
        received_(head_bytes) {
    keep_alive_ = parser_.get().keep_alive();
  }

  const request_head& head() const noexcept override { return head_; }

  asio::awaitable<result<std::string_view>> read_body(std::uint64_t limit) override {
    if (body_read_) {
      co_return std::string_view(parser_.get().body());
    }
    const std::uint64_t cap = limit == 0 ? options_.max_body_bytes
                                         : std::min<std::uint64_t>(limit, options_.max_body_bytes);
    auto too_large = [&] {
      keep_alive_ = false;  // the unread body would corrupt the next request
      return error::payload_too_large("request body is larger than the limit of " +
                                      std::to_string(cap) +
                                      " bytes for this route (max_request_body_size)");
    };
    if (auto len = parser_.content_length(); len && *len > cap) {
      co_return too_large();
    }
    if (parser_.is_done()) {
      body_read_ = true;
      co_return std::string_view(parser_.get().body());
    }
    if (auto expect = head_.headers.get("expect"); expect && iequals(*expect, "100-continue")) {
      static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(options_.write_timeout);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(cont), nothrow);
      if (ec) {
        keep_alive_ = false;
        co_return error::bad_request("client connection failed while reading the body");
      }
    }
    parser_.body_limit(cap);
    stream_.expires_after(options_.body_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser_, nothrow);
    received_ += n;
    if (ec == bhttp::error::body_limit) {
      co_return too_large();
    }
    if (ec) {
      keep_alive_ = false;
      if (is_timeout(ec)) {
        co_return error{408, "timed out reading the request body", "invalid_request_error",
                        "request_timeout"};
      }
      co_return error::bad_request("could not read the request body: " + ec.message());
    }
    body_read_ = true;
    co_return std::string_view(parser_.get().body());
  }

  asio::awaitable<result<void>> respond(int status, const header_list& headers,
                                        std::string body) override {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), head_.version};
    for (const auto& [name, value] : headers.fields()) {
      res.insert(name, value);
    }
    res.body() = std::move(body);
    finish_keep_alive();
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    started_ = true;
    status_ = status;
    stream_.expires_after(options_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream_, res, nothrow);
    sent_ += n;
    if (ec) {
      keep_alive_ = false;
      co_return error::bad_request("client went away");
    }
    co_return result<void>{};
  }

  asio::awaitable<result<void>> begin_stream(int status, const header_list& headers) override {
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), head_.version};
    for (const auto& [name, value] : headers.fields()) {
      res.insert(name, value);
    }
    finish_keep_alive();
    chunked_ = head_.version >= 11;
    if (chunked_) {
      res.chunked(true);
      res.keep_alive(keep_alive_);
    } else {
      keep_alive_ = false;  // HTTP/1.0: the end of the body is the end of the connection
      res.keep_alive(false);
    }
    started_ = true;
    status_ = status;
    // The head waits for the first chunk (or the end) so both leave in one write.
    std::ostringstream os;
    os << res.base();
    pending_head_ = os.str();
    co_return result<void>{};
  }

  asio::awaitable<result<void>> write_chunk(std::string_view data) override {
    if (data.empty()) {
      co_return result<void>{};
    }
    co_return co_await write_body(data, false);
  }

  asio::awaitable<result<void>> end_stream() override { co_return co_await write_body({}, true); }

  bool response_started() const noexcept override { return started_; }
  int response_status() const noexcept override { return status_; }
  std::uint64_t bytes_received() const noexcept override { return received_; }
  std::uint64_t bytes_sent() const noexcept override { return sent_; }

  bool keep_alive() const noexcept { return keep_alive_; }
  void disable_keep_alive() noexcept { keep_alive_ = false; }

 private:
  /// Writes the pending head (if any), `data` as one chunk (if any) and, when `last`, the
  /// terminating chunk, all in one gather write.
  asio::awaitable<result<void>> write_body(std::string_view data, bool last) {
    char size_line[24];
    std::array<asio::const_buffer, 5> bufs;
    std::size_t count = 0;
    if (!pending_head_.empty()) {
      bufs[count++] = asio::buffer(pending_head_);
    }
    if (!data.empty()) {
      if (chunked_) {
        int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
        bufs[count++] = asio::const_buffer(size_line, static_cast<std::size_t>(n));
        bufs[count++] = asio::const_buffer(data.data(), data.size());
        bufs[count++] = asio::buffer(crlf, 2);
      } else {
        bufs[count++] = asio::const_buffer(data.data(), data.size());
      }
    }
    if (last && chunked_) {
      bufs[count++] = asio::buffer(last_chunk, 5);
    }
    if (count == 0) {
      co_return result<void>{};
    }
    stream_.expires_after(options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(
        stream_, std::span<const asio::const_buffer>(bufs.data(), count), nothrow);
    sent_ += n;
    pending_head_.clear();
    if (ec) {
      keep_alive_ = false;
      co_return error::bad_request("client went away");
    }
    co_return result<void>{};
  }

  static constexpr char crlf[] = "\r\n";
  static constexpr char last_chunk[] = "0\r\n\r\n";

  // A body the handler never read must not be taken for the next request.
  void finish_keep_alive() {
    if (!body_read_ && !parser_.is_done()) {
      keep_alive_ = false;
    }
  }

  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::string_body>& parser_;
  const session_options& options_;
  request_head head_;
  std::uint64_t received_ = 0;
  std::uint64_t sent_ = 0;
  int status_ = 0;
  bool keep_alive_ = true;
  bool body_read_ = false;
  bool started_ = false;
  bool chunked_ = false;
  std::string pending_head_;
};

request_head make_head(const bhttp::request_parser<bhttp::string_body>& parser,
                       const std::string& client_address) {
  const auto& req = parser.get();
  request_head head;
  head.method = std::string(req.method_string());
  head.target = std::string(req.target());
  std::string_view target(head.target);
  auto q = target.find('?');
  head.path = std::string(target.substr(0, q));
  head.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  head.version = req.version();
  head.headers.reserve(16);
  for (const auto& field : req) {
    head.headers.add(field.name_string(), field.value());
  }
  head.host = lower_host(req[bhttp::field::host]);
  head.client_address = client_address;
  return head;
}

/// Answers a request the session could not parse, then the connection closes.
asio::awaitable<void> reject(beast::tcp_stream& stream, const session_options& options, int status,
                             std::string message) {
  error e{status, std::move(message), "invalid_request_error", {}};
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = e.to_json();
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(options.write_timeout);
  co_await bhttp::async_write(stream, res, nothrow);
}

}  // namespace

asio::awaitable<void> send_error(downstream& d, const error& e) {
  if (!d.response_started()) {
    co_await d.respond(e.status, json_headers(), e.to_json());
    co_return;
  }
  std::string event = "data: " + e.to_json() + "\n\n";
  if (co_await d.write_chunk(event)) {
    co_await d.end_stream();
  }
}

header_list json_headers() {
  header_list h;
  h.add("Content-Type", "application/json");
  return h;
}

asio::awaitable<void> run_session(asio::ip::tcp::socket socket, request_handler& handler,
                                  const session_options& options, session_tracker& tracker) {
  boost::system::error_code ep_ec;
  auto remote = socket.remote_endpoint(ep_ec);
  const std::string client_address = ep_ec ? std::string() : remote.address().to_string();
  socket.set_option(asio::ip::tcp::no_delay(true), ep_ec);

  beast::tcp_stream stream(std::move(socket));
  auto handle = tracker.add([&stream] {
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  });
  beast::flat_buffer buffer;
  buffer.reserve(8 * 1024);  // Beast reads at most the spare capacity: 512 bytes when empty

  for (std::size_t served = 0; served < options.max_requests_per_connection; ++served) {
    if (tracker.draining()) {
      break;
    }
    tracker.set_idle(handle, true);
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser->body_limit(options.max_body_bytes);
    stream.expires_after(options.header_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, *parser, nothrow);
    tracker.set_idle(handle, false);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor || (ec && is_timeout(ec) && buffer.size() == 0)) {
      break;
    }
    if (ec == bhttp::error::header_limit) {
      co_await reject(stream, options, 431, "request header fields are too large");
      break;
    }
    if (ec == bhttp::error::body_limit) {
      co_await reject(stream, options, 413,
                      "request body is larger than the gateway's limit of " +
                          std::to_string(options.max_body_bytes) + " bytes");
      break;
    }
    if (is_timeout(ec)) {
      co_await reject(stream, options, 408, "timed out reading the request head");
      break;
    }
    if (ec) {
      co_await reject(stream, options, 400, "malformed HTTP request: " + ec.message());
      break;
    }

    session_downstream d(stream, buffer, *parser, options, make_head(*parser, client_address), n);
    if (tracker.draining() || served + 1 >= options.max_requests_per_connection) {
      d.disable_keep_alive();  // the response says Connection: close, so the client knows
    }
    co_await handler.handle(d);
    if (!d.response_started()) {
      co_await send_error(d, error::internal("the gateway produced no response"));
    }
    if (!d.keep_alive() || tracker.draining()) {
      break;
    }
  }

  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
  tracker.remove(handle);
}

}  // namespace aiproxy::http
