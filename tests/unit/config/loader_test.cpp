// Tests of config/loader: every validation message with its exact text and path, several
// problems at once, decK env substitution, nested and flat entity forms, plugin precedence,
// derived ids, digest, and that every examples/*.yaml loads. Touches only the environment
// (setenv of DECK_TEST_* variables) and the examples directory.

#include "aiproxy/config/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace aiproxy::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<problem> problems_of(const std::string& yaml) {
  try {
    load_config_string(yaml, "test.yaml");
  } catch (const invalid_config& e) {
    return e.problems();
  }
  return {};
}

std::string dump(const std::vector<problem>& ps) {
  std::string out;
  for (const auto& p : ps) {
    out += "  " + p.path + ": " + p.message + "\n";
  }
  return out;
}

/// Expects `yaml` to fail with (at least) the problem `path: message`.
void expect_problem(const std::string& yaml, const std::string& path, const std::string& message) {
  auto ps = problems_of(yaml);
  bool found = std::any_of(ps.begin(), ps.end(), [&](const problem& p) {
    return p.path == path && p.message == message;
  });
  EXPECT_TRUE(found) << "expected '" << path << ": " << message << "' in:\n" << dump(ps);
}

/// A file with one route "r" on /chat and one global ai-proxy plugin (plugins[0]) whose config is
/// the given JSON object body.
std::string ai(const std::string& config) {
  return R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/chat"]}],)"
         R"("plugins":[{"name":"ai-proxy","config":{)" +
         config + "}}]}";
}

constexpr const char* openai_model = R"("model":{"provider":"openai","name":"gpt-4o"})";

std::string chat(const std::string& rest) {
  return ai(R"("route_type":"llm/v1/chat",)" + rest);
}

const std::string cfg = "plugins[0].config";

// ------------------------------------------------------------------ a valid file

TEST(loader, minimal_file_loads_with_kong_defaults) {
  auto c = load_config_string(chat(openai_model), "t");
  ASSERT_EQ(c.routes.size(), 1u);
  ASSERT_EQ(c.plugins.size(), 1u);
  const auto& r = c.routes[0];
  EXPECT_TRUE(r.strip_path);
  EXPECT_FALSE(r.preserve_host);
  EXPECT_EQ(r.https_redirect_status_code, 426);
  EXPECT_EQ(r.path_handling, "v0");
  const auto& a = std::get<ai_proxy_config>(c.plugins[0].config);
  EXPECT_EQ(a.route_type, route_type::llm_v1_chat);
  EXPECT_EQ(a.model.provider, provider_kind::openai);
  EXPECT_EQ(a.model.name, "gpt-4o");
  EXPECT_EQ(a.max_request_body_size, 1048576);
  EXPECT_EQ(a.response_streaming, streaming_policy::allow);
  EXPECT_TRUE(a.model_name_header);
  EXPECT_EQ(a.llm_format, "openai");
  EXPECT_EQ(a.precedence, options_precedence::request);
  EXPECT_FALSE(a.logging.log_statistics);
  EXPECT_FALSE(a.has_templates);
  ASSERT_EQ(c.chains.size(), 1u);
  EXPECT_EQ(c.chains[0].ai_proxy, 0u);
  EXPECT_EQ(c.source_digest.size(), 64u);
}

TEST(loader, azure_api_version_defaults_to_kongs_value) {
  auto c = load_config_string(chat(R"("model":{"provider":"azure","options":{"azure_instance":"i",)"
                                   R"("azure_deployment_id":"d"}})"),
                              "t");
  EXPECT_EQ(std::get<ai_proxy_config>(c.plugins[0].config).model.options.azure_api_version,
            "2023-05-15");
}

TEST(loader, all_fields_are_read) {
  auto c = load_config_string(chat(R"(
      "model":{"provider":"mock","name":"m","options":{"max_tokens":10,"temperature":0.5,
        "top_p":0.9,"top_k":40,"input_cost":1.5,"output_cost":2,"embeddings_dimensions":64,
        "mock":{"latency_ms":5,"chunk_delay_ms":2,"reply":"hi"}}},
      "logging":{"log_statistics":true,"log_payloads":true},
      "response_streaming":"deny","max_request_body_size":0,"model_name_header":false,
      "model_options_precedence":"config")"),
                              "t");
  const auto& a = std::get<ai_proxy_config>(c.plugins[0].config);
  EXPECT_EQ(a.model.provider, provider_kind::mock);
  EXPECT_EQ(a.model.options.max_tokens, 10);
  EXPECT_EQ(a.model.options.temperature, 0.5);
  EXPECT_EQ(a.model.options.top_p, 0.9);
  EXPECT_EQ(a.model.options.top_k, 40);
  EXPECT_EQ(a.model.options.input_cost, 1.5);
  EXPECT_EQ(a.model.options.output_cost, 2.0);
  EXPECT_EQ(a.model.options.embeddings_dimensions, 64);
  EXPECT_EQ(a.model.options.mock.latency_ms, 5);
  EXPECT_EQ(a.model.options.mock.chunk_delay_ms, 2);
  EXPECT_EQ(a.model.options.mock.reply, "hi");
  EXPECT_TRUE(a.logging.log_statistics);
  EXPECT_TRUE(a.logging.log_payloads);
  EXPECT_EQ(a.response_streaming, streaming_policy::deny);
  EXPECT_EQ(a.max_request_body_size, 0);
  EXPECT_FALSE(a.model_name_header);
  EXPECT_EQ(a.precedence, options_precedence::config);
}

TEST(loader, decK_dump_nulls_are_treated_as_unset) {
  auto c = load_config_string(chat(R"("model":{"provider":"openai","name":null,
      "options":{"max_tokens":null,"upstream_url":null}},"auth":{"header_name":null})"),
                              "t");
  const auto& a = std::get<ai_proxy_config>(c.plugins[0].config);
  EXPECT_TRUE(a.model.name.empty());
  EXPECT_FALSE(a.model.options.max_tokens);
}

