// Tests of config/router: Kong's traditional_compatible priority (longest prefix, regex before
// prefix, regex_priority, match weight, plain vs wildcard hosts, header count), methods, hosts,
// headers, strip_path and the upstream path, captures, and path normalization. Pure.

#include "aiproxy/config/router.hpp"

#include <gtest/gtest.h>

namespace aiproxy::config {
namespace {

route make_route(std::vector<std::string> paths) {
  route r;
  r.paths = std::move(paths);
  return r;
}

std::optional<std::size_t> match_index(const router& rt, std::string_view path,
                                       std::string_view method = "GET",
                                       std::string_view host = "localhost",
                                       const header_list& headers = {}) {
  auto m = rt.match(method, host, path, headers);
  if (!m) {
    return std::nullopt;
  }
  return m->route;
}

TEST(router, longest_prefix_wins_regardless_of_order) {
  gateway_config c;
  c.routes = {make_route({"/v1"}), make_route({"/v1/chat/completions"}), make_route({"/"})};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/v1/chat/completions"), 1u);
  EXPECT_EQ(match_index(rt, "/v1/models"), 0u);
  EXPECT_EQ(match_index(rt, "/other"), 2u);
}

TEST(router, prefix_is_a_plain_string_prefix) {
  gateway_config c;
  c.routes = {make_route({"/foo"})};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/foobar"), 0u);
  EXPECT_FALSE(match_index(rt, "/fo"));
}

TEST(router, regex_beats_prefix_and_is_anchored_at_the_start) {
  gateway_config c;
  c.routes = {make_route({"/version/any/long/prefix"}), make_route({"~/version/\\d+"})};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/version/any/long/prefix"), 0u);
  EXPECT_EQ(match_index(rt, "/version/2/status"), 1u);
  EXPECT_FALSE(match_index(rt, "/x/version/2"));
}

TEST(router, regex_priority_orders_regexes) {
  gateway_config c;
  c.routes = {make_route({"~/status/\\d+"}), make_route({"~/status/.*"})};
  c.routes[1].regex_priority = 6;
  router rt(c);
  EXPECT_EQ(match_index(rt, "/status/12"), 1u);
  c.routes[0].regex_priority = 10;
  router rt2(c);
  EXPECT_EQ(match_index(rt2, "/status/12"), 0u);
}

TEST(router, kong_documented_evaluation_order) {
  // Kong's docs: /version/\d+/status/\d+ (6), /status/\d+ (0), /version/any/, then /version.
  gateway_config c;
  c.routes = {make_route({"~/status/\\d+"}), make_route({"~/version/\\d+/status/\\d+"}),
              make_route({"/version"}), make_route({"~/version/any/"})};
  c.routes[1].regex_priority = 6;
  router rt(c);
  EXPECT_EQ(match_index(rt, "/version/1/status/2"), 1u);
  EXPECT_EQ(match_index(rt, "/status/3"), 0u);
  EXPECT_EQ(match_index(rt, "/version/any/x"), 3u);
  EXPECT_EQ(match_index(rt, "/version/other"), 2u);
}

TEST(router, more_criteria_win) {
  gateway_config c;
  route a;
  a.hosts = {"example.com"};
  route b = a;
  b.methods = {"POST"};
  c.routes = {a, b};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/", "POST", "example.com"), 1u);
  EXPECT_EQ(match_index(rt, "/", "GET", "example.com"), 0u);
}

TEST(router, plain_host_beats_wildcard_host) {
  gateway_config c;
  route wild = make_route({"/a"});
  wild.hosts = {"*.example.com"};
  route plain = make_route({"/a"});
  plain.hosts = {"api.example.com"};
  c.routes = {wild, plain};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/a", "GET", "api.example.com"), 1u);
  EXPECT_EQ(match_index(rt, "/a", "GET", "x.y.example.com"), 0u);
  EXPECT_FALSE(match_index(rt, "/a", "GET", "example.com"));
}

TEST(router, wildcard_hosts_and_ports) {
  gateway_config c;
  route suffix = make_route({"/s"});
  suffix.hosts = {"*.example.com"};
  route prefix = make_route({"/p"});
  prefix.hosts = {"example.*"};
  route port = make_route({"/port"});
  port.hosts = {"h.test:8443"};
  c.routes = {suffix, prefix, port};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/s", "GET", "A.Example.COM:8000"), 0u);
  EXPECT_EQ(match_index(rt, "/p", "GET", "example.org"), 1u);
  EXPECT_FALSE(match_index(rt, "/p", "GET", "www.example.org"));
  EXPECT_EQ(match_index(rt, "/port", "GET", "h.test:8443"), 2u);
  EXPECT_FALSE(match_index(rt, "/port", "GET", "h.test"));
}

TEST(router, headers_any_value_case_insensitive_and_more_headers_first) {
  gateway_config c;
  route one = make_route({"/a"});
  one.headers["x-team"] = {"red", "blue"};
  route two = one;
  two.headers["x-tier"] = {"~*^gold$"};
  c.routes = {one, two};
  router rt(c);
  header_list h;
  h.add("X-Team", "Blue");
  EXPECT_EQ(match_index(rt, "/a", "GET", "h", h), 0u);
  h.add("x-tier", "GOLD");
  EXPECT_EQ(match_index(rt, "/a", "GET", "h", h), 1u);
  header_list other;
  other.add("x-team", "green");
  EXPECT_FALSE(match_index(rt, "/a", "GET", "h", other));
}

TEST(router, methods) {
  gateway_config c;
  route r = make_route({"/a"});
  r.methods = {"POST", "PUT"};
  c.routes = {r};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/a", "PUT"), 0u);
  EXPECT_FALSE(match_index(rt, "/a", "GET"));
}

TEST(router, strip_path_and_service_path) {
  gateway_config c;
  service s;
  s.path = "/base";
  c.services = {s};
  route strip = make_route({"/llm"});
  strip.service = 0;
  route keep = make_route({"/keep"});
  keep.strip_path = false;
  keep.service = 0;
  route regex = make_route({"~/r/(?<model>[a-z0-9-]+)"});
  c.routes = {strip, keep, regex};
  router rt(c);
  EXPECT_EQ(rt.match("POST", "h", "/llm/v1/chat?x=1", {})->upstream_path, "/base/v1/chat");
  EXPECT_EQ(rt.match("POST", "h", "/llm", {})->upstream_path, "/base");
  EXPECT_EQ(rt.match("POST", "h", "/keep/v1", {})->upstream_path, "/base/keep/v1");
  EXPECT_EQ(rt.match("POST", "h", "/r/gpt-4o/rest", {})->upstream_path, "/rest");
}

TEST(router, captures_named_and_numbered) {
  gateway_config c;
  c.routes = {make_route({"~/models/(?<model>[a-z0-9.-]+)/(v\\d)/(?P<op>[a-z]+)$"})};
  router rt(c);
  auto m = rt.match("POST", "h", "/models/gpt-4o/v1/chat", {});
  ASSERT_TRUE(m);
  auto get = [&](const std::string& k) -> std::string {
    for (const auto& [name, value] : m->uri_captures) {
      if (name == k) {
        return value;
      }
    }
    return "<none>";
  };
  EXPECT_EQ(get("model"), "gpt-4o");
  EXPECT_EQ(get("op"), "chat");
  EXPECT_EQ(get("1"), "gpt-4o");
  EXPECT_EQ(get("2"), "v1");
  EXPECT_EQ(get("3"), "chat");
  EXPECT_FALSE(rt.match("POST", "h", "/models/gpt-4o/v1/chat/x", {}));
}

TEST(router, request_path_is_normalized_before_matching) {
  gateway_config c;
  c.routes = {make_route({"/admin"}), make_route({"/public"})};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/public/../admin/x"), 0u);
  EXPECT_EQ(match_index(rt, "/%61dmin"), 0u);
  EXPECT_EQ(match_index(rt, "//public//x"), 1u);
  EXPECT_FALSE(match_index(rt, "/%2Fadmin"));
}

TEST(router, normalize_path_as_kong) {
  EXPECT_EQ(normalize_path("/foo%3a"), "/foo%3A");
  EXPECT_EQ(normalize_path("/fo%6F"), "/foo");
  EXPECT_EQ(normalize_path("/foo/./bar/../baz"), "/foo/baz");
  EXPECT_EQ(normalize_path("/foo//bar"), "/foo/bar");
  EXPECT_EQ(normalize_path("/a/%2e%2e/b"), "/b");
  EXPECT_EQ(normalize_path("/.."), "/");
  EXPECT_EQ(normalize_path("/a/b/"), "/a/b/");
  EXPECT_EQ(normalize_path("/%zz"), "/%zz");
}

TEST(router, is_normalized_path_only_for_paths_normalize_path_leaves_alone) {
  EXPECT_TRUE(is_normalized_path("/v1/chat/completions"));
  EXPECT_TRUE(is_normalized_path("/"));
  EXPECT_TRUE(is_normalized_path(""));
  EXPECT_FALSE(is_normalized_path("/a//b"));
  EXPECT_FALSE(is_normalized_path("/a/./b"));
  EXPECT_FALSE(is_normalized_path("/a/%41"));
  EXPECT_FALSE(is_normalized_path("/file.json"));  // a '.' is checked by the full pass
  for (std::string_view p : {"/v1/chat/completions", "/", "/a/b/", "/x-y_z~", "/a//b", "/a/../b",
                             "/a/%41", "/file.json", "//"}) {
    if (is_normalized_path(p)) {
      EXPECT_EQ(normalize_path(p), p);
    }
  }
}

TEST(router, query_and_fragment_are_not_part_of_the_path) {
  gateway_config c;
  c.routes = {make_route({"/admin"}), make_route({"/public"})};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/public?next=/admin"), 1u);
  EXPECT_EQ(match_index(rt, "/public#/admin"), 1u);
  EXPECT_EQ(match_index(rt, "/admin?"), 0u);
  EXPECT_FALSE(match_index(rt, "?/admin"));  // the path is "/", which no route has
  EXPECT_EQ(rt.match("GET", "h", "/public/x?y=1#z", {})->upstream_path, "/x");
}

TEST(router, routes_without_hosts_ignore_the_host_header) {
  gateway_config c;
  c.routes = {make_route({"/a"})};
  router rt(c);
  for (std::string_view host : {"", "EXAMPLE.com.", "[::1]:8000", "a:b:c", "x:1"}) {
    EXPECT_EQ(match_index(rt, "/a", "GET", host), 0u) << host;
  }
}

TEST(router, upstream_path_escapes_what_kong_escapes) {
  gateway_config c;
  c.routes = {make_route({"/p"}), make_route({"~/r/(?<m>[a-z]+)"})};
  router rt(c);
  EXPECT_EQ(rt.match("GET", "h", "/p/a b\\c", {})->upstream_path, "/a%20b%5Cc");
  EXPECT_EQ(rt.match("GET", "h", "/p/ok-_.~!$&'()*+,;=:@[]", {})->upstream_path,
            "/ok-_.~!$&'()*+,;=:@[]");
  EXPECT_EQ(rt.match("GET", "h", "/p/caf\xc3\xa9", {})->upstream_path, "/caf%C3%A9");
  // A regex path strips what it matched, read from the normalized request path.
  EXPECT_EQ(rt.match("GET", "h", "/r/abc//x/./y", {})->upstream_path, "/x/y");
}

TEST(router, disabled_service_routes_do_not_match) {
  gateway_config c;
  service s;
  s.enabled = false;
  c.services = {s};
  route r = make_route({"/a"});
  r.service = 0;
  c.routes = {r};
  router rt(c);
  EXPECT_FALSE(match_index(rt, "/a"));
}

TEST(router, a_route_with_several_paths_gets_a_priority_per_path_group) {
  gateway_config c;
  c.routes = {make_route({"/a", "/a/b/c"}), make_route({"/a/b"})};
  router rt(c);
  EXPECT_EQ(match_index(rt, "/a/b/c/d"), 0u);
  EXPECT_EQ(match_index(rt, "/a/b/x"), 1u);
  EXPECT_EQ(match_index(rt, "/a/x"), 0u);
}

TEST(router, catastrophic_regex_counts_as_no_match_and_does_not_throw) {
  gateway_config c;
  c.routes = {make_route({"~/(a+)+$"}), make_route({"/"})};
  router rt(c);
  std::string evil = "/" + std::string(2000, 'a') + "!";
  std::optional<std::size_t> got;
  EXPECT_NO_THROW(got = match_index(rt, evil));
  EXPECT_EQ(got, 1u);
}

TEST(router, check_route_regex) {
  EXPECT_FALSE(check_route_regex("/a/(?<x>\\d+)"));
  EXPECT_TRUE(check_route_regex("/a[b"));
  EXPECT_TRUE(check_route_regex("/(unclosed"));
}

}  // namespace
}  // namespace aiproxy::config
