// The scriptable fake upstream (fake_upstream.hpp): an Asio acceptor and one coroutine per
// connection on a private io_context and thread; a runtime self-signed certificate for TLS mode;
// gzip/deflate bodies made with Beast's deflate_stream. Touches only its own sockets and PEM file.

#include "fake_upstream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/zlib/deflate_stream.hpp>
#include <boost/crc.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace aiproxy::testlib {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Incremental gzip / zlib encoder over Beast's raw deflate.
class body_encoder {
 public:
  explicit body_encoder(content_coding c) : coding_(c) {
    deflate_.reset(6, 15, 8, beast::zlib::Strategy::normal);
  }

  /// Compresses `in`; with `finish` also ends the stream. Output is flushed (sync) every call.
  std::string push(std::string_view in, bool finish) {
    std::string out;
    if (!started_) {
      started_ = true;
      if (coding_ == content_coding::gzip) {
        out.append("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
      } else {
        out.append("\x78\x9c", 2);
      }
    }
    crc_.process_bytes(in.data(), in.size());
    for (unsigned char c : in) {
      adler_a_ = (adler_a_ + c) % 65521;
      adler_b_ = (adler_b_ + adler_a_) % 65521;
    }
    size_ += static_cast<std::uint32_t>(in.size());

    beast::zlib::z_params zs{};
    zs.next_in = in.data();
    zs.avail_in = in.size();
    for (;;) {
      char buf[16384];
      zs.next_out = buf;
      zs.avail_out = sizeof buf;
      error_code ec;
      deflate_.write(zs, finish ? beast::zlib::Flush::finish : beast::zlib::Flush::sync, ec);
      out.append(buf, sizeof buf - zs.avail_out);
      if (finish && ec == beast::zlib::error::end_of_stream)
        break;
      if (ec && ec != beast::zlib::error::need_buffers) {
        throw std::runtime_error("deflate failed: " + ec.message());
      }
      if (!finish && zs.avail_in == 0 && zs.avail_out != 0)
        break;
    }
    if (finish) {
      auto put_le = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
          out += static_cast<char>((v >> (8 * i)) & 0xff);
      };
      if (coding_ == content_coding::gzip) {
        put_le(crc_.checksum());
        put_le(size_);
      } else {
        std::uint32_t adler = (adler_b_ << 16) | adler_a_;
        for (int i = 3; i >= 0; --i)
          out += static_cast<char>((adler >> (8 * i)) & 0xff);
      }
    }
    return out;
  }

 private:
  content_coding coding_;
  beast::zlib::deflate_stream deflate_;
  boost::crc_32_type crc_;
  std::uint32_t adler_a_ = 1;
  std::uint32_t adler_b_ = 0;
  std::uint32_t size_ = 0;
  bool started_ = false;
};

const char* coding_name(content_coding c) {
  return c == content_coding::gzip ? "gzip" : "deflate";
}

// ------------------------------------------------------------------------------ certificates

struct pem_cert {
  std::string cert_pem;
  std::string key_pem;
};

pem_cert make_self_signed(const std::string& host, bool ip_san) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (!key || !x)
    throw std::runtime_error("cannot create a test key/certificate");
  X509_set_version(x, 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("aiproxy tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  std::string san = "DNS:" + host;
  if (ip_san)
    san += ",IP:127.0.0.1";
  const std::pair<int, std::string> exts[] = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,digitalSignature,keyCertSign"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_subject_alt_name, san},
  };
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext)
      throw std::runtime_error("cannot build a certificate extension");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, key, EVP_sha256()) == 0)
    throw std::runtime_error("cannot sign the test cert");

  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
  };
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  pem_cert out{to_string(cb), to_string(kb)};
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

std::string write_temp_file(const std::string& content) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/aiproxy-fake-upstream-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0)
    throw std::runtime_error("cannot create a temporary file in " + path);
  std::size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}

