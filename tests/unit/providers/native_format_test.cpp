// Tests for providers/native_format: mapping native requests of each format (operation, model
// from URL or body, stream flag, upstream host/path/query, auth headers, dropped client
// credentials and SigV4 headers, refused models, Bedrock ARNs, upstream_url) and reading usage
// from native bodies and from recorded native streams split at every byte. Test-only.

#include "aiproxy/providers/native_format.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/upstream_url.hpp"
#include "aiproxy/stream/aws_eventstream.hpp"
#include "golden_support.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <boost/json/parse.hpp>

#include <filesystem>

namespace aiproxy::providers {
namespace {

namespace fs = std::filesystem;
using config::provider_kind;
using testing::parse_json;
using testing::read_file;

config::ai_proxy_config conf_for(provider_kind p) {
  config::ai_proxy_config c;
  c.route_type = config::route_type::llm_v1_chat;
  c.model.provider = p;
  c.llm_format = std::string(config::to_string(p));
  switch (p) {
    case provider_kind::anthropic:
      c.auth.header_name = "x-api-key";
      c.auth.header_value = "sk-ant-gateway";
      c.model.options.anthropic_version = "2023-06-01";
      break;
    case provider_kind::gemini:
      c.auth.header_name = "x-goog-api-key";
      c.auth.header_value = "AIza-gateway";
      break;
    case provider_kind::bedrock:
      c.model.options.bedrock.aws_region = "us-east-1";
      c.auth.aws_access_key_id = "AKID";
      c.auth.aws_secret_access_key = "secret";
      break;
    default:
      c.auth.header_name = "Authorization";
      c.auth.header_value = "Bearer gateway-key";
      break;
  }
  return c;
}

result<native_call> map(const config::ai_proxy_config& conf, std::string_view path,
                        std::string_view body, const header_list& headers = {},
                        std::string_view query = {}, std::string_view method = "POST") {
  const native_client_request req{method, path, query, headers, body};
  return map_native_request(req, conf, conf.model);
}

std::string header_of(const native_call& c, std::string_view name) {
  return std::string(c.request.headers.get(name).value_or("<absent>"));
}

// ---------------------------------------------------------------- anthropic

TEST(native_anthropic, messages_keep_body_and_version_and_inject_key) {
  auto conf = conf_for(provider_kind::anthropic);
  header_list h;
  h.add("x-api-key", "sk-client-dummy");
  h.add("Authorization", "Bearer client");
  h.add("anthropic-version", "2023-01-01");
  h.add("anthropic-beta", "prompt-caching-2024-07-31");
  h.add("Connection", "keep-alive");
  h.add("Content-Type", "application/json");
  const std::string body =
      R"({"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"hi"}]})";
  auto c = map(conf, "/v1/messages", body, h, "beta=true");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->op, native_operation::anthropic_messages);
  EXPECT_EQ(c->model, "claude-sonnet-4");
  EXPECT_FALSE(c->stream);
  EXPECT_EQ(c->request.host, "api.anthropic.com");
  EXPECT_EQ(c->request.scheme, "https");
  EXPECT_EQ(c->request.port, 443);
  EXPECT_EQ(c->request.target, "/v1/messages?beta=true");
  EXPECT_EQ(c->request.body, body) << "the body goes upstream byte for byte";
  EXPECT_EQ(header_of(*c, "x-api-key"), "sk-ant-gateway");
  EXPECT_EQ(header_of(*c, "authorization"), "<absent>");
  EXPECT_EQ(header_of(*c, "anthropic-version"), "2023-01-01") << "the client's version is kept";
  EXPECT_EQ(header_of(*c, "anthropic-beta"), "prompt-caching-2024-07-31");
  EXPECT_EQ(header_of(*c, "connection"), "<absent>");
  EXPECT_EQ(c->request.framing, stream::framing::none);
  EXPECT_FALSE(c->request.aws_sigv4);
}

