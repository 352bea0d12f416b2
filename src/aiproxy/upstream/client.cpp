// The upstream HTTP/1.1 client (client.hpp): Boost.Beast over a TCP or TLS stream, a LIFO pool
// of idle keep-alive connections per (scheme, host, port), a DNS cache, TLS verification with
// SNI, and a deadline on every phase. Runs on one worker's io_context; no locks, no strands.
// May touch: sockets, the worker's io_context, OpenSSL; nothing shared between threads.

#include "aiproxy/upstream/client.hpp"
#include "aiproxy/upstream/request_head.hpp"

#include "aiproxy/core/header_chars.hpp"
#include "aiproxy/net/http_read.hpp"
#include "aiproxy/net/message_parser.hpp"
#include "aiproxy/net/timed_stream.hpp"
#include "aiproxy/stream/gzip_inflater.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/span.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

namespace aiproxy::upstream {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// For a plain connection's hot path: a deferred operation is co_awaited directly, without the
// coroutine frame use_awaitable wraps each operation in. Beast's ssl_stream (Boost 1.81) takes no
// deferred token, so a TLS connection keeps use_tuple.
constexpr auto direct_tuple = asio::as_tuple(asio::deferred);
using namespace std::string_view_literals;  // "..."sv appends without a strlen
constexpr std::size_t read_chunk_bytes = 16 * 1024;

enum class phase { connect, write, read };

const char* phase_name(phase p) {
  switch (p) {
    case phase::connect:
      return "connect";
    case phase::write:
      return "write";
    case phase::read:
      return "read";
  }
  return "?";
}

/// Fields that describe one connection, not the message (RFC 9110 section 7.6.1).
constexpr std::string_view hop_by_hop_list[] = {
    "connection",        "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade",    "proxy-connection"};
constexpr header_name_set hop_by_hop_names(hop_by_hop_list);

/// The request's fields build_request_head does not copy: the hop-by-hop ones, and Host and
/// Content-Length, which it writes itself. One length-bit test turns most names away.
constexpr std::string_view not_copied_list[] = {"connection",
                                                "keep-alive",
                                                "proxy-authenticate",
                                                "proxy-authorization",
                                                "te",
                                                "trailer",
                                                "transfer-encoding",
                                                "upgrade",
                                                "proxy-connection",
                                                "host",
                                                "content-length"};
constexpr header_name_set not_copied_names(not_copied_list);

bool is_hop_by_hop(std::string_view name) {
  return hop_by_hop_names.contains(name);
}

/// True when the comma-separated `list` names `token` (case-insensitively).
bool list_contains(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (iequals(item, token))
      return true;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool has_control_chars(std::string_view s) {
  return has_line_break_or_nul(s);
}

/// A method or field name: a non-empty token (no separators, white space or controls).
bool valid_token(std::string_view s) {
  return is_header_token(s);
}

/// A request target: no white space or controls, which would end the request line early.
bool valid_target(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

/// The value without leading and trailing SP/HTAB (what Beast stored for a field).
std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  bool v6 = host.find(':') != std::string_view::npos;
  out.reserve(host.size() + 8);
  if (v6)
    out += '[';
  out += host;
  if (v6)
    out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

/// One upstream connection; lives in the pool between requests.
struct connection {
  std::optional<net::timed_stream> plain;
  std::optional<beast::ssl_stream<net::timed_stream>> tls;
  // Beast reads at most the buffer's spare capacity (512 bytes when empty), so an unreserved
  // buffer turns one 6 KB stream burst into a dozen recv and client-write round trips.
  beast::flat_buffer buffer = [] {
    beast::flat_buffer b;
    b.reserve(16 * 1024);
    return b;
  }();
  steady::time_point idle_since{};

  net::timed_stream& tcp() { return tls ? tls->next_layer() : *plain; }

  void close() {
    error_code ec;
    auto& s = tcp();
    s.socket().shutdown(tcp::socket::shutdown_both, ec);
    s.close();
  }

  /// An idle HTTP/1.1 connection must have nothing to read: data or EOF means the peer gave up.
  bool looks_alive() {
    if (buffer.size() != 0)
      return false;
    auto& sock = tcp().socket();
    if (!sock.is_open())
      return false;
    char byte;
    auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

using connection_ptr = std::unique_ptr<connection>;

/// Calls `f` with the connection's stream, TLS or plain. Both branches return the same type.
template <class F>
auto with_stream(connection& c, F&& f) {
  if (c.tls)
    return f(*c.tls);
  return f(*c.plain);
}

/// Idle connections for one (scheme, host, port), newest at the back.
struct host_pool {
  std::vector<connection_ptr> idle;
  std::string where;  // host:port, for messages
};

/// The pool of one client, shared with its exchanges so that one outliving the client can still
/// return (and so close) its connection.
struct pool_state {
  std::size_t max_idle_per_host = 0;
  std::chrono::seconds idle_timeout{};
  std::unordered_map<std::string, host_pool> hosts;  // nodes are stable; never erased
  std::size_t idle_count = 0;
  std::string key;  // reused to look up hosts without allocating
  // The bucket of the last lookup: a route sends most requests to the host its last one went to.
  std::string last_scheme;
  std::string last_host;
  std::uint16_t last_port = 0;
  host_pool* last = nullptr;

  host_pool& bucket(const providers::upstream_request& req) {
    if (last != nullptr && req.port == last_port && req.host == last_host &&
        req.scheme == last_scheme) {
      return *last;
    }
    char digits[8];
    key.clear();
    key += req.scheme;
    key += ' ';
    key += req.host;
    key += ' ';
    key.append(digits, std::to_chars(digits, digits + sizeof digits, req.port).ptr);
    auto it = hosts.find(key);
    if (it == hosts.end()) {
      it = hosts.emplace(key, host_pool{}).first;
      it->second.where = host_port(req.host, req.port);
    }
    last_scheme = req.scheme;
    last_host = req.host;
    last_port = req.port;
    last = &it->second;
    return it->second;
  }

  void drop_expired(host_pool& hp, steady::time_point now) {
    auto& v = hp.idle;
    auto fresh = std::find_if(v.begin(), v.end(), [&](const connection_ptr& c) {
      return now - c->idle_since <= idle_timeout;
    });
    for (auto it = v.begin(); it != fresh; ++it)
      (*it)->close();
    idle_count -= static_cast<std::size_t>(fresh - v.begin());
    v.erase(v.begin(), fresh);
  }

  /// The newest idle connection, or null. `always_check`: probe even a connection used within
  /// the last second (a streamed upload cannot be replayed whole if it turns out dead).
  connection_ptr take(host_pool& hp, steady::time_point now, bool always_check = false) {
    drop_expired(hp, now);
    while (!hp.idle.empty()) {
      auto c = std::move(hp.idle.back());
      hp.idle.pop_back();
      --idle_count;
      // A connection used within the last second is taken as is (saving a syscall per
      // request); if the upstream closed it anyway, send() retries once on a fresh one.
      if ((!always_check && now - c->idle_since < std::chrono::seconds(1)) || c->looks_alive())
        return c;
      c->close();
    }
    return nullptr;
  }

  void put(host_pool& hp, connection_ptr c) {
    auto now = steady::now();
    drop_expired(hp, now);
    if (max_idle_per_host == 0) {
      c->close();
      return;
    }
    if (hp.idle.size() >= max_idle_per_host) {
      hp.idle.front()->close();
      hp.idle.erase(hp.idle.begin());
      --idle_count;
    }
    c->idle_since = now;
    c->tcp().expires_never();
    hp.idle.push_back(std::move(c));
    ++idle_count;
  }

  ~pool_state() {
    for (auto& [key, hp] : hosts)
      for (auto& c : hp.idle)
        c->close();
  }
};

bool is_timeout(const error_code& ec) {
  return ec == beast::error::timeout;
}

/// The peer closed or reset the connection (as opposed to a protocol or timeout problem).
bool is_closed(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::ssl::error::stream_truncated;
}

error describe_error(const error_code& ec, phase p, const std::string& where,
                     std::chrono::milliseconds limit, std::size_t max_header_bytes) {
  if (is_timeout(ec)) {
    return error::gateway_timeout("upstream timed out (" + std::string(phase_name(p)) +
                                  "): " + where + " did not respond within " +
                                  std::to_string(limit.count()) + " ms");
  }
  if (ec == http::error::header_limit) {
    return error::bad_gateway("upstream " + where + " sent a response header larger than " +
                              std::to_string(max_header_bytes) + " bytes");
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::ssl::error::stream_truncated) {
    return error::bad_gateway("upstream " + where +
                              " closed the connection before the response ended");
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() ||
      ec == http::make_error_code(http::error::bad_version)) {
    return error::bad_gateway("upstream sent an invalid HTTP response");
  }
  switch (p) {
    case phase::connect:
      return error::bad_gateway("could not connect to upstream " + where + ": " + ec.message());
    case phase::write:
      return error::bad_gateway("could not send the request to upstream " + where + ": " +
                                ec.message());
    case phase::read:
      break;
  }
  if (is_closed(ec)) {
    return error::bad_gateway("upstream " + where + " closed the connection before the " +
                              "response ended (" + ec.message() + ")");
  }
  return error::bad_gateway("upstream " + where + ": " + ec.message());
}

/// describe_error plus the failover classification (see core/error.hpp).
error map_error(const error_code& ec, phase p, const std::string& where,
                std::chrono::milliseconds limit, std::size_t max_header_bytes) {
  error e = describe_error(ec, p, where, limit, max_header_bytes);
  if (is_timeout(ec)) {
    e.upstream = upstream_failure::timeout;
  } else if (ec == http::error::header_limit ||
             (p == phase::read && !is_closed(ec) &&
              ec.category() == http::make_error_code(http::error::end_of_stream).category())) {
    e.upstream = upstream_failure::invalid_header;
  } else {
    e.upstream = upstream_failure::error;
  }
  e.request_sent = p != phase::connect;
  return e;
}

/// A failure before anything was sent (resolving the host, the TLS handshake).
error connect_failure(error e, upstream_failure kind = upstream_failure::error) {
  e.upstream = kind;
  e.request_sent = false;
  return e;
}

std::string tls_failure_reason(SSL* ssl, const error_code& ec) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return std::string("certificate verify failed (") + X509_verify_cert_error_string(verify) + ")";
  }
  return ec.message();
}

bool is_default_port(std::string_view scheme, std::uint16_t port) {
  return (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
}

struct resolve_state {
  explicit resolve_state(asio::io_context& ioc) : timer(ioc) {}
  asio::steady_timer timer;
  bool done = false;
  error_code ec;
  tcp::resolver::results_type results;
};

}  // namespace

// ----------------------------------------------------------------------------------------------

struct exchange::impl {
  std::shared_ptr<pool_state> pool;
  host_pool* bucket = nullptr;
  connection_ptr conn;
  std::optional<net::response_parser> parser;
  response_head head;
  std::optional<stream::gzip_inflater> inflater;
  bool fed_inflater = false;
  // Bytes on their way to `out` or the inflater, read_chunk_bytes long once used (left
  // uninitialised: zero-filling 16 KiB per streamed response is wasted work).
  std::unique_ptr<char[]> scratch;
  std::chrono::milliseconds read_timeout{};
  std::size_t max_header_bytes = 0;
  bool failed = false;
  bool body_unsent = false;  // the upstream answered before the request body was all sent

  const std::string& where() const { return bucket->where; }

  bool reusable() const {
    return !failed && !body_unsent && conn && parser && parser->is_done() && parser->keep_alive() &&
           !parser->need_eof() && conn->buffer.size() == 0;
  }

  error fail(const error_code& ec) {
    failed = true;
    if (conn)
      conn->close();
    return map_error(ec, phase::read, where(), read_timeout, max_header_bytes);
  }
};

struct client::impl {
  impl(asio::io_context& io, client_options opts)
      : ioc(io), options(std::move(opts)), ssl_ctx(asio::ssl::context::tls_client) {
    pool = std::make_shared<pool_state>();
    pool->max_idle_per_host = options.max_idle_per_host;
    pool->idle_timeout = options.idle_timeout;
    setup_tls();
  }

  void setup_tls() {
    SSL_CTX* ctx = ssl_ctx.native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    ssl_ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
    static constexpr unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
    error_code ec;
    ssl_ctx.set_default_verify_paths(ec);  // a missing system store only matters with no ca_file
    if (!options.ca_file.empty()) {
      ssl_ctx.load_verify_file(options.ca_file, ec);
      if (ec) {
        tls_setup_error = error::bad_gateway("cannot load the upstream CA file '" +
                                             options.ca_file + "': " + ec.message());
      }
    }
    ssl_ctx.set_verify_mode(options.tls_verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
  }

  asio::awaitable<result<std::vector<tcp::endpoint>>> resolve(const std::string& host,
                                                              std::uint16_t port,
                                                              steady::time_point deadline,
                                                              std::chrono::milliseconds limit,
                                                              const std::string& where);
  asio::awaitable<result<connection_ptr>> connect(const providers::upstream_request& req,
                                                  std::chrono::milliseconds limit,
                                                  const std::string& where);

  struct dns_entry {
    std::vector<tcp::endpoint> endpoints;
    steady::time_point expires;
  };

  asio::io_context& ioc;
  client_options options;
  asio::ssl::context ssl_ctx;
  std::optional<error> tls_setup_error;
  std::shared_ptr<pool_state> pool;
  tcp::resolver resolver{ioc};
  std::unordered_map<std::string, dns_entry> dns;  // key: host:port
};

asio::awaitable<result<std::vector<tcp::endpoint>>> client::impl::resolve(
    const std::string& host, std::uint16_t port, steady::time_point deadline,
    std::chrono::milliseconds limit, const std::string& where) {
  error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec)
    co_return std::vector<tcp::endpoint>{tcp::endpoint(literal, port)};

  auto now = steady::now();
  if (auto it = dns.find(where); it != dns.end() && it->second.expires > now) {
    co_return it->second.endpoints;
  }
  // The resolver runs getaddrinfo on a helper thread and cannot be interrupted, so wait for it
  // on a timer: the lookup may finish after we gave up; its result then goes nowhere.
  auto st = std::make_shared<resolve_state>(ioc);
  st->timer.expires_at(deadline);
  resolver.async_resolve(host, std::to_string(port),
                         [st](error_code e, tcp::resolver::results_type r) {
                           st->done = true;
                           st->ec = e;
                           st->results = std::move(r);
                           st->timer.cancel();
                         });
  co_await st->timer.async_wait(use_tuple);
  if (!st->done) {
    co_return connect_failure(
        error::gateway_timeout("upstream timed out (connect): resolving " + host +
                               " took longer than " + std::to_string(limit.count()) + " ms"),
        upstream_failure::timeout);
  }
  if (st->ec) {
    co_return connect_failure(
        error::bad_gateway("could not resolve upstream host '" + host + "': " + st->ec.message()));
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& e : st->results)
    endpoints.push_back(e.endpoint());
  if (endpoints.empty()) {
    co_return connect_failure(
        error::bad_gateway("could not resolve upstream host '" + host + "': no address"));
  }
  dns[where] = dns_entry{endpoints, steady::now() + options.dns_ttl};
  co_return endpoints;
}

asio::awaitable<result<connection_ptr>> client::impl::connect(
    const providers::upstream_request& req, std::chrono::milliseconds limit,
    const std::string& where) {
  const bool use_tls = req.scheme == "https";
  const auto deadline = steady::now() + limit;

  auto endpoints = co_await resolve(req.host, req.port, deadline, limit, where);
  if (!endpoints)
    co_return endpoints.error();

  auto conn = std::make_unique<connection>();
  if (use_tls) {
    conn->tls.emplace(ioc.get_executor(), ssl_ctx);
  } else {
    conn->plain.emplace(ioc.get_executor());
  }
  auto& stream = conn->tcp();
  stream.expires_at(deadline);
  auto [ec, ep] = co_await stream.async_connect(*endpoints, use_tuple);
  if (ec) {
    dns.erase(where);  // maybe the addresses moved: look them up again next time
    co_return map_error(ec, phase::connect, where, limit, options.max_header_bytes);
  }
  stream.socket().set_option(tcp::no_delay(true), ec);

  if (use_tls) {
    SSL* ssl = conn->tls->native_handle();
    error_code addr_ec;
    (void)asio::ip::make_address(req.host, addr_ec);
    const bool ip_literal = !addr_ec;
    if (!ip_literal)
      SSL_set_tlsext_host_name(ssl, req.host.c_str());
    if (options.tls_verify) {
      // The RFC 6125 check (X509_check_host / X509_check_ip, as asio::ssl::host_name_verification
      // does) done inside OpenSSL's chain verification, so a mismatch is reported by name.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (ip_literal) {
        X509_VERIFY_PARAM_set1_ip_asc(param, req.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, req.host.c_str(), req.host.size());
      }
    }
    auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec) {
      if (is_timeout(hec)) {
        co_return map_error(hec, phase::connect, where, limit, options.max_header_bytes);
      }
      co_return connect_failure(error::bad_gateway("TLS handshake with upstream " + where +
                                                   " failed: " + tls_failure_reason(ssl, hec)));
    }
  }
  co_return conn;
}

/// Every field is checked here, whoever set it (client, configuration, template, signer): no
/// name that is not a token and no value with a line break or NUL reaches the upstream. The
/// head's size is counted first, then it is written into one buffer of exactly that size.
result<std::string> build_request_head(const providers::upstream_request& req,
                                       std::optional<std::uint64_t> length, bool chunked) {
  const std::string_view target =
      req.target.empty() ? std::string_view("/") : std::string_view(req.target);
  if (!valid_token(req.method) || !valid_target(target)) {
    return error::internal("upstream request line holds an invalid method or target");
  }
  static constexpr std::string_view version_host = " HTTP/1.1\r\nHost: ";
  static constexpr std::string_view crlf = "\r\n";
  static constexpr std::string_view separator = ": ";
  static constexpr std::string_view chunked_field = "Transfer-Encoding: chunked\r\n";
  static constexpr std::string_view length_field = "Content-Length: ";

  // Host: a preserved one as it came (trimmed), else host[:port], an IPv6 literal bracketed.
  std::string_view host = req.host;
  bool bracketed = false;
  char port_digits[8];
  std::size_t port_size = 0;
  if (!req.host_header.empty() && !has_control_chars(req.host_header)) {
    host = trim(req.host_header);
  } else {
    bracketed = req.host.find(':') != std::string::npos;
    if (!is_default_port(req.scheme, req.port)) {
      port_digits[0] = ':';
      port_size = static_cast<std::size_t>(
          std::to_chars(port_digits + 1, port_digits + sizeof port_digits, req.port).ptr -
          port_digits);
    }
  }
  char length_digits[24];
  std::size_t length_size = 0;
  if (!chunked && length) {
    length_size = static_cast<std::size_t>(
        std::to_chars(length_digits, length_digits + sizeof length_digits, *length).ptr -
        length_digits);
  }

  std::size_t size = req.method.size() + 1 + target.size() + version_host.size() + host.size() +
                     (bracketed ? 2 : 0) + port_size + crlf.size();
  for (const auto& [name, value] : req.headers.fields()) {
    // A name with a CR, LF or NUL is not a token either: its line break is reported first, as
    // a line break in the value is.
    const bool token = valid_token(name);
    if ((!token && has_control_chars(name)) || has_control_chars(value)) {
      return error::internal("upstream request header '" + std::string(name) +
                             "' holds a line break");
    }
    if (!token) {
      return error::internal("upstream request header '" + std::string(name) +
                             "' is not a valid name");
    }
    if (!not_copied_names.contains(name)) {
      size += name.size() + separator.size() + trim(value).size() + crlf.size();
    }
  }
  if (chunked) {
    size += chunked_field.size();
  } else if (length) {
    size += length_field.size() + length_size + crlf.size();
  }
  size += crlf.size();

  std::string head;
  head.resize(size);
  char* p = head.data();
  p = put_bytes(p, req.method);
  *p++ = ' ';
  p = put_bytes(p, target);
  p = put_bytes(p, version_host);
  if (bracketed) {
    *p++ = '[';
  }
  p = put_bytes(p, host);
  if (bracketed) {
    *p++ = ']';
  }
  p = put_bytes(p, std::string_view(port_digits, port_size));
  p = put_bytes(p, crlf);
  for (const auto& [name, value] : req.headers.fields()) {
    if (not_copied_names.contains(name)) {
      continue;
    }
    p = put_bytes(p, name);
    p = put_bytes(p, separator);
    p = put_bytes(p, trim(value));
    p = put_bytes(p, crlf);
  }
  if (chunked) {
    p = put_bytes(p, chunked_field);
  } else if (length) {
    p = put_bytes(p, length_field);
    p = put_bytes(p, std::string_view(length_digits, length_size));
    p = put_bytes(p, crlf);
  }
  p = put_bytes(p, crlf);
  assert(p == head.data() + head.size());
  return head;
}

client::client(asio::io_context& ioc, client_options options)
    : impl_(std::make_unique<impl>(ioc, std::move(options))) {}

client::~client() = default;

std::size_t client::idle_connections() const noexcept {
  return impl_->pool->idle_count;
}

namespace {

/// Fills x.head from the response head the parser read (hop-by-hop fields dropped, a
/// compressed body set up to be inflated).
void take_response_head(exchange::impl& x) {
  auto& p = *x.parser;
  x.head.status = p.status();
  x.head.headers = std::move(p.fields());
  auto& h = x.head.headers;
  // Copied: the Connection field itself goes below.
  const std::string connection_tokens(h.get("connection").value_or(std::string_view()));
  std::optional<stream::gzip_inflater::format> encoding;
  if (auto ce = h.get("content-encoding"); ce && !ce->empty()) {
    if (iequals(*ce, "gzip") || iequals(*ce, "x-gzip")) {
      encoding = stream::gzip_inflater::format::gzip;
    } else if (iequals(*ce, "deflate")) {
      encoding = stream::gzip_inflater::format::deflate;
    }
  }
  h.erase_if([&](const header_list::field& f) {
    const std::string_view name = f.first;
    return is_hop_by_hop(name) || list_contains(connection_tokens, name) ||
           (encoding && (iequals(name, "content-encoding") || iequals(name, "content-length")));
  });
  if (encoding) {
    x.inflater.emplace(*encoding);
    x.head.inflated = true;
  }
}

/// Prepares x.parser for the next response head.
void reset_parser(exchange::impl& x, bool head_method) {
  auto& p = x.parser.emplace();
  p.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(x.max_header_bytes, UINT32_MAX)));
  p.body_limit(std::nullopt);
  if (head_method)
    p.skip(true);
}

