// Process lifecycle: listeners, worker threads, signals, reload, drain, admin and status APIs.

#include "aiproxy/server/server.hpp"

#include "aiproxy/config/loader.hpp"
#include "aiproxy/core/log.hpp"
#include "aiproxy/http/session.hpp"
#include "aiproxy/observability/metrics.hpp"
#include "aiproxy/plugins/balancer_registry.hpp"
#include "aiproxy/plugins/gateway_handler.hpp"
#include "aiproxy/server/control_api.hpp"
#include "aiproxy/upstream/client.hpp"
#include "aiproxy/upstream/cloud_identity.hpp"
#include "aiproxy/upstream/websocket_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace aiproxy::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint parse_endpoint(const std::string& text, const char* what) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    throw config_error(std::string(what) + ": expected HOST:PORT, got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "*") {
    host = "0.0.0.0";
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    throw config_error(std::string(what) + ": '" + host + "' is not an IP address");
  }
  int port = -1;
  try {
    port = std::stoi(text.substr(colon + 1));
  } catch (...) {
  }
  if (port < 0 || port > 65535) {
    throw config_error(std::string(what) + ": invalid port in '" + text + "'");
  }
  return {addr, static_cast<unsigned short>(port)};
}

std::string endpoint_text(const tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) {
    host = "[" + host + "]";
  }
  return host + ":" + std::to_string(ep.port());
}

