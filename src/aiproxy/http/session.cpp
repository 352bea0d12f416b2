// The HTTP/1.1 server session (Beast): reads heads and bodies within limits and deadlines, runs
// the handler, writes whole or chunked responses, keeps connections alive, drains on request,
// and turns a connection into a Beast WebSocket when the handler accepts an upgrade.

#include "aiproxy/http/session.hpp"

#include "aiproxy/http/h2_session.hpp"
#include "aiproxy/http/message_rules.hpp"
#include "aiproxy/net/http_read.hpp"
#include "aiproxy/net/message_parser.hpp"
#include "aiproxy/net/timed_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>

namespace aiproxy::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace bws = boost::beast::websocket;
constexpr auto nothrow = asio::as_tuple(asio::deferred);

session_tracker::handle session_tracker::add(std::function<void()> close) {
  entries_.push_back(entry{std::move(close), true, {}});
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
    } else if (e.drain) {
      e.drain();
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

bool is_timeout(const boost::system::error_code& ec) {
  return ec == beast::error::timeout || ec == asio::error::timed_out;
}

// Response heads are written by hand into one string (Beast's serializer walks a buffer sequence
// per field and allocates every field separately); Beast still parses the requests.

/// Fields the session writes itself, from the message's framing and keep-alive state.
bool session_field(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

/// Replaces `out` with the whole response head: "HTTP/x.y NNN Reason", the handler's fields
/// (minus the ones the session writes itself and any that could not be written safely), the
/// Connection field keep-alive needs, Content-Length: `length` when set or else
/// Transfer-Encoding: chunked when `chunked`, and the empty line. The fields are checked once
/// while the head is sized, then it is written in one pass into one allocation (or none, when
/// `out` already has the room).
void write_head(std::string& out, unsigned version, int status, const header_list& headers,
                bool keep_alive, std::optional<std::size_t> length, bool chunked) {
  static constexpr std::string_view separator = ": ";
  static constexpr std::string_view crlf = "\r\n";
  static constexpr std::string_view chunked_field = "Transfer-Encoding: chunked\r\n";
  static constexpr std::string_view length_field = "Content-Length: ";
  const std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  std::string_view connection;
  if (version >= 11 && !keep_alive) {
    connection = "Connection: close\r\n";
  } else if (version < 11 && keep_alive) {
    connection = "Connection: keep-alive\r\n";
  }
  char length_digits[24];
  std::size_t length_size = 0;
  if (length) {
    length_size = static_cast<std::size_t>(
        std::to_chars(length_digits, length_digits + sizeof length_digits, *length).ptr -
        length_digits);
  }
  const auto written = [](const header_list::field& f) {
    return !session_field(f.first) && valid_field_name(f.first) && valid_field_value(f.second);
  };
  // Bit i: field i is written. Fields past the 64th are checked again when written (rare).
  const auto& fields = headers.fields();
  std::uint64_t kept = 0;
  std::size_t size = std::string_view("HTTP/1.1 200 ").size() + reason.size() + crlf.size() +
                     connection.size() + crlf.size();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (written(fields[i])) {
      if (i < 64) {
        kept |= std::uint64_t{1} << i;
      }
      size += fields[i].first.size() + separator.size() +
              trim_field_value(fields[i].second).size() + crlf.size();
    }
  }
  if (length) {
    size += length_field.size() + length_size + crlf.size();
  } else if (chunked) {
    size += chunked_field.size();
  }

  out.resize(size);
  char* p = out.data();
  const char status_line[] = {'H',
                              'T',
                              'T',
                              'P',
                              '/',
                              static_cast<char>('0' + version / 10 % 10),
                              '.',
                              static_cast<char>('0' + version % 10),
                              ' ',
                              static_cast<char>('0' + status / 100 % 10),
                              static_cast<char>('0' + status / 10 % 10),
                              static_cast<char>('0' + status % 10),
                              ' '};
  p = put_bytes(p, std::string_view(status_line, sizeof status_line));
  p = put_bytes(p, reason);
  p = put_bytes(p, crlf);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i < 64 ? ((kept >> i) & 1) == 0 : !written(fields[i])) {
      continue;
    }
    p = put_bytes(p, fields[i].first);
    p = put_bytes(p, separator);
    p = put_bytes(p, trim_field_value(fields[i].second));
    p = put_bytes(p, crlf);
  }
  p = put_bytes(p, connection);
  if (length) {
    p = put_bytes(p, length_field);
    p = put_bytes(p, std::string_view(length_digits, length_size));
    p = put_bytes(p, crlf);
  } else if (chunked) {
    p = put_bytes(p, chunked_field);
  }
  p = put_bytes(p, crlf);
  assert(p == out.data() + out.size());
}