std::string serialize_head(const action& a, int status, bool chunked, bool until_close,
                           std::optional<std::size_t> content_length) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " ";
  head += http::obsolete_reason(static_cast<http::status>(status));
  head += "\r\n";
  for (const auto& [n, v] : a.headers.fields()) {
    head += n;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  if (a.coding != content_coding::identity) {
    head += "Content-Encoding: ";
    head += coding_name(a.coding);
    head += "\r\n";
  }
  if (chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (content_length && !a.headers.contains("content-length")) {
    head += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  }
  if (a.close || until_close)
    head += "Connection: close\r\n";
  head += "\r\n";
  return head;
}

void hard_reset(tcp::socket& s) {
  error_code ec;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

}  // namespace

// --------------------------------------------------------------------------------- actions

action action::respond(int status, header_list headers, std::string body) {
  action a;
  a.what = kind::respond;
  a.status = status;
  a.headers = std::move(headers);
  a.body = std::move(body);
  return a;
}

action action::json(int status, std::string body) {
  header_list h;
  h.add("Content-Type", "application/json");
  return respond(status, std::move(h), std::move(body));
}

action action::stream(int status, header_list headers, std::vector<std::string> chunks,
                      std::chrono::milliseconds delay, bool chunked) {
  action a;
  a.what = kind::stream;
  a.status = status;
  a.headers = std::move(headers);
  a.chunks = std::move(chunks);
  a.delay = delay;
  a.chunked = chunked;
  return a;
}

action action::reset() {
  action a;
  a.what = kind::reset;
  return a;
}

action action::hang() {
  action a;
  a.what = kind::hang;
  return a;
}

action action::garbage(std::string bytes) {
  action a;
  a.what = kind::garbage;
  a.garbage_bytes = std::move(bytes);
  return a;
}

action& action::gzip() {
  coding = content_coding::gzip;
  return *this;
}
action& action::deflate() {
  coding = content_coding::deflate;
  return *this;
}
action& action::reset_after(std::size_t n) {
  reset_bytes = n;
  return *this;
}
action& action::close_after_headers() {
  headers_only = true;
  return *this;
}
action& action::close_connection() {
  close = true;
  return *this;
}
action& action::close_silently() {
  close_quietly = true;
  return *this;
}
action& action::gate() {
  gated = true;
  return *this;
}
action& action::header(std::string_view name, std::string_view value) {
  headers.add(name, value);
  return *this;
}

std::string encode_body(std::string_view body, content_coding coding) {
  if (coding == content_coding::identity)
    return std::string(body);
  body_encoder enc(coding);
  return enc.push(body, true);
}

// ---------------------------------------------------------------------------------- server

struct fake_upstream::impl {
  fake_upstream_options options;
  std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>(1);
  std::optional<asio::ssl::context> ssl_ctx;
  std::optional<tcp::acceptor> acceptor{std::in_place, *ioc};
  std::uint16_t port = 0;
  std::string ca_file;
  std::thread thread;
  bool stopped = false;

  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  handler on_request;
  std::vector<received_request> requests;
  std::atomic<std::size_t> accepted{0};

  // Server thread only.
  std::size_t permits = 0;
  std::set<asio::steady_timer*> gate_waiters;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket, std::size_t conn_no);
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, tcp::socket& socket, std::size_t conn_no);
  template <class Stream>
  asio::awaitable<bool> perform(Stream& stream, tcp::socket& socket, const action& a,
                                bool keep_alive);
  asio::awaitable<void> wait_gate();
  asio::awaitable<void> wait_forever();
};

asio::awaitable<void> fake_upstream::impl::wait_forever() {
  asio::steady_timer t(*ioc, asio::steady_timer::time_point::max());
  co_await t.async_wait(use_tuple);
}

asio::awaitable<void> fake_upstream::impl::wait_gate() {
  while (permits == 0) {
    asio::steady_timer t(*ioc, asio::steady_timer::time_point::max());
    gate_waiters.insert(&t);
    co_await t.async_wait(use_tuple);
    gate_waiters.erase(&t);
  }
  --permits;
}

asio::awaitable<void> fake_upstream::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(use_tuple);
    if (ec) {
      if (!acceptor->is_open())
        co_return;
      continue;
    }
    std::size_t conn_no = ++accepted;
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(*ioc, session(std::move(socket), conn_no), asio::detached);
  }
}

asio::awaitable<void> fake_upstream::impl::session(tcp::socket socket, std::size_t conn_no) {
  if (ssl_ctx) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl_ctx);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec)
      co_return;
    co_await serve(stream, stream.next_layer().socket(), conn_no);
  } else {
    beast::tcp_stream stream(std::move(socket));
    co_await serve(stream, stream.socket(), conn_no);
  }
}

template <class Stream>
asio::awaitable<void> fake_upstream::impl::serve(Stream& stream, tcp::socket& socket,
                                                 std::size_t conn_no) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(1024 * 1024);
    parser.body_limit(boost::none);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec)
      co_return;
    auto& msg = parser.get();
    received_request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg)
      req.headers.add(f.name_string(), f.value());
    req.body = std::move(msg.body());
    req.connection = conn_no;
    handler h;
    {
      std::lock_guard lock(mutex);
      h = on_request;
      requests.push_back(req);
    }
    arrived.notify_all();
    action a = h ? h(req) : action::respond(200, {}, "ok");
    bool keep = co_await perform(stream, socket, a, msg.keep_alive());
    if (!keep)
      co_return;
  }
}

