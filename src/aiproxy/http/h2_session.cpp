// The HTTP/2 server session (h2c with prior knowledge) on nghttp2: one connection object per
// socket (a read loop feeding nghttp2, a writer draining it, an idle timer) and one downstream per
// stream, whose handler runs as its own coroutine on the connection's executor. Uploads are paced
// by the handler reading them (stream windows are only reopened for bytes the handler took), and
// writes complete once nghttp2 framed the bytes. Touches only its connection's socket.

#include "aiproxy/http/h2_session.hpp"

#include "aiproxy/http/message_rules.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace aiproxy::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using clock = std::chrono::steady_clock;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

/// Receive window of each stream: what a client may send before the handler reads it.
constexpr std::int32_t stream_window = 256 * 1024;
/// Receive window of the connection. Connection-level credit is returned as soon as bytes
/// arrive (buffering is bounded per stream), so one stream nobody reads cannot stall the others.
constexpr std::int32_t connection_window = 1024 * 1024;
/// At most this much of nghttp2's output goes into one socket write.
constexpr std::size_t write_batch = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Fields HTTP/2 forbids or the session writes itself (RFC 9113 section 8.2.2).
bool dropped_field(std::string_view name) {
  for (std::string_view f : {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                             "upgrade", "content-length", "te", "trailer"}) {
    if (iequals(f, name)) {
      return true;
    }
  }
  return false;
}

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

class h2_connection;

/// One request/response exchange on the connection: the handler's downstream.
class h2_stream final : public downstream {
 public:
  h2_stream(h2_connection& c, std::int32_t id);

  const request_head& head() const noexcept override { return head_; }
  asio::awaitable<result<std::string_view>> read_body(std::uint64_t limit) override;
  asio::awaitable<result<std::string_view>> read_body_part(std::uint64_t limit) override;
  std::optional<std::uint64_t> declared_body_length() const noexcept override {
    if (declared_) {
      return declared_;
    }
    return body_ended_at_head_ ? std::optional<std::uint64_t>(0) : std::nullopt;
  }
  asio::awaitable<result<void>> respond(int status, const header_list& headers,
                                        std::string body) override;
  asio::awaitable<result<void>> begin_stream(int status, const header_list& headers) override;
  asio::awaitable<result<void>> write_chunk(std::string_view data) override;
  asio::awaitable<result<void>> end_stream() override;
  void abort_response() noexcept override;
  bool response_started() const noexcept override { return started_; }
  int response_status() const noexcept override { return status_; }
  std::uint64_t bytes_received() const noexcept override { return received_; }
  std::uint64_t bytes_sent() const noexcept override { return sent_; }

  void notify() { signal_.cancel(); }
  bool failed() const noexcept;
  /// nghttp2's data source: copies queued response bytes into a DATA frame.
  ssize_t read_data(std::uint8_t* buf, std::size_t length, std::uint32_t* flags);
  /// The client sent body bytes.
  void on_data(const std::uint8_t* data, std::size_t len);
  /// Returns stream-window credit for `n` bytes the handler took (or that were dropped).
  void consume(std::size_t n);
  /// No one will read the body any more: drop what is buffered, accept the rest unread.
  void discard_body();

  const std::int32_t id_;
  request_head head_;
  std::size_t header_bytes_ = 0;
  std::optional<error> head_error_;  // answered by the session instead of the handler
  std::optional<std::uint64_t> declared_;
  bool body_ended_ = false;          // END_STREAM from the client
  bool body_ended_at_head_ = false;  // ... on the HEADERS frame: no body at all
  bool closed_ = false;              // nghttp2 closed the stream
  bool handler_done_ = false;
  bool end_sent_ = false;  // our END_STREAM went out
  bool spawned_ = false;   // its handler was started
  std::uint64_t received_ = 0;

