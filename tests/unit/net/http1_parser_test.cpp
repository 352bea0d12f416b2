// http1_parser (through request_parser and response_parser) against Beast's basic_parser (the
// test-only reference in beast_reference_parser.hpp): for the same bytes, the same verdict
// (error code or success), start line, fields, body, framing and connection properties. Inputs:
// hand-written edge cases for each RFC 9112 rule, every prefix of valid messages, single-byte
// mutations of a real request and a real chunked response, the request_parser fuzz corpus, and
// seeded random mutations. The reference is given each input whole; the gateway's parser is
// also given it split at every point (and byte by byte) and must not change its verdict.

#include "aiproxy/net/message_parser.hpp"
#include "beast_reference_parser.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <span>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace aiproxy::net {
namespace {

namespace http = boost::beast::http;
using testing::beast_reference_parser;

struct options {
  std::optional<std::uint32_t> header_limit = std::nullopt;
  std::optional<std::uint64_t> body_limit = std::nullopt;  // set when given
  bool unlimited_body = false;                             // body_limit(none)
  bool skip = false;
  std::size_t lend = 1 << 20;  // response body buffer lent per put()
  bool eof = true;             // the input ends with the connection
};

/// Everything observable after parsing one input.
struct outcome {
  std::string verdict;  // "ok" (complete), "need_more" (input ended, no eof) or the error
  bool header_done = false;
  std::string method;
  std::string target;
  unsigned version = 0;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool keep_alive = false;
  bool need_eof = false;
  bool chunked = false;
  bool upgrade = false;
  std::optional<std::uint64_t> content_length;
  std::size_t left = 0;  // input bytes after the complete message

  bool operator==(const outcome&) const = default;
};

std::string escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const outcome& o) {
  os << "{" << o.verdict << " head=" << o.header_done << " '" << escape(o.method) << "' '"
     << escape(o.target) << "' v" << o.version << " s" << o.status << " fields=[";
  for (const auto& [n, v] : o.fields) {
    os << escape(n) << ": " << escape(v) << "; ";
  }
  os << "] body='" << escape(o.body) << "' ka=" << o.keep_alive << " eof=" << o.need_eof
     << " chunked=" << o.chunked << " up=" << o.upgrade
     << " cl=" << (o.content_length ? std::to_string(*o.content_length) : "-") << " left=" << o.left
     << "}";
  return os;
}

template <class Parser>
constexpr bool is_request_parser = std::is_base_of_v<http1_parser<true>, Parser> ||
                                   std::is_same_v<Parser, beast_reference_parser<true>>;

template <class Parser>
void apply(Parser& p, const options& o) {
  if (o.header_limit)
    p.header_limit(*o.header_limit);
  if constexpr (std::is_base_of_v<http1_parser<true>, Parser> ||
                std::is_base_of_v<http1_parser<false>, Parser>) {
    if (o.unlimited_body)
      p.body_limit(std::nullopt);
    else if (o.body_limit)
      p.body_limit(*o.body_limit);
  } else {
    if (o.unlimited_body)
      p.body_limit(boost::none);
    else if (o.body_limit)
      p.body_limit(*o.body_limit);
  }
  if (o.skip)
    p.skip(true);
}

