// The upstream WebSocket client (websocket_client.hpp): Beast websocket::stream over a TCP or
// TLS stream, connected per call (no pool: a realtime session holds its connection for its whole
// life). TLS settings mirror upstream::client's (TLS 1.2+, system CAs plus ca_file, verification
// with SNI and RFC 6125 host check). May touch: sockets, the caller's executor, OpenSSL.

#include "aiproxy/upstream/websocket_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <optional>
#include <vector>

namespace aiproxy::upstream {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool is_timeout(const error_code& ec) {
  return ec == beast::error::timeout || ec == asio::error::timed_out;
}

/// Request fields the WebSocket handshake writes itself, or that describe one hop only.
bool handshake_field(std::string_view name) {
  static constexpr std::string_view names[] = {"host",
                                               "connection",
                                               "upgrade",
                                               "keep-alive",
                                               "proxy-connection",
                                               "te",
                                               "trailer",
                                               "transfer-encoding",
                                               "content-length",
                                               "sec-websocket-key",
                                               "sec-websocket-version",
                                               "sec-websocket-extensions",
                                               "sec-websocket-accept"};
  for (auto n : names) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

bool has_control_chars(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return true;
    }
  }
  return false;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) {
    out += '[';
  }
  out += host;
  if (v6) {
    out += ']';
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

/// An upstream WebSocket over `Next` (tcp_stream or ssl_stream<tcp_stream>). The state is
/// shared with the write-deadline timer's handler, which may run after the object is gone.
template <class Next>
class upstream_websocket final : public http::websocket {
 public:
  struct state : std::enable_shared_from_this<state> {
    template <class... Args>
    explicit state(Args&&... args)
        : ws(std::forward<Args>(args)...),
          write_timer(ws.get_executor()),
          close_timer(ws.get_executor()) {}
    /// After the upstream's close frame Beast answers it and waits for the TCP connection to end,
    /// with no deadline of its own: bound that wait.
    void watch_close_frames(std::chrono::milliseconds limit) {
      ws.control_callback([this, limit](bws::frame_type kind, beast::string_view) {
        if (kind != bws::frame_type::close || close_seen) {
          return;
        }
        close_seen = true;
        close_timer.expires_after(limit);
        close_timer.async_wait([weak = this->weak_from_this()](error_code ec) {
          if (auto st = weak.lock(); st && !ec) {
            st->abort();
          }
        });
      });
    }
    void abort() {
      aborted = true;
      error_code ignored;
      auto& sock = beast::get_lowest_layer(ws).socket();
      sock.shutdown(tcp::socket::shutdown_both, ignored);
      sock.close(ignored);
    }
    bws::stream<Next> ws;
    beast::flat_buffer buffer;
    asio::steady_timer write_timer;
    asio::steady_timer close_timer;
    std::uint64_t write_seq = 0;
    bool writing = false;
    bool close_seen = false;  // a close frame arrived from the upstream
    bool close_sent = false;
    bool aborted = false;
    std::optional<http::ws_close> peer;
  };

  upstream_websocket(std::shared_ptr<state> s, std::chrono::milliseconds write_timeout,
                     std::size_t max_message_bytes, std::string where)
      : s_(std::move(s)),
        write_timeout_(write_timeout),
        max_message_bytes_(max_message_bytes),
        where_(std::move(where)) {}

  ~upstream_websocket() override { s_->abort(); }

  asio::awaitable<result<std::optional<http::ws_message>>> read() override {
    auto& s = *s_;
    s.buffer.clear();
    auto [ec, n] = co_await s.ws.async_read(s.buffer, use_tuple);
    if (ec == bws::error::closed || (ec && s.close_seen)) {
      s.peer =
          http::ws_close{static_cast<std::uint16_t>(s.ws.reason().code),
                         std::string(s.ws.reason().reason.data(), s.ws.reason().reason.size())};
      co_return std::optional<http::ws_message>();
    }
    if (ec) {
      if (ec == bws::error::message_too_big) {
        co_return error::bad_gateway("upstream " + where_ +
                                     " sent a WebSocket message larger than " +
                                     std::to_string(max_message_bytes_) + " bytes");
      }
      co_return error::bad_gateway("upstream " + where_ + " WebSocket failed: " + ec.message());
    }
    http::ws_message m;
    m.binary = s.ws.got_binary();
    m.data = beast::buffers_to_string(s.buffer.data());
    co_return m;
  }

  asio::awaitable<result<void>> write(std::string_view data, bool binary) override {
    auto& s = *s_;
    if (s.aborted || !s.ws.is_open()) {
      co_return error::bad_gateway("upstream " + where_ + " WebSocket is closed");
    }
    s.ws.binary(binary);
    const std::uint64_t seq = ++s.write_seq;
    s.writing = true;
    s.write_timer.expires_after(write_timeout_);
    s.write_timer.async_wait([weak = std::weak_ptr<state>(s_), seq](error_code ec) {
      auto st = weak.lock();
      if (!ec && st && st->writing && st->write_seq == seq) {
        st->abort();  // the upstream stopped reading: give up on it
      }
    });
    auto [ec, n] = co_await s.ws.async_write(asio::buffer(data.data(), data.size()), use_tuple);
    s.writing = false;
    s.write_timer.cancel();
    if (ec) {
      if (s.aborted) {
        co_return error::gateway_timeout("upstream " + where_ + " did not take a WebSocket " +
                                         "message within " +
                                         std::to_string(write_timeout_.count()) + " ms");
      }
      co_return error::bad_gateway("upstream " + where_ +
                                   " WebSocket write failed: " + ec.message());
    }
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
    cr.reason = std::string(reason.substr(0, 123));  // RFC 6455 section 5.5: 125-byte payload
    co_await s.ws.async_close(cr, use_tuple);
    if (!s.peer && s.ws.reason().code != bws::close_code::none) {
      s.peer =
          http::ws_close{static_cast<std::uint16_t>(s.ws.reason().code),
                         std::string(s.ws.reason().reason.data(), s.ws.reason().reason.size())};
    }
  }

  std::optional<http::ws_close> peer_close() const override { return s_->peer; }

 private:
  std::shared_ptr<state> s_;
  std::chrono::milliseconds write_timeout_;
  std::size_t max_message_bytes_;
  std::string where_;
};

struct resolve_state {
  explicit resolve_state(const asio::any_io_executor& ex) : timer(ex), resolver(ex) {}
  asio::steady_timer timer;
  tcp::resolver resolver;
  bool done = false;
  error_code ec;
  tcp::resolver::results_type results;
};

/// Resolves `host` within the deadline (getaddrinfo cannot be interrupted: wait on a timer).
asio::awaitable<result<std::vector<tcp::endpoint>>> resolve(const std::string& host,
                                                            std::uint16_t port,
                                                            std::chrono::milliseconds limit) {
  error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    co_return std::vector<tcp::endpoint>{tcp::endpoint(literal, port)};
  }
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<resolve_state>(ex);
  st->timer.expires_after(limit);
  st->resolver.async_resolve(host, std::to_string(port),
                             [st](error_code e, tcp::resolver::results_type r) {
                               st->done = true;
                               st->ec = e;
                               st->results = std::move(r);
                               st->timer.cancel();
                             });
  co_await st->timer.async_wait(use_tuple);
  if (!st->done) {
    st->resolver.cancel();
    co_return error::gateway_timeout("upstream timed out (connect): resolving " + host +
                                     " took longer than " + std::to_string(limit.count()) + " ms");
  }
  if (st->ec) {
    co_return error::bad_gateway("could not resolve upstream host '" + host +
                                 "': " + st->ec.message());
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& e : st->results) {
    endpoints.push_back(e.endpoint());
  }
  if (endpoints.empty()) {
    co_return error::bad_gateway("could not resolve upstream host '" + host + "': no address");
  }
  co_return endpoints;
}

}  // namespace