 private:
  std::uint64_t body_cap(std::uint64_t limit) const noexcept;
  error too_large(std::uint64_t cap);
  error gone() const;
  asio::awaitable<result<void>> await_body(clock::time_point deadline);
  asio::awaitable<bool> wait_until(clock::time_point deadline);
  /// Submits the response head; with a data source unless the response carries no body.
  result<void> submit(int status, const header_list& headers, std::optional<std::size_t> length,
                      bool with_data);
  /// Waits until nghttp2 took every queued byte (and the end, once queued).
  asio::awaitable<result<void>> await_taken();

  h2_connection& conn_;
  asio::steady_timer signal_;
  std::string inbox_;  // body bytes received, not yet taken by the handler
  std::string body_;   // read_body's whole body, or read_body_part's current piece
  std::uint64_t body_total_ = 0;
  bool body_done_ = false;  // read_body returned the whole body
  bool discard_ = false;
  std::string outq_;  // response bytes not yet taken by nghttp2
  std::size_t out_off_ = 0;
  bool out_eof_ = false;    // no bytes follow outq_
  bool eof_taken_ = false;  // nghttp2 framed the end of the body
  bool started_ = false;
  bool stream_open_ = false;
  bool no_body_ = false;  // HEAD, 1xx, 204, 304: the head ended the stream
  bool aborted_ = false;
  int status_ = 0;
  std::uint64_t sent_ = 0;

  friend class h2_connection;
};

class h2_connection : public std::enable_shared_from_this<h2_connection> {
 public:
  h2_connection(net::timed_stream& stream, request_handler& handler, const session_options& options,
                session_tracker& tracker, session_tracker::handle handle,
                const std::string& client_address)
      : options_(options),
        stream_(stream),
        handler_(handler),
        tracker_(tracker),
        handle_(handle),
        client_address_(client_address),
        write_signal_(stream.get_executor()),
        done_signal_(stream.get_executor()),
        write_deadline_(stream.get_executor()),
        idle_timer_(stream.get_executor()) {}

  ~h2_connection() {
    if (session_ != nullptr) {
      nghttp2_session_del(session_);
    }
  }

  asio::awaitable<void> run(beast::flat_buffer& buffer);

  nghttp2_session* session() const noexcept { return session_; }
  bool dead() const noexcept { return dead_; }
  auto executor() { return stream_.get_executor(); }
  void want_write() { write_signal_.cancel(); }

  const session_options& options_;

 private:
  bool init();
  /// Feeds received bytes to nghttp2; false when the connection cannot go on.
  bool feed(const std::uint8_t* data, std::size_t n);
  asio::awaitable<void> write_loop();
  static asio::awaitable<void> serve(std::shared_ptr<h2_connection> self,
                                     std::shared_ptr<h2_stream> s);
  void handler_finished(h2_stream& s);
  void forget(std::int32_t id);
  void busy_changed();
  void check_drain();
  void close_socket();
  std::shared_ptr<h2_stream> find(std::int32_t id) const {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
  }

  // nghttp2 callbacks (user_data is the connection).
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t flags, void* user);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id,
                           const std::uint8_t* data, std::size_t len, void* user);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int code, void* user);
  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user);

  void request_complete(const std::shared_ptr<h2_stream>& s);

  net::timed_stream& stream_;
  request_handler& handler_;
  session_tracker& tracker_;
  session_tracker::handle handle_;
  const std::string& client_address_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<h2_stream>> streams_;
  asio::steady_timer write_signal_;    // wakes the writer
  asio::steady_timer done_signal_;     // wakes run() when a task ends
  asio::steady_timer write_deadline_;  // a socket write that takes too long closes the socket
  asio::steady_timer idle_timer_;
  std::uint64_t idle_generation_ = 0;
  std::size_t tasks_ = 0;     // the writer and the running handlers
  std::size_t handlers_ = 0;  // running handlers
  bool dead_ = false;         // the socket is gone: every stream fails
  bool writer_done_ = false;
  bool finished_ = false;  // run() returned or is returning: late timers do nothing
  bool goaway_sent_ = false;
  bool busy_ = false;
};

// ------------------------------------------------------------------------------------ stream