/// The response-head reader of a streamed send, running while the body is still going out:
/// a plain completion handler (not a coroutine), so that its read is pending as soon as it is
/// started. Interim 1xx answers are skipped. When it ends, it cancels a body write in progress
/// (the upstream answered, or the connection failed) and wakes the sender.
struct head_reader {
  explicit head_reader(const asio::any_io_executor& ex) : signal(ex) {}
  asio::steady_timer signal;  // cancelled when the reader ends
  bool done = false;
  bool writing = false;  // a body write is in progress
  bool got_some = false;
  error_code ec;
};

struct head_read_step {
  std::shared_ptr<head_reader> st;
  exchange::impl* x;

  void start() {
    reset_parser(*x, false);
    connection& c = *x->conn;
    auto& parser = *x->parser;
    with_stream(c, [&](auto& stream) {
      net::async_read_head(stream, c.buffer, parser, head_read_step{st, x});
    });
  }

  void operator()(error_code ec, std::size_t) {
    st->got_some = st->got_some || x->parser->got_some();
    if (!ec) {
      const int status = x->parser->status();
      if (status >= 100 && status < 200 && status != 101) {
        head_read_step{st, x}.start();
        return;
      }
    }
    st->ec = ec;
    st->done = true;
    if (st->writing) {
      x->conn->tcp().cancel();
    }
    st->signal.cancel();
  }
};