/// Parses `input`, delivered in pieces that end at `cuts` (ascending), as read_http does: the
/// unconsumed bytes are presented again with the next piece.
template <class Parser>
outcome run(std::string_view input, const std::vector<std::size_t>& cuts, const options& o) {
  Parser p;
  apply(p, o);
  outcome r;
  std::string buffer;
  std::size_t fed = 0;
  std::size_t next_cut = 0;
  auto feed = [&] {
    if (fed == input.size())
      return false;
    std::size_t to = input.size();
    while (next_cut < cuts.size() && cuts[next_cut] <= fed)
      ++next_cut;
    if (next_cut < cuts.size())
      to = cuts[next_cut];
    buffer.append(input.substr(fed, to - fed));
    fed = to;
    return true;
  };
  // The lent body buffer, reused across runs: this runs thousands of times per test, and a
  // fresh zero-filled megabyte each time made the suite crawl under ASan.
  static std::string room_storage;
  if (room_storage.size() < o.lend) {
    room_storage.resize(o.lend);
  }
  const std::span<char> room(room_storage.data(), o.lend);
  boost::system::error_code ec;
  feed();
  for (int guard = 0;; ++guard) {
    if (guard > 1000000) {
      r.verdict = "stuck";
      break;
    }
    if (buffer.empty() && !feed()) {
      goto eof;
    }
    {
      if constexpr (!is_request_parser<Parser>)
        p.lend_body_buffer(room.data(), room.size());
      const std::size_t used = p.put(boost::asio::buffer(buffer), ec);
      buffer.erase(0, used);
      if constexpr (!is_request_parser<Parser>) {
        r.body.append(room.data(), room.size() - p.body_room());
        p.take_back_body_buffer();
      }
      if (ec == http::error::need_more) {
        if (!feed())
          goto eof;
        continue;
      }
      if (ec == http::error::need_buffer)
        continue;
      if (ec) {
        r.verdict = ec.message();
        break;
      }
      if (p.is_done()) {
        r.verdict = "ok";
        r.left = buffer.size() + (input.size() - fed);
        break;
      }
      continue;
    }
  eof:
    if (!o.eof) {
      r.verdict = "need_more";
    } else if (!p.got_some()) {
      r.verdict = http::make_error_code(http::error::end_of_stream).message();
    } else {
      p.put_eof(ec);
      r.verdict = ec ? ec.message() : (p.is_done() ? "ok" : "not done");
    }
    break;
  }
  r.header_done = p.is_header_done();
  r.version = p.version();
  if constexpr (is_request_parser<Parser>) {
    r.method = p.method();
    r.target = p.target();
    r.body += p.body();
  } else {
    r.status = p.status();
  }
  if constexpr (requires { p.field_vector(); }) {
    r.fields = p.field_vector();
  } else {
    for (const auto& [name, value] : p.fields().fields()) {
      r.fields.emplace_back(name, value);
    }
  }
  if (r.header_done) {
    r.keep_alive = p.keep_alive();
    r.need_eof = p.need_eof();
    r.chunked = p.chunked();
    r.upgrade = p.upgrade();
    if (auto cl = p.content_length())
      r.content_length = *cl;
  }
  return r;
}

template <bool IsRequest>
using ours = std::conditional_t<IsRequest, request_parser, response_parser>;

/// The reference's verdict on `input` whole; ours whole, split in two at every point (when
/// `splits`), and byte by byte must all equal it.
template <bool IsRequest>
void check(std::string_view input, const options& o = {}, bool splits = true) {
  const outcome want = run<beast_reference_parser<IsRequest>>(input, {}, o);
  const outcome whole = run<ours<IsRequest>>(input, {}, o);
  ASSERT_EQ(whole, want) << (IsRequest ? "request " : "response ") << "'" << escape(input) << "'";
  if (!splits)
    return;
  // A body that ends with the connection is delivered as it comes: how much of it arrived
  // before its limit was exceeded depends on the pieces, for Beast too.
  const bool body_varies = want.verdict == http::make_error_code(http::error::body_limit).message();
  auto same = [&](outcome got) {
    if (body_varies)
      got.body = want.body;
    return got;
  };
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    const outcome split = same(run<ours<IsRequest>>(input, {cut}, o));
    ASSERT_EQ(split, want) << "split at " << cut << " of '" << escape(input) << "'";
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i)
    every.push_back(i);
  const outcome bytewise = same(run<ours<IsRequest>>(input, every, o));
  ASSERT_EQ(bytewise, want) << "byte by byte: '" << escape(input) << "'";
}

/// Each input under several options: defaults, no eof, tight limits, small body buffers.
template <bool IsRequest>
void check_all(std::string_view input) {
  check<IsRequest>(input);
  check<IsRequest>(input, options{.eof = false});
  check<IsRequest>(input, options{.header_limit = 24});
  check<IsRequest>(input, options{.header_limit = 40, .eof = false});
  check<IsRequest>(input, options{.body_limit = 3});
  check<IsRequest>(input, options{.unlimited_body = true, .lend = 3});
  if constexpr (!IsRequest)
    check<IsRequest>(input, options{.skip = true});
}

