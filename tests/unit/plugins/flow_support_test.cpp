// flow_support: the upstream URI recorded in the log record (scheme, host, a port only when it
// is not the scheme's default, then the target as sent), and the upstream response fields a
// client is given (copied or taken over, the same ones in the same order).

#include "aiproxy/plugins/flow_support.hpp"

#include "testlib/header_fields.hpp"

#include <gtest/gtest.h>

namespace aiproxy::plugins {
namespace {

providers::upstream_request request(std::string scheme, std::string host, std::uint16_t port,
                                    std::string target) {
  providers::upstream_request up;
  up.scheme = std::move(scheme);
  up.host = std::move(host);
  up.port = port;
  up.target = std::move(target);
  return up;
}

TEST(upstream_uri_of, leaves_out_the_default_port_of_the_scheme) {
  EXPECT_EQ(upstream_uri_of(request("https", "api.openai.com", 443, "/v1/chat/completions")),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(upstream_uri_of(request("http", "ollama", 80, "/api/chat")), "http://ollama/api/chat");
}

TEST(upstream_uri_of, writes_any_other_port) {
  EXPECT_EQ(upstream_uri_of(request("http", "127.0.0.1", 18901, "/v1/chat/completions?x=1")),
            "http://127.0.0.1:18901/v1/chat/completions?x=1");
  EXPECT_EQ(upstream_uri_of(request("https", "gw.internal", 80, "/")), "https://gw.internal:80/");
  EXPECT_EQ(upstream_uri_of(request("http", "h", 65535, "/p")), "http://h:65535/p");
}

header_list upstream_fields() {
  header_list h;
  h.add("Content-Type", "application/json");
  h.add("Connection", "keep-alive");
  h.add("x-request-id", "req-1");
  h.add("Content-Length", "615");
  h.add("Set-Cookie", "a=b");
  h.add("TE", "trailers");
  h.add("Content-Encoding", "gzip");
  h.add("openai-processing-ms", "12");
  h.add("Transfer-Encoding", "chunked");
  return h;
}

using testlib::owned_field;

std::vector<owned_field> fields_of(const header_list& h) {
  return testlib::owned_fields(h);
}

TEST(client_headers_from, drops_hop_by_hop_framing_cookie_and_encoding_fields_in_order) {
  const std::vector<owned_field> kept{{"Content-Type", "application/json"},
                                      {"x-request-id", "req-1"},
                                      {"openai-processing-ms", "12"}};
  EXPECT_EQ(fields_of(client_headers_from(upstream_fields(), false)), kept);
  const header_list source = upstream_fields();
  EXPECT_EQ(fields_of(client_headers_from(source, false)), kept);
  EXPECT_EQ(source.size(), 9u);  // the copying form leaves its source alone
}

TEST(client_headers_from, drops_content_type_when_asked) {
  const std::vector<owned_field> kept{{"x-request-id", "req-1"}, {"openai-processing-ms", "12"}};
  EXPECT_EQ(fields_of(client_headers_from(upstream_fields(), true)), kept);
  const header_list source = upstream_fields();
  EXPECT_EQ(fields_of(client_headers_from(source, true)), kept);
}

}  // namespace
}  // namespace aiproxy::plugins