h2_stream::h2_stream(h2_connection& c, std::int32_t id)
    : id_(id), conn_(c), signal_(c.executor()) {}

bool h2_stream::failed() const noexcept {
  return closed_ || conn_.dead();
}

error h2_stream::gone() const {
  return error::bad_request("client went away");
}

std::uint64_t h2_stream::body_cap(std::uint64_t limit) const noexcept {
  const auto hard = conn_.options_.max_body_bytes;
  return limit == 0 ? hard : std::min<std::uint64_t>(limit, hard);
}

error h2_stream::too_large(std::uint64_t cap) {
  discard_body();
  return error::payload_too_large("request body is larger than the limit of " +
                                  std::to_string(cap) +
                                  " bytes for this route (max_request_body_size)");
}

void h2_stream::consume(std::size_t n) {
  if (n > 0 && !closed_ && !conn_.dead()) {
    nghttp2_session_consume_stream(conn_.session(), id_, n);
    conn_.want_write();
  }
}

void h2_stream::discard_body() {
  discard_ = true;
  consume(inbox_.size());
  std::string().swap(inbox_);
}

void h2_stream::on_data(const std::uint8_t* data, std::size_t len) {
  received_ += len;
  body_total_ += len;
  if (discard_ || handler_done_) {
    consume(len);
    return;
  }
  inbox_.append(reinterpret_cast<const char*>(data), len);
  notify();
}

asio::awaitable<bool> h2_stream::wait_until(clock::time_point deadline) {
  signal_.expires_at(deadline);
  auto [ec] = co_await signal_.async_wait(nothrow);
  co_return !ec;
}

/// Waits for more body bytes (or the end): a stalled upload gets 408 after body_timeout.
asio::awaitable<result<void>> h2_stream::await_body(clock::time_point deadline) {
  if (failed()) {
    co_return gone();
  }
  if (clock::now() >= deadline) {
    discard_body();
    co_return error{408, "timed out reading the request body", "invalid_request_error",
                    "request_timeout"};
  }
  co_await wait_until(deadline);
  co_return result<void>{};
}

asio::awaitable<result<std::string_view>> h2_stream::read_body(std::uint64_t limit) {
  if (body_done_) {
    co_return std::string_view(body_);
  }
  const std::uint64_t cap = body_cap(limit);
  if (discard_ || (declared_ && *declared_ > cap)) {
    co_return too_large(cap);
  }
  const auto timeout = conn_.options_.body_timeout;
  auto deadline = clock::now() + timeout;
  for (;;) {
    if (!inbox_.empty()) {
      body_ += inbox_;
      consume(inbox_.size());
      inbox_.clear();
      deadline = clock::now() + timeout;
    }
    if (body_total_ > cap) {
      body_.clear();
      co_return too_large(cap);
    }
    if (body_ended_) {
      body_done_ = true;
      co_return std::string_view(body_);
    }
    if (auto waited = co_await await_body(deadline); !waited) {
      co_return waited.error();
    }
  }
}

asio::awaitable<result<std::string_view>> h2_stream::read_body_part(std::uint64_t limit) {
  const std::uint64_t cap = body_cap(limit);
  if (discard_ || (declared_ && *declared_ > cap)) {
    co_return too_large(cap);
  }
  body_.clear();
  const auto deadline = clock::now() + conn_.options_.body_timeout;
  for (;;) {
    if (body_total_ > cap) {
      co_return too_large(cap);
    }
    if (!inbox_.empty()) {
      body_.swap(inbox_);
      inbox_.clear();
      consume(body_.size());
      co_return std::string_view(body_);
    }
    if (body_ended_) {
      co_return std::string_view();
    }
    if (auto waited = co_await await_body(deadline); !waited) {
      co_return waited.error();
    }
  }
}