// ------------------------------------------------------------------ Kong's entity checks

TEST(loader_checks, azure_instance_required) {
  expect_problem(chat(R"("model":{"provider":"azure","options":{"azure_deployment_id":"d"}})"),
                 cfg + ".model.options.azure_instance",
                 "must set 'model.options.azure_instance' for azure provider");
}

TEST(loader_checks, azure_deployment_id_required) {
  expect_problem(chat(R"("model":{"provider":"azure","options":{"azure_instance":"i"}})"),
                 cfg + ".model.options.azure_deployment_id",
                 "must set 'model.options.azure_deployment_id' for azure provider");
}

TEST(loader_checks, azure_api_version_set_to_null_is_missing) {
  expect_problem(chat(R"("model":{"provider":"azure","options":{"azure_instance":"i",
                       "azure_deployment_id":"d","azure_api_version":null}})"),
                 cfg + ".model.options.azure_api_version",
                 "must set 'model.options.azure_api_version' for azure provider");
}

TEST(loader_checks, anthropic_version_required) {
  expect_problem(chat(R"("model":{"provider":"anthropic"})"),
                 cfg + ".model.options.anthropic_version",
                 "must set 'model.options.anthropic_version' for anthropic provider");
}

TEST(loader_checks, llama2_format_required) {
  expect_problem(chat(R"("model":{"provider":"llama2","options":{"upstream_url":"http://h"}})"),
                 cfg + ".model.options.llama2_format",
                 "must set 'model.options.llama2_format' for llama2 provider");
}

TEST(loader_checks, llama2_upstream_url_required) {
  expect_problem(chat(R"("model":{"provider":"llama2","options":{"llama2_format":"openai"}})"),
                 cfg + ".model.options.upstream_url",
                 "must set 'model.options.upstream_url' for self-hosted providers/models");
}

TEST(loader_checks, mistral_format_required) {
  expect_problem(chat(R"("model":{"provider":"mistral"})"), cfg + ".model.options.mistral_format",
                 "must set 'model.options.mistral_format' for mistral provider");
}

TEST(loader_checks, mistral_completions_needs_upstream_url) {
  expect_problem(ai(R"("route_type":"llm/v1/completions",
                       "model":{"provider":"mistral","options":{"mistral_format":"openai"}})"),
                 cfg + ".model.options.upstream_url",
                 "must set 'model.options.upstream_url' for mistral provider when route_type is "
                 "llm/v1/completions (Mistral has no default completions endpoint)");
}

TEST(loader_checks, header_auth_all_or_none) {
  expect_problem(chat(std::string(openai_model) + R"(,"auth":{"header_name":"Authorization"})"),
                 cfg + ".auth.header_value",
                 "all or none of these fields must be set: 'auth.header_name', "
                 "'auth.header_value'");
}

TEST(loader_checks, param_auth_all_or_none) {
  expect_problem(
      chat(std::string(openai_model) + R"(,"auth":{"param_name":"key","param_value":"v"})"),
      cfg + ".auth.param_location",
      "all or none of these fields must be set: 'auth.param_name', "
      "'auth.param_value', 'auth.param_location'");
}

TEST(loader_checks, bedrock_and_gemini_refuse_allow_override) {
  expect_problem(chat(R"("model":{"provider":"gemini"},"auth":{"allow_override":true})"),
                 cfg + ".auth.allow_override",
                 "bedrock and gemini only support auth.allow_override = false");
}

TEST(loader_checks, anthropic_completions_statistics) {
  expect_problem(ai(R"("route_type":"llm/v1/completions","logging":{"log_statistics":true},
                       "model":{"provider":"anthropic","options":{"anthropic_version":"v"}})"),
                 cfg + ".logging.log_statistics",
                 "anthropic does not support statistics when route_type is llm/v1/completions");
}

TEST(loader_checks, native_llm_format_needs_chat) {
  expect_problem(ai(R"("route_type":"llm/v1/completions","llm_format":"bedrock",
                       "model":{"provider":"bedrock"})"),
                 cfg + ".llm_format",
                 "native provider options in llm_format can only be used with the "
                 "'llm/v1/chat' route_type");
}

TEST(loader_checks, native_llm_format_needs_its_provider) {
  expect_problem(chat(R"("llm_format":"gemini",)" + std::string(openai_model)), cfg + ".llm_format",
                 "native llm_format 'gemini' can only be used with the 'gemini' model.provider");
}

TEST(loader_checks, gemini_vertex_options_all_or_none) {
  expect_problem(chat(R"("model":{"provider":"gemini","options":{"gemini":{"project_id":"p"}}})"),
                 cfg + ".model.options.gemini",
                 "all or none of these fields must be set: 'api_endpoint', 'project_id', "
                 "'location_id'");
}

TEST(loader_checks, mock_options_only_for_mock_provider) {
  expect_problem(chat(R"("model":{"provider":"openai","options":{"mock":{"reply":"x"}}})"),
                 cfg + ".model.options.mock", "only used by the 'mock' provider");
}

// ------------------------------------------------------------------ ranges and types

TEST(loader_ranges, temperature) {
  expect_problem(chat(R"("model":{"provider":"openai","options":{"temperature":5.5}})"),
                 cfg + ".model.options.temperature", "value should be between 0 and 5");
}

TEST(loader_ranges, top_p) {
  expect_problem(chat(R"("model":{"provider":"openai","options":{"top_p":-0.1}})"),
                 cfg + ".model.options.top_p", "value should be between 0 and 1");
}

TEST(loader_ranges, top_k) {
  expect_problem(chat(R"("model":{"provider":"openai","options":{"top_k":501}})"),
                 cfg + ".model.options.top_k", "value should be between 0 and 500");
}

TEST(loader_ranges, costs_must_be_positive) {
  expect_problem(chat(R"("model":{"provider":"openai","options":{"input_cost":0}})"),
                 cfg + ".model.options.input_cost", "value must be greater than 0");
  expect_problem(chat(R"("model":{"provider":"openai","options":{"output_cost":-1}})"),
                 cfg + ".model.options.output_cost", "value must be greater than 0");
}

TEST(loader_ranges, max_request_body_size_not_negative) {
  expect_problem(chat(std::string(openai_model) + R"(,"max_request_body_size":-1)"),
                 cfg + ".max_request_body_size", "value must be greater than or equal to 0");
}

TEST(loader_ranges, service_timeouts_retries_and_port) {
  std::string y = R"({"_format_version":"3.0","services":[{"name":"s","host":"h",
      "connect_timeout":0,"read_timeout":2147483647,"retries":40000,"port":70000}]})";
  expect_problem(y, "services[0].connect_timeout", "value should be between 1 and 2147483646");
  expect_problem(y, "services[0].read_timeout", "value should be between 1 and 2147483646");
  expect_problem(y, "services[0].retries", "value should be between 0 and 32767");
  expect_problem(y, "services[0].port", "value should be between 0 and 65535");
}