TEST(native_anthropic, stream_flag_default_version_and_count_tokens) {
  auto conf = conf_for(provider_kind::anthropic);
  auto c = map(conf, "/v1/messages", R"({"model":"m","stream":true,"messages":[]})");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->stream);
  EXPECT_EQ(c->request.framing, stream::framing::sse);
  EXPECT_EQ(header_of(*c, "anthropic-version"), "2023-06-01");
  auto ct = map(conf, "/v1/messages/count_tokens", R"({"model":"m","messages":[]})");
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->op, native_operation::anthropic_count_tokens);
  EXPECT_FALSE(ct->has_usage);
  EXPECT_EQ(ct->request.target, "/v1/messages/count_tokens");
}

TEST(native_anthropic, configured_model_filled_in_or_enforced) {
  auto conf = conf_for(provider_kind::anthropic);
  conf.model.name = "claude-sonnet-4";
  auto filled = map(conf, "/v1/messages", R"({"max_tokens":5,"messages":[]})");
  ASSERT_TRUE(filled);
  EXPECT_EQ(parse_json(filled->request.body).as_object().at("model").as_string(),
            "claude-sonnet-4");
  auto same = map(conf, "/v1/messages", R"({"model":"claude-sonnet-4","messages":[]})");
  ASSERT_TRUE(same);
  auto other = map(conf, "/v1/messages", R"({"model":"claude-opus-4","messages":[]})");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().status, 400);
  EXPECT_EQ(other.error().message, "cannot use own model - must be: claude-sonnet-4");
}

TEST(native_anthropic, refusals) {
  auto conf = conf_for(provider_kind::anthropic);
  auto unknown = map(conf, "/v1/complete", R"({"model":"m"})");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 400);
  EXPECT_NE(unknown.error().message.find("/v1/complete"), std::string::npos);
  auto not_json = map(conf, "/v1/messages", "[1]");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().status, 400);
  auto no_model = map(conf, "/v1/messages", R"({"messages":[]})");
  ASSERT_FALSE(no_model);
  EXPECT_EQ(no_model.error().message,
            "model parameter not found in request, nor in gateway configuration");
  auto get = map(conf, "/v1/messages", R"({"model":"m"})", {}, {}, "GET");
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().status, 405);
  conf.response_streaming = config::streaming_policy::deny;
  auto denied = map(conf, "/v1/messages", R"({"model":"m","stream":true})");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().message, "response streaming is not enabled for this LLM");
}

TEST(native_anthropic, allow_override_keeps_client_key) {
  auto conf = conf_for(provider_kind::anthropic);
  conf.auth.allow_override = true;
  header_list h;
  h.add("x-api-key", "sk-client-own");
  auto c = map(conf, "/v1/messages", R"({"model":"m"})", h);
  ASSERT_TRUE(c);
  EXPECT_EQ(header_of(*c, "x-api-key"), "sk-client-own");
}

TEST(native_anthropic, upstream_url_without_path_keeps_native_path) {
  auto conf = conf_for(provider_kind::anthropic);
  conf.model.options.upstream_url = "http://127.0.0.1:8081";
  auto c = map(conf, "/v1/messages", R"({"model":"m"})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->request.scheme, "http");
  EXPECT_EQ(c->request.host, "127.0.0.1");
  EXPECT_EQ(c->request.port, 8081);
  EXPECT_EQ(c->request.target, "/v1/messages");
  conf.model.options.upstream_url = "https://proxy.example/anthropic/v1/messages";
  auto full = map(conf, "/v1/messages", R"({"model":"m"})");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->request.host, "proxy.example");
  EXPECT_EQ(full->request.target, "/anthropic/v1/messages");
}

// ---------------------------------------------------------------- gemini