/// The client's WebSocket: a Beast stream over the session's own TCP stream (so the tracker's
/// close still reaches it). Message sizes are added to the session's byte counters. The state
/// is shared with the write-deadline timer's handler, which may run after the object is gone.
class session_websocket final : public websocket {
 public:
  session_websocket(net::timed_stream& stream, const session_options& options,
                    std::uint64_t& received, std::uint64_t& sent)
      : s_(std::make_shared<state>(stream, options.websocket_close_timeout)),
        options_(options),
        received_(received),
        sent_(sent) {
    s_->watch_close_frames();
  }

  bws::stream<net::timed_stream&>& stream() { return s_->ws; }

  asio::awaitable<result<std::optional<ws_message>>> read() override {
    auto& s = *s_;
    s.buffer.clear();
    auto [ec, n] = co_await s.ws.async_read(s.buffer, nothrow);
    if (ec == bws::error::closed || (ec && s.close_seen)) {
      s.peer = ws_close{static_cast<std::uint16_t>(s.ws.reason().code),
                        std::string(s.ws.reason().reason.data(), s.ws.reason().reason.size())};
      co_return std::optional<ws_message>();
    }
    if (ec) {
      if (ec == bws::error::message_too_big) {
        co_return error::bad_request("client sent a WebSocket message larger than " +
                                     std::to_string(options_.max_websocket_message_bytes) +
                                     " bytes");
      }
      co_return error::bad_request("client WebSocket failed: " + ec.message());
    }
    received_ += n;
    ws_message m;
    m.binary = s.ws.got_binary();
    m.data = beast::buffers_to_string(s.buffer.data());
    co_return m;
  }

  asio::awaitable<result<void>> write(std::string_view data, bool binary) override {
    auto& s = *s_;
    if (s.aborted || !s.ws.is_open()) {
      co_return error::bad_request("client WebSocket is closed");
    }
    s.ws.binary(binary);
    const std::uint64_t seq = ++s.write_seq;
    s.writing = true;
    s.write_timer.expires_after(options_.write_timeout);
    s.write_timer.async_wait([weak = std::weak_ptr<state>(s_), seq](boost::system::error_code ec) {
      auto st = weak.lock();
      if (!ec && st && st->writing && st->write_seq == seq) {
        st->abort();  // the client stopped reading: give up on it
      }
    });
    auto [ec, n] = co_await s.ws.async_write(asio::buffer(data.data(), data.size()), nothrow);
    s.writing = false;
    s.write_timer.cancel();
    if (ec) {
      co_return error::bad_request("client WebSocket write failed: " + ec.message());
    }
    sent_ += data.size();
    co_return result<void>{};
  }

  asio::awaitable<void> close(std::uint16_t code, std::string_view reason) override {
    auto& s = *s_;
    if (s.close_sent || s.aborted || !s.ws.is_open()) {
      co_return;
    }
    s.close_sent = true;
    bws::close_reason cr;
    cr.code = code;
    // A close frame holds at most 123 bytes of reason (RFC 6455 section 5.5).
    cr.reason = std::string(reason.substr(0, 123));
    co_await s.ws.async_close(cr, nothrow);
    if (!s.peer && s.ws.reason().code != bws::close_code::none) {
      s.peer = ws_close{static_cast<std::uint16_t>(s.ws.reason().code),
                        std::string(s.ws.reason().reason.data(), s.ws.reason().reason.size())};
    }
  }

  std::optional<ws_close> peer_close() const override { return s_->peer; }