TEST(loader_types, wrong_types) {
  expect_problem(chat(R"("model":{"provider":"openai","options":{"max_tokens":"many"}})"),
                 cfg + ".model.options.max_tokens", "expected an integer");
  expect_problem(chat(R"("model":{"provider":"openai","options":{"temperature":"hot"}})"),
                 cfg + ".model.options.temperature", "expected a number");
  expect_problem(chat(std::string(openai_model) + R"(,"model_name_header":"maybe")"),
                 cfg + ".model_name_header", "expected a boolean");
  expect_problem(chat(std::string(openai_model) + R"(,"auth":["x"])"), cfg + ".auth",
                 "expected a record");
  expect_problem(chat(R"("model":{"provider":"openai","name":""})"), cfg + ".model.name",
                 "length must be at least 1");
}

TEST(loader_types, one_of_values) {
  expect_problem(chat(std::string(openai_model) + R"(,"response_streaming":"sometimes")"),
                 cfg + ".response_streaming", "expected one of: allow, deny, always");
  expect_problem(chat(std::string(openai_model) + R"(,"model_options_precedence":"client")"),
                 cfg + ".model_options_precedence", "expected one of: request, config");
  expect_problem(chat(std::string(openai_model) + R"(,"llm_format":"xml")"), cfg + ".llm_format",
                 "expected one of: openai, anthropic, bedrock, cohere, gemini, huggingface");
  expect_problem(chat(R"("model":{"provider":"llama2","options":{"llama2_format":"gguf",
                         "upstream_url":"http://h"}})"),
                 cfg + ".model.options.llama2_format", "expected one of: raw, openai, ollama");
}

TEST(loader_types, provider_values) {
  expect_problem(chat(R"("model":{"provider":"skynet"})"), cfg + ".model.provider",
                 "expected one of: openai, azure, anthropic, cohere, mistral, llama2, gemini, "
                 "bedrock, huggingface, mock");
  expect_problem(chat(R"("model":{"name":"x"})"), cfg + ".model.provider",
                 "required field missing");
  expect_problem(chat(R"("logging":{})"), cfg + ".model", "required field missing");
}

TEST(loader_types, route_type_values) {
  expect_problem(ai(openai_model), cfg + ".route_type", "required field missing");
  expect_problem(
      ai(R"("route_type":"preserve",)" + std::string(openai_model)), cfg + ".route_type",
      "route_type 'preserve' is not available in aiproxy: use llm_format for a provider's "
      "native API, or a route with a service and no ai-proxy for a plain proxy");
  EXPECT_NO_THROW(load_config_string(
      ai(R"("route_type":"llm/v1/responses",)" + std::string(openai_model)), "t"));
  expect_problem(ai(R"("route_type":"llm/v2/chat",)" + std::string(openai_model)),
                 cfg + ".route_type",
                 "expected one of: llm/v1/chat, llm/v1/completions, llm/v1/embeddings, "
                 "llm/v1/responses, llm/v1/files, llm/v1/batches, llm/v1/assistants, "
                 "audio/v1/audio/speech, audio/v1/audio/transcriptions, "
                 "audio/v1/audio/translations, image/v1/images/generations, "
                 "image/v1/images/edits, video/v1/videos/generations, realtime/v1/realtime");
}

TEST(loader_types, unknown_fields_everywhere) {
  expect_problem(chat(std::string(openai_model) + R"(,"colour":"blue")"), cfg + ".colour",
                 "unknown field");
  expect_problem(chat(R"("model":{"provider":"openai","options":{"max_token":5}})"),
                 cfg + ".model.options.max_token", "unknown field");
  expect_problem(R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/a"],"pathz":1}],
                     "plugins":[{"name":"ai-proxy","config":{"route_type":"llm/v1/chat",
                     "model":{"provider":"mock"}}}]})",
                 "routes[0].pathz", "unknown field");
  expect_problem(R"({"_format_version":"3.0","extra":1})", "extra", "unknown field");
}

// ------------------------------------------------------------------ not supported yet

TEST(loader_support, native_formats_load_for_their_own_provider) {
  EXPECT_NO_THROW(load_config_string(
      chat(R"("llm_format":"bedrock","model":{"provider":"bedrock","options":{"bedrock":
           {"aws_region":"us-east-1"}}})"),
      "t"));
  expect_problem(chat(R"("llm_format":"gemini","model":{"provider":"openai"})"),
                 cfg + ".llm_format",
                 "native llm_format 'gemini' can only be used with the 'gemini' model.provider");
}

