// The blocking test HTTP client (http_client.hpp): asynchronous Beast calls run to completion on
// a private io_context, each under the client's deadline. Touches only its own socket.

#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <stdexcept>

namespace aiproxy::testlib {

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
}  // namespace

struct http_client::impl {
  asio::io_context ioc{1};
  std::string host;
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  bool head_read = false;

  /// Starts an asynchronous operation with a handler and runs the io_context until it ends.
  template <class Start>
  error_code run(Start&& start) {
    error_code result = asio::error::would_block;
    start([&](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void fail(std::string_view what, const error_code& ec) {
    close();
    throw std::runtime_error("http_client: " + std::string(what) + ": " + ec.message());
  }

  void close() {
    if (stream) {
      error_code ec;
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->close();
      stream.reset();
    }
    buffer.clear();
    parser.reset();
    head_read = false;
  }

  void connect() {
    if (stream)
      return;
    stream.emplace(ioc);
    tcp::resolver resolver(ioc);
    error_code ec;
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec)
      fail("resolve " + host, ec);
    stream->expires_after(timeout);
    ec = run([&](auto h) { stream->async_connect(endpoints, std::move(h)); });
    if (ec)
      fail("connect to " + host + ":" + std::to_string(port), ec);
    stream->socket().set_option(tcp::no_delay(true), ec);
  }

  void send(std::string_view method, std::string_view target, const header_list& headers,
            std::string_view body) {
    if (parser && !parser->is_done())
      close();  // the previous response was not read to the end
    connect();
    http::request<http::string_body> req;
    req.version(11);
    req.method_string(method);
    req.target(target);
    if (!headers.contains("host"))
      req.set(http::field::host, host + ":" + std::to_string(port));
    for (const auto& [n, v] : headers.fields())
      req.insert(n, v);
    req.body() = std::string(body);
    if (!headers.contains("content-length") && !headers.contains("transfer-encoding")) {
      req.prepare_payload();
    }
    stream->expires_after(timeout);
    auto ec = run([&](auto h) { http::async_write(*stream, req, std::move(h)); });
    if (ec)
      fail("write", ec);
    parser.emplace();
    parser->body_limit(boost::none);
    if (method == "HEAD")
      parser->skip(true);
    head_read = false;
  }

  http_response read_head() {
    if (!parser)
      throw std::runtime_error("http_client: read_head() without send()");
    stream->expires_after(timeout);
    auto ec = run([&](auto h) { http::async_read_header(*stream, buffer, *parser, std::move(h)); });
    if (ec)
      fail("read head", ec);
    head_read = true;
    http_response out;
    out.status = parser->get().result_int();
    for (const auto& f : parser->get())
      out.headers.add(f.name_string(), f.value());
    finish_if_done();
    return out;
  }

  void finish_if_done() {
    if (stream && parser && parser->is_done() && !parser->keep_alive()) {
      // Keep parser state readable (is_done) but drop the connection.
      error_code ec;
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream->close();
      stream.reset();
      buffer.clear();
    }
  }

  std::optional<std::string> read_some() {
    if (!parser)
      throw std::runtime_error("http_client: read_some() without send()");
    if (!head_read)
      read_head();
    std::string out;
    while (out.empty() && !parser->is_done()) {
      char buf[65536];
      auto& body = parser->get().body();
      body.data = buf;
      body.size = sizeof buf;
      stream->expires_after(timeout);
      auto ec = run([&](auto h) { http::async_read_some(*stream, buffer, *parser, std::move(h)); });
      out.append(buf, sizeof buf - body.size);
      body.data = nullptr;
      body.size = 0;
      if (ec == http::error::need_buffer)
        ec = {};
      if (ec)
        fail("read body", ec);
    }
    finish_if_done();
    if (out.empty())
      return std::nullopt;
    return out;
  }
};

http_client::http_client(std::uint16_t port, std::string host, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

http_client::~http_client() {
  impl_->close();
}

http_response http_client::request(std::string_view method, std::string_view target,
                                   const header_list& headers, std::string_view body) {
  impl_->send(method, target, headers, body);
  http_response out = impl_->read_head();
  out.body = read_rest();
  return out;
}

void http_client::send(std::string_view method, std::string_view target, const header_list& headers,
                       std::string_view body) {
  impl_->send(method, target, headers, body);
}

http_response http_client::read_head() {
  return impl_->read_head();
}

std::optional<std::string> http_client::read_some() {
  return impl_->read_some();
}

std::string http_client::read_until(std::string_view needle) {
  std::string out;
  while (out.find(needle) == std::string::npos) {
    auto piece = impl_->read_some();
    if (!piece)
      break;
    out += *piece;
  }
  return out;
}

std::string http_client::read_rest() {
  std::string out;
  while (auto piece = impl_->read_some())
    out += *piece;
  return out;
}

void http_client::set_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout = timeout;
}
bool http_client::is_open() const {
  return impl_->stream.has_value();
}
void http_client::close() {
  impl_->close();
}

}  // namespace aiproxy::testlib