template <class Stream>
asio::awaitable<bool> fake_upstream::impl::perform(Stream& stream, tcp::socket& socket,
                                                   const action& a, bool keep_alive) {
  switch (a.what) {
    case action::kind::reset:
      hard_reset(socket);
      co_return false;
    case action::kind::hang:
      co_await wait_forever();
      co_return false;
    case action::kind::garbage: {
      co_await asio::async_write(stream, asio::buffer(a.garbage_bytes), use_tuple);
      error_code ec;
      socket.shutdown(tcp::socket::shutdown_both, ec);
      co_return false;
    }
    case action::kind::respond:
    case action::kind::stream:
      break;
  }

  // Writes `data` unless the reset budget runs out; then writes the allowed prefix and resets.
  std::size_t budget = a.reset_bytes.value_or(SIZE_MAX);
  auto emit = [&](std::string_view data) -> asio::awaitable<bool> {
    std::size_t n = std::min(budget, data.size());
    if (n > 0) {
      auto [ec, w] = co_await asio::async_write(stream, asio::buffer(data.data(), n), use_tuple);
      if (ec)
        co_return false;
    }
    budget -= n;
    if (n < data.size() || (a.reset_bytes && budget == 0)) {
      hard_reset(socket);
      co_return false;
    }
    co_return true;
  };

  if (a.what == action::kind::respond) {
    std::string body = encode_body(a.body, a.coding);
    std::string out = serialize_head(a, a.status, false, false, body.size());
    if (a.headers_only) {
      if (co_await emit(out)) {
        error_code ec;
        socket.shutdown(tcp::socket::shutdown_both, ec);
      }
      co_return false;
    }
    out += body;
    if (!co_await emit(out))
      co_return false;
    co_return keep_alive && !a.close && !a.close_quietly;
  }

  // Stream.
  const bool until_close = !a.chunked && !a.headers.contains("content-length");
  if (!co_await emit(serialize_head(a, a.status, a.chunked, until_close, std::nullopt))) {
    co_return false;
  }
  if (a.headers_only) {
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    co_return false;
  }
  std::optional<body_encoder> encoder;
  if (a.coding != content_coding::identity)
    encoder.emplace(a.coding);
  for (std::size_t i = 0; i < a.chunks.size(); ++i) {
    if (i > 0) {
      if (a.gated)
        co_await wait_gate();
      if (a.delay.count() > 0) {
        asio::steady_timer t(*ioc, a.delay);
        co_await t.async_wait(use_tuple);
      }
    }
    const bool last = i + 1 == a.chunks.size();
    std::string data = encoder ? encoder->push(a.chunks[i], last) : a.chunks[i];
    if (data.empty())
      continue;
    if (a.chunked) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      data = size + data + "\r\n";
    }
    if (!co_await emit(data))
      co_return false;
  }
  if (encoder && a.chunks.empty()) {
    std::string tail = encoder->push({}, true);
    if (a.chunked) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", tail.size());
      tail = size + tail + "\r\n";
    }
    if (!co_await emit(tail))
      co_return false;
  }
  if (a.chunked) {
    if (!co_await emit("0\r\n\r\n"))
      co_return false;
  }
  if (until_close) {
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    co_return false;
  }
  co_return keep_alive && !a.close && !a.close_quietly;
}

// ------------------------------------------------------------------------------ public API

fake_upstream::fake_upstream(fake_upstream_options options) : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.options = std::move(options);
  if (s.options.tls) {
    auto pem = make_self_signed(s.options.cert_host, s.options.cert_ip_san);
    s.ca_file = write_temp_file(pem.cert_pem);
    s.ssl_ctx.emplace(asio::ssl::context::tls_server);
    s.ssl_ctx->use_certificate_chain(asio::buffer(pem.cert_pem));
    s.ssl_ctx->use_private_key(asio::buffer(pem.key_pem), asio::ssl::context::pem);
  }
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  s.acceptor->open(ep.protocol());
  s.acceptor->set_option(tcp::acceptor::reuse_address(true));
  s.acceptor->bind(ep);
  s.acceptor->listen();
  s.port = s.acceptor->local_endpoint().port();
  asio::co_spawn(*s.ioc, s.accept_loop(), asio::detached);
  s.thread = std::thread([&s] { s.ioc->run(); });
}

fake_upstream::~fake_upstream() {
  stop();
  if (!impl_->ca_file.empty())
    ::unlink(impl_->ca_file.c_str());
}

void fake_upstream::stop() {
  auto& s = *impl_;
  if (s.stopped)
    return;
  s.stopped = true;
  asio::post(*s.ioc, [&s] {
    error_code ec;
    s.acceptor->close(ec);
    s.ioc->stop();
  });
  if (s.thread.joinable())
    s.thread.join();
  // Destroying the io_context destroys every suspended session, which closes its socket.
  s.acceptor.reset();
  s.ioc.reset();
}

std::uint16_t fake_upstream::port() const noexcept {
  return impl_->port;
}
bool fake_upstream::tls() const noexcept {
  return impl_->options.tls;
}
const std::string& fake_upstream::ca_file() const noexcept {
  return impl_->ca_file;
}

std::string fake_upstream::base_url() const {
  return std::string(tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

void fake_upstream::on(handler h) {
  std::lock_guard lock(impl_->mutex);
  impl_->on_request = std::move(h);
}

std::vector<received_request> fake_upstream::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t fake_upstream::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests.size();
}

std::size_t fake_upstream::connections_accepted() const noexcept {
  return impl_->accepted;
}

bool fake_upstream::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

void fake_upstream::release(std::size_t n) {
  auto& s = *impl_;
  if (s.stopped)
    return;
  asio::post(*s.ioc, [&s, n] {
    s.permits += n;
    for (auto* t : s.gate_waiters)
      t->cancel();
  });
}

}  // namespace aiproxy::testlib