result<void> h2_stream::submit(int status, const header_list& headers,
                               std::optional<std::size_t> length, bool with_data) {
  started_ = true;
  status_ = status;
  if (failed()) {
    return gone();
  }
  std::vector<std::string> names;
  std::vector<std::string> values;
  names.reserve(headers.size() + 2);
  values.reserve(headers.size() + 2);
  names.emplace_back(":status");
  values.emplace_back(std::to_string(status));
  for (const auto& [name, value] : headers.fields()) {
    if (dropped_field(name) || !valid_field_name(name) || !valid_field_value(value)) {
      continue;
    }
    names.push_back(lower(name));
    values.emplace_back(trim_field_value(value));
  }
  if (length) {
    names.emplace_back("content-length");
    values.push_back(std::to_string(*length));
  }
  std::vector<nghttp2_nv> nva;
  nva.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    nva.push_back(make_nv(names[i], values[i]));
    sent_ += names[i].size() + values[i].size();
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = [](nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
    return static_cast<h2_stream*>(source->ptr)->read_data(buf, length, flags);
  };
  const int rv = nghttp2_submit_response(conn_.session(), id_, nva.data(), nva.size(),
                                         with_data ? &provider : nullptr);
  conn_.want_write();
  if (rv != 0) {
    return error::internal(std::string("HTTP/2 response refused: ") + nghttp2_strerror(rv));
  }
  return result<void>{};
}

ssize_t h2_stream::read_data(std::uint8_t* buf, std::size_t length, std::uint32_t* flags) {
  const std::size_t avail = outq_.size() - out_off_;
  if (avail == 0 && !out_eof_) {
    return NGHTTP2_ERR_DEFERRED;
  }
  const std::size_t n = std::min(avail, length);
  if (n > 0) {
    std::memcpy(buf, outq_.data() + out_off_, n);
    out_off_ += n;
    sent_ += n;
  }
  if (out_off_ == outq_.size()) {
    outq_.clear();
    out_off_ = 0;
    if (out_eof_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      eof_taken_ = true;
    }
    notify();
  }
  return static_cast<ssize_t>(n);
}

asio::awaitable<result<void>> h2_stream::await_taken() {
  const auto deadline = clock::now() + conn_.options_.write_timeout;
  for (;;) {
    if (outq_.empty() && (!out_eof_ || eof_taken_)) {
      co_return result<void>{};
    }
    if (failed()) {
      co_return gone();
    }
    if (clock::now() >= deadline) {
      // The client stopped reading this stream (its flow-control window stayed closed).
      abort_response();
      co_return error::bad_request("client stopped reading the response");
    }
    co_await wait_until(deadline);
  }
}

asio::awaitable<result<void>> h2_stream::respond(int status, const header_list& headers,
                                                 std::string body) {
  if (started_) {
    co_return error::internal("a response was already sent");
  }
  const bool no_body = bodyless_status(status);
  const bool carries = !no_body && head_.method != "HEAD" && !body.empty();
  if (auto r =
          submit(status, headers, no_body ? std::nullopt : std::optional(body.size()), carries);
      !r) {
    co_return r.error();
  }
  if (!carries) {
    co_return result<void>{};
  }
  outq_ = std::move(body);
  out_eof_ = true;
  co_return co_await await_taken();
}

asio::awaitable<result<void>> h2_stream::begin_stream(int status, const header_list& headers) {
  if (started_) {
    co_return error::internal("a response was already sent");
  }
  no_body_ = bodyless_status(status) || head_.method == "HEAD";
  stream_open_ = !no_body_;
  if (auto r = submit(status, headers, std::nullopt, !no_body_); !r) {
    stream_open_ = false;
    co_return r.error();
  }
  co_return result<void>{};
}

asio::awaitable<result<void>> h2_stream::write_chunk(std::string_view data) {
  if (no_body_ || data.empty()) {
    co_return result<void>{};
  }
  if (!stream_open_ || aborted_) {
    co_return error::internal("no response stream is open");
  }
  if (failed()) {
    co_return gone();
  }
  outq_.append(data);
  nghttp2_session_resume_data(conn_.session(), id_);
  conn_.want_write();
  co_return co_await await_taken();
}