// ---- requests -----------------------------------------------------------------------------

const std::vector<std::string> request_cases = {
    // well-formed
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    "GET /chat HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
    "POST /v1/x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",  // pipelined
    "PROPFIND * HTTP/1.1\r\n\r\n",
    "OPTIONS http://a.example:80/p HTTP/1.1\r\n\r\n",
    "get /lower HTTP/1.1\r\n\r\n",
    "GET /\x80\xff HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nX-Empty:\r\nX-Spaces:    \r\nX-Pad:  a b \t\r\n\r\n",
    "GET / HTTP/1.1\r\nX: a\tb\r\nY: \x80\xfe\r\n\r\n",
    "GET / HTTP/1.1\r\nhost: a\r\nHOST: b\r\nHost: c\r\n\r\n",
    // line endings
    "GET / HTTP/1.1\nHost: a\n\n",
    "GET / HTTP/1.1\r\nHost: a\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\n",
    "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\rX",
    "GET / HTTP/1.1\r\r\n\r\n",
    "\r\nGET / HTTP/1.1\r\n\r\n",
    // request line
    " / HTTP/1.1\r\n\r\n",
    "GET  / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1 \r\n\r\n",
    "G(T / HTTP/1.1\r\n\r\n",
    "G\x01T / HTTP/1.1\r\n\r\n",
    "GET /a\x7f HTTP/1.1\r\n\r\n",
    "GET /a\tb HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.2\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "GET / HTTP/0.9\r\n\r\n",
    "GET / http/1.1\r\n\r\n",
    "GET / HTTP/11\r\n\r\n",
    "GET / HTTP/1.x\r\n\r\n",
    "GET /\r\n\r\n",
    "GET / HTTP\r\n\r\n",
    "GET\r\n\r\n",
    // field names and values
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",
    "GET / HTTP/1.1\r\nH\xc3\xb6st: a\r\n\r\n",
    "GET / HTTP/1.1\r\n: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost a\r\n\r\n",
    "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
    "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
    std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26),
    "GET / HTTP/1.1\r\nX: a\nb\r\n\r\n",
    // obs-fold (Beast unfolds it to one SP)
    "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
    "GET / HTTP/1.1\r\nX:\r\n b\r\n\r\n",
    "GET / HTTP/1.1\r\nX: \r\n \r\n c \r\n\r\n",
    "GET / HTTP/1.1\r\nX: a \r\n\t b \r\n  \r\n c\r\nY: d\r\n\r\n",
    "GET / HTTP/1.1\r\nX: a\r\n b\x01\r\n\r\n",
    "GET / HTTP/1.1\r\nX: " + std::string(4090, 'x') + "\r\n 12345\r\n\r\n",
    "GET / HTTP/1.1\r\nX: " + std::string(4090, 'x') + "\r\n 1234\r\n\r\n",
    "GET / HTTP/1.1\r\nX: " + std::string(4097, 'x') + "\r\n 1\r\n\r\n",
    // Connection lists
    "GET / HTTP/1.1\r\nConnection: close;\r\n\r\n",
    "GET / HTTP/1.1\r\nConnection: a b\r\n\r\n",
    "GET / HTTP/1.1\r\nConnection: , ,CLOSE ,\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n",
    "GET / HTTP/1.1\r\nConnection:\r\n\r\n",
    // Content-Length
    "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1 , 1\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1,2\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1,,1\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: ,1\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1,\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1,x\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 01\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 0x1\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 1;\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\nx",
    "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
    "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
    "POST / HTTP/1.1\r\ncontent-length: 2\r\nCONTENT-LENGTH: 2, 2\r\n\r\nab",
    // Transfer-Encoding
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked x\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked,,\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx",
    // chunks
    "POST / HTTP/1.1\r\nTransfer-Encoding: "
    "chunked\r\n\r\nA\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a\r\nhello\r\n0;b=c\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d\\\"e\"\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 ; a = b\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a b\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;=b\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\"\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n000\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 1\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nConnection: close\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: x\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX y\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: \x01\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0;x\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0 x\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
    // limits
    "GET /" + std::string(40, 'p') + " HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nX: " + std::string(30, 'v') + "\r\n\r\n",
    "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
    "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
    "",
    "G",
    "GET / HTTP/1.1\r\n",
};