TEST(native_gemini, generate_and_stream_paths) {
  auto conf = conf_for(provider_kind::gemini);
  header_list h;
  h.add("x-goog-api-key", "client-key");
  const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})";
  auto c = map(conf, "/v1beta/models/gemini-2.0-flash:generateContent", body, h, "key=client");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->op, native_operation::gemini_generate);
  EXPECT_EQ(c->model, "gemini-2.0-flash");
  EXPECT_FALSE(c->stream);
  EXPECT_EQ(c->request.host, "generativelanguage.googleapis.com");
  EXPECT_EQ(c->request.target, "/v1beta/models/gemini-2.0-flash:generateContent")
      << "the client's ?key= never travels";
  EXPECT_EQ(header_of(*c, "x-goog-api-key"), "AIza-gateway");
  EXPECT_EQ(c->request.body, body);

  auto sse =
      map(conf, "/v1beta/models/gemini-2.0-flash:streamGenerateContent", body, {}, "alt=sse");
  ASSERT_TRUE(sse);
  EXPECT_TRUE(sse->stream);
  EXPECT_EQ(sse->op, native_operation::gemini_stream_generate);
  EXPECT_EQ(sse->request.target, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(sse->request.framing, stream::framing::sse);
  EXPECT_EQ(native_stream_framing(*sse, "text/event-stream"), stream::framing::sse);

  auto array = map(conf, "/v1/models/gemini-2.0-flash:streamGenerateContent", body);
  ASSERT_TRUE(array);
  EXPECT_TRUE(array->stream);
  EXPECT_EQ(array->request.target, "/v1/models/gemini-2.0-flash:streamGenerateContent");
  EXPECT_EQ(native_stream_framing(*array, "application/json; charset=UTF-8"),
            stream::framing::json_array);
}

TEST(native_gemini, key_in_query_and_configured_model_forms) {
  auto conf = conf_for(provider_kind::gemini);
  conf.auth = {};
  conf.auth.param_name = "key";
  conf.auth.param_value = "AIza-gateway";
  conf.auth.param_location = config::param_location::query;
  conf.model.name = "models/gemini-2.0-flash";
  auto c = map(conf, "/v1beta/models/gemini-2.0-flash:generateContent", R"({"contents":[]})", {},
               "key=client&foo=bar");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->request.target,
            "/v1beta/models/gemini-2.0-flash:generateContent?foo=bar&key=AIza-gateway");
  auto other = map(conf, "/v1beta/models/gemini-2.5-pro:generateContent", R"({})");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message, "cannot use own model - must be: gemini-2.0-flash");
  auto count = map(conf, "/v1beta/models/gemini-2.0-flash:countTokens", R"({})");
  ASSERT_TRUE(count);
  EXPECT_FALSE(count->has_usage);
  auto embed = map(conf, "/v1beta/models/gemini-2.0-flash:embedContent", R"({})");
  ASSERT_FALSE(embed);
  EXPECT_EQ(embed.error().status, 400);
}

TEST(native_gemini, vertex_paths_go_to_the_configured_project) {
  auto conf = conf_for(provider_kind::gemini);
  conf.auth = {};
  conf.model.options.gemini.api_endpoint = "us-central1-aiplatform.googleapis.com";
  conf.model.options.gemini.project_id = "proj";
  conf.model.options.gemini.location_id = "us-central1";
  auto from_public = map(conf, "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
                         R"({"contents":[]})", {}, "alt=sse");
  ASSERT_TRUE(from_public) << from_public.error().message;
  EXPECT_EQ(from_public->request.host, "us-central1-aiplatform.googleapis.com");
  EXPECT_EQ(from_public->request.target,
            "/v1/projects/proj/locations/us-central1/publishers/google/models/"
            "gemini-2.0-flash:streamGenerateContent?alt=sse");
  auto from_vertex = map(conf,
                         "/v1beta1/projects/other/locations/europe-west4/publishers/google/models/"
                         "gemini-2.0-flash:generateContent",
                         R"({"contents":[]})");
  ASSERT_TRUE(from_vertex) << from_vertex.error().message;
  EXPECT_EQ(from_vertex->model, "gemini-2.0-flash");
  EXPECT_EQ(from_vertex->request.target,
            "/v1beta1/projects/proj/locations/us-central1/publishers/google/models/"
            "gemini-2.0-flash:generateContent");
}

TEST(native_gemini, upstream_url_path_switches_the_action) {
  auto conf = conf_for(provider_kind::gemini);
  conf.model.options.upstream_url =
      "http://127.0.0.1:9000/custom/models/gemini-2.0-flash:generateContent";
  auto c =
      map(conf, "/v1beta/models/gemini-2.0-flash:streamGenerateContent", R"({})", {}, "alt=sse");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->request.target, "/custom/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
}

