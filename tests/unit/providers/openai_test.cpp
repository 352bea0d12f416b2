// OpenAI-compatible translator: parity with Kong's unit fixtures, endpoint and query rules,
// header forwarding, and the stream translator's edge cases. Registry choices.
#include "golden_support.hpp"

#include "aiproxy/providers/anthropic.hpp"
#include "aiproxy/providers/bedrock.hpp"
#include "aiproxy/providers/cohere.hpp"
#include "aiproxy/providers/gemini.hpp"
#include "aiproxy/providers/huggingface.hpp"
#include "aiproxy/providers/llama2_raw.hpp"
#include "aiproxy/providers/ollama.hpp"
#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using config::provider_kind;
using config::route_type;

const std::filesystem::path kong_unit =
    testing::source_dir() / "tests/fixtures/kong/spec/fixtures/ai-proxy/unit";

config::ai_proxy_config make_conf(provider_kind p, route_type rt, std::string name = "gpt-4o") {
  config::ai_proxy_config c;
  c.model.provider = p;
  c.route_type = rt;
  c.model.name = std::move(name);
  c.model.options.mistral_format = "openai";
  c.model.options.llama2_format = "openai";
  return c;
}

struct call {
  boost::json::value body;
  header_list headers;
  std::string query;
  result<upstream_request> run(const config::ai_proxy_config& conf, bool stream = false,
                               bool wants_usage = false) {
    const target t{conf, conf.model.options, conf.model.name, stream, wants_usage, 0, {}};
    const client_request req{body.as_object(), headers, query};
    return provider_for(conf).to_upstream(req, t);
  }
};

// Kong's 01-unit spec: unit/requests/* through each driver equals unit/expected-requests/*.
void expect_kong_parity(provider_kind p, route_type rt, std::string_view model,
                        std::string_view request_file, std::string_view expected_file,
                        bool with_top_p) {
  auto conf = make_conf(p, rt, std::string(model));
  conf.precedence = config::options_precedence::config;  // Kong OSS 3.10 semantics
  conf.model.options.max_tokens = 512;
  conf.model.options.temperature = 0.5;
  if (with_top_p) {
    conf.model.options.top_p = 1.0;
  }
  conf.model.options.azure_instance = "001-kong-t";
  conf.model.options.azure_deployment_id = "gpt-4";
  conf.model.options.azure_api_version = "2023-05-15";
  call c{testing::parse_json(testing::read_file(kong_unit / "requests" / request_file)), {}, {}};
  auto up = c.run(conf);
  ASSERT_TRUE(up.has_value()) << up.error().message;
  const auto expected =
      testing::parse_json(testing::read_file(kong_unit / "expected-requests" / expected_file));
  EXPECT_TRUE(testing::same_json(testing::parse_json(up->body), expected))
      << up->body << "\nexpected: " << json::to_json(expected);
}

TEST(kong_parity, openai_chat) {
  expect_kong_parity(provider_kind::openai, route_type::llm_v1_chat, "gpt-4", "llm-v1-chat.json",
                     "openai/llm-v1-chat.json", false);
}
TEST(kong_parity, openai_completions) {
  expect_kong_parity(provider_kind::openai, route_type::llm_v1_completions,
                     "gpt-3.5-turbo-instruct", "llm-v1-completions.json",
                     "openai/llm-v1-completions.json", false);
}
TEST(kong_parity, azure_chat) {
  expect_kong_parity(provider_kind::azure, route_type::llm_v1_chat, "gpt-4", "llm-v1-chat.json",
                     "azure/llm-v1-chat.json", true);
}
TEST(kong_parity, azure_completions) {
  expect_kong_parity(provider_kind::azure, route_type::llm_v1_completions, "gpt-3.5-turbo-instruct",
                     "llm-v1-completions.json", "azure/llm-v1-completions.json", true);
}
TEST(kong_parity, mistral_openai_chat) {
  expect_kong_parity(provider_kind::mistral, route_type::llm_v1_chat, "mistral-tiny",
                     "llm-v1-chat.json", "mistral/openai/llm-v1-chat.json", false);
}