TEST(http1_parser_vs_beast, request_edge_cases) {
  for (const std::string& c : request_cases) {
    check_all<true>(c);
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

// ---- responses ----------------------------------------------------------------------------

const std::vector<std::string> response_cases = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\n\r\nuntil the end",
    "HTTP/1.0 200 OK\r\n\r\nuntil the end",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 199 X\r\nContent-Length: 3\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Usage: 3\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nraw",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    "HTTP/1.1 200\r\n\r\n",
    "HTTP/1.1 200 \r\n\r\n",
    "HTTP/1.1 200 A\tB \x80\xff\r\n\r\n",
    "HTTP/1.1 200 A\x01\r\n\r\n",
    "HTTP/1.1 200 A\x7f\r\n\r\n",
    "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "HTTP/1.1 200 OK\r\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 20a OK\r\n\r\n",
    "HTTP/1.1  200 OK\r\n\r\n",
    "HTTP/1.1 000 Zero\r\n\r\nbody",
    "HTTP/1.2 200 OK\r\n\r\n",
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1\r\n\r\n",
    "ICY 200 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\x01\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabHTTP/1.1 200 OK\r\n\r\n",
};

TEST(http1_parser_vs_beast, response_edge_cases) {
  for (const std::string& c : response_cases) {
    check_all<false>(c);
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

// ---- prefixes and mutations of real messages ------------------------------------------------

const std::string real_request =
    "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:18900\r\n"
    "Content-Type: application/json\r\nAuthorization: Bearer sk-test\r\n"
    "User-Agent: wrk\r\nContent-Length: 70\r\n\r\n"
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}";

const std::string real_response =
    "HTTP/1.1 200 OK\r\nDate: Mon, 23 Nov 2026 07:00:00 GMT\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
    "Connection: keep-alive\r\nx-request-id: req_123\r\n\r\n"
    "30\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\r\n"
    "e;ext=1\r\ndata: [DONE]\n\n\r\n0\r\nX-Trailer: t\r\n\r\n";

TEST(http1_parser_vs_beast, the_real_messages_parse_the_same) {
  check_all<true>(real_request);
  check_all<false>(real_response);
  const outcome r = run<request_parser>(real_request, {}, {});
  EXPECT_EQ(r.verdict, "ok");
  EXPECT_EQ(r.fields.size(), 5u);
  EXPECT_EQ(r.body.size(), 70u);
  const outcome s = run<response_parser>(real_response, {}, {});
  EXPECT_EQ(s.verdict, "ok");
  EXPECT_EQ(s.body, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n");
  EXPECT_EQ(s.fields.back().first, "X-Trailer");
}

TEST(http1_parser_vs_beast, every_prefix_of_valid_messages) {
  std::vector<std::string> valid = {real_request, real_response};
  for (const auto& c : request_cases) {
    if (run<beast_reference_parser<true>>(c, {}, {}).verdict == "ok")
      valid.push_back(c);
  }
  for (std::size_t v = 0; v < valid.size(); ++v) {
    const std::string& m = valid[v];
    const bool req = v != 1;
    for (std::size_t len = 0; len <= m.size(); ++len) {
      const std::string_view prefix(m.data(), len);
      for (bool eof : {true, false}) {
        if (req)
          check<true>(prefix, options{.eof = eof}, false);
        else
          check<false>(prefix, options{.eof = eof}, false);
        if (::testing::Test::HasFatalFailure())
          return;
      }
    }
  }
}

/// Replaces, inserts before and deletes each byte of `m` in turn.
template <bool IsRequest>
void mutate_everywhere(const std::string& m, std::size_t split_stride) {
  static constexpr char bytes[] = {' ', ':', '\r', '\n', '\t', '\0', '\x7f',
                                   'a', '0', ',',  ';',  '"',  'F',  '\x80'};
  std::size_t n = 0;
  for (std::size_t at = 0; at < m.size(); ++at) {
    std::vector<std::string> variants;
    for (char b : bytes) {
      std::string r = m;
      r[at] = b;
      variants.push_back(std::move(r));
      std::string i = m;
      i.insert(i.begin() + static_cast<std::ptrdiff_t>(at), b);
      variants.push_back(std::move(i));
    }
    std::string d = m;
    d.erase(at, 1);
    variants.push_back(std::move(d));
    for (const std::string& v : variants) {
      // Whole against the reference; our splits checked on a stride to keep this quick.
      check<IsRequest>(v, {}, false);
      if (::testing::Test::HasFatalFailure())
        return;
      if (++n % split_stride == 0) {
        check<IsRequest>(v, {}, true);
        if (::testing::Test::HasFatalFailure())
          return;
      }
    }
  }
}

TEST(http1_parser_vs_beast, single_byte_mutations_of_a_real_request) {
  mutate_everywhere<true>(real_request, 23);
}

TEST(http1_parser_vs_beast, single_byte_mutations_of_a_real_chunked_response) {
  mutate_everywhere<false>(real_response, 23);
}

// ---- the fuzz corpus and random mutations -----------------------------------------------------

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  const std::filesystem::path dir =
      std::filesystem::path(AIPROXY_SOURCE_DIR) / "fuzz" / "corpus" / "request_parser";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out.push_back(s.str());
  }
  return out;
}

TEST(http1_parser_vs_beast, the_fuzz_corpus_raw_and_as_bodies) {
  const auto files = corpus();
  ASSERT_FALSE(files.empty());
  for (const std::string& f : files) {
    check<true>(f, {}, false);
    check<false>(f, {}, false);
    const std::string with_length =
        "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: " + std::to_string(f.size()) +
        "\r\n\r\n" + f;
    check<true>(with_length);
    std::string chunked =
        "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < f.size(); at += 7) {
      const std::string piece = f.substr(at, 7);
      static constexpr char hex[] = "0123456789abcdef";
      chunked += hex[piece.size()];
      chunked += "\r\n" + piece + "\r\n";
    }
    chunked += "0\r\n\r\n";
    check<true>(chunked, {}, false);
    check<true>(chunked, options{.body_limit = 64}, false);
    check<false>("HTTP/1.1 200 OK\r\n\r\n" + f, options{.lend = 5});
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

TEST(http1_parser_vs_beast, seeded_random_mutations) {
  std::vector<std::string> seeds = {real_request, real_response};
  for (const auto& c : request_cases)
    seeds.push_back(c);
  std::mt19937 rng(20261123);
  static constexpr char bytes[] = {' ', ':', '\r', '\n', '\t', '\0', '\x7f', 'a',
                                   '0', ',', ';',  '"',  '=',  'f',  '\x80', '\\'};
  for (int i = 0; i < 20000; ++i) {
    const std::size_t s = rng() % seeds.size();
    std::string m = seeds[s];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !m.empty(); ++e) {
      const std::size_t at = rng() % m.size();
      const char b = bytes[rng() % sizeof bytes];
      switch (rng() % 3) {
        case 0:
          m[at] = b;
          break;
        case 1:
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), b);
          break;
        default:
          m.erase(at, 1);
      }
    }
    const bool req = s != 1;
    const options o{.header_limit = (i % 5 == 0) ? std::optional<std::uint32_t>(48) : std::nullopt,
                    .body_limit = (i % 7 == 0) ? std::optional<std::uint64_t>(4) : std::nullopt};
    const std::size_t cut = m.empty() ? 0 : rng() % m.size();
    const outcome want = req ? run<beast_reference_parser<true>>(m, {}, o)
                             : run<beast_reference_parser<false>>(m, {}, o);
    const outcome got = req ? run<request_parser>(m, {cut}, o) : run<response_parser>(m, {cut}, o);
    ASSERT_EQ(got, want) << "'" << escape(m) << "' split at " << cut;
  }
}

