#pragma once
// A TCP stream with deadlines, for the gateway's hot paths: the server's HTTP/1.1 connections and
// the upstream client. It keeps Beast's tcp_stream contract (a read and a write deadline set
// with expires_after/expires_at/expires_never, applying to operations started afterwards; on
// expiry the socket is closed and the late operation completes with beast::error::timeout) at a
// fraction of its cost: one watchdog timer per connection that is re-armed only when it fires or
// when a deadline moves earlier, instead of a timer wait and cancel around every operation, and
// no work guards or composed-operation layers around the socket's own operations.
// May touch: one socket and one timer on the caller's executor; nothing shared between threads.

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

namespace aiproxy::net {

class timed_stream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using socket_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = socket_type;  // what asio::ssl::stream asks of its next layer
  using clock = std::chrono::steady_clock;

  explicit timed_stream(const executor_type& ex);
  explicit timed_stream(socket_type socket);
  timed_stream(timed_stream&&) noexcept = default;
  timed_stream& operator=(timed_stream&&) = delete;
  /// Closes the socket, as Beast's tcp_stream does; pending operations complete aborted.
  ~timed_stream();

  executor_type get_executor() const noexcept { return state_->socket.get_executor(); }
  socket_type& socket() noexcept { return state_->socket; }
  const socket_type& socket() const noexcept { return state_->socket; }
  lowest_layer_type& lowest_layer() noexcept { return state_->socket; }

  /// The deadline of the next read and of the next write (or connect): `d` from when the first
  /// operation in that direction starts. The clock is read then, not here, so a deadline set for
  /// a read that buffered bytes make unnecessary costs no clock reading (about 40 ns on a VM).
  /// A direction with an operation in progress keeps the deadline it started with.
  void expires_after(clock::duration d) noexcept;
  void expires_at(clock::time_point t) noexcept;
  /// No deadline; with no operation in progress the watchdog stops too (an idle pooled
  /// connection holds no timer).
  void expires_never();

  /// Cancels the operations in progress (they complete with operation_aborted).
  void cancel();
  void close();

  template <class EndpointSequence, class Token>
  auto async_connect(const EndpointSequence& endpoints, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code,
                                                   typename socket_type::endpoint_type)>(
        initiate_connect{this}, token, endpoints);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        initiate_read{this}, token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        initiate_write{this}, token, buffers);
  }

  // ---- implementation ----------------------------------------------------------------------

  enum direction : std::uint8_t { read_dir = 0, write_dir = 1 };

  struct state : std::enable_shared_from_this<state> {
    explicit state(socket_type s);
    socket_type socket;
    boost::asio::steady_timer timer;
    clock::time_point deadline[2] = {clock::time_point::max(), clock::time_point::max()};
    // Set by expires_after: deadline[d] is `after[d]` from the next begin(d), not yet read.
    bool relative[2] = {false, false};
    clock::duration after[2] = {};
    unsigned pending[2] = {0, 0};
    bool timed_out[2] = {false, false};
    bool armed = false;
    std::uint64_t generation = 0;  // of the armed wait; an older wait's completion is ignored

    void begin(direction d);
    void end(direction d, boost::system::error_code& ec) noexcept;
    void arm(clock::time_point at);
    void disarm();
    void on_timer(std::uint64_t gen);
  };

  /// Wraps a completion handler: ends the operation's accounting, turns the error of an
  /// operation cut by its deadline into beast::error::timeout, then calls the handler.
  template <class Handler>
  struct op_handler {
    Handler handler_;
    std::shared_ptr<state> state_;
    direction dir_;

    template <class... Args>
    void operator()(boost::system::error_code ec, Args&&... args) {
      state_->end(dir_, ec);
      state_.reset();
      std::move(handler_)(ec, std::forward<Args>(args)...);
    }
  };

 private:
  template <class Handler>
  op_handler<std::decay_t<Handler>> wrap(Handler&& h, direction d) const {
    return {std::forward<Handler>(h), state_, d};
  }

  struct initiate_connect {
    timed_stream* self;
    executor_type get_executor() const noexcept { return self->get_executor(); }
    template <class Handler, class EndpointSequence>
    void operator()(Handler&& h, const EndpointSequence& endpoints) const {
      self->state_->begin(write_dir);
      boost::asio::async_connect(self->state_->socket, endpoints,
                                 self->wrap(std::forward<Handler>(h), write_dir));
    }
  };
  struct initiate_read {
    timed_stream* self;
    executor_type get_executor() const noexcept { return self->get_executor(); }
    template <class Handler, class Buffers>
    void operator()(Handler&& h, const Buffers& buffers) const {
      self->state_->begin(read_dir);
      self->state_->socket.async_read_some(buffers, self->wrap(std::forward<Handler>(h), read_dir));
    }
  };
  struct initiate_write {
    timed_stream* self;
    executor_type get_executor() const noexcept { return self->get_executor(); }
    template <class Handler, class Buffers>
    void operator()(Handler&& h, const Buffers& buffers) const {
      self->state_->begin(write_dir);
      self->state_->socket.async_write_some(buffers,
                                            self->wrap(std::forward<Handler>(h), write_dir));
    }
  };

  std::shared_ptr<state> state_;
};

// Beast's WebSocket closes and tears down its next layer through these (found by ADL).
void beast_close_socket(timed_stream& stream);
void teardown(boost::beast::role_type role, timed_stream& stream, boost::system::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, timed_stream& stream, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.socket(), std::forward<TeardownHandler>(handler));
}

}  // namespace aiproxy::net

namespace boost::asio {

// The wrapped handler keeps the executor, allocator and cancellation slot of the handler inside.
template <template <typename, typename> class Associator, typename Handler,
          typename DefaultCandidate>
struct associator<Associator, aiproxy::net::timed_stream::op_handler<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const aiproxy::net::timed_stream::op_handler<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler_);
  }
  static auto get(const aiproxy::net::timed_stream::op_handler<Handler>& h,
                  const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler_, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler_, c);
  }
};

}  // namespace boost::asio