asio::awaitable<result<void>> h2_stream::end_stream() {
  if (no_body_) {
    co_return result<void>{};
  }
  if (!stream_open_ || aborted_) {
    co_return error::internal("no response stream is open");
  }
  stream_open_ = false;
  if (failed()) {
    co_return gone();
  }
  out_eof_ = true;
  nghttp2_session_resume_data(conn_.session(), id_);
  conn_.want_write();
  co_return co_await await_taken();
}

void h2_stream::abort_response() noexcept {
  aborted_ = true;
  stream_open_ = false;
  outq_.clear();
  out_off_ = 0;
  if (!failed()) {
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    conn_.want_write();
  }
}

// -------------------------------------------------------------------------------- connection

bool h2_connection::init() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    return false;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_settings(opt, 32);
  const int rv = nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  const std::array<nghttp2_settings_entry, 3> settings{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.h2_max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(stream_window)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_bytes, UINT32_MAX))},
  }};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, connection_window);
  return true;
}

bool h2_connection::feed(const std::uint8_t* data, std::size_t n) {
  const ssize_t rv = nghttp2_session_mem_recv(session_, data, n);
  want_write();
  if (rv < 0) {
    // Bad preface, a flood, or a callback failure: say why (GOAWAY) and stop reading.
    nghttp2_session_terminate_session(
        session_, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    return false;
  }
  check_drain();
  return nghttp2_session_want_read(session_) != 0;
}

void h2_connection::close_socket() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

asio::awaitable<void> h2_connection::run(beast::flat_buffer& buffer) {
  stream_.expires_never();
  if (!init()) {
    co_return;
  }
  busy_changed();  // idle until the first stream: the idle timer runs
  // A drain while streams are open: GOAWAY at once; they finish, new ones go elsewhere.
  tracker_.on_drain(handle_, [weak = weak_from_this()] {
    if (auto self = weak.lock(); self && !self->finished_) {
      self->check_drain();
      self->want_write();
    }
  });
  ++tasks_;
  asio::co_spawn(
      executor(), [self = shared_from_this()] { return self->write_loop(); }, asio::detached);

  const auto pending = buffer.cdata();
  bool reading = feed(static_cast<const std::uint8_t*>(pending.data()), pending.size());
  buffer.consume(buffer.size());
  std::array<std::uint8_t, 16 * 1024> chunk;
  while (reading && !dead_) {
    auto [ec, n] = co_await stream_.socket().async_read_some(asio::buffer(chunk), nothrow);
    if (ec) {
      dead_ = true;  // the client closed, a reset, or the tracker closed the socket
      break;
    }
    reading = feed(chunk.data(), n);
  }

  // nghttp2 wants no more input (a GOAWAY to send, or the end after one): let the writer flush
  // it, within the write timeout.
  const auto flush_deadline = clock::now() + options_.write_timeout;
  while (!dead_ && !writer_done_ && clock::now() < flush_deadline) {
    want_write();
    done_signal_.expires_at(flush_deadline);
    co_await done_signal_.async_wait(nothrow);
  }

  // Wake everything that still waits on this connection and wait until it let go.
  dead_ = true;
  close_socket();
  want_write();
  for (auto& [id, s] : streams_) {
    s->notify();
  }
  while (tasks_ > 0) {
    done_signal_.expires_at(clock::time_point::max());
    co_await done_signal_.async_wait(nothrow);
  }
  finished_ = true;
  write_deadline_.cancel();
  idle_timer_.cancel();
  streams_.clear();
}

asio::awaitable<void> h2_connection::write_loop() {
  std::string out;
  out.reserve(16 * 1024);
  while (!dead_) {
    out.clear();
    while (out.size() < write_batch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        dead_ = true;
        break;
      }
      if (n == 0) {
        break;
      }
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (dead_) {
      break;
    }
    if (!out.empty()) {
      write_deadline_.expires_after(options_.write_timeout);
      write_deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!ec && self && !self->finished_) {
          self->close_socket();  // the client stopped reading: give up on the connection
        }
      });
      auto [ec, n] = co_await asio::async_write(stream_.socket(), asio::buffer(out), nothrow);
      write_deadline_.cancel();
      if (ec) {
        dead_ = true;
        break;
      }
      continue;
    }
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      // Done (after a GOAWAY with no stream left): end the read loop too.
      boost::system::error_code ignored;
      stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      stream_.socket().cancel(ignored);
      break;
    }
    write_signal_.expires_at(clock::time_point::max());
    co_await write_signal_.async_wait(nothrow);
  }
  writer_done_ = true;
  if (dead_) {
    close_socket();  // wakes the read loop
  }
  --tasks_;
  done_signal_.cancel();
}

