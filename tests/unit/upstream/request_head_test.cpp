// build_request_head without a socket: Host for IPv6 literals and default/non-default ports, a
// client header forwarded byte for byte, the fields left out in any letter case, a head longer
// than any first guess of its size, and the refusals of a line break or a bad name in a field
// set by configuration (the head is built from nothing but checked fields). Pure.
#include "aiproxy/upstream/request_head.hpp"

#include <gtest/gtest.h>

#include <string>

namespace aiproxy::upstream {
namespace {

providers::upstream_request request(std::string scheme, std::string host, std::uint16_t port) {
  providers::upstream_request r;
  r.method = "POST";
  r.scheme = std::move(scheme);
  r.host = std::move(host);
  r.port = port;
  r.target = "/v1/chat/completions";
  return r;
}

std::string head_of(const providers::upstream_request& req, std::optional<std::uint64_t> length = 2,
                    bool chunked = false) {
  auto r = build_request_head(req, length, chunked);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : std::string();
}

TEST(request_head, host_is_bracketed_for_ipv6_and_carries_a_non_default_port) {
  EXPECT_EQ(head_of(request("http", "::1", 8080)),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(head_of(request("https", "2001:db8::7", 443)),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: [2001:db8::7]\r\n"
            "Content-Length: 2\r\n\r\n");
  EXPECT_EQ(head_of(request("https", "api.example", 80)),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example:80\r\n"
            "Content-Length: 2\r\n\r\n");
  EXPECT_EQ(head_of(request("http", "10.0.0.1", 80)),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 10.0.0.1\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(head_of(request("http", "h", 65535), std::nullopt),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: h:65535\r\n\r\n");
}

TEST(request_head, a_preserved_host_replaces_host_and_port) {
  auto req = request("http", "::1", 8080);
  req.host_header = " client.example ";
  EXPECT_EQ(head_of(req, 0),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: client.example\r\n"
            "Content-Length: 0\r\n\r\n");
  req.host_header = "client.example\nX: y";  // refused: host[:port] instead
  EXPECT_EQ(head_of(req, 0),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: [::1]:8080\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(request_head, fields_go_out_as_given_except_the_ones_the_client_writes_itself) {
  auto req = request("https", "api.example", 443);
  // A client's header as the HTTP parser let it through: any byte but CR, LF and NUL, inner
  // white space kept, outer trimmed.
  req.headers.add("X-Client", "a  b\t\xc3\xa9\x01\x7f\"{}");
  for (const char* left_out :
       {"HOST", "content-LENGTH", "Connection", "KEEP-ALIVE", "Proxy-Connection", "te", "Trailer",
        "Transfer-Encoding", "Upgrade", "Proxy-Authorization", "Proxy-Authenticate"}) {
    req.headers.add(left_out, "x");
  }
  req.headers.add("Authorization", "Bearer sk");
  req.headers.add("Hosts", "kept");  // one byte longer than Host
  EXPECT_EQ(head_of(req, 5, true),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example\r\n"
            "X-Client: a  b\t\xc3\xa9\x01\x7f\"{}\r\nAuthorization: Bearer sk\r\nHosts: kept\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
}

TEST(request_head, a_head_of_many_long_fields_is_written_whole) {
  auto req = request("http", "127.0.0.1", 1);
  req.target = "/" + std::string(3000, 'p');
  std::string want = "POST " + req.target + " HTTP/1.1\r\nHost: 127.0.0.1:1\r\n";
  for (int i = 0; i < 40; ++i) {
    const std::string name = "X-Field-" + std::to_string(i);
    const std::string value(static_cast<std::size_t>(i) * 37, static_cast<char>('a' + i % 26));
    req.headers.add(name, value);
    want += name + ": " + value + "\r\n";
  }
  want += "Content-Length: 18446744073709551615\r\n\r\n";
  EXPECT_EQ(head_of(req, UINT64_MAX), want);
}

TEST(request_head, a_configured_value_with_a_line_break_or_nul_is_refused) {
  for (const std::string& value :
       {std::string("Bearer sk\r\nX-Injected: 1"), std::string("Bearer sk\n"),
        std::string("\rBearer"), std::string("Bearer\0sk", 9),
        std::string("a-long-configured-value-over-eight-bytes\r")}) {
    auto req = request("https", "api.example", 443);
    req.headers.add("Content-Type", "application/json");
    req.headers.add("Authorization", value);
    auto r = build_request_head(req, 2, false);
    ASSERT_FALSE(r) << value;
    EXPECT_EQ(r.error().status, 500);
    EXPECT_EQ(r.error().message, "upstream request header 'Authorization' holds a line break");
  }
  // A left-out field is checked all the same.
  auto req = request("https", "api.example", 443);
  req.headers.add("Connection", "close\r\nX-Injected: 1");
  EXPECT_FALSE(build_request_head(req, 2, false));
}

TEST(request_head, a_name_with_a_line_break_says_so_and_other_bad_names_are_named) {
  auto req = request("https", "api.example", 443);
  req.headers.add("X-Long-Enough-Name\r\nX-Injected", "v");
  auto r = build_request_head(req, 2, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "upstream request header 'X-Long-Enough-Name\r\nX-Injected' holds a line break");
  for (const std::string& name : {std::string("X Space"), std::string("X:Colon-and-more"),
                                  std::string("X-\x7f"), std::string()}) {
    auto bad = request("https", "api.example", 443);
    bad.headers.add(name, "v");
    auto e = build_request_head(bad, 2, false);
    ASSERT_FALSE(e) << name;
    EXPECT_EQ(e.error().message, "upstream request header '" + name + "' is not a valid name");
  }
  // The line break is reported first, whichever of name and value holds it.
  auto both = request("https", "api.example", 443);
  both.headers.add("Bad Name", "v\n");
  auto b = build_request_head(both, 2, false);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "upstream request header 'Bad Name' holds a line break");
}

}  // namespace
}  // namespace aiproxy::upstream