// ---- behaviour the callers rely on ------------------------------------------------------------

TEST(http1_parser, put_stops_after_the_head_unless_eager) {
  const std::string raw = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  request_parser p;
  boost::system::error_code ec;
  EXPECT_EQ(p.put(raw, ec), raw.size() - 5);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.is_header_done());
  EXPECT_FALSE(p.is_done());
  EXPECT_EQ(p.body(), "");
  request_parser eager;
  eager.eager(true);
  EXPECT_EQ(eager.put(raw, ec), raw.size());
  EXPECT_TRUE(eager.is_done());
  EXPECT_EQ(eager.body(), "hello");
}

TEST(http1_parser, a_chunked_body_is_parsed_in_one_put_and_reports_what_remains) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string body = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nNEXT";
  response_parser p;
  boost::system::error_code ec;
  EXPECT_EQ(p.put(head, ec), head.size());
  char room[16];
  p.lend_body_buffer(room, sizeof room);
  EXPECT_EQ(p.put(body, ec), body.size() - 4);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(std::string_view(room, sizeof room - p.body_room()), "abcde");
  EXPECT_EQ(p.put(std::string_view("NEXT"), ec), 0u);
  EXPECT_EQ(ec, http::error::stale_parser);
}

TEST(http1_parser, a_put_that_took_body_bytes_reports_success_not_need_more) {
  // A streamed chunk whose closing CRLF has not arrived: its data is handed out now, and the
  // reader (read_http's read_until::some) must return rather than wait for the next chunk.
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  response_parser p;
  boost::system::error_code ec;
  ASSERT_EQ(p.put(head, ec), head.size());
  char room[32];
  p.lend_body_buffer(room, sizeof room);
  const std::string_view first = "b\r\ndata: one\n\n\r";
  EXPECT_EQ(p.put(first, ec), first.size() - 1);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string_view(room, sizeof room - p.body_room()), "data: one\n\n");
  EXPECT_EQ(p.put(std::string_view("\r"), ec), 0u);
  EXPECT_EQ(ec, http::error::need_more);  // nothing could be done
}