 private:
  struct state : std::enable_shared_from_this<state> {
    state(net::timed_stream& stream, std::chrono::milliseconds close_limit)
        : ws(stream),
          write_timer(stream.get_executor()),
          close_timer(stream.get_executor()),
          close_timeout(close_limit) {}
    /// After the client's close frame Beast answers it and waits for the client to end the TCP
    /// connection, with no deadline of its own: bound that wait.
    void watch_close_frames() {
      ws.control_callback([this](bws::frame_type kind, beast::string_view) {
        if (kind != bws::frame_type::close || close_seen) {
          return;
        }
        close_seen = true;
        close_timer.expires_after(close_timeout);
        close_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
          if (auto st = weak.lock(); st && !ec) {
            st->abort();
          }
        });
      });
    }
    void abort() {
      aborted = true;
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(ws).socket().close(ignored);
    }
    bws::stream<net::timed_stream&> ws;
    beast::flat_buffer buffer;
    asio::steady_timer write_timer;
    asio::steady_timer close_timer;
    std::chrono::milliseconds close_timeout;
    std::uint64_t write_seq = 0;
    bool writing = false;
    bool close_seen = false;  // a close frame arrived from the client
    bool close_sent = false;
    bool aborted = false;
    std::optional<ws_close> peer;
  };

  std::shared_ptr<state> s_;
  const session_options& options_;
  std::uint64_t& received_;
  std::uint64_t& sent_;
};

/// The head as a Beast request, for Beast's WebSocket handshake (upgrades only).
bhttp::request<bhttp::empty_body> as_beast_request(const request_head& head) {
  bhttp::request<bhttp::empty_body> req;
  req.method_string(head.method);
  req.target(head.target);
  req.version(head.version);
  for (const auto& [name, value] : head.headers.fields()) {
    req.insert(name, value);
  }
  return req;
}

/// Why a request is not a WebSocket upgrade Beast would accept (RFC 6455 section 4.2.1), if so.
std::optional<error> upgrade_problem(const bhttp::request<bhttp::empty_body>& req) {
  if (!bws::is_upgrade(req)) {
    return error{426,
                 "this route takes a WebSocket: send an HTTP/1.1 GET with 'Connection: Upgrade' "
                 "and 'Upgrade: websocket'",
                 "invalid_request_error", "websocket_upgrade_required"};
  }
  if (req.count(bhttp::field::host) == 0) {
    return error::bad_request("a WebSocket upgrade needs a Host header");
  }
  auto key = req[bhttp::field::sec_websocket_key];
  if (key.empty() || key.size() > 24) {
    return error::bad_request("a WebSocket upgrade needs a valid Sec-WebSocket-Key");
  }
  if (req[bhttp::field::sec_websocket_version] != "13") {
    return error{426, "Sec-WebSocket-Version must be 13", "invalid_request_error",
                 "websocket_upgrade_required"};
  }
  return std::nullopt;
}

/// One request on a session: the downstream interface over the session's stream and parser.
class session_downstream final : public downstream {
 public:
  session_downstream(net::timed_stream& stream, beast::flat_buffer& buffer,
                     net::request_parser& parser, const session_options& options, request_head head,
                     std::uint64_t head_bytes, std::string& out_head)
      : stream_(stream),
        buffer_(buffer),
        parser_(parser),
        options_(options),
        head_(std::move(head)),
        received_(head_bytes),
        out_head_(out_head) {
    keep_alive_ = parser_.keep_alive();
    head_request_ = head_.method == "HEAD";
  }

  const request_head& head() const noexcept override { return head_; }

  std::optional<result<std::string_view>> held_body(std::uint64_t limit) override {
    if (body_read_) {
      return std::string_view(parser_.body());
    }
    const std::uint64_t cap = body_cap(limit);
    if (auto checked = check_body_length(cap); !checked) {
      return checked.error();
    }
    if (expects_continue()) {
      return std::nullopt;  // read_body answers 100 Continue first
    }
    if (!parser_.is_done()) {
      // The body bytes that came with the head are still in the buffer: parse them here.
      parser_.body_limit(cap);
      boost::system::error_code ec;
      std::size_t consumed = 0;
      while (!parser_.is_done() && buffer_.size() != 0) {
        const std::size_t before = consumed;
        if (net::detail::parse_buffered(buffer_, parser_, ec, consumed) || ec ||
            consumed == before) {
          break;  // needs bytes that have not arrived, or failed, or stalled
        }
      }
      received_ += consumed;
      if (ec) {
        return body_failure(ec, cap);
      }
      if (!parser_.is_done()) {
        return std::nullopt;  // the rest is on its way: read_body reads it
      }
    }
    body_read_ = true;
    return std::string_view(parser_.body());
  }