TEST(loader_support, available_providers_load) {
  for (std::string model :
       {R"({"provider":"openai"})",
        R"({"provider":"mistral","options":{"mistral_format":"openai"}})",
        R"({"provider":"llama2","options":{"llama2_format":"openai",
                                "upstream_url":"http://localhost:11434"}})",
        R"({"provider":"mock"})",
        R"({"provider":"anthropic","options":{"anthropic_version":"2023-06-01"}})",
        R"({"provider":"cohere"})", R"({"provider":"gemini"})",
        R"({"provider":"gemini","options":{"gemini":{"api_endpoint":
                                "us-central1-aiplatform.googleapis.com","project_id":"p",
                                "location_id":"us-central1"}}})",
        R"({"provider":"bedrock","options":{"bedrock":{"aws_region":"us-east-1"}}})",
        R"({"provider":"huggingface"})",
        R"({"provider":"mistral","options":{"mistral_format":"ollama"}})",
        R"({"provider":"llama2","options":{"llama2_format":"ollama",
                                "upstream_url":"http://localhost:11434"}})",
        R"({"provider":"llama2","options":{"llama2_format":"raw",
                                "upstream_url":"http://localhost:8080/generate"}})"}) {
    EXPECT_NO_THROW(load_config_string(chat(R"("model":)" + model), "t")) << model;
  }
}

TEST(loader_bedrock, region_comes_from_the_option_or_the_environment) {
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  const std::string no_region = chat(R"("model":{"provider":"bedrock","name":"m"})");
  expect_problem(no_region, cfg + ".model.options.bedrock.aws_region",
                 "must set 'model.options.bedrock.aws_region' for bedrock provider, or "
                 "AWS_REGION in the environment");
  ::setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
  const auto from_default = load_config_string(no_region, "t");
  ::setenv("AWS_REGION", "eu-central-1", 1);
  const auto from_region = load_config_string(no_region, "t");
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  const auto region_of = [](const gateway_config& g) {
    return std::get<ai_proxy_config>(g.plugins.at(0).config).model.options.bedrock.aws_region;
  };
  EXPECT_EQ(region_of(from_default), "eu-west-3");
  EXPECT_EQ(region_of(from_region), "eu-central-1");
}

// ------------------------------------------------------------------ templates

TEST(loader_templates, bad_expression_is_kongs_message) {
  expect_problem(chat(R"j("model":{"provider":"openai","name":"$(headers)"})j"),
                 cfg + ".model.name", "cannot parse expression for field '$(headers)'");
}

TEST(loader_templates, bad_source_is_kongs_message) {
  expect_problem(chat(R"j("model":{"provider":"openai","name":"$(cookies.model)"})j"),
                 cfg + ".model.name", "source 'cookies' is not supported");
}

TEST(loader_templates, never_in_provider_or_auth) {
  expect_problem(chat(R"j("model":{"provider":"$(headers.p)"})j"), cfg + ".model.provider",
                 "templates are not allowed in model.provider");
  expect_problem(chat(std::string(openai_model) +
                      R"j(,"auth":{"header_name":"Authorization","header_value":"$(headers.k)"})j"),
                 cfg + ".auth.header_value", "templates are not allowed in auth fields");
}

std::string llama_url(const std::string& url) {
  return chat(R"j("model":{"provider":"llama2","options":{"llama2_format":"openai",)j"
              R"j("upstream_url":")j" +
              url + R"j("}})j");
}

TEST(loader_templates, url_rule_rejects_a_client_chosen_host) {
  const std::string msg =
      "a placeholder in the host of upstream_url must be followed by a fixed domain that "
      "contains a dot, e.g. '$(uri_captures.region).example.com'";
  for (std::string url : {"https://$(headers.host)/v1", "https://$(headers.h).com/v1",
                          "https://api.$(headers.h)/v1"}) {
    expect_problem(llama_url(url), cfg + ".model.options.upstream_url", msg);
  }
  expect_problem(llama_url("http://h:$(headers.port)/v1"), cfg + ".model.options.upstream_url",
                 "placeholders are not allowed in the port of upstream_url");
}

TEST(loader_templates, url_rule_accepts_a_fixed_domain_and_sets_has_templates) {
  auto c = load_config_string(
      llama_url("https://$(uri_captures.region).example.com/v1/$(headers.x)"), "t");
  EXPECT_TRUE(std::get<ai_proxy_config>(c.plugins[0].config).has_templates);
  auto d =
      load_config_string(chat(R"j("model":{"provider":"openai","name":"$(headers.m)"})j"), "t");
  EXPECT_TRUE(std::get<ai_proxy_config>(d.plugins[0].config).has_templates);
}

// ------------------------------------------------------------------ file-log and plugins