/// Body bytes kept (besides the first piece) while a reused connection may still turn out dead,
/// so that the request can be replayed whole on a fresh one.
constexpr std::size_t max_replay_bytes = 64 * 1024;

}  // namespace

/// Why `req` cannot be sent at all (a scheme other than http/https, or TLS that failed to set
/// up), if so.
std::optional<error> client::scheme_problem(const impl& s, const providers::upstream_request& req) {
  if (req.scheme != "https" && req.scheme != "http") {
    return error::internal("unsupported upstream scheme '" + req.scheme + "'");
  }
  if (req.scheme == "https" && s.tls_setup_error) {
    return *s.tls_setup_error;
  }
  return std::nullopt;
}

asio::awaitable<result<std::unique_ptr<exchange>>> client::send(
    const providers::upstream_request& req, const timeouts& t, steady::time_point sent_at) {
  auto& s = *impl_;
  if (auto problem = scheme_problem(s, req)) {
    co_return *problem;
  }

  // The head and the body, written in one gather write. What Beast's prepare_payload wrote: a
  // length for any body, and for an empty one when the method defines a body (POST, PUT,
  // OPTIONS).
  const bool with_length =
      !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "OPTIONS";
  auto built = build_request_head(
      req, with_length ? std::optional<std::uint64_t>(req.body.size()) : std::nullopt, false);
  if (!built)
    co_return built.error();
  const std::string& head = *built;
  const std::array<asio::const_buffer, 2> request_bufs{
      asio::const_buffer(head.data(), head.size()),
      asio::const_buffer(req.body.data(), req.body.size())};
  const bool head_method = req.method == "HEAD";

  auto& hp = s.pool->bucket(req);
  const std::string& where = hp.where;

  for (int attempt = 0; attempt < 2; ++attempt) {
    connection_ptr conn = attempt == 0 ? s.pool->take(hp, sent_at) : nullptr;
    const bool reused = conn != nullptr;
    if (reused) {
      conn->tcp().expires_at(sent_at + t.write);  // nothing waited since sent_at was read
    } else {
      auto c = co_await s.connect(req, t.connect, where);
      if (!c)
        co_return c.error();
      conn = std::move(*c);
      conn->tcp().expires_after(t.write);
    }

    // Two statements, not a conditional expression: GCC 12 mishandles co_await inside ?:.
    error_code wec;
    if (conn->tls) {
      wec = std::get<0>(co_await asio::async_write(*conn->tls, request_bufs, use_tuple));
    } else {
      wec = std::get<0>(co_await asio::async_write(*conn->plain, request_bufs, direct_tuple));
    }
    if (wec) {
      conn->close();
      if (reused && !is_timeout(wec))
        continue;
      co_return map_error(wec, phase::write, where, t.write, s.options.max_header_bytes);
    }

    auto x = std::make_unique<exchange::impl>();
    x->pool = s.pool;
    x->bucket = &hp;
    x->read_timeout = t.read;
    x->max_header_bytes = s.options.max_header_bytes;

    error_code rec;
    bool got_some = false;
    for (;;) {  // skip interim 1xx responses
      reset_parser(*x, head_method);
      auto& p = *x->parser;
      conn->tcp().expires_after(t.read);
      auto [ec, n] = co_await with_stream(*conn, [&](auto& stream) {
        return net::read_http(stream, conn->buffer, p, net::read_until::header);
      });
      got_some = got_some || p.got_some();
      rec = ec;
      if (ec)
        break;
      int status = p.status();
      if (status < 100 || status >= 200 || status == 101)
        break;
    }
    if (rec) {
      conn->close();
      if (reused && !got_some && is_closed(rec))
        continue;
      co_return map_error(rec, phase::read, where, t.read, s.options.max_header_bytes);
    }

    take_response_head(*x);
    x->conn = std::move(conn);
    co_return std::make_unique<exchange>(std::move(x));
  }
  co_return error::bad_gateway("upstream " + where + " closed the connection");  // not reached
}

