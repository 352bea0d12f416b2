// fast_upstream: a minimal, fast fake OpenAI upstream for the load benchmark (bench/run.sh).
// One thread, one io_context, keep-alive, Beast for HTTP parsing. POST /v1/chat/completions gets a
// fixed ~600-byte chat completion, or, when the body holds "stream":true, a fixed SSE stream of 20
// content chunks + a finish chunk + a usage chunk + [DONE] (chunked transfer encoding). Every reply
// is built once at start-up and written with one gather write. Touches only its own socket and the
// optional --ready-file.
//
// Usage: fast_upstream [--host 127.0.0.1] [--port 0] [--ready-file FILE] [--event-gap-us N]
//   --ready-file   written atomically with "HOST:PORT" once listening (port 0 = any free port)
//   --event-gap-us write each SSE event separately, N microseconds apart (default 0: one write)

#include "chat_completion_body.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string ready_file;
  long event_gap_us = 0;
};

struct replies {
  std::string chat;                 // whole HTTP response
  std::string stream_head;          // status line + headers of the SSE response
  std::vector<std::string> events;  // each SSE event already framed as one HTTP chunk
  std::string stream_all;           // stream_head + every event + the last chunk
  std::string not_found;
};

std::string http_chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

replies build_replies() {
  replies r;
  const std::string body(aiproxy::bench::chat_completion_body);
  r.chat = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;

  r.stream_head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string prefix =
      R"({"id":"chatcmpl-bench0002","object":"chat.completion.chunk","created":1730000000,)"
      R"("model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_bench0001",)";
  auto event = [&](const std::string& rest) {
    return http_chunk("data: " + prefix + rest + "\n\n");
  };
  r.events.push_back(
      event(R"("choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},)"
            R"("logprobs":null,"finish_reason":null}],"usage":null})"));
  for (int i = 0; i < 20; ++i) {
    r.events.push_back(event(R"("choices":[{"index":0,"delta":{"content":" word)" +
                             std::to_string(i) +
                             R"("},"logprobs":null,"finish_reason":null}],"usage":null})"));
  }
  r.events.push_back(
      event(R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":null})"));
  r.events.push_back(event(R"("choices":[],"usage":{"prompt_tokens":19,"completion_tokens":20,)"
                           R"("total_tokens":39}})"));
  r.events.push_back(http_chunk("data: [DONE]\n\n"));
  r.events.push_back("0\r\n\r\n");
  r.stream_all = r.stream_head;
  for (const auto& e : r.events)
    r.stream_all += e;

  const std::string nf = R"({"error":{"message":"not found","type":"invalid_request_error"}})";
  r.not_found = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(nf.size()) + "\r\n\r\n" + nf;
  return r;
}

bool wants_stream(std::string_view body) {
  for (auto key : {std::string_view(R"("stream":true)"), std::string_view(R"("stream": true)")}) {
    if (body.find(key) != std::string_view::npos)
      return true;
  }
  return false;
}

asio::awaitable<void> serve(tcp::socket sock, const replies& r, long event_gap_us) {
  sock.set_option(tcp::no_delay(true));
  boost::beast::flat_buffer buffer;
  asio::steady_timer timer(sock.get_executor());
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto [read_ec, n] = co_await http::async_read(sock, buffer, parser, use_tuple);
    if (read_ec)
      co_return;
    const auto& req = parser.get();
    const bool chat = req.method() == http::verb::post && req.target() == "/v1/chat/completions";
    boost::system::error_code ec;
    if (!chat) {
      std::tie(ec, n) = co_await asio::async_write(sock, asio::buffer(r.not_found), use_tuple);
    } else if (!wants_stream(req.body())) {
      std::tie(ec, n) = co_await asio::async_write(sock, asio::buffer(r.chat), use_tuple);
    } else if (event_gap_us <= 0) {
      std::tie(ec, n) = co_await asio::async_write(sock, asio::buffer(r.stream_all), use_tuple);
    } else {
      std::tie(ec, n) = co_await asio::async_write(sock, asio::buffer(r.stream_head), use_tuple);
      for (const auto& e : r.events) {
        if (ec)
          break;
        timer.expires_after(std::chrono::microseconds(event_gap_us));
        co_await timer.async_wait(use_tuple);
        std::tie(ec, n) = co_await asio::async_write(sock, asio::buffer(e), use_tuple);
      }
    }
    if (ec || !req.keep_alive())
      co_return;
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const replies& r, long event_gap_us) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted)
        co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(std::move(sock), r, event_gap_us),
                   asio::detached);
  }
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      o.port = static_cast<unsigned short>(std::stoi(value()));
    } else if (a == "--ready-file") {
      o.ready_file = value();
    } else if (a == "--event-gap-us") {
      o.event_gap_us = std::stol(value());
    } else {
      std::cerr << "usage: fast_upstream [--host H] [--port P] [--ready-file F] "
                   "[--event-gap-us N]\n";
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse_args(argc, argv);
  const replies r = build_replies();
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  const tcp::endpoint ep(asio::ip::make_address(opt.host), opt.port);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const auto bound = acceptor.local_endpoint();
  const std::string where = bound.address().to_string() + ":" + std::to_string(bound.port());
  if (!opt.ready_file.empty()) {
    const std::string tmp = opt.ready_file + ".tmp";
    std::ofstream(tmp) << where << "\n";
    std::rename(tmp.c_str(), opt.ready_file.c_str());
  }
  std::cout << "fast_upstream listening on " << where << " (chat " << r.chat.size()
            << " bytes, stream " << r.stream_all.size() << " bytes)" << std::endl;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    acceptor.close();
    io.stop();
  });
  asio::co_spawn(io, accept_loop(acceptor, r, opt.event_gap_us), asio::detached);
  io.run();
  return 0;
}