  asio::awaitable<result<std::string_view>> read_body(std::uint64_t limit) override {
    // What needs no waiting (the body held, or the length check's error) is held_body's answer.
    if (auto held = held_body(limit)) {
      co_return *held;
    }
    const std::uint64_t cap = body_cap(limit);
    if (expects_continue()) {
      if (auto sent = co_await send_continue(); !sent) {
        co_return sent.error();
      }
    }
    if (!parser_.is_done()) {
      parser_.body_limit(cap);
      stream_.expires_after(options_.body_timeout);
      auto [ec, n] = co_await net::read_http(stream_, buffer_, parser_, net::read_until::message);
      received_ += n;
      if (ec) {
        co_return body_failure(ec, cap);
      }
    }
    body_read_ = true;
    co_return std::string_view(parser_.body());
  }

  asio::awaitable<result<std::string_view>> read_body_part(std::uint64_t limit) override {
    auto& piece = parser_.body();
    if (body_read_) {
      piece.clear();
      co_return std::string_view();
    }
    const std::uint64_t cap = body_cap(limit);
    if (!body_started_) {
      if (auto checked = check_body_length(cap); !checked) {
        co_return checked.error();
      }
      if (expects_continue()) {
        if (auto sent = co_await send_continue(); !sent) {
          co_return sent.error();
        }
      }
      parser_.body_limit(cap);
      body_started_ = true;
      if (!piece.empty() || parser_.is_done()) {  // what arrived with the head
        body_read_ = parser_.is_done();
        co_return std::string_view(piece);
      }
    }
    // The string body only appends, so emptying it makes it hold the next piece alone.
    piece.clear();
    while (piece.empty() && !parser_.is_done()) {
      stream_.expires_after(options_.body_timeout);
      auto [ec, n] = co_await net::read_http(stream_, buffer_, parser_, net::read_until::some);
      received_ += n;
      if (ec) {
        co_return body_failure(ec, cap);
      }
    }
    body_read_ = parser_.is_done();
    co_return std::string_view(piece);
  }

  std::optional<std::uint64_t> declared_body_length() const noexcept override {
    if (auto len = parser_.content_length()) {
      return *len;
    }
    return parser_.chunked() ? std::nullopt : std::optional<std::uint64_t>(0);
  }

  asio::awaitable<result<void>> respond(int status, const header_list& headers,
                                        std::string body) override {
    if (upgraded_) {
      co_return error::internal("the connection is a WebSocket now");
    }
    finish_keep_alive();
    started_ = true;
    status_ = status;
    // Head and body leave in one gather write. A bodyless status sends neither a body nor a
    // Content-Length; a response to HEAD says how long the body would have been.
    const bool no_body = bodyless_status(status);
    write_head(out_head_, head_.version, status, headers, keep_alive_,
               no_body ? std::nullopt : std::optional<std::size_t>(body.size()), false);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(out_head_), asio::const_buffer()};
    std::size_t count = 1;
    if (!no_body && !head_request_ && !body.empty()) {
      bufs[count++] = asio::buffer(body);
    }
    stream_.expires_after(options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(
        stream_, std::span<const asio::const_buffer>(bufs.data(), count), nothrow);
    sent_ += n;
    if (ec) {
      keep_alive_ = false;
      co_return error::bad_request("client went away");
    }
    co_return result<void>{};
  }