asio::awaitable<result<std::unique_ptr<exchange>>> client::send_streamed(
    const providers::upstream_request& req, body_source& body, const timeouts& t) {
  auto& s = *impl_;
  if (auto problem = scheme_problem(s, req)) {
    co_return *problem;
  }
  if (req.method == "HEAD")
    co_return error::internal("a HEAD request has no body to stream");

  // 1. The first piece, before anything goes upstream: a source that fails at once (a declared
  // length over the limit, a body that is not what it claims) costs no upstream connection.
  auto first = co_await body.next();
  if (!first)
    co_return first.error();
  bool ended = first->empty();
  const std::optional<std::uint64_t> length =
      ended ? std::optional<std::uint64_t>(0) : body.length();
  const bool chunked = !length;
  std::uint64_t taken = first->size();  // body bytes taken from the source
  if (length && taken > *length) {
    co_return error::internal("the request body is longer than its announced length");
  }
  auto built = build_request_head(req, length, chunked);
  if (!built)
    co_return built.error();
  const std::string& head = *built;
  // Everything taken from the source while it may still have to be sent again; the first piece
  // always (it is written with the head), more only on a reused connection, up to a bound.
  std::string held(*first);
  bool held_all = true;

  auto& hp = s.pool->bucket(req);
  const std::string& where = hp.where;
  static constexpr std::string_view crlf = "\r\n";
  static constexpr std::string_view last_chunk = "0\r\n\r\n";

  for (int attempt = 0; attempt < 2; ++attempt) {
    connection_ptr conn = attempt == 0 ? s.pool->take(hp, steady::now(), true) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto c = co_await s.connect(req, t.connect, where);
      if (!c)
        co_return c.error();
      conn = std::move(*c);
    }
    auto x = std::make_unique<exchange::impl>();
    x->pool = s.pool;
    x->bucket = &hp;
    x->read_timeout = t.read;
    x->max_header_bytes = s.options.max_header_bytes;
    x->conn = std::move(conn);
    connection& c = *x->conn;

    // 2. The response head is read while the body goes out, so that an early answer (401,
    // 413) is seen even when the upstream stopped reading. Its read has no stream deadline
    // while the body is going (an upload may take long); the wait after the body has one.
    c.tcp().expires_never();
    auto st = std::make_shared<head_reader>(c.tcp().get_executor());
    st->signal.expires_at(steady::time_point::max());
    head_read_step{st, x.get()}.start();

    // Writes `data` framed (chunked or as is) after `prefix`, ending the body when `end`.
    auto write = [&](std::string_view prefix, std::string_view data,
                     bool end) -> asio::awaitable<error_code> {
      char size_line[24];
      std::size_t size_len = 0;
      if (chunked && !data.empty()) {
        auto r = std::to_chars(size_line, size_line + sizeof size_line - 2, data.size(), 16);
        r.ptr[0] = '\r';
        r.ptr[1] = '\n';
        size_len = static_cast<std::size_t>(r.ptr + 2 - size_line);
      }
      const std::array<asio::const_buffer, 5> bufs{
          asio::const_buffer(prefix.data(), prefix.size()), asio::const_buffer(size_line, size_len),
          asio::const_buffer(data.data(), data.size()),
          asio::const_buffer(crlf.data(), chunked && !data.empty() ? crlf.size() : 0),
          asio::const_buffer(last_chunk.data(), chunked && end ? last_chunk.size() : 0)};
      c.tcp().expires_after(t.write);  // the read is pending: this sets the write deadline only
      st->writing = true;
      auto [ec, n] = co_await with_stream(
          c, [&](auto& stream) { return asio::async_write(stream, bufs, use_tuple); });
      st->writing = false;
      co_return ec;
    };

    // 3. The head with what is held, then the rest of the body as it comes.
    std::optional<error> source_error;
    error_code wec = co_await write(head, held, ended);
    bool body_sent = !wec && ended;
    bool can_replay = reused && held_all;
    while (!wec && !ended && !st->done) {
      auto piece = co_await body.next();
      if (!piece) {
        source_error = piece.error();
        break;
      }
      if (st->done)
        break;  // the upstream answered (or failed) meanwhile: this piece goes nowhere
      if (piece->empty()) {
        ended = true;
        if (length && taken != *length) {
          source_error = error::internal("the request body is shorter than its announced length");
          break;
        }
      } else {
        taken += piece->size();
        if (length && taken > *length) {
          source_error = error::internal("the request body is longer than its announced length");
          break;
        }
        if (can_replay && held.size() + piece->size() <= max_replay_bytes) {
          held += *piece;
        } else if (held_all) {
          held_all = false;  // from here on the body cannot be sent again
          can_replay = false;
          held.clear();
          held.shrink_to_fit();
        }
      }
      wec = co_await write({}, *piece, ended);
      body_sent = !wec && ended;
    }

    // 4. A source that failed aborts the request: the upstream never gets the whole body.
    if (source_error) {
      x->failed = true;
      c.close();
      while (!st->done)
        co_await st->signal.async_wait(use_tuple);
      co_return *source_error;
    }

    // 5. The response head: already read (an early answer), or awaited within the read
    // timeout; after a failed write the upstream may still have answered before closing.
    bool timed_out = false;
    while (!st->done) {
      st->signal.expires_after(timed_out ? std::chrono::hours(24) : t.read);
      auto [ec] = co_await st->signal.async_wait(use_tuple);
      if (!ec && !st->done && !timed_out) {
        timed_out = true;
        c.close();  // ends the reader
      }
    }
    if (timed_out || st->ec) {
      x->failed = true;
      c.close();
      if (timed_out) {
        co_return map_error(beast::error::timeout, phase::read, where, t.read,
                            s.options.max_header_bytes);
      }
      // A reused connection the upstream had closed: nothing of the response came and
      // everything taken from the body is still held, so it goes again on a fresh one.
      if (reused && held_all && !st->got_some && (is_closed(st->ec) || is_closed(wec)) &&
          !is_timeout(wec)) {
        continue;
      }
      if (wec && wec != asio::error::operation_aborted && !st->got_some) {
        co_return map_error(wec, phase::write, where, t.write, s.options.max_header_bytes);
      }
      co_return map_error(st->ec, phase::read, where, t.read, s.options.max_header_bytes);
    }
    x->body_unsent = !body_sent;
    take_response_head(*x);
    co_return std::make_unique<exchange>(std::move(x));
  }
  co_return error::bad_gateway("upstream " + where + " closed the connection");  // not reached
}