TEST(http1_parser, the_header_limit_counts_the_whole_field_section_whatever_the_split) {
  // 5 fields of 11 bytes and the final CRLF: 57 bytes of fields against a limit of 48, fed in
  // pieces that each end inside a field.
  std::string raw = "GET / HTTP/1.1\r\n";
  for (char c = 'A'; c < 'F'; ++c)
    raw += std::string(1, c) + ": 123456\r\n";
  raw += "\r\n";
  std::vector<std::size_t> cuts;
  for (std::size_t at = 16; at < raw.size(); at += 11)
    cuts.push_back(at + 1);
  const outcome o = run<request_parser>(raw, cuts, options{.header_limit = 48});
  EXPECT_EQ(o.verdict, http::make_error_code(http::error::header_limit).message());
  EXPECT_EQ(run<request_parser>(raw, cuts, options{.header_limit = 57}).verdict, "ok");
}

}  // namespace
}  // namespace aiproxy::net

namespace aiproxy::net {
namespace {

// A request body whose length the gateway and a server behind it could disagree on is refused
// (RFC 9112 section 6.3), so that it cannot pass for a second request; a response in the same
// shape is read until the connection closes.
TEST(http1_parser, a_request_whose_last_transfer_coding_is_not_chunked_is_refused) {
  namespace http = boost::beast::http;
  for (const std::string_view head :
       {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n"}) {
    const std::string raw = std::string(head) + "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
    request_parser p;
    boost::system::error_code ec;
    p.put(raw, ec);
    EXPECT_EQ(ec, http::error::bad_transfer_encoding) << head;
  }
  request_parser chunked;
  boost::system::error_code ec;
  chunked.put(std::string_view("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(chunked.chunked());

  response_parser response;
  response.put(std::string_view("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(response.need_eof());
}

}  // namespace
}  // namespace aiproxy::net