std::string file_log(const std::string& config) {
  return R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/chat"],"plugins":[
      {"name":"ai-proxy","config":{"route_type":"llm/v1/chat","model":{"provider":"mock"}}}]}],
      "plugins":[{"name":"file-log","config":{)" +
         config + "}}]}";
}

TEST(loader_plugins, file_log_reads_path_and_reopen) {
  auto c = load_config_string(file_log(R"("path":"/tmp/x.log","reopen":true)"), "t");
  ASSERT_EQ(c.plugins.size(), 2u);
  const auto& f = std::get<file_log_config>(c.plugins[1].config);
  EXPECT_EQ(f.path, "/tmp/x.log");
  EXPECT_TRUE(f.reopen);
  EXPECT_EQ(c.chains[0].loggers, std::vector<std::size_t>{1});
}

TEST(loader_plugins, file_log_messages) {
  expect_problem(file_log(R"("reopen":true)"), "plugins[0].config.path", "required field missing");
  expect_problem(file_log(R"("path":"/tmp/a*b")"), "plugins[0].config.path",
                 "not a valid filename");
  expect_problem(file_log(R"("path":"/tmp/x.log","custom_fields_by_lua":{"a":"return 1"})"),
                 "plugins[0].config.custom_fields_by_lua", "not supported: aiproxy runs no Lua");
}

TEST(loader_plugins, unknown_plugin_names_the_available_ones) {
  expect_problem(R"({"_format_version":"3.0","plugins":[{"name":"rate-limiting"}]})",
                 "plugins[0].name",
                 "plugin 'rate-limiting' is not available in aiproxy (available: ai-proxy, "
                 "ai-proxy-advanced, file-log)");
}

TEST(loader_plugins, consumer_scoped_plugins_are_rejected) {
  const std::string msg =
      "consumer-scoped plugins are not supported: aiproxy does not identify consumers";
  expect_problem(R"({"_format_version":"3.0","consumers":[{"username":"u","plugins":[
      {"name":"file-log","config":{"path":"/tmp/x"}}]}]})",
                 "consumers[0].plugins[0]", msg);
  expect_problem(R"({"_format_version":"3.0","consumers":[{"username":"u"}],"plugins":[
      {"name":"file-log","consumer":"u","config":{"path":"/tmp/x"}}]})",
                 "plugins[0].consumer", msg);
}

TEST(loader_plugins, consumers_are_accepted) {
  EXPECT_NO_THROW(load_config_string(
      R"({"_format_version":"3.0","consumers":[{"username":"u","custom_id":"c","tags":["t"]}]})",
      "t"));
  expect_problem(R"({"_format_version":"3.0","consumers":[{"tags":["t"]}]})", "consumers[0]",
                 "at least one of these fields must be non-empty: 'custom_id', 'username'");
}

TEST(loader_plugins, duplicate_instances_at_the_same_level) {
  expect_problem(R"({"_format_version":"3.0","plugins":[
      {"name":"file-log","config":{"path":"/tmp/a"}},
      {"name":"file-log","config":{"path":"/tmp/b"}}]})",
                 "plugins[1]",
                 "uniqueness violation: plugin 'file-log' is already configured for the same "
                 "route and service at plugins[0]");
}

// ------------------------------------------------------------------ root, services, routes

TEST(loader_root, format_version) {
  expect_problem(R"({"services":[]})", "_format_version", "required field missing");
  expect_problem(R"({"_format_version":"1.1"})", "_format_version", "expected one of: 3.0");
  EXPECT_NO_THROW(load_config_string(
      R"({"_format_version":"3.0","_transform":true,"_info":{"select_tags":["a"]},
          "_workspace":"default","upstreams":[]})",
      "t"));
}

TEST(loader_root, unsupported_entities) {
  expect_problem(R"({"_format_version":"3.0","upstreams":[{"name":"u"}]})", "upstreams",
                 "'upstreams' entities are not supported by aiproxy (supported: services, "
                 "routes, plugins, consumers)");
  expect_problem(R"({"_format_version":"3.0","certificates":[{"cert":"x"}]})", "certificates",
                 "'certificates' entities are not supported by aiproxy (supported: services, "
                 "routes, plugins, consumers)");
}

TEST(loader_root, yaml_syntax_error_names_the_source) {
  auto ps = problems_of("_format_version: \"3.0\"\nroutes: [\n");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_THAT(ps[0].message, HasSubstr("invalid YAML at test.yaml:"));
}

TEST(loader_services, url_shorthand) {
  auto c = load_config_string(
      R"({"_format_version":"3.0","services":[{"name":"s","url":"https://api.example.com/base"},
          {"name":"t","url":"http://h:8080"}]})",
      "t");
  EXPECT_EQ(c.services[0].protocol, "https");
  EXPECT_EQ(c.services[0].host, "api.example.com");
  EXPECT_EQ(c.services[0].port, 443);
  EXPECT_EQ(c.services[0].path, "/base");
  EXPECT_EQ(c.services[1].port, 8080);
  EXPECT_EQ(c.services[1].path, "");
}

TEST(loader_services, messages) {
  expect_problem(R"({"_format_version":"3.0","services":[{"name":"s"}]})", "services[0].host",
                 "required field missing");
  expect_problem(R"({"_format_version":"3.0","services":[{"name":"s","url":"ftp://h"}]})",
                 "services[0].url", "expected one of: http, https");
  expect_problem(R"({"_format_version":"3.0","services":[{"name":"s","host":"h","path":"x"}]})",
                 "services[0].path", "should start with: /");
  expect_problem(R"({"_format_version":"3.0","services":[{"name":"a b","host":"h"}]})",
                 "services[0].name",
                 "invalid value 'a b': the only accepted ascii characters are alphanumerics or "
                 "., -, _, and ~");
  expect_problem(R"({"_format_version":"3.0","services":[{"name":"s","host":"h"},
                     {"name":"s","host":"h"}]})",
                 "services[1].name",
                 "uniqueness violation: 'services' entity with name set to 's' already declared");
  expect_problem(R"({"_format_version":"3.0","services":[{"id":"42","host":"h"}]})",
                 "services[0].id", "expected a valid UUID");
}