// ----------------------------------------------------------------------------------------------

exchange::exchange(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

exchange::~exchange() {
  auto& x = *impl_;
  if (!x.conn)
    return;
  if (x.reusable()) {
    x.pool->put(*x.bucket, std::move(x.conn));
    return;
  }
  x.conn->close();
}

const response_head& exchange::head() const noexcept {
  return impl_->head;
}

header_list exchange::take_headers() noexcept {
  return std::move(impl_->head.headers);
}

asio::awaitable<result<bool>> exchange::read_some(std::string& out) {
  auto& x = *impl_;
  if (x.failed)
    co_return error::bad_gateway("upstream " + x.where() + " response already failed");
  auto& p = *x.parser;
  const std::size_t start = out.size();

  // Where the next read lands. A body of known length is read straight into `out`, no more
  // than it has left (a small body costs no zero-filled 16 KB). A body of unknown length
  // (chunked streams) or a compressed one goes through a scratch buffer that keeps its size, so
  // each read copies only what arrived instead of zero-filling room that may stay unused.
  std::size_t room = read_chunk_bytes;
  bool direct = false;
  auto target = [&](std::size_t& base) -> char* {
    base = out.size();
    room = read_chunk_bytes;
    auto left = p.content_length_remaining();
    direct = !x.inflater && left.has_value() && *left > 0;
    if (direct) {
      room = static_cast<std::size_t>(std::min<std::uint64_t>(*left, read_chunk_bytes));
      out.resize(base + room);
      return out.data() + base;
    }
    if (!x.scratch) {
      x.scratch = std::make_unique_for_overwrite<char[]>(read_chunk_bytes);
    }
    return x.scratch.get();
  };
  // Keeps the `got` bytes that arrived (also on an error path).
  auto keep = [&](std::size_t base, std::size_t got) {
    if (direct) {
      out.resize(base + got);
    } else if (!x.inflater) {
      out.append(x.scratch.get(), got);
    }
  };
  auto collect = [&](std::size_t base, std::size_t got) -> result<void> {
    if (!x.inflater) {
      keep(base, got);
      return {};
    }
    if (got == 0)
      return {};
    x.fed_inflater = true;
    if (auto r = x.inflater->feed(std::string_view(x.scratch.get(), got), out); !r) {
      x.failed = true;
      x.conn->close();
      return error::bad_gateway("upstream " + x.where() +
                                " sent a corrupt compressed body: " + r.error().message);
    }
    return {};
  };

  // Parses what the connection already holds, without waiting for the network: a burst of small
  // upstream chunks becomes one piece for the caller (one client write, not one per chunk), and a
  // body that came whole with its head is taken without a read (nor a coroutine frame for one).
  auto parse_held = [&]() -> std::optional<error> {
    while (!p.is_done() && x.conn->buffer.size() != 0 && out.size() - start < read_chunk_bytes) {
      std::size_t base = 0;
      char* const into = target(base);  // sets `direct` and `room`
      p.lend_body_buffer(into, direct ? room : read_chunk_bytes);
      error_code ec;
      const std::size_t used = p.put(x.conn->buffer.data(), ec);
      x.conn->buffer.consume(used);
      const std::size_t got = (direct ? room : read_chunk_bytes) - p.body_room();
      p.take_back_body_buffer();
      if (ec == http::error::need_buffer)
        ec = {};
      if (ec == http::error::need_more) {
        ec = {};
        if (auto r = collect(base, got); !r)
          return r.error();
        break;  // the rest needs bytes that have not arrived yet
      }
      if (ec) {
        keep(base, got);
        return x.fail(ec);
      }
      if (auto r = collect(base, got); !r)
        return r.error();
      if (used == 0 && got == 0)
        break;
    }
    return std::nullopt;
  };

  // 1. What is already here.
  if (auto e = parse_held()) {
    co_return *e;
  }

  // 2. If that was nothing, wait until some body bytes arrive (or the body ends).
  while (out.size() == start && !p.is_done()) {
    std::size_t base = 0;
    char* const into = target(base);  // sets `direct` and `room`
    p.lend_body_buffer(into, direct ? room : read_chunk_bytes);
    x.conn->tcp().expires_after(x.read_timeout);
    auto [ec, n] = co_await with_stream(*x.conn, [&](auto& stream) {
      return net::read_http(stream, x.conn->buffer, p, net::read_until::some);
    });
    const std::size_t got = (direct ? room : read_chunk_bytes) - p.body_room();
    p.take_back_body_buffer();
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec == asio::ssl::error::stream_truncated && p.need_eof()) {
      p.put_eof(ec);  // a TLS peer that ends an until-close body without close_notify
    }
    if (ec) {
      keep(base, got);  // keep what arrived; drop the unused room
      co_return x.fail(ec);
    }
    if (auto r = collect(base, got); !r)
      co_return r.error();
  }

  // 3. Then whatever else arrived with them.
  if (auto e = parse_held()) {
    co_return *e;
  }

  if (p.is_done() && x.inflater && x.fed_inflater && !x.inflater->finished()) {
    x.failed = true;
    x.conn->close();
    co_return error::bad_gateway("upstream " + x.where() + " sent a truncated compressed body");
  }
  co_return result<bool>(boost::system::in_place_value, out.size() > start);
}

asio::awaitable<result<std::string>> exchange::read_all(std::size_t max_bytes) {
  auto& x = *impl_;
  std::string body;
  if (auto cl = x.parser->content_length(); cl && !x.inflater) {
    if (*cl > max_bytes) {
      x.failed = true;
      x.conn->close();
      co_return error::bad_gateway("upstream response body is larger than " +
                                   std::to_string(max_bytes) + " bytes");
    }
    body.reserve(static_cast<std::size_t>(*cl) + read_chunk_bytes);
  }
  for (;;) {
    // A body that has ended (the usual second round) needs no call: read_some would answer
    // "nothing more" at once, but only after a coroutine frame. A compressed one goes on, so
    // that read_some checks the inflater finished.
    if (x.parser->is_done() && !x.inflater && !x.failed)
      break;
    auto more = co_await read_some(body);
    if (!more)
      co_return more.error();
    if (body.size() > max_bytes) {
      x.failed = true;
      x.conn->close();
      co_return error::bad_gateway("upstream response body is larger than " +
                                   std::to_string(max_bytes) + " bytes");
    }
    if (!*more)
      break;
  }
  co_return body;
}

}  // namespace aiproxy::upstream
