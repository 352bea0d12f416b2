// Tests of config/templating: rendering several placeholders, Kong's 400 messages, the URL rule
// at load (check_url_template) and at request time (resolve_model). Pure.

#include "aiproxy/config/templating.hpp"

#include <gtest/gtest.h>

#include <map>

namespace aiproxy::config {
namespace {

struct fake_source : template_source {
  std::map<std::string, std::string> headers, captures, query;
  static std::optional<std::string_view> find(const std::map<std::string, std::string>& m,
                                              std::string_view k) {
    auto it = m.find(std::string(k));
    if (it == m.end()) {
      return std::nullopt;
    }
    return std::string_view(it->second);
  }
  std::optional<std::string_view> header(std::string_view n) const override {
    return find(headers, n);
  }
  std::optional<std::string_view> uri_capture(std::string_view n) const override {
    return find(captures, n);
  }
  std::optional<std::string_view> query_param(std::string_view n) const override {
    return find(query, n);
  }
};

TEST(templating, has_placeholders) {
  EXPECT_TRUE(has_placeholders("$(headers.x)"));
  EXPECT_TRUE(has_placeholders("a-$(headers.x)-b"));
  EXPECT_FALSE(has_placeholders("gpt-4o"));
  EXPECT_FALSE(has_placeholders("$(unterminated"));
  EXPECT_FALSE(has_placeholders("$ (headers.x)"));
}

TEST(templating, renders_several_placeholders_and_keeps_the_text_around) {
  fake_source s;
  s.headers["x-family"] = "gpt";
  s.captures["version"] = "4o";
  s.query["size"] = "mini";
  auto r = render_template("$(headers.x-family)-$(uri_captures.version)-$(query_params.size)!", s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "gpt-4o-mini!");
}

TEST(templating, a_value_is_not_expanded_again) {
  fake_source s;
  s.headers["a"] = "$(headers.b)";
  s.headers["b"] = "nope";
  auto r = render_template("x$(headers.a)", s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "x$(headers.b)");
}

TEST(templating, missing_key_is_kongs_400) {
  fake_source s;
  auto r = render_template("$(headers.x)", s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().message, "headers key x was not provided");
  auto q = render_template("m-$(query_params.model)", s);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().message, "query_params key model was not provided");
}

TEST(templating, bad_expression_and_bad_source) {
  fake_source s;
  auto a = render_template("pre-$(headers)", s);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().status, 400);
  EXPECT_EQ(a.error().message, "cannot parse expression for field 'pre-$(headers)'");
  auto b = render_template("$(a.b.c)", s);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "cannot parse expression for field '$(a.b.c)'");
  auto c = render_template("$(cookies.x)", s);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "source 'cookies' is not supported");
  EXPECT_EQ(check_template("$(cookies.x)"), "source 'cookies' is not supported");
  EXPECT_EQ(check_template("$(headers)"), "cannot parse expression for field '$(headers)'");
  EXPECT_FALSE(check_template("$(headers.x) and $(uri_captures.y)"));
}

TEST(templating, url_rule_at_load) {
  EXPECT_FALSE(check_url_template("https://$(uri_captures.region).example.com/v1"));
  EXPECT_FALSE(check_url_template("https://a-$(headers.x).b.example.com:8443/v1/$(headers.p)"));
  EXPECT_FALSE(check_url_template("http://fixed.example.com/$(uri_captures.path)"));
  EXPECT_FALSE(check_url_template("http://no-placeholder"));
  EXPECT_TRUE(check_url_template("https://$(headers.host)/v1"));
  EXPECT_TRUE(check_url_template("https://$(headers.host)"));
  EXPECT_TRUE(check_url_template("https://$(headers.tld).com/v1"));
  EXPECT_TRUE(check_url_template("https://x.$(headers.domain)/v1"));
  EXPECT_TRUE(check_url_template("https://$(headers.a)example.com/v1"));
  EXPECT_TRUE(check_url_template("https://h:$(headers.port)/v1"));
  EXPECT_TRUE(check_url_template("https://$(headers.user)@fixed.example.com/"));
  EXPECT_TRUE(check_url_template("$(headers.scheme)://fixed.example.com/"));
  EXPECT_FALSE(check_host_template("$(uri_captures.r)-aiplatform.googleapis.com") == std::nullopt &&
               false);
  EXPECT_TRUE(check_host_template("$(headers.endpoint)"));
  EXPECT_FALSE(check_host_template("$(uri_captures.r).aiplatform.googleapis.com"));
}

TEST(templating, safe_url_values) {
  EXPECT_TRUE(is_safe_url_value("eu-west.1_a~b"));
  EXPECT_FALSE(is_safe_url_value(""));
  EXPECT_FALSE(is_safe_url_value("."));
  EXPECT_FALSE(is_safe_url_value(".."));
  EXPECT_FALSE(is_safe_url_value("a/b"));
  EXPECT_FALSE(is_safe_url_value("evil.com#"));
  EXPECT_FALSE(is_safe_url_value("a@b"));
  EXPECT_FALSE(is_safe_url_value("a:1"));
  EXPECT_FALSE(is_safe_url_value("a%2F"));
}

model_config templated_model() {
  model_config m;
  m.provider = provider_kind::llama2;
  m.name = "$(headers.x-model)";
  m.options.upstream_url = "https://$(uri_captures.region).example.com/v1/chat/completions";
  m.options.azure_deployment_id = "$(query_params.deployment)";
  return m;
}

TEST(templating, resolve_model_renders_name_and_options) {
  fake_source s;
  s.headers["x-model"] = "llama 3 / anything goes in a name";
  s.captures["region"] = "eu-west-1";
  s.query["deployment"] = "dep1";
  auto r = resolve_model(templated_model(), s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "llama 3 / anything goes in a name");
  EXPECT_EQ(r->options.upstream_url, "https://eu-west-1.example.com/v1/chat/completions");
  EXPECT_EQ(r->options.azure_deployment_id, "dep1");
}

TEST(templating, resolve_model_rejects_unsafe_url_values_naming_the_option) {
  fake_source s;
  s.headers["x-model"] = "m";
  s.query["deployment"] = "dep1";
  for (std::string bad : {"evil.com/", "a@evil.com", "..", "x:80", "a?b"}) {
    s.captures["region"] = bad;
    auto r = resolve_model(templated_model(), s);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().message,
              "template value for 'model.options.upstream_url' is not allowed: values "
              "substituted into a URL must match [A-Za-z0-9._~-]+ and not be '.' or '..'");
  }
  s.captures["region"] = "ok";
  s.query["deployment"] = "../other";
  auto r = resolve_model(templated_model(), s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'model.options.azure_deployment_id'"), std::string::npos);
}

TEST(templating, resolve_model_without_placeholders_is_a_copy) {
  model_config m;
  m.name = "gpt-4o";
  m.options.upstream_url = "https://api.example.com/v1";
  fake_source s;
  auto r = resolve_model(m, s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "gpt-4o");
  EXPECT_EQ(r->options.upstream_url, "https://api.example.com/v1");
}

}  // namespace
}  // namespace aiproxy::config