TEST(kong_parity, responses_pass_through_unchanged) {
  for (const auto* name : {"openai/llm-v1-chat.json", "azure/llm-v1-chat.json",
                           "mistral/openai/llm-v1-chat.json", "openai/llm-v1-completions.json"}) {
    const bool completions = std::string_view(name).find("completions") != std::string_view::npos;
    const auto conf = make_conf(provider_kind::openai, completions ? route_type::llm_v1_completions
                                                                   : route_type::llm_v1_chat);
    const target t{conf, conf.model.options, "m", false, false, 0, {}};
    const std::string body = testing::read_file(kong_unit / "real-responses" / name);
    auto res = provider_for(conf).from_upstream(body, t);
    ASSERT_TRUE(res.has_value()) << name;
    EXPECT_FALSE(res->body.has_value()) << name;
    // Kong compares choices[0].message and model with expected-responses.
    const auto expected =
        testing::parse_json(testing::read_file(kong_unit / "expected-responses" / name));
    const auto actual = testing::parse_json(body);
    EXPECT_EQ(actual.at("model"), expected.at("model")) << name;
    EXPECT_EQ(res->summary.response_model, std::string(expected.at("model").as_string()));
    EXPECT_TRUE(res->summary.usage.known);
  }
}

TEST(endpoint, openai_paths_per_route_type) {
  call c{boost::json::parse(R"({"input":"x"})"), {}, {}};
  auto up = c.run(make_conf(provider_kind::openai, route_type::llm_v1_embeddings));
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->scheme, "https");
  EXPECT_EQ(up->host, "api.openai.com");
  EXPECT_EQ(up->port, 443);
  EXPECT_EQ(up->target, "/v1/embeddings");
  EXPECT_EQ(up->method, "POST");
  EXPECT_EQ(up->framing, stream::framing::none);
}

TEST(endpoint, streaming_expects_sse) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), {}, {}};
  auto up = c.run(make_conf(provider_kind::openai, route_type::llm_v1_chat), true);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->framing, stream::framing::sse);
  const auto body = testing::parse_json(up->body);
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
}

TEST(endpoint, stream_options_removed_when_not_streaming) {
  call c{
      boost::json::parse(
          R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})"),
      {},
      {}};
  auto up = c.run(make_conf(provider_kind::openai, route_type::llm_v1_chat), false);
  ASSERT_TRUE(up.has_value());
  const auto body = testing::parse_json(up->body);
  EXPECT_FALSE(body.as_object().contains("stream_options"));
  EXPECT_EQ(body.at("stream"), false);
}

TEST(endpoint, upstream_url_rules) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), {}, "a=1"};
  auto conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  const auto target_of = [&](std::string url) {
    conf.model.options.upstream_url = std::move(url);
    auto up = c.run(conf);
    EXPECT_TRUE(up.has_value());
    return up.has_value()
               ? up->scheme + "://" + up->host + ":" + std::to_string(up->port) + up->target
               : up.error().message;
  };
  EXPECT_EQ(target_of("http://h"), "http://h:80/v1/chat/completions?a=1");
  EXPECT_EQ(target_of("http://h/"), "http://h:80/v1/chat/completions?a=1");
  EXPECT_EQ(target_of("https://h"), "https://h:443/v1/chat/completions?a=1");
  EXPECT_EQ(target_of("http://h:9000/x/y"), "http://h:9000/x/y?a=1");
  EXPECT_EQ(target_of("http://h//x"), "http://h:80/x?a=1");
  EXPECT_EQ(target_of("http://h/x?a=2&b=3"), "http://h:80/x?a=2&b=3");  // pinned a wins
  EXPECT_EQ(target_of("http://[::1]:8080/v1/chat"), "http://::1:8080/v1/chat?a=1");
  // A URL's parse is remembered per thread: the second use gives the same endpoint.
  EXPECT_EQ(target_of("http://h/x?a=2&b=3"), "http://h:80/x?a=2&b=3");
  EXPECT_EQ(target_of("http://h:9000/x/y"), "http://h:9000/x/y?a=1");
}