std::string route(const std::string& fields) {
  return R"({"_format_version":"3.0","services":[{"name":"s","url":"http://h"}],
      "routes":[{"name":"r","service":"s",)" +
         fields + "}]}";
}

TEST(loader_routes, path_messages) {
  auto ps = problems_of(route(R"("paths":["/ok","~/a[b"])"));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].path, "routes[0].paths[1]");
  EXPECT_THAT(ps[0].message, HasSubstr("invalid regex: '/a[b' ("));
  expect_problem(route(R"("paths":["v1"])"), "routes[0].paths[0]",
                 "should start with: / (fixed path) or ~/ (regex path)");
  expect_problem(route(R"("paths":["/a//b"])"), "routes[0].paths[0]",
                 "must not have empty segments");
  expect_problem(route(R"("paths":["/a/./b"])"), "routes[0].paths[0]",
                 "non-normalized path, consider use '/a/b' instead");
  expect_problem(route(R"("paths":["/a b"])"), "routes[0].paths[0]",
                 "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 "
                 "found)");
  expect_problem(route(R"("paths":["/a%zz"])"), "routes[0].paths[0]",
                 "invalid url-encoded value: '%zz'");
}

TEST(loader_routes, host_method_header_messages) {
  expect_problem(route(R"("hosts":["*.a.*"])"), "routes[0].hosts[0]",
                 "invalid wildcard: must have at most one wildcard");
  expect_problem(route(R"("hosts":["a*.com"])"), "routes[0].hosts[0]",
                 "invalid wildcard: must be placed at leftmost or rightmost label");
  expect_problem(route(R"("methods":["get"])"), "routes[0].methods[0]", "invalid value: get");
  expect_problem(route(R"("headers":{"Host":["a"]})"), "routes[0].headers.Host",
                 "cannot contain 'host' header, which must be specified in the 'hosts' "
                 "attribute");
  expect_problem(route(R"("headers":{"x y":["a"]})"), "routes[0].headers.x y",
                 "bad header name 'x y', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
  expect_problem(route(R"("paths":["/a"],"protocols":["grpc"])"), "routes[0].protocols[0]",
                 "expected one of: http, https");
  expect_problem(route(R"("paths":["/a"],"snis":["a.com"])"), "routes[0].snis",
                 "not supported by aiproxy: routes match on methods, hosts, headers and paths");
}

TEST(loader_routes, needs_a_matching_criterion) {
  expect_problem(route(R"("strip_path":false)"), "routes[0]",
                 "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when "
                 "'protocols' is 'https'");
  expect_problem(route(R"("protocols":["http"])"), "routes[0]",
                 "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is "
                 "'http'");
}

TEST(loader_routes, references) {
  expect_problem(R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/a"],
                     "service":"nope"}]})",
                 "routes[0].service",
                 "invalid reference 'service: nope' (no such entry in 'services')");
  expect_problem(R"({"_format_version":"3.0","plugins":[{"name":"file-log","route":"x",
                     "config":{"path":"/tmp/x"}}]})",
                 "plugins[0].route", "invalid reference 'route: x' (no such entry in 'routes')");
  expect_problem(R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/a"]}]})", "routes[0]",
                 "route has neither a service nor an ai-proxy plugin: aiproxy has nowhere to "
                 "send its requests");
}

TEST(loader_routes, fields_are_read) {
  auto c = load_config_string(
      route(R"j("paths":["/a","~/b/(?<x>\\d+)"],"methods":["POST"],"hosts":["*.Example.com"],
               "headers":{"X-Team":["a","b"]},"strip_path":false,"preserve_host":true,
               "regex_priority":7,"protocols":["https"],"path_handling":"v1",
               "https_redirect_status_code":301,"request_buffering":false,
               "response_buffering":false,"tags":["t1"])j"),
      "t");
  const auto& r = c.routes[0];
  EXPECT_EQ(r.paths, (std::vector<std::string>{"/a", "~/b/(?<x>\\d+)"}));
  EXPECT_EQ(r.methods, std::vector<std::string>{"POST"});
  EXPECT_EQ(r.hosts, std::vector<std::string>{"*.example.com"});
  EXPECT_EQ(r.headers.at("x-team"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(r.strip_path);
  EXPECT_TRUE(r.preserve_host);
  EXPECT_EQ(r.regex_priority, 7);
  EXPECT_EQ(r.protocols, std::vector<std::string>{"https"});
  EXPECT_EQ(r.path_handling, "v1");
  EXPECT_EQ(r.https_redirect_status_code, 301);
  EXPECT_FALSE(r.request_buffering);
  EXPECT_FALSE(r.response_buffering);
  EXPECT_EQ(r.service, 0u);
}

// ------------------------------------------------------------------ several problems

TEST(loader_problems, every_problem_is_listed_and_what_has_one_line_each) {
  std::string y = R"({"_format_version":"3.0",
      "routes":[{"name":"r","paths":["v1"]}],
      "plugins":[{"name":"ai-proxy","route":"r","config":{"route_type":"llm/v1/chat",
         "model":{"provider":"azure","options":{"temperature":9}}}},
        {"name":"rate-limiting"}]})";
  try {
    load_config_string(y, "t");
    FAIL() << "expected invalid_config";
  } catch (const invalid_config& e) {
    const auto& ps = e.problems();
    EXPECT_GE(ps.size(), 5u) << dump(ps);
    std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("routes[0].paths[0]: should start with: / (fixed path) or ~/ "
                                "(regex path)\n"));
    EXPECT_THAT(what, HasSubstr("plugins[0].config.model.options.temperature: value should be "
                                "between 0 and 5\n"));
    EXPECT_THAT(what, HasSubstr("plugins[0].config.model.options.azure_instance: must set "
                                "'model.options.azure_instance' for azure provider\n"));
    EXPECT_THAT(what, HasSubstr("plugins[0].config.model.options.azure_deployment_id: must set "
                                "'model.options.azure_deployment_id' for azure provider"));
    EXPECT_THAT(what, HasSubstr("plugins[1].name: plugin 'rate-limiting' is not available"));
    EXPECT_EQ(static_cast<std::size_t>(std::count(what.begin(), what.end(), '\n')) + 1, ps.size());
  } catch (const std::exception& e) {
    FAIL() << "wrong exception type: " << e.what();
  }
}

TEST(loader_problems, invalid_config_is_a_config_error) {
  EXPECT_THROW(load_config_string("{}", "t"), aiproxy::config_error);
  EXPECT_THROW(load_config_file("/nonexistent/aiproxy.yaml"), invalid_config);
}

// ------------------------------------------------------------------ env substitution