tcp::acceptor open_acceptor(asio::io_context& ioc, const tcp::endpoint& ep, bool reuse_port) {
  tcp::acceptor acceptor(ioc);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  if (reuse_port) {
    int one = 1;
    ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

/// The configuration snapshot every worker reads; replaced whole on reload.
class config_holder {
 public:
  explicit config_holder(std::shared_ptr<const plugins::runtime_config> c)
      : current_(std::move(c)) {}
  std::shared_ptr<const plugins::runtime_config> get() const {
    return current_.load(std::memory_order_acquire);
  }
  void set(std::shared_ptr<const plugins::runtime_config> c) {
    current_.store(std::move(c), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const plugins::runtime_config>> current_;
};

/// This process in shared balancer state: host name and pid.
std::string process_instance_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) {
    std::snprintf(host, sizeof host, "unknown");
  }
  return std::string(host) + ":" + std::to_string(::getpid());
}

std::shared_ptr<const plugins::runtime_config> load(const std::string& path) {
  return std::make_shared<const plugins::runtime_config>(config::load_config_file(path));
}

struct worker {
  // One thread runs this context, and every socket and timer on it is created, registered and
  // used from that thread (or before it starts), so the reactor's registration and
  // per-descriptor locks are turned off. The scheduler keeps its lock: the control thread posts
  // the drain here, and the resolver's helper thread posts its completions.
  asio::io_context ioc{static_cast<int>(BOOST_ASIO_CONCURRENCY_HINT_ID |
                                        BOOST_ASIO_CONCURRENCY_HINT_LOCKING_SCHEDULER)};
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<upstream::client> client;
  std::unique_ptr<upstream::identity_tokens> identity;
  std::unique_ptr<upstream::websocket_client> websocket;
  observability::metrics_registry metrics;
  http::session_tracker tracker;
  std::unique_ptr<plugins::gateway_handler> handler;
  std::atomic<std::uint64_t> connections{0};
  std::thread thread;
};

asio::awaitable<void> serve_connection(tcp::socket socket, http::request_handler& handler,
                                       const http::session_options& options,
                                       http::session_tracker& tracker,
                                       std::atomic<std::uint64_t>* connections) {
  try {
    co_await http::run_session(std::move(socket), handler, options, tracker);
  } catch (const std::exception& e) {
    // A bug escaped a request: this connection is lost, the worker keeps serving the others.
    log::error(std::string("connection aborted by an internal error: ") + e.what());
  }
  if (connections != nullptr) {
    connections->fetch_sub(1, std::memory_order_relaxed);
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, http::request_handler& handler,
                                  const http::session_options& options,
                                  http::session_tracker& tracker,
                                  std::atomic<std::uint64_t>* connections) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("accept failed: " + ec.message());
      asio::steady_timer t(acceptor.get_executor());
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (connections != nullptr) {
      connections->fetch_add(1, std::memory_order_relaxed);
    }
    asio::co_spawn(acceptor.get_executor(),
                   serve_connection(std::move(socket), handler, options, tracker, connections),
                   asio::detached);
  }
}

/// Stops accepting, lets in-flight requests finish up to the deadline, then closes the rest.
asio::awaitable<void> drain(worker& w, std::chrono::milliseconds deadline) {
  boost::system::error_code ignored;
  w.acceptor->close(ignored);
  w.tracker.begin_drain();
  asio::steady_timer timer(w.ioc);
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (w.tracker.size() > 0 && std::chrono::steady_clock::now() < until) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (w.tracker.size() > 0) {
    log::warn("drain deadline passed; closing " + std::to_string(w.tracker.size()) +
              " connection(s)");
    w.tracker.close_all();
    const auto grace = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (w.tracker.size() > 0 && std::chrono::steady_clock::now() < grace) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  w.ioc.stop();
}

void write_ready_file(const std::string& path, const boost::json::object& addresses) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << boost::json::serialize(addresses) << "\n";
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

int run(const server_options& options) {
  auto initial = load(options.config_path);
  config_holder holder(initial);
  log::info("configuration loaded from " + options.config_path + ": " +
            std::to_string(initial->config.routes.size()) + " route(s), digest " +
            initial->config.source_digest.substr(0, 12));

  std::size_t worker_count = options.workers;
  if (worker_count == 0) {
    worker_count = std::max(1u, std::thread::hardware_concurrency());
  }

  observability::log_writer logs(worker_count + 1);
  upstream::client_options client_options;
  client_options.tls_verify = options.tls_verify;
  client_options.ca_file = options.ca_file;
  if (!options.tls_verify) {
    log::warn("upstream TLS verification is OFF (--tls-verify=false)");
  }
  const std::string access_log = options.access_log == "off" ? std::string() : options.access_log;
  http::session_options session_options;
  session_options.http2 = options.http2;
  session_options.h2_max_concurrent_streams = options.http2_max_streams;

  // Balancer state of ai-proxy-advanced instances, shared by every worker (and, with Redis, by
  // every gateway process: this one is named by host and pid).
  plugins::balancer_registry balancers(process_instance_id());

  // Workers: the first binds the address (port 0 picks one), the others bind the same port.
  std::vector<std::unique_ptr<worker>> workers;
  tcp::endpoint proxy_ep = parse_endpoint(options.listen, "--listen");
  for (std::size_t i = 0; i < worker_count; ++i) {
    auto w = std::make_unique<worker>();
    w->acceptor = std::make_unique<tcp::acceptor>(open_acceptor(w->ioc, proxy_ep, true));
    if (i == 0) {
      proxy_ep = w->acceptor->local_endpoint();
    }
    w->client = std::make_unique<upstream::client>(w->ioc, client_options);
    w->identity = std::make_unique<upstream::identity_tokens>(*w->client);
    w->websocket = std::make_unique<upstream::websocket_client>(client_options);
    plugins::worker_services services;
    services.index = i;
    services.client = w->client.get();
    services.identity = w->identity.get();
    services.websocket = w->websocket.get();
    services.metrics = &w->metrics;
    services.balancers = &balancers;
    services.logs = &logs;
    services.access_log = access_log;
    services.current_config = [&holder] { return holder.get(); };
    w->handler = std::make_unique<plugins::gateway_handler>(std::move(services));
    workers.push_back(std::move(w));
  }

  // Control thread (this one): signals, admin and status APIs.
  asio::io_context control{1};
  http::session_tracker control_tracker;
  std::atomic<std::uint64_t> reloads{0};
  std::atomic<std::uint64_t> reload_failures{0};

  control_state state;
  state.current_config = [&holder] { return holder.get(); };
  state.worker_count = worker_count;
  state.metrics = [&] {
    std::vector<const observability::metrics_registry*> regs;
    for (auto& w : workers) {
      regs.push_back(&w->metrics);
    }
    observability::process_gauges g;
    for (auto& w : workers) {
      g.connections += w->connections.load(std::memory_order_relaxed);
    }
    g.log_lines_dropped = logs.dropped();
    g.config_reloads = reloads.load();
    g.config_reload_failures = reload_failures.load();
    return observability::render_prometheus(regs, g);
  };
  state.connections = [&] {
    std::uint64_t n = 0;
    for (auto& w : workers) {
      n += w->connections.load(std::memory_order_relaxed);
    }
    return n;
  };
  admin_handler admin(state);
  status_handler status(state);

  boost::json::object addresses;
  addresses["proxy"] = endpoint_text(proxy_ep);
  std::unique_ptr<tcp::acceptor> admin_acceptor;
  std::unique_ptr<tcp::acceptor> status_acceptor;
  if (options.admin_listen != "off") {
    admin_acceptor = std::make_unique<tcp::acceptor>(
        open_acceptor(control, parse_endpoint(options.admin_listen, "--admin-listen"), false));
    addresses["admin"] = endpoint_text(admin_acceptor->local_endpoint());
    asio::co_spawn(control,
                   accept_loop(*admin_acceptor, admin, session_options, control_tracker, nullptr),
                   asio::detached);
  }
  if (options.status_listen != "off") {
    status_acceptor = std::make_unique<tcp::acceptor>(
        open_acceptor(control, parse_endpoint(options.status_listen, "--status-listen"), false));
    addresses["status"] = endpoint_text(status_acceptor->local_endpoint());
    asio::co_spawn(control,
                   accept_loop(*status_acceptor, status, session_options, control_tracker, nullptr),
                   asio::detached);
  }

  for (auto& w : workers) {
    worker* wp = w.get();
    asio::co_spawn(
        wp->ioc,
        accept_loop(*wp->acceptor, *wp->handler, session_options, wp->tracker, &wp->connections),
        asio::detached);
    wp->thread = std::thread([wp] {
      for (;;) {
        try {
          wp->ioc.run();
          return;
        } catch (const std::exception& e) {
          // A bug escaped a request; keep serving the others.
          log::error(std::string("worker caught an exception: ") + e.what());
        }
      }
    });
  }

  log::info("proxy listening on " + endpoint_text(proxy_ep) + " with " +
            std::to_string(worker_count) + " worker(s)");
  if (admin_acceptor) {
    log::info("admin API on " + std::string(addresses["admin"].as_string()));
  }
  if (status_acceptor) {
    log::info("status API on " + std::string(addresses["status"].as_string()));
  }
  if (!options.ready_file.empty()) {
    write_ready_file(options.ready_file, addresses);
  }

  asio::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal;
  wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) {
        return;
      }
      if (sig == SIGHUP) {
        try {
          holder.set(load(options.config_path));
          reloads.fetch_add(1);
          logs.reopen_all();
          log::info("configuration reloaded, digest " +
                    holder.get()->config.source_digest.substr(0, 12));
        } catch (const std::exception& e) {
          reload_failures.fetch_add(1);
          log::error(std::string("reload failed, keeping the running configuration:\n") + e.what());
        }
        wait_signal();
        return;
      }
      log::info(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": draining (deadline " +
                std::to_string(options.drain_timeout.count()) + " ms)");
      boost::system::error_code ignored;
      if (admin_acceptor) {
        admin_acceptor->close(ignored);
      }
      if (status_acceptor) {
        status_acceptor->close(ignored);
      }
      control_tracker.close_all();
      for (auto& w : workers) {
        worker* wp = w.get();
        asio::co_spawn(wp->ioc, drain(*wp, options.drain_timeout), asio::detached);
      }
    });
  };
  wait_signal();

  // The control loop ends when the signal handler stops re-arming and its sessions are gone.
  std::thread control_thread([&] { control.run(); });
  for (auto& w : workers) {
    w->thread.join();
  }
  signals.cancel();
  control.stop();
  control_thread.join();
  logs.flush();
  log::info("stopped");
  return 0;
}

}  // namespace aiproxy::server