TEST(to_upstream, client_bytes_go_out_as_they_came_when_only_fields_are_added) {
  const std::string raw =
      "{ \"model\": \"gpt-4o\",\n  \"messages\": [{\"role\":\"user\", \"content\":\"x\"}] }";
  const auto body = boost::json::parse(raw);
  const header_list headers;
  const auto conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  const target t{conf, conf.model.options, conf.model.name, false, false, 0, {}};
  const client_request req{body.as_object(), headers, {}, raw};
  auto up = provider_for(conf).to_upstream(req, t);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->body, raw.substr(0, raw.size() - 1) + ",\"stream\":false}");

  // A field that changes (here the model, from a template-free config that names another)
  // makes the body rewritten: the client's value never reaches the upstream.
  const auto other = make_conf(provider_kind::openai, route_type::llm_v1_chat, "gpt-4o-mini");
  const target t2{other, other.model.options, other.model.name, false, false, 0, {}};
  auto up2 = provider_for(other).to_upstream(req, t2);
  ASSERT_TRUE(up2.has_value());
  EXPECT_EQ(up2->body,
            R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"stream":false})");
}

TEST(endpoint, bad_upstream_urls_are_configuration_errors) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), {}, {}};
  auto conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  for (int round = 0; round < 2; ++round) {  // the second round reads the remembered parses
    for (const auto* url : {"not a url", "ftp://h/x", "http:///x", "http://h:0/x", "/relative"}) {
      conf.model.options.upstream_url = url;
      auto up = c.run(conf);
      ASSERT_FALSE(up.has_value()) << url;
      EXPECT_EQ(up.error().status, 500) << url;
    }
  }
}

TEST(endpoint, invalid_client_query_is_a_400) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), {}, "a=%zz"};
  auto up = c.run(make_conf(provider_kind::openai, route_type::llm_v1_chat));
  ASSERT_FALSE(up.has_value());
  EXPECT_EQ(up.error().status, 400);
}

TEST(endpoint, azure_deployment_is_one_encoded_segment) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), {}, {}};
  auto conf = make_conf(provider_kind::azure, route_type::llm_v1_chat);
  conf.model.options.azure_instance = "inst";
  conf.model.options.azure_deployment_id = "../../admin?x=1";
  conf.model.options.azure_api_version = "2024-10-21";
  auto up = c.run(conf);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->host, "inst.openai.azure.com");
  EXPECT_EQ(up->target,
            "/openai/deployments/..%2F..%2Fadmin%3Fx%3D1/chat/completions?api-version=2024-10-21");
}

TEST(endpoint, azure_instance_must_be_a_label) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), {}, {}};
  auto conf = make_conf(provider_kind::azure, route_type::llm_v1_chat);
  conf.model.options.azure_deployment_id = "d";
  for (const auto* inst : {"", "a.b", "evil.com/x", "-a", "a b"}) {
    conf.model.options.azure_instance = inst;
    auto up = c.run(conf);
    ASSERT_FALSE(up.has_value()) << inst;
    EXPECT_EQ(up.error().status, 400);
  }
}

TEST(query_builder, client_replaces_defaults_not_pins) {
  query_builder q;
  q.set("api-version", "1", query_builder::origin::provider_default);
  q.set("tenant", "t", query_builder::origin::pinned);
  ASSERT_TRUE(q.add_client_query("api-version=2&tenant=evil&x=a%20b&flag"));
  EXPECT_EQ(q.encoded(), "api-version=2&tenant=t&x=a%20b&flag");
  EXPECT_TRUE(q.client_sent("x"));
  EXPECT_TRUE(q.client_sent("api-version"));
  EXPECT_FALSE(q.client_sent("tenant"));
}

TEST(query_builder, set_replaces_every_same_key) {
  query_builder q;
  ASSERT_TRUE(q.add_client_query("k=1&j=0&k=2"));
  q.set("k", "v w", query_builder::origin::gateway);
  EXPECT_EQ(q.encoded(), "k=v%20w&j=0");
}