  asio::awaitable<result<void>> begin_stream(int status, const header_list& headers) override {
    if (upgraded_) {
      co_return error::internal("the connection is a WebSocket now");
    }
    finish_keep_alive();
    const bool no_body = bodyless_status(status);
    chunked_ = head_.version >= 11 && !no_body;
    stream_open_ = !no_body;
    if (head_.version < 11) {
      keep_alive_ = false;  // HTTP/1.0: the end of the body is the end of the connection
    }
    discard_body_ = no_body || head_request_;
    started_ = true;
    status_ = status;
    // The head waits for the first chunk (or the end) so both leave in one write.
    write_head(out_head_, head_.version, status, headers, keep_alive_, std::nullopt, chunked_);
    head_pending_ = true;
    co_return result<void>{};
  }

  asio::awaitable<result<void>> write_chunk(std::string_view data) override {
    if (upgraded_) {
      co_return error::internal("the connection is a WebSocket now");
    }
    if (data.empty()) {
      co_return result<void>{};
    }
    co_return co_await write_body(data, false);
  }

  asio::awaitable<result<void>> end_stream() override {
    if (upgraded_) {
      co_return error::internal("the connection is a WebSocket now");
    }
    stream_open_ = false;
    co_return co_await write_body({}, true);
  }

  void abort_response() noexcept override {
    aborted_ = true;
    keep_alive_ = false;
  }

  bool response_started() const noexcept override { return started_; }
  int response_status() const noexcept override { return status_; }
  std::uint64_t bytes_received() const noexcept override { return received_; }
  std::uint64_t bytes_sent() const noexcept override { return sent_; }

  bool wants_websocket() const noexcept override {
    return !started_ && head_.headers.contains("upgrade") &&
           bws::is_upgrade(as_beast_request(head_));
  }

  asio::awaitable<result<std::unique_ptr<websocket>>> accept_websocket(
      const header_list& extra_headers) override {
    if (started_) {
      co_return error::internal("a response was already sent");
    }
    const auto upgrade = as_beast_request(head_);
    if (auto problem = upgrade_problem(upgrade)) {
      co_return *problem;
    }
    // Bytes the client sent after the head would be WebSocket frames sent before our answer,
    // which RFC 6455 forbids; they are not carried over.
    keep_alive_ = false;
    upgraded_ = true;
    started_ = true;
    status_ = 101;
    auto ws = std::make_unique<session_websocket>(stream_, options_, received_, sent_);
    auto& s = ws->stream();
    stream_.expires_never();  // the WebSocket keeps its own deadlines
    bws::stream_base::timeout t;
    t.handshake_timeout = options_.write_timeout;
    t.idle_timeout = bws::stream_base::none();
    t.keep_alive_pings = false;
    s.set_option(t);
    s.set_option(bws::stream_base::decorator([&extra_headers](bws::response_type& res) {
      res.set(bhttp::field::server, "aiproxy");
      for (const auto& [name, value] : extra_headers.fields()) {
        if (!session_field(name) && valid_field_name(name) && valid_field_value(value) &&
            !iequals(name, "upgrade") && !iequals(name, "sec-websocket-accept")) {
          res.insert(name, trim_field_value(value));
        }
      }
    }));
    s.read_message_max(options_.max_websocket_message_bytes);
    s.auto_fragment(false);
    auto [ec] = co_await s.async_accept(upgrade, nothrow);
    if (ec) {
      co_return error::bad_request("WebSocket handshake with the client failed: " + ec.message());
    }
    // From now on the handshake timeout bounds the closing handshake only.
    t.handshake_timeout = options_.websocket_close_timeout;
    s.set_option(t);
    co_return std::unique_ptr<websocket>(std::move(ws));
  }

  bool keep_alive() const noexcept { return keep_alive_; }
  bool upgraded() const noexcept { return upgraded_; }
  /// The response was aborted, or a stream was begun and never ended: the connection must be
  /// cut so the client sees the response is incomplete.
  bool incomplete() const noexcept { return aborted_ || stream_open_; }
  /// The client may still be sending a body nobody read (e.g. after a 413).
  bool body_unread() const noexcept { return !body_read_ && !parser_.is_done(); }
  void disable_keep_alive() noexcept { keep_alive_ = false; }

