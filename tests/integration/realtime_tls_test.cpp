// realtime/v1/realtime routes use the server's upstream TLS settings: with --ca-file the
// gateway trusts the provider's certificate and its answer reaches the client; without it the
// handshake fails verification and the client gets a 502 before any upgrade.

#include "gateway_harness.hpp"
#include "testlib/fake_upstream.hpp"
#include "testlib/http_client.hpp"

#include <gtest/gtest.h>

namespace aiproxy::testlib {
namespace {

std::string realtime_config(const fake_upstream& up) {
  return R"(_format_version: "3.0"
routes:
  - name: realtime
    paths: [/v1/realtime]
    plugins:
      - name: ai-proxy
        config:
          route_type: realtime/v1/realtime
          auth: {header_name: Authorization, header_value: "Bearer sk-realtime-secret"}
          model:
            provider: openai
            name: gpt-realtime
            options: {upstream_url: ")" +
         up.base_url() + R"("}
)";
}

header_list upgrade_headers() {
  header_list h;
  h.add("Connection", "Upgrade");
  h.add("Upgrade", "websocket");
  h.add("Sec-WebSocket-Version", "13");
  h.add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  return h;
}

TEST(realtime_tls, the_ca_file_reaches_the_realtime_client) {
  fake_upstream up(fake_upstream_options{.tls = true});
  // The fake speaks plain HTTP: it declines the upgrade, and the gateway passes that answer on.
  up.on([](const received_request&) {
    return action::json(401, R"({"error":{"message":"declined by the provider"}})");
  });
  gateway gw(realtime_config(up), {"--ca-file", up.ca_file()});
  http_client client(gw.proxy_port());
  auto res = client.request("GET", "/v1/realtime?model=gpt-realtime", upgrade_headers());
  EXPECT_EQ(res.status, 401) << res.body;
  EXPECT_NE(res.body.find("declined by the provider"), std::string::npos);
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_EQ(up.requests()[0].headers.get("authorization").value_or(""),
            "Bearer sk-realtime-secret");
}

TEST(realtime_tls, without_the_ca_file_the_certificate_is_refused) {
  fake_upstream up(fake_upstream_options{.tls = true});
  gateway gw(realtime_config(up));
  http_client client(gw.proxy_port());
  auto res = client.request("GET", "/v1/realtime?model=gpt-realtime", upgrade_headers());
  EXPECT_EQ(res.status, 502) << res.body;
  EXPECT_EQ(up.request_count(), 0u);
}

}  // namespace
}  // namespace aiproxy::testlib