struct websocket_client::impl {
  explicit impl(client_options o) : options(std::move(o)), ssl_ctx(asio::ssl::context::tls_client) {
    SSL_CTX* ctx = ssl_ctx.native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    ssl_ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
    static constexpr unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
    error_code ec;
    ssl_ctx.set_default_verify_paths(ec);
    if (!options.ca_file.empty()) {
      ssl_ctx.load_verify_file(options.ca_file, ec);
      if (ec) {
        tls_setup_error = error::bad_gateway("cannot load the upstream CA file '" +
                                             options.ca_file + "': " + ec.message());
      }
    }
    ssl_ctx.set_verify_mode(options.tls_verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
  }

  /// TCP connect, then (for Next = ssl_stream) the TLS handshake, all before `deadline`.
  template <class Next>
  asio::awaitable<result<void>> open(bws::stream<Next>& ws, const providers::upstream_request& req,
                                     const std::vector<tcp::endpoint>& endpoints,
                                     std::chrono::milliseconds limit, const std::string& where) {
    auto& tcp_layer = beast::get_lowest_layer(ws);
    tcp_layer.expires_after(limit);
    auto [ec, ep] = co_await tcp_layer.async_connect(endpoints, use_tuple);
    if (ec) {
      if (is_timeout(ec)) {
        co_return error::gateway_timeout("upstream timed out (connect): " + where +
                                         " did not respond within " +
                                         std::to_string(limit.count()) + " ms");
      }
      co_return error::bad_gateway("could not connect to upstream " + where + ": " + ec.message());
    }
    tcp_layer.socket().set_option(tcp::no_delay(true), ec);
    if constexpr (!std::is_same_v<Next, beast::tcp_stream>) {
      SSL* ssl = ws.next_layer().native_handle();
      error_code addr_ec;
      (void)asio::ip::make_address(req.host, addr_ec);
      const bool ip_literal = !addr_ec;
      if (!ip_literal) {
        SSL_set_tlsext_host_name(ssl, req.host.c_str());
      }
      if (options.tls_verify) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (ip_literal) {
          X509_VERIFY_PARAM_set1_ip_asc(param, req.host.c_str());
        } else {
          X509_VERIFY_PARAM_set1_host(param, req.host.c_str(), req.host.size());
        }
      }
      auto [hec] =
          co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client, use_tuple);
      if (hec) {
        if (is_timeout(hec)) {
          co_return error::gateway_timeout("upstream timed out (connect): TLS handshake with " +
                                           where + " took longer than " +
                                           std::to_string(limit.count()) + " ms");
        }
        std::string reason = hec.message();
        if (long v = SSL_get_verify_result(ssl); v != X509_V_OK) {
          reason =
              std::string("certificate verify failed (") + X509_verify_cert_error_string(v) + ")";
        }
        co_return error::bad_gateway("TLS handshake with upstream " + where + " failed: " + reason);
      }
    }
    tcp_layer.expires_never();  // the WebSocket keeps its own deadlines from here
    co_return result<void>{};
  }

  template <class Next, class... Args>
  asio::awaitable<result<websocket_connection>> run(const providers::upstream_request& req,
                                                    const timeouts& t,
                                                    const websocket_limits& limits,
                                                    const std::vector<tcp::endpoint>& endpoints,
                                                    std::chrono::milliseconds connect_left,
                                                    const std::string& where, Args&&... args) {
    using ws_type = upstream_websocket<Next>;
    auto st = std::make_shared<typename ws_type::state>(std::forward<Args>(args)...);
    auto& ws = st->ws;
    if (auto r = co_await open(ws, req, endpoints, connect_left, where); !r) {
      co_return r.error();
    }

    bws::stream_base::timeout to;
    to.handshake_timeout = t.write + t.read;
    to.idle_timeout = bws::stream_base::none();
    to.keep_alive_pings = false;
    ws.set_option(to);
    ws.read_message_max(limits.max_message_bytes);
    ws.auto_fragment(false);
    const providers::upstream_request* rq = &req;
    ws.set_option(bws::stream_base::decorator([rq](bws::request_type& r) {
      bool agent = false;
      for (const auto& [name, value] : rq->headers.fields()) {
        if (handshake_field(name) || has_control_chars(name) || has_control_chars(value)) {
          continue;
        }
        agent = agent || iequals(name, "user-agent");
        r.insert(name, value);
      }
      if (!agent) {
        r.set(bhttp::field::user_agent, "aiproxy");
      }
    }));

    std::string host_header = req.host_header;
    if (host_header.empty() || has_control_chars(host_header)) {
      const bool default_port =
          (req.scheme == "https" && req.port == 443) || (req.scheme == "http" && req.port == 80);
      host_header =
          default_port ? (req.host.find(':') != std::string::npos ? "[" + req.host + "]" : req.host)
                       : host_port(req.host, req.port);
    }
    const std::string target = req.target.empty() ? std::string("/") : req.target;
    if (has_control_chars(target) || target.find(' ') != std::string::npos) {
      co_return error::internal("upstream WebSocket target holds an invalid character");
    }

    bws::response_type res;
    auto [ec] = co_await ws.async_handshake(res, host_header, target, use_tuple);
    websocket_connection out;
    if (ec == bws::error::upgrade_declined) {
      out.status = res.result_int();
      for (const auto& f : res) {
        if (!handshake_field(f.name_string())) {
          out.headers.add(f.name_string(), f.value());
        }
      }
      out.body = std::move(res.body());
      co_return out;
    }
    if (ec) {
      if (is_timeout(ec)) {
        co_return error::gateway_timeout("upstream timed out (read): " + where +
                                         " did not answer the WebSocket handshake within " +
                                         std::to_string((t.write + t.read).count()) + " ms");
      }
      co_return error::bad_gateway("WebSocket handshake with upstream " + where +
                                   " failed: " + ec.message());
    }
    // From now on the handshake timeout bounds the closing handshake only.
    to.handshake_timeout = limits.close_timeout;
    ws.set_option(to);
    st->watch_close_frames(limits.close_timeout);
    out.status = 101;
    for (const auto& f : res) {
      if (!handshake_field(f.name_string())) {
        out.headers.add(f.name_string(), f.value());
      }
    }
    out.socket = std::make_unique<ws_type>(std::move(st), t.write, limits.max_message_bytes, where);
    co_return out;
  }

  client_options options;
  asio::ssl::context ssl_ctx;
  std::optional<error> tls_setup_error;
};