TEST(headers, forwarded_except_hop_by_hop_and_framing) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}]})"), {}, {}};
  for (const auto* h : {"Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                        "Proxy-Authorization", "Proxy-Connection", "Host", "Content-Length",
                        "Accept-Encoding", "Expect", "Content-Type"}) {
    c.headers.add(h, "client");
  }
  c.headers.add("X-Trace", "t1");
  auto up = c.run(make_conf(provider_kind::openai, route_type::llm_v1_chat));
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->headers.size(), 3u);
  EXPECT_EQ(up->headers.get("x-trace").value_or(""), "t1");
  EXPECT_EQ(up->headers.get("content-type").value_or(""), "application/json");
  EXPECT_EQ(up->headers.get("accept-encoding").value_or(""), "identity");
}

TEST(body, top_k_kept_for_mistral_and_llama2) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}],"top_k":3})"), {}, {}};
  auto conf = make_conf(provider_kind::llama2, route_type::llm_v1_chat);
  conf.model.options.upstream_url = "http://llama";
  auto up = c.run(conf);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(testing::parse_json(up->body).at("top_k"), 3);
  auto oa = c.run(make_conf(provider_kind::openai, route_type::llm_v1_chat));
  ASSERT_TRUE(oa.has_value());
  EXPECT_FALSE(testing::parse_json(oa->body).as_object().contains("top_k"));
}

TEST(body, config_max_tokens_goes_to_both_keys_when_client_sent_both) {
  call c{
      boost::json::parse(
          R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1,"max_completion_tokens":2})"),
      {},
      {}};
  auto conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  conf.model.options.max_tokens = 99;
  conf.precedence = config::options_precedence::config;
  auto up = c.run(conf);
  ASSERT_TRUE(up.has_value());
  const auto body = testing::parse_json(up->body);
  EXPECT_EQ(body.at("max_tokens"), 99);
  EXPECT_EQ(body.at("max_completion_tokens"), 99);
}

TEST(body, null_client_values_are_filled_under_request_precedence) {
  call c{boost::json::parse(R"({"messages":[{"role":"user","content":"x"}],"temperature":null})"),
         {},
         {}};
  auto conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  conf.model.options.temperature = 0.25;
  auto up = c.run(conf);
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(testing::parse_json(up->body).at("temperature"), 0.25);
}

// ---------------------------------------------------------------- stream translator

struct stream_run {
  config::ai_proxy_config conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  bool wants_usage = false;
  std::unique_ptr<stream_translator> make() {
    const target t{conf, conf.model.options, "gpt-4o", true, wants_usage, 0, {}};
    return provider_for(conf).make_stream_translator(t);
  }
};

stream::event data(std::string d) {
  return stream::event{{}, std::move(d), {}};
}

TEST(stream_translator, done_is_written_once_and_later_events_are_ignored) {
  stream_run s;
  auto tr = s.make();
  std::string out;
  ASSERT_TRUE(tr->on_event(data(R"({"choices":[{"index":0,"delta":{"content":"a"}}]})"), out));
  ASSERT_TRUE(tr->on_event(data(" [DONE] "), out));
  ASSERT_TRUE(tr->on_event(data("[DONE]"), out));
  ASSERT_TRUE(tr->on_event(data(R"({"choices":[]})"), out));
  ASSERT_TRUE(tr->finish(out));
  EXPECT_EQ(out,
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
            "data: [DONE]\n\n");
}

TEST(stream_translator, empty_events_are_skipped) {
  stream_run s;
  auto tr = s.make();
  std::string out;
  ASSERT_TRUE(tr->on_event(data(""), out));
  ASSERT_TRUE(tr->on_event(data("  \n"), out));
  EXPECT_EQ(out, "");
}

TEST(stream_translator, missing_done_is_an_error) {
  stream_run s;
  auto tr = s.make();
  std::string out;
  ASSERT_TRUE(tr->on_event(data(R"({"choices":[]})"), out));
  auto r = tr->finish(out);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(r.error().message, "upstream stream ended before it was complete");
}

TEST(stream_translator, non_json_and_non_object_payloads_are_errors) {
  stream_run s;
  std::string out;
  EXPECT_FALSE(s.make()->on_event(data("not json"), out));
  EXPECT_FALSE(s.make()->on_event(data("[1,2]"), out));
  EXPECT_EQ(out, "");
}

