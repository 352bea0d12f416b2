#pragma once
// Test-only: run_session on 127.0.0.1:0 with a given request handler, on its own io thread, with
// the tracker's drain and close reachable from the test thread. Shared by the unit_http tests;
// touches only its own acceptor, sockets and thread.

#include "aiproxy/http/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <future>
#include <thread>
#include <utility>

namespace aiproxy::http::test {

template <class Handler>
class session_server {
 public:
  /// The handler is built from `args`; `options` are the sessions' options.
  template <class... Args>
  explicit session_server(session_options options, Args&&... args)
      : handler_(std::forward<Args>(args)...),
        options_(std::move(options)),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    boost::asio::co_spawn(ioc_, accept_loop(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  session_server() : session_server(session_options{}) {}
  ~session_server() {
    ioc_.stop();
    thread_.join();
  }
  session_server(const session_server&) = delete;
  session_server& operator=(const session_server&) = delete;

  std::uint16_t port() const { return port_; }
  Handler& handler() { return handler_; }

  /// The worker's drain and its deadline, as the server does them (on the io thread); each
  /// returns once it ran.
  void begin_drain() {
    on_io([this] { tracker_.begin_drain(); });
  }
  void close_all() {
    on_io([this] { tracker_.close_all(); });
  }
  /// Connections the tracker still holds (asked on the io thread).
  std::size_t connections() {
    std::size_t n = 0;
    on_io([&] { n = tracker_.size(); });
    return n;
  }
  /// True once every session returned (their connections left the tracker), within 5 s.
  bool all_sessions_ended() {
    for (int i = 0; i < 500; ++i) {
      if (connections() == 0) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  template <class F>
  void on_io(F f) {
    std::promise<void> done;
    boost::asio::post(ioc_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) {
        co_return;
      }
      boost::asio::co_spawn(ioc_, run_session(std::move(socket), handler_, options_, tracker_),
                            boost::asio::detached);
    }
  }

  Handler handler_;
  session_options options_;
  session_tracker tracker_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace aiproxy::http::test