// ---------------------------------------------------------------- bedrock

TEST(native_bedrock, converse_drops_client_signature_and_asks_for_sigv4) {
  auto conf = conf_for(provider_kind::bedrock);
  header_list h;
  h.add("Authorization",
        "AWS4-HMAC-SHA256 Credential=CLIENT/20250101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=host, Signature=00");
  h.add("X-Amz-Date", "20250101T000000Z");
  h.add("X-Amz-Security-Token", "client-token");
  h.add("x-amz-content-sha256", "abc");
  h.add("X-Amz-User-Agent", "aws-sdk-js/3");
  h.add("X-Amzn-Bedrock-Trace", "ENABLED");
  h.add("amz-sdk-invocation-id", "id-1");
  const std::string body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  auto c = map(conf, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", body, h);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->op, native_operation::bedrock_converse);
  EXPECT_EQ(c->model, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(c->request.host, "bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(c->request.target, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  ASSERT_TRUE(c->request.aws_sigv4);
  EXPECT_EQ(c->request.aws_sigv4->region, "us-east-1");
  EXPECT_EQ(c->request.aws_sigv4->service, "bedrock");
  for (const char* gone : {"authorization", "x-amz-date", "x-amz-security-token",
                           "x-amz-content-sha256", "x-amz-user-agent"}) {
    EXPECT_EQ(header_of(*c, gone), "<absent>") << gone;
  }
  EXPECT_EQ(header_of(*c, "x-amzn-bedrock-trace"), "ENABLED");
  EXPECT_EQ(c->request.body, body);
  EXPECT_FALSE(c->stream);
}

TEST(native_bedrock, stream_operations_and_arn_model_ids) {
  auto conf = conf_for(provider_kind::bedrock);
  const std::string arn =
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
      "us.anthropic.claude-3-5-sonnet-20240620-v1:0";
  conf.model.name = arn;
  const std::string encoded = percent_encode(arn);
  auto c = map(conf, "/model/" + encoded + "/converse-stream", R"({"messages":[]})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->model, arn);
  EXPECT_TRUE(c->stream);
  EXPECT_EQ(c->request.target, "/model/" + encoded + "/converse-stream");
  EXPECT_EQ(c->request.framing, stream::framing::aws_eventstream);
  EXPECT_EQ(native_stream_framing(*c, "application/vnd.amazon.eventstream"),
            stream::framing::aws_eventstream);
  EXPECT_EQ(native_stream_framing(*c, "application/json"), stream::framing::none);
  auto inv = map(conf, "/model/" + encoded + "/invoke-with-response-stream", R"({})");
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->op, native_operation::bedrock_invoke_stream);
  EXPECT_TRUE(inv->stream);
  auto other = map(conf, "/model/amazon.nova-pro-v1%3A0/converse", R"({})");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message, "cannot use own model - must be: " + arn);
  auto bad = map(conf, "/model/x/converse/extra", R"({})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 400);
}

TEST(native_bedrock, upstream_url_path_switches_the_operation_and_region_is_required) {
  auto conf = conf_for(provider_kind::bedrock);
  conf.model.options.upstream_url = "http://127.0.0.1:9001/model/m/converse";
  auto c = map(conf, "/model/m/converse-stream", R"({})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->request.target, "/model/m/converse-stream");
  conf.model.options.upstream_url = "http://127.0.0.1:9001";
  auto host_only = map(conf, "/model/m/invoke", R"({})");
  ASSERT_TRUE(host_only);
  EXPECT_EQ(host_only->request.target, "/model/m/invoke");
  EXPECT_EQ(host_only->request.host, "127.0.0.1");
  conf.model.options.bedrock.aws_region.clear();
  auto no_region = map(conf, "/model/m/invoke", R"({})");
  ASSERT_FALSE(no_region);
  EXPECT_EQ(no_region.error().status, 500);
}

// ---------------------------------------------------------------- cohere and huggingface

TEST(native_cohere, v2_and_v1_chat) {
  auto conf = conf_for(provider_kind::cohere);
  header_list h;
  h.add("Authorization", "Bearer client");
  h.add("X-Client-Name", "sdk");
  auto c = map(conf, "/v2/chat", R"({"model":"command-a","stream":true,"messages":[]})", h);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->op, native_operation::cohere_chat_v2);
  EXPECT_TRUE(c->stream);
  EXPECT_EQ(c->request.host, "api.cohere.com");
  EXPECT_EQ(c->request.target, "/v2/chat");
  EXPECT_EQ(header_of(*c, "authorization"), "Bearer gateway-key");
  EXPECT_EQ(header_of(*c, "x-client-name"), "sdk");
  EXPECT_EQ(native_stream_framing(*c, "text/event-stream"), stream::framing::sse);
  auto v1 = map(conf, "/v1/chat", R"({"message":"hi","stream":true})");
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->op, native_operation::cohere_chat_v1);
  EXPECT_EQ(v1->model, "");
  EXPECT_EQ(native_stream_framing(*v1, "application/stream+json"), stream::framing::ndjson);
  EXPECT_FALSE(map(conf, "/v2/embed", R"({})"));
}

TEST(native_huggingface, endpoint_url_model_is_replaced_by_the_configured_one) {
  auto conf = conf_for(provider_kind::huggingface);
  conf.model.name = "meta-llama/Llama-3.1-8B-Instruct";
  auto c = map(conf, "/v1/chat/completions",
               R"({"model":"http://127.0.0.1:8000/hf","messages":[],"stream":false})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->op, native_operation::huggingface_chat);
  EXPECT_EQ(c->model, "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_EQ(parse_json(c->request.body).as_object().at("model").as_string(),
            "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_EQ(c->request.host, "router.huggingface.co");
  EXPECT_EQ(c->request.target, "/v1/chat/completions");
  EXPECT_EQ(header_of(*c, "authorization"), "Bearer gateway-key");
  auto provider_path =
      map(conf, "/hf-inference/models/x/v1/chat/completions", R"({"messages":[]})");
  ASSERT_TRUE(provider_path);
  EXPECT_EQ(provider_path->request.target, "/hf-inference/models/x/v1/chat/completions");
  EXPECT_FALSE(map(conf, "/v1/completions", R"({})"));
}

// ---------------------------------------------------------------- usage of whole bodies

native_call call_for(const config::ai_proxy_config& conf, std::string_view path,
                     std::string_view body = R"({"model":"m","messages":[]})",
                     std::string_view query = {}) {
  auto c = map(conf, path, body, {}, query);
  EXPECT_TRUE(c) << path;
  return c ? std::move(*c) : native_call{};
}

const fs::path kong_fixtures = testing::source_dir() / "tests/fixtures/kong/spec/fixtures/ai-proxy";

TEST(native_usage, whole_responses_of_each_provider) {
  {
    auto conf = conf_for(provider_kind::anthropic);
    auto call = call_for(conf, "/v1/messages");
    const std::string body =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-x-1","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":5,"cache_read_input_tokens":3}})";
    auto s = native_response_summary(call, conf, body, {});
    EXPECT_TRUE(s.usage.known);
    EXPECT_EQ(s.usage.prompt_tokens, 15) << "cache reads count as prompt tokens";
    EXPECT_EQ(s.usage.completion_tokens, 5);
    EXPECT_EQ(s.usage.cached_tokens, 3);
    EXPECT_EQ(s.response_model, "claude-x-1");
  }
  {
    auto conf = conf_for(provider_kind::gemini);
    auto call = call_for(conf, "/v1beta/models/gemini-1.5-flash:generateContent", "{}");
    auto s = native_response_summary(
        call, conf, read_file(kong_fixtures / "gemini/llm-v1-chat/responses/good.json"), {});
    EXPECT_EQ(s.usage.prompt_tokens, 2);
    EXPECT_EQ(s.usage.completion_tokens, 11);
    EXPECT_EQ(s.usage.total_tokens, 13);
    EXPECT_EQ(s.response_model, "gemini-1.5-flash-002");
  }
  {
    auto conf = conf_for(provider_kind::bedrock);
    auto call = call_for(conf, "/model/amazon.nova-lite-v1%3A0/converse", "{}");
    auto s = native_response_summary(
        call, conf,
        R"({"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":7,"outputTokens":2,"totalTokens":9}})",
        {});
    EXPECT_EQ(s.usage.prompt_tokens, 7);
    EXPECT_EQ(s.usage.completion_tokens, 2);
    EXPECT_EQ(s.response_model, "amazon.nova-lite-v1:0");
  }
  {
    auto conf = conf_for(provider_kind::cohere);
    auto v1 = call_for(conf, "/v1/chat", R"({"message":"hi"})");
    auto s = native_response_summary(
        v1, conf, read_file(kong_fixtures / "cohere/llm-v1-chat/responses/good.json"), {});
    EXPECT_TRUE(s.usage.known);
    EXPECT_EQ(s.usage.prompt_tokens, 102) << "v1 token_count, as the translator reads it";
    EXPECT_EQ(s.usage.completion_tokens, 258);
    auto v2 = call_for(conf, "/v2/chat");
    auto s2 = native_response_summary(
        v2, conf,
        R"({"id":"x","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"hi"}]},"usage":{"tokens":{"input_tokens":20,"output_tokens":4}}})",
        {});
    EXPECT_EQ(s2.usage.prompt_tokens, 20);
    EXPECT_EQ(s2.usage.completion_tokens, 4);
  }
  {
    auto conf = conf_for(provider_kind::huggingface);
    auto call = call_for(conf, "/v1/chat/completions");
    auto s = native_response_summary(
        call, conf,
        R"({"id":"c","object":"chat.completion","model":"meta-llama/x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":6,"total_tokens":17}})",
        {});
    EXPECT_EQ(s.usage.total_tokens, 17);
    EXPECT_EQ(s.response_model, "meta-llama/x");
  }
}