asio::awaitable<void> h2_connection::serve(std::shared_ptr<h2_connection> self,
                                           std::shared_ptr<h2_stream> s) {
  if (s->head_error_) {
    co_await send_error(*s, *s->head_error_);
  } else {
    try {
      co_await self->handler_.handle(*s);
    } catch (...) {
      // A bug escaped the handler: the stream is answered below, the connection goes on.
    }
  }
  if (!s->response_started() && !s->failed()) {
    co_await send_error(*s, error::internal("the gateway produced no response"));
  }
  if (s->stream_open_) {
    s->abort_response();  // begun and never ended: the client must not take it for whole
  }
  self->handler_finished(*s);
}

void h2_connection::handler_finished(h2_stream& s) {
  s.handler_done_ = true;
  s.discard_body();
  if (!dead_ && !s.closed_ && s.end_sent_ &&
      nghttp2_session_get_stream_remote_close(session_, s.id_) == 0) {
    // The response is complete and the client is still uploading: stop it (RFC 9113 8.1).
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id_, NGHTTP2_NO_ERROR);
  }
  --handlers_;
  --tasks_;
  if (s.closed_) {
    forget(s.id_);
  }
  check_drain();
  want_write();
  done_signal_.cancel();
}

void h2_connection::forget(std::int32_t id) {
  streams_.erase(id);
  busy_changed();
}

void h2_connection::busy_changed() {
  const bool busy = !streams_.empty();
  if (busy == busy_ && idle_generation_ != 0) {
    return;
  }
  busy_ = busy;
  const std::uint64_t generation = ++idle_generation_;
  tracker_.set_idle(handle_, !busy);
  if (busy) {
    idle_timer_.cancel();
    return;
  }
  check_drain();
  idle_timer_.expires_after(options_.header_timeout);
  idle_timer_.async_wait([weak = weak_from_this(), generation](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_ || self->dead_ || self->idle_generation_ != generation) {
      return;
    }
    // Idle too long: say goodbye (GOAWAY) and close once it is written.
    nghttp2_session_terminate_session(self->session_, NGHTTP2_NO_ERROR);
    self->want_write();
  });
}

void h2_connection::check_drain() {
  if (goaway_sent_ || dead_ || !tracker_.draining()) {
    return;
  }
  goaway_sent_ = true;
  // Streams already begun finish; the client opens new ones on another connection.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  want_write();
}

int h2_connection::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame,
                                    void* user) {
  auto& c = *static_cast<h2_connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  const std::int32_t id = frame->hd.stream_id;
  if (c.handlers_ >= c.options_.h2_max_concurrent_streams) {
    // Handlers of streams the client reset still run: do not let it start more meanwhile.
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  auto s = std::make_shared<h2_stream>(c, id);
  s->head_.version = 20;
  s->head_.client_address = c.client_address_;
  c.streams_.emplace(id, std::move(s));
  c.busy_changed();
  return 0;
}

int h2_connection::on_header(nghttp2_session*, const nghttp2_frame* frame,
                             const std::uint8_t* name_data, std::size_t namelen,
                             const std::uint8_t* value_data, std::size_t valuelen, std::uint8_t,
                             void* user) {
  auto& c = *static_cast<h2_connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // trailers are not passed on
  }
  auto s = c.find(frame->hd.stream_id);
  if (!s || s->head_error_) {
    return 0;
  }
  const std::string_view name(reinterpret_cast<const char*>(name_data), namelen);
  const std::string_view value(reinterpret_cast<const char*>(value_data), valuelen);
  s->header_bytes_ += namelen + valuelen + 32;  // as SETTINGS_MAX_HEADER_LIST_SIZE counts
  if (s->header_bytes_ > c.options_.max_header_bytes) {
    s->head_error_ = error{431, "request header fields are too large", "invalid_request_error", {}};
    s->head_.headers = header_list();
    return 0;
  }
  auto& head = s->head_;
  if (name == ":method") {
    head.method = value;
  } else if (name == ":path") {
    head.target = value;
  } else if (name == ":authority") {
    head.host = value;  // resolved in request_complete()
  } else if (!name.empty() && name.front() == ':') {
    // :scheme, :protocol: nothing a handler needs
  } else {
    if (name == "content-length") {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc() && p == value.data() + value.size()) {
        s->declared_ = n;
      }
    }
    head.headers.add(name, value);
  }
  return 0;
}