TEST(stream_translator, usage_only_chunk_kept_when_client_asked) {
  stream_run s;
  s.wants_usage = true;
  auto tr = s.make();
  std::string out;
  const std::string chunk =
      R"({"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})";
  ASSERT_TRUE(tr->on_event(data(chunk), out));
  EXPECT_EQ(out, "data: " + chunk + "\n\n");
  EXPECT_TRUE(tr->summary().usage.known);
  EXPECT_EQ(tr->summary().usage.total_tokens, 7);
  EXPECT_EQ(tr->summary().response_model, "gpt-4o-mini");
}

TEST(stream_translator, usage_only_chunk_dropped_but_counted_when_client_did_not_ask) {
  stream_run s;
  auto tr = s.make();
  std::string out;
  ASSERT_TRUE(tr->on_event(
      data(R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})"),
      out));
  EXPECT_EQ(out, "");
  EXPECT_EQ(tr->summary().usage.prompt_tokens, 3);
}

TEST(stream_translator, multi_line_data_stays_one_event) {
  stream_run s;
  auto tr = s.make();
  std::string out;
  ASSERT_TRUE(tr->on_event(data("{\"choices\":\n[]}"), out));
  EXPECT_EQ(out, "data: {\"choices\":\ndata: []}\n\n");
}

TEST(stream_translator, upstream_error_event_is_forwarded) {
  stream_run s;
  auto tr = s.make();
  std::string out;
  ASSERT_TRUE(tr->on_event(data(R"({"error":{"message":"overloaded"}})"), out));
  EXPECT_EQ(out, "data: {\"error\":{\"message\":\"overloaded\"}}\n\n");
}

TEST(stream_translator, text_is_collected_only_with_log_payloads) {
  const std::string chunk = R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})";
  const std::string chunk2 = R"({"choices":[{"index":0,"delta":{"content":"lo"}}]})";
  stream_run quiet;
  auto a = quiet.make();
  stream_run logged;
  logged.conf.logging.log_payloads = true;
  auto b = logged.make();
  std::string out;
  for (auto* tr : {a.get(), b.get()}) {
    ASSERT_TRUE(tr->on_event(data(chunk), out));
    ASSERT_TRUE(tr->on_event(data(chunk2), out));
  }
  EXPECT_EQ(a->text(), "");
  EXPECT_EQ(b->text(), "Hello");
}

TEST(from_upstream, missing_choices_uses_kongs_wording) {
  const auto conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  const target t{conf, conf.model.options, "m", false, false, 0, {}};
  auto r = provider_for(conf).from_upstream(R"({"choices":{}})", t);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(r.error().message,
            "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat "
            "response");
  auto arr = provider_for(conf).from_upstream("[]", t);
  ASSERT_FALSE(arr.has_value());
  EXPECT_EQ(arr.error().status, 502);
}

TEST(registry, each_provider_and_format_has_its_own_translator) {
  auto conf = make_conf(provider_kind::openai, route_type::llm_v1_chat);
  const auto pick = [&](provider_kind p, std::string fmt) -> const provider* {
    conf.model.provider = p;
    conf.model.options.mistral_format = fmt;
    conf.model.options.llama2_format = fmt;
    return &provider_for(conf);
  };
  const provider* openai = pick(provider_kind::openai, "");
  EXPECT_NE(pick(provider_kind::azure, ""), openai);
  EXPECT_NE(pick(provider_kind::mistral, "openai"), openai);
  EXPECT_NE(pick(provider_kind::llama2, "openai"), openai);
  EXPECT_EQ(pick(provider_kind::anthropic, ""), &anthropic_provider());
  EXPECT_EQ(pick(provider_kind::gemini, ""), &gemini_provider());
  EXPECT_EQ(pick(provider_kind::bedrock, ""), &bedrock_provider());
  EXPECT_EQ(pick(provider_kind::cohere, ""), &cohere_provider());
  EXPECT_EQ(pick(provider_kind::huggingface, ""), &huggingface_provider());
  EXPECT_EQ(pick(provider_kind::mistral, "ollama"), &ollama_provider());
  EXPECT_EQ(pick(provider_kind::llama2, "ollama"), &ollama_provider());
  EXPECT_EQ(pick(provider_kind::llama2, "raw"), &llama2_raw_provider());
}

}  // namespace
}  // namespace aiproxy::providers