TEST(native_usage, bedrock_invoke_reads_token_count_headers_then_the_body) {
  auto conf = conf_for(provider_kind::bedrock);
  auto call = call_for(conf, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", "{}");
  const std::string body =
      R"({"id":"msg","type":"message","model":"claude-3-haiku-20240307","content":[],"usage":{"input_tokens":10,"output_tokens":3}})";
  auto from_body = native_response_summary(call, conf, body, {});
  EXPECT_TRUE(from_body.usage.known);
  EXPECT_EQ(from_body.usage.prompt_tokens, 10);
  EXPECT_EQ(from_body.usage.completion_tokens, 3);
  EXPECT_EQ(from_body.response_model, "claude-3-haiku-20240307");
  header_list h;
  h.add("X-Amzn-Bedrock-Input-Token-Count", "21");
  h.add("X-Amzn-Bedrock-Output-Token-Count", "8");
  auto from_headers = native_response_summary(call, conf, R"({"embedding":[0.1]})", h);
  EXPECT_EQ(from_headers.usage.prompt_tokens, 21);
  EXPECT_EQ(from_headers.usage.completion_tokens, 8);
  EXPECT_EQ(from_headers.usage.total_tokens, 29);
}

TEST(native_usage, no_usage_operations_and_unreadable_bodies) {
  auto conf = conf_for(provider_kind::anthropic);
  auto count = call_for(conf, "/v1/messages/count_tokens");
  EXPECT_FALSE(native_response_summary(count, conf, R"({"input_tokens":9})", {}).usage.known);
  auto call = call_for(conf, "/v1/messages");
  EXPECT_FALSE(native_response_summary(call, conf, "not json", {}).usage.known);
}

// ---------------------------------------------------------------- usage of streams

/// Feeds `bytes` to a fresh reader in two pieces cut at `cut` (npos: one byte at a time).
response_summary read_stream(const native_call& call, const config::ai_proxy_config& conf,
                             stream::framing framing, std::string_view bytes, std::size_t cut) {
  auto reader = make_native_usage_stream(call, conf, framing);
  if (cut == std::string::npos) {
    for (char c : bytes) {
      reader->feed(std::string_view(&c, 1));
    }
  } else {
    reader->feed(bytes.substr(0, cut));
    reader->feed(bytes.substr(cut));
  }
  reader->finish();
  return reader->summary();
}

void expect_usage_everywhere(const native_call& call, const config::ai_proxy_config& conf,
                             stream::framing framing, std::string_view bytes,
                             const json::usage& want, const std::string& what) {
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    const auto got = read_stream(call, conf, framing, bytes, cut).usage;
    ASSERT_EQ(got.known, want.known) << what << " cut at " << cut;
    ASSERT_EQ(got.prompt_tokens, want.prompt_tokens) << what << " cut at " << cut;
    ASSERT_EQ(got.completion_tokens, want.completion_tokens) << what << " cut at " << cut;
    ASSERT_EQ(got.total_tokens, want.total_tokens) << what << " cut at " << cut;
    ASSERT_EQ(got.cached_tokens, want.cached_tokens) << what << " cut at " << cut;
  }
  const auto bytewise = read_stream(call, conf, framing, bytes, std::string::npos).usage;
  EXPECT_EQ(bytewise.prompt_tokens, want.prompt_tokens) << what << " byte by byte";
  EXPECT_EQ(bytewise.completion_tokens, want.completion_tokens) << what << " byte by byte";
}