websocket_client::websocket_client(client_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

websocket_client::~websocket_client() = default;

asio::awaitable<result<websocket_connection>> websocket_client::connect(
    const providers::upstream_request& req, const timeouts& t, const websocket_limits& limits) {
  auto& s = *impl_;
  const bool use_tls = req.scheme == "https";
  if (!use_tls && req.scheme != "http") {
    co_return error::internal("unsupported upstream scheme '" + req.scheme + "'");
  }
  if (use_tls && s.tls_setup_error) {
    co_return *s.tls_setup_error;
  }
  const std::string where = host_port(req.host, req.port);
  const auto started = std::chrono::steady_clock::now();
  auto endpoints = co_await resolve(req.host, req.port, t.connect);
  if (!endpoints) {
    co_return endpoints.error();
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      t.connect - (std::chrono::steady_clock::now() - started));
  if (left.count() <= 0) {
    left = std::chrono::milliseconds(1);
  }
  auto ex = co_await asio::this_coro::executor;
  if (use_tls) {
    co_return co_await s.run<beast::ssl_stream<beast::tcp_stream>>(req, t, limits, *endpoints, left,
                                                                   where, ex, s.ssl_ctx);
  }
  co_return co_await s.run<beast::tcp_stream>(req, t, limits, *endpoints, left, where, ex);
}

}  // namespace aiproxy::upstream