 private:
  /// Writes the pending head (if any), `data` as one chunk (if any) and, when `last`, the
  /// terminating chunk, all in one gather write.
  asio::awaitable<result<void>> write_body(std::string_view data, bool last) {
    char size_line[24];
    std::array<asio::const_buffer, 5> bufs;
    std::size_t count = 0;
    if (head_pending_) {
      bufs[count++] = asio::buffer(out_head_);
    }
    if (discard_body_) {
      data = {};
      last = false;
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
    head_pending_ = false;
    if (ec) {
      keep_alive_ = false;
      co_return error::bad_request("client went away");
    }
    co_return result<void>{};
  }

  std::uint64_t body_cap(std::uint64_t limit) const noexcept {
    return limit == 0 ? options_.max_body_bytes
                      : std::min<std::uint64_t>(limit, options_.max_body_bytes);
  }

  error too_large(std::uint64_t cap) {
    keep_alive_ = false;  // the unread body would corrupt the next request
    return error::payload_too_large("request body is larger than the limit of " +
                                    std::to_string(cap) +
                                    " bytes for this route (max_request_body_size)");
  }

  /// Before a body is read: its announced length against the cap (refused without reading),
  /// then, for a client that waits for it, the interim 100 Continue. Only the write is a
  /// coroutine, so the usual request (its body already here, or no Expect) costs no coroutine
  /// frame for these steps.
  result<void> check_body_length(std::uint64_t cap) {
    if (auto len = parser_.content_length(); len && *len > cap) {
      return too_large(cap);
    }
    return {};
  }

  bool expects_continue() const noexcept {
    if (parser_.is_done()) {
      return false;
    }
    auto expect = head_.headers.get("expect");
    return expect && iequals(*expect, "100-continue");
  }

  asio::awaitable<result<void>> send_continue() {
    static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(options_.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(cont), nothrow);
    if (ec) {
      keep_alive_ = false;
      co_return error::bad_request("client connection failed while reading the body");
    }
    co_return result<void>{};
  }

  error body_failure(const boost::system::error_code& ec, std::uint64_t cap) {
    if (ec == bhttp::error::body_limit) {
      return too_large(cap);
    }
    keep_alive_ = false;
    if (is_timeout(ec)) {
      return error{408, "timed out reading the request body", "invalid_request_error",
                   "request_timeout"};
    }
    return error::bad_request("could not read the request body: " + ec.message());
  }

  static constexpr char crlf[] = "\r\n";
  static constexpr char last_chunk[] = "0\r\n\r\n";

  // A body the handler never read must not be taken for the next request.
  void finish_keep_alive() {
    if (!body_read_ && !parser_.is_done()) {
      keep_alive_ = false;
    }
  }

  net::timed_stream& stream_;
  beast::flat_buffer& buffer_;
  net::request_parser& parser_;
  const session_options& options_;
  request_head head_;
  std::uint64_t received_ = 0;
  std::uint64_t sent_ = 0;
  int status_ = 0;
  bool keep_alive_ = true;
  bool body_read_ = false;     // the body was read to its end
  bool body_started_ = false;  // read_body_part() was called
  bool started_ = false;
  bool chunked_ = false;
  bool stream_open_ = false;  // begin_stream() without end_stream() yet
  bool aborted_ = false;
  bool head_request_ = false;
  bool discard_body_ = false;  // a stream that must not carry a body (HEAD, 204, 304)
  bool upgraded_ = false;      // the connection was handed over as a WebSocket
  bool head_pending_ = false;  // out_head_ holds a stream head not written yet
  std::string& out_head_;      // the connection's buffer for response heads
};

/// The request's head, taking the parser's start line and fields (they are not used after).
request_head make_head(net::request_parser& parser, const std::string& client_address) {
  request_head head;
  head.method = std::move(parser.method());
  head.target = std::move(parser.target());
  std::string_view target(head.target);
  auto q = target.find('?');
  head.path = std::string(target.substr(0, q));
  head.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  head.version = parser.version();
  head.headers = std::move(parser.fields());
  head.host = routing_host(head.headers.get("host").value_or(std::string_view()));
  head.client_address = client_address;
  return head;
}

/// Answers a request the session could not parse, then the connection closes.
asio::awaitable<void> reject(net::timed_stream& stream, const session_options& options, int status,
                             std::string message) {
  error e{status, std::move(message), "invalid_request_error", {}};
  const std::string body = e.to_json();
  std::string head;
  write_head(head, 11, status, json_headers(), false, body.size(), false);
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
  stream.expires_after(options.write_timeout);
  co_await asio::async_write(stream, bufs, nothrow);
}

/// Reads and drops what the client still sends (after our FIN), within linger_timeout and
/// linger_max_bytes, so that closing does not reset a connection whose answer the client has yet
/// to read.
asio::awaitable<void> drain_unread(net::timed_stream& stream, const session_options& options) {
  std::array<char, 16 * 1024> scratch;
  std::uint64_t dropped = 0;
  stream.expires_after(options.linger_timeout);
  while (dropped < options.linger_max_bytes) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), nothrow);
    if (ec) {
      break;  // end of the upload, the deadline, or a reset
    }
    dropped += n;
  }
}