struct env_guard {
  std::vector<std::string> names;
  void set(const std::string& n, const std::string& v) {
    ::setenv(n.c_str(), v.c_str(), 1);
    names.push_back(n);
  }
  ~env_guard() {
    for (const auto& n : names) {
      ::unsetenv(n.c_str());
    }
  }
};

std::string env_doc(const std::string& header_value, const std::string& extra = {}) {
  return "_format_version: \"3.0\"\n"
         "routes:\n"
         "  - name: r\n"
         "    paths: [/chat]\n"
         "    plugins:\n"
         "      - name: ai-proxy\n"
         "        config:\n"
         "          route_type: llm/v1/chat\n"
         "          auth:\n"
         "            header_name: Authorization\n"
         "            header_value: " +
         header_value +
         "\n"
         "          model:\n"
         "            provider: openai\n" +
         extra;
}

TEST(loader_env, present_variable_is_substituted_inside_a_value) {
  env_guard env;
  env.set("DECK_TEST_KEY", "sk-secret-123");
  auto c = load_config_string(env_doc(R"(Bearer ${{ env "DECK_TEST_KEY" }})"), "t");
  EXPECT_EQ(std::get<ai_proxy_config>(c.plugins[0].config).auth.header_value,
            "Bearer sk-secret-123");
}

TEST(loader_env, filters_and_special_characters) {
  env_guard env;
  env.set("DECK_TEST_FLAG", "1");
  env.set("DECK_TEST_ODD", "a: #b\nc");
  auto c = load_config_string(
      env_doc(R"(${{ env "DECK_TEST_ODD" }})",
              "          logging:\n            log_statistics: ${{ env \"DECK_TEST_FLAG\" | "
              "toBool }}\n"),
      "t");
  const auto& a = std::get<ai_proxy_config>(c.plugins[0].config);
  EXPECT_EQ(a.auth.header_value, "a: #b\nc");
  EXPECT_TRUE(a.logging.log_statistics);
}

TEST(loader_env, missing_variable_is_named) {
  ::unsetenv("DECK_TEST_MISSING");
  expect_problem(env_doc(R"(${{ env "DECK_TEST_MISSING" }})"),
                 "routes[0].plugins[0].config.auth.header_value",
                 "environment variable 'DECK_TEST_MISSING' present in state file but not set");
}

TEST(loader_env, only_deck_prefixed_variables) {
  expect_problem(env_doc(R"(${{ env "HOME" }})"), "routes[0].plugins[0].config.auth.header_value",
                 "environment variables in the state file must be prefixed with 'DECK_', found: "
                 "'HOME'");
}

TEST(loader_env, substituted_values_are_never_echoed) {
  env_guard env;
  env.set("DECK_TEST_SECRET", "TOPSECRETVALUE");
  // Placed where validation messages would otherwise quote the value.
  std::string y =
      "_format_version: \"3.0\"\n"
      "services:\n"
      "  - name: ${{ env \"DECK_TEST_SECRET\" }} x\n"
      "    host: h\n"
      "routes:\n"
      "  - name: r\n"
      "    paths: [/a]\n"
      "    service: ${{ env \"DECK_TEST_SECRET\" }}\n"
      "plugins:\n"
      "  - name: ${{ env \"DECK_TEST_SECRET\" }}\n";
  try {
    load_config_string(y, "t");
    FAIL() << "expected invalid_config";
  } catch (const invalid_config& e) {
    EXPECT_GE(e.problems().size(), 3u) << e.what();
    EXPECT_THAT(std::string(e.what()), Not(HasSubstr("TOPSECRET")));
    EXPECT_THAT(std::string(e.what()), HasSubstr("<value from environment>"));
  }
}

TEST(loader_env, digest_is_of_the_substituted_text) {
  env_guard env;
  env.set("DECK_TEST_KEY", "one");
  auto a = load_config_string(env_doc(R"(${{ env "DECK_TEST_KEY" }})"), "t");
  auto b = load_config_string(env_doc(R"(${{ env "DECK_TEST_KEY" }})"), "t");
  env.set("DECK_TEST_KEY", "two");
  auto c = load_config_string(env_doc(R"(${{ env "DECK_TEST_KEY" }})"), "t");
  EXPECT_EQ(a.source_digest, b.source_digest);
  EXPECT_NE(a.source_digest, c.source_digest);
}

// ------------------------------------------------------------------ forms and precedence

TEST(loader_forms, nested_and_flat_forms_give_the_same_entities) {
  std::string nested = R"(
_format_version: "3.0"
services:
  - name: s
    url: http://h
    routes:
      - name: r
        paths: [/a]
        plugins:
          - name: ai-proxy
            config: {route_type: llm/v1/chat, model: {provider: mock}}
)";
  std::string flat = R"(
_format_version: "3.0"
services:
  - name: s
    url: http://h
routes:
  - name: r
    paths: [/a]
    service: {name: s}
plugins:
  - name: ai-proxy
    route: r
    config: {route_type: llm/v1/chat, model: {provider: mock}}
)";
  auto a = load_config_string(nested, "nested");
  auto b = load_config_string(flat, "flat");
  for (const auto* c : {&a, &b}) {
    ASSERT_EQ(c->routes.size(), 1u);
    EXPECT_EQ(c->routes[0].service, 0u);
    ASSERT_EQ(c->plugins.size(), 1u);
    EXPECT_EQ(c->plugins[0].route, 0u);
    EXPECT_EQ(c->chains[0].ai_proxy, 0u);
  }
  EXPECT_EQ(a.plugins[0].source_path, "services[0].routes[0].plugins[0]");
  EXPECT_EQ(b.plugins[0].source_path, "plugins[0]");
}