json::usage usage_from(const boost::json::object& o) {
  json::usage u;
  u.known = o.at("known").as_bool();
  u.prompt_tokens = o.at("prompt_tokens").to_number<std::int64_t>();
  u.completion_tokens = o.at("completion_tokens").to_number<std::int64_t>();
  u.total_tokens = o.at("total_tokens").to_number<std::int64_t>();
  u.cached_tokens = o.at("cached_tokens").to_number<std::int64_t>();
  return u;
}

// The chat stream cases of the golden suite: the usage a native route reads from the recorded
// upstream stream equals the usage the translating route logged for it.
TEST(native_usage, golden_streams_split_at_every_byte) {
  const fs::path golden = testing::source_dir() / "tests/golden";
  int cases = 0;
  for (const auto provider :
       {provider_kind::anthropic, provider_kind::gemini, provider_kind::bedrock,
        provider_kind::cohere, provider_kind::huggingface}) {
    for (const auto& entry : fs::directory_iterator(golden / config::to_string(provider))) {
      const fs::path dir = entry.path();
      const auto cfg = parse_json(read_file(dir / "config.json")).as_object();
      if (cfg.at("route_type").as_string() != "llm/v1/chat") {
        continue;
      }
      std::string bytes;
      stream::framing framing = stream::framing::sse;
      if (fs::exists(dir / "upstream_stream.sse")) {
        bytes = read_file(dir / "upstream_stream.sse");
      } else if (fs::exists(dir / "upstream_stream.ndjson")) {
        bytes = read_file(dir / "upstream_stream.ndjson");
        framing = stream::framing::ndjson;
      } else if (fs::exists(dir / "upstream_stream.json")) {
        bytes = read_file(dir / "upstream_stream.json");
        framing = stream::framing::json_array;
      } else if (fs::exists(dir / "upstream_stream.eventstream")) {
        bytes = read_file(dir / "upstream_stream.eventstream");
        framing = stream::framing::aws_eventstream;
      } else if (fs::exists(dir / "upstream_stream.eventstream.json")) {
        framing = stream::framing::aws_eventstream;
        const auto frames = parse_json(read_file(dir / "upstream_stream.eventstream.json"));
        for (const auto& f : frames.as_array()) {
          const auto& fo = f.as_object();
          const auto payload = json::to_json(fo.at("payload"));
          if (fo.contains("exception")) {
            stream::append_aws_eventstream_exception(bytes, fo.at("event").as_string(), payload);
          } else {
            stream::append_aws_eventstream_event(bytes, fo.at("event").as_string(), payload);
          }
        }
      } else {
        continue;
      }
      auto conf = conf_for(provider);
      std::string path;
      std::string body = R"({"model":"m","stream":true,"messages":[]})";
      switch (provider) {
        case provider_kind::anthropic:
          path = "/v1/messages";
          break;
        case provider_kind::gemini:
          path = "/v1beta/models/m:streamGenerateContent";
          break;
        case provider_kind::bedrock:
          path = "/model/m/converse-stream";
          break;
        case provider_kind::cohere:
          path = framing == stream::framing::ndjson ? "/v1/chat" : "/v2/chat";
          break;
        default:
          path = "/v1/chat/completions";
          break;
      }
      const auto call = call_for(conf, path, body);
      ASSERT_TRUE(call.stream) << dir;
      const auto want = usage_from(
          parse_json(read_file(dir / "expected_summary.json")).as_object().at("usage").as_object());
      expect_usage_everywhere(call, conf, framing, bytes, want, dir.string());
      ++cases;
    }
  }
  EXPECT_GE(cases, 30);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

TEST(native_usage, kong_bedrock_chunks_split_at_every_byte) {
  // Kong's recorded ConverseStream, base64 of three socket reads.
  std::string bytes;
  for (const char* name : {"chunk-1.txt", "chunk-2.txt", "chunk-3.txt"}) {
    const auto b64 = read_file(kong_fixtures / "bedrock/chunks" / name);
    std::string raw(b64.size(), '\0');
    std::string trimmed(trim(b64));
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                  reinterpret_cast<const unsigned char*>(trimmed.data()),
                                  static_cast<int>(trimmed.size()));
    ASSERT_GT(n, 0);
    std::size_t len = static_cast<std::size_t>(n);
    for (auto i = trimmed.size(); i > 0 && trimmed[i - 1] == '='; --i) {
      --len;
    }
    bytes.append(raw.data(), len);
  }
  auto conf = conf_for(provider_kind::bedrock);
  const auto call = call_for(conf, "/model/m/converse-stream", "{}");
  const auto whole = read_stream(call, conf, stream::framing::aws_eventstream, bytes, 0);
  ASSERT_TRUE(whole.usage.known);
  EXPECT_GT(whole.usage.prompt_tokens, 0);
  expect_usage_everywhere(call, conf, stream::framing::aws_eventstream, bytes, whole.usage,
                          "kong bedrock chunks");
}