/// Reads the connection's first bytes until they either hold the whole HTTP/2 preface or differ
/// from it (an HTTP/1.1 request line differs at its first byte, so it costs no extra read).
/// Returns {is HTTP/2, the connection ended or timed out before that was known}.
asio::awaitable<std::pair<bool, bool>> starts_with_h2_preface(net::timed_stream& stream,
                                                              beast::flat_buffer& buffer,
                                                              const session_options& options) {
  stream.expires_after(options.header_timeout);
  for (;;) {
    const auto data = buffer.cdata();
    const std::string_view got(static_cast<const char*>(data.data()), data.size());
    const std::size_t n = std::min(got.size(), h2_preface.size());
    if (got.substr(0, n) != h2_preface.substr(0, n)) {
      co_return std::pair{false, false};
    }
    if (n == h2_preface.size()) {
      co_return std::pair{true, false};
    }
    auto [ec, read] = co_await stream.async_read_some(buffer.prepare(8 * 1024), nothrow);
    if (ec) {
      co_return std::pair{false, true};
    }
    buffer.commit(read);
  }
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

  net::timed_stream stream(std::move(socket));
  auto handle = tracker.add([&stream] {
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  });
  beast::flat_buffer buffer;
  buffer.reserve(8 * 1024);  // Beast reads at most the spare capacity: 512 bytes when empty
  std::string out_head;      // response heads, reused by every request on this connection
  out_head.reserve(1024);

  if (options.http2) {
    auto [h2, stopped] = co_await starts_with_h2_preface(stream, buffer, options);
    if (h2) {
      co_await run_h2_session(stream, buffer, handler, options, tracker, handle, client_address);
    }
    if (h2 || stopped) {
      boost::system::error_code ignored;
      stream.socket().close(ignored);
      tracker.remove(handle);
      co_return;
    }
  }

  bool cut = false;     // the last response is incomplete: reset the connection
  bool linger = false;  // the client may still be sending a body nobody read
  for (std::size_t served = 0; served < options.max_requests_per_connection; ++served) {
    if (tracker.draining()) {
      break;
    }
    tracker.set_idle(handle, true);
    std::optional<net::request_parser> parser;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser->body_limit(options.max_body_bytes);
    stream.expires_after(options.header_timeout);
    auto [ec, n] = co_await net::read_http(stream, buffer, *parser, net::read_until::header);
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
      linger = true;
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

    session_downstream d(stream, buffer, *parser, options, make_head(*parser, client_address), n,
                         out_head);
    if (tracker.draining() || served + 1 >= options.max_requests_per_connection) {
      d.disable_keep_alive();  // the response says Connection: close, so the client knows
    }
    co_await handler.handle(d);
    if (d.upgraded()) {
      break;  // a WebSocket ends with its handler
    }
    if (!d.response_started()) {
      co_await send_error(d, error::internal("the gateway produced no response"));
    }
    if (d.incomplete()) {
      cut = true;
      break;
    }
    if (!d.keep_alive() || tracker.draining()) {
      linger = d.body_unread();
      break;
    }
  }

  boost::system::error_code ignored;
  if (cut) {
    // An incomplete response: a reset, so that no client can take it for a whole one.
    stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
  } else {
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    if (linger) {
      co_await drain_unread(stream, options);
    }
  }
  stream.socket().close(ignored);
  tracker.remove(handle);
}

}  // namespace aiproxy::http
