// flow_support: the upstream URI recorded in the log record (scheme, host, a port only when it
// is not the scheme's default, then the target as sent).

#include "aiproxy/plugins/flow_support.hpp"

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

}  // namespace
}  // namespace aiproxy::plugins