void h2_connection::request_complete(const std::shared_ptr<h2_stream>& s) {
  auto& head = s->head_;
  const std::string_view target(head.target);
  const auto q = target.find('?');
  head.path = std::string(target.substr(0, q));
  head.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  // :authority stands for Host (RFC 9113 8.3.1); handlers that read the Host field find it.
  if (auto host = head.headers.get("host")) {
    head.host = routing_host(*host);
  } else if (!head.host.empty()) {
    head.headers.add("host", head.host);
    head.host = routing_host(head.host);
  }
  s->spawned_ = true;
  ++handlers_;
  ++tasks_;
  // Posted, so the handler never starts inside nghttp2's callback.
  asio::post(executor(), [self = shared_from_this(), s] {
    asio::co_spawn(self->executor(), serve(self, s), asio::detached);
  });
}

int h2_connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& c = *static_cast<h2_connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
    return 0;
  }
  auto s = c.find(frame->hd.stream_id);
  if (!s) {
    return 0;
  }
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (end) {
    s->body_ended_ = true;
    s->notify();
  }
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    s->body_ended_at_head_ = end;
    c.request_complete(s);
  }
  return 0;
}

int h2_connection::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                                 const std::uint8_t* data, std::size_t len, void* user) {
  auto& c = *static_cast<h2_connection*>(user);
  // Connection credit comes back at once; the stream's only when its handler takes the bytes.
  nghttp2_session_consume_connection(session, len);
  if (auto s = c.find(id)) {
    s->on_data(data, len);
  } else {
    nghttp2_session_consume_stream(session, id, len);
  }
  return 0;
}

int h2_connection::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto& c = *static_cast<h2_connection*>(user);
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
    return 0;
  }
  auto s = c.find(frame->hd.stream_id);
  if (!s) {
    return 0;
  }
  s->end_sent_ = true;
  s->notify();
  if (s->handler_done_ && nghttp2_session_get_stream_remote_close(session, s->id_) == 0) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int h2_connection::on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int,
                                     void* user) {
  auto& c = *static_cast<h2_connection*>(user);
  if (auto s = c.find(frame->hd.stream_id)) {
    s->notify();
  }
  return 0;
}

int h2_connection::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
  auto& c = *static_cast<h2_connection*>(user);
  auto s = c.find(id);
  if (!s) {
    return 0;
  }
  s->closed_ = true;
  s->notify();
  // A stream whose handler ended (or whose headers never completed) is not referred to any more.
  if (s->handler_done_ || !s->spawned_) {
    c.forget(id);
  }
  return 0;
}

}  // namespace

asio::awaitable<void> run_h2_session(net::timed_stream& stream, beast::flat_buffer& buffer,
                                     request_handler& handler, const session_options& options,
                                     session_tracker& tracker, session_tracker::handle handle,
                                     const std::string& client_address) {
  auto connection =
      std::make_shared<h2_connection>(stream, handler, options, tracker, handle, client_address);
  co_await connection->run(buffer);
}

}  // namespace aiproxy::http