TEST(native_usage, bedrock_invoke_stream_reads_invocation_metrics) {
  auto conf = conf_for(provider_kind::bedrock);
  const auto call = call_for(conf,
                             "/model/anthropic.claude-3-haiku-20240307-v1%3A0/"
                             "invoke-with-response-stream",
                             "{}");
  ASSERT_EQ(call.op, native_operation::bedrock_invoke_stream);
  std::string bytes;
  auto chunk = [&](std::string_view inner) {
    stream::append_aws_eventstream_event(bytes, "chunk",
                                         R"({"bytes":")" + base64(inner) + R"(","p":"abc"})");
  };
  chunk(
      R"({"type":"message_start","message":{"model":"claude-3-haiku-20240307","usage":{"input_tokens":14,"output_tokens":1}}})");
  chunk(R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})");
  chunk(
      R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":6}})");
  chunk(
      R"({"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":14,"outputTokenCount":6,"invocationLatency":300,"firstByteLatency":100}})");
  json::usage want;
  want.known = true;
  want.prompt_tokens = 14;
  want.completion_tokens = 6;
  want.total_tokens = 20;
  expect_usage_everywhere(call, conf, stream::framing::aws_eventstream, bytes, want,
                          "invoke stream");
  EXPECT_EQ(read_stream(call, conf, stream::framing::aws_eventstream, bytes, 0).response_model,
            "claude-3-haiku-20240307");
}

TEST(native_usage, stream_failures_are_kept_not_thrown) {
  auto conf = conf_for(provider_kind::anthropic);
  const auto call = call_for(conf, "/v1/messages", R"({"model":"m","stream":true})");
  auto reader = make_native_usage_stream(call, conf, stream::framing::sse);
  reader->feed(
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m2\","
      "\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n");
  reader->finish();  // no message_stop: the stream was cut
  ASSERT_TRUE(reader->failure());
  EXPECT_EQ(reader->summary().usage.prompt_tokens, 4);
  EXPECT_EQ(reader->summary().response_model, "m2");
}

}  // namespace
}  // namespace aiproxy::providers