TEST(loader_forms, nested_errors_carry_the_nested_path) {
  expect_problem(
      R"(
_format_version: "3.0"
services:
  - name: s
    url: http://h
    routes:
      - name: r0
        paths: [/a]
      - name: r1
        paths: [/b]
        plugins:
          - name: ai-proxy
            config: {route_type: preserve, model: {provider: mock}}
)",
      "services[0].routes[1].plugins[0].config.route_type",
      "route_type 'preserve' is not available in aiproxy: use llm_format for a provider's "
      "native API, or a route with a service and no ai-proxy for a plain proxy");
}

TEST(loader_chains, route_beats_service_beats_global_and_disabled_are_dropped) {
  std::string y = R"(
_format_version: "3.0"
services:
  - name: s
    url: http://h
    plugins:
      - name: ai-proxy
        config: {route_type: llm/v1/chat, model: {provider: mock, name: service-level}}
    routes:
      - name: with-route-plugin
        paths: [/a]
        plugins:
          - name: ai-proxy
            config: {route_type: llm/v1/chat, model: {provider: mock, name: route-level}}
      - name: service-only
        paths: [/b]
      - name: disabled-route-plugin
        paths: [/c]
        plugins:
          - name: ai-proxy
            enabled: false
            config: {route_type: llm/v1/chat, model: {provider: mock, name: disabled}}
routes:
  - name: global-only
    paths: [/d]
plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock, name: global}}
  - name: file-log
    config: {path: /tmp/global.log}
  - name: file-log
    route: service-only
    service: s
    config: {path: /tmp/route-and-service.log}
)";
  auto c = load_config_string(y, "t");
  auto model_of = [&](std::size_t route) {
    return std::get<ai_proxy_config>(c.plugins[*c.chains[route].ai_proxy].config).model.name;
  };
  auto log_of = [&](std::size_t route) {
    return std::get<file_log_config>(c.plugins[c.chains[route].loggers.at(0)].config).path;
  };
  ASSERT_EQ(c.routes.size(), 4u);
  EXPECT_EQ(model_of(0), "route-level");
  EXPECT_EQ(model_of(1), "service-level");
  EXPECT_EQ(model_of(2), "service-level");
  EXPECT_EQ(model_of(3), "global");
  EXPECT_EQ(log_of(0), "/tmp/global.log");
  EXPECT_EQ(log_of(1), "/tmp/route-and-service.log");
}

TEST(loader_ids, file_ids_are_kept_and_others_are_stable_and_uuid_shaped) {
  std::string y = R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/a"]}],
      "plugins":[{"name":"ai-proxy","id":"0b8a2c5e-6a0f-4c1e-9a55-000000000001",
                  "config":{"route_type":"llm/v1/chat","model":{"provider":"mock"}}},
                 {"name":"file-log","config":{"path":"/tmp/x"}}]})";
  auto a = load_config_string(y, "t");
  auto b = load_config_string(y, "t");
  EXPECT_EQ(a.plugins[0].id, "0b8a2c5e-6a0f-4c1e-9a55-000000000001");
  EXPECT_EQ(a.plugins[1].id, b.plugins[1].id);
  EXPECT_EQ(a.plugins[1].id.size(), 36u);
  EXPECT_EQ(a.plugins[1].id[14], '8');
  EXPECT_NE(a.plugins[1].id, a.plugins[0].id);
}

// ------------------------------------------------------------------ examples

TEST(loader_examples, every_example_loads) {
  env_guard env;
  env.set("DECK_OPENAI_API_KEY", "sk-test");
  env.set("DECK_AZURE_OPENAI_API_KEY", "az-test");
  env.set("DECK_ANTHROPIC_API_KEY", "sk-ant-test");
  env.set("DECK_GEMINI_API_KEY", "g-test");
  env.set("DECK_COHERE_API_KEY", "co-test");
  env.set("DECK_HF_TOKEN", "hf_test");
  std::filesystem::path dir = std::filesystem::path(AIPROXY_SOURCE_DIR) / "examples";
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    ++count;
    try {
      auto c = load_config_file(entry.path().string());
      EXPECT_FALSE(c.routes.empty()) << entry.path();
    } catch (const invalid_config& e) {
      ADD_FAILURE() << entry.path() << ":\n" << e.what();
    }
  }
  EXPECT_GE(count, 10u);
}

TEST(loader_examples, quickstart_serves_the_three_openai_paths_with_mock) {
  auto c = load_config_file(std::string(AIPROXY_SOURCE_DIR) + "/examples/quickstart.yaml");
  ASSERT_EQ(c.routes.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& a = std::get<ai_proxy_config>(c.plugins[*c.chains[i].ai_proxy].config);
    EXPECT_EQ(a.model.provider, provider_kind::mock);
    EXPECT_TRUE(a.logging.log_statistics);
    ASSERT_EQ(c.chains[i].loggers.size(), 1u);
    EXPECT_EQ(std::get<file_log_config>(c.plugins[c.chains[i].loggers[0]].config).path,
              "/tmp/aiproxy-requests.log");
  }
  EXPECT_EQ(c.routes[0].paths, std::vector<std::string>{"/v1/chat/completions"});
  EXPECT_EQ(c.routes[1].paths, std::vector<std::string>{"/v1/completions"});
  EXPECT_EQ(c.routes[2].paths, std::vector<std::string>{"/v1/embeddings"});
  // The fourth balances two mock targets with ai-proxy-advanced.
  EXPECT_EQ(c.routes[3].paths, std::vector<std::string>{"/balanced/v1/chat/completions"});
  const auto& adv = std::get<ai_proxy_advanced_config>(c.plugins[*c.chains[3].ai_proxy].config);
  ASSERT_EQ(adv.targets.size(), 2u);
  EXPECT_EQ(adv.targets[0].weight, 300);
  EXPECT_EQ(adv.targets[1].conf.model.provider, provider_kind::mock);
}

}  // namespace
}  // namespace aiproxy::config
