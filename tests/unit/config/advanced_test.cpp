// Tests of config/loader for the ai-proxy-advanced plugin and the route-type rules of issue 4:
// every field and default, each per-target check reported with the target's path, the balancer,
// embeddings, vectordb and redis records, the cross-target rules, secrets kept out of messages,
// the shared chain slot of ai-proxy and ai-proxy-advanced, the provider x route type table,
// genai_category and the Azure Responses api-version. Touches only the environment (setenv of
// DECK_TEST_* variables).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "aiproxy/config/loader.hpp"
#include "aiproxy/config/support.hpp"

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

void expect_problem(const std::string& yaml, const std::string& path, const std::string& message) {
  auto ps = problems_of(yaml);
  bool found = std::any_of(ps.begin(), ps.end(), [&](const problem& p) {
    return p.path == path && p.message == message;
  });
  EXPECT_TRUE(found) << "expected '" << path << ": " << message << "' in:\n" << dump(ps);
}

void expect_loads(const std::string& yaml) {
  auto ps = problems_of(yaml);
  EXPECT_TRUE(ps.empty()) << dump(ps);
}

/// One route "r" on /chat and one global ai-proxy-advanced plugin (plugins[0]) with this config
/// body (JSON object members).
std::string adv(const std::string& config) {
  return R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/chat"]}],)"
         R"("plugins":[{"name":"ai-proxy-advanced","config":{)" +
         config + "}}]}";
}

/// A chat target of the mock provider with these extra members.
std::string mock_target(const std::string& extra = "") {
  return R"({"route_type":"llm/v1/chat","model":{"provider":"mock"})" +
         (extra.empty() ? "" : "," + extra) + "}";
}

std::string targets(const std::string& list) {
  return R"("targets":[)" + list + "]";
}

/// Same, with an ai-proxy plugin.
std::string ai(const std::string& config) {
  return R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/chat"]}],)"
         R"("plugins":[{"name":"ai-proxy","config":{)" +
         config + "}}]}";
}

const std::string cfg = "plugins[0].config";
const std::string t0 = cfg + ".targets[0]";
const std::string t1 = cfg + ".targets[1]";
const std::string t2 = cfg + ".targets[2]";

const ai_proxy_advanced_config& advanced_of(const gateway_config& c, std::size_t i = 0) {
  return std::get<ai_proxy_advanced_config>(c.plugins.at(i).config);
}

// ------------------------------------------------------------------ a full valid file

constexpr const char* full_yaml = R"(
_format_version: "3.0"
routes:
  - name: r
    paths: [/chat]
plugins:
  - name: ai-proxy-advanced
    config:
      response_streaming: deny
      max_request_body_size: 4096
      model_name_header: false
      genai_category: text/generation
      normalize_errors: true
      model_options_precedence: config
      balancer:
        algorithm: lowest-usage
        retries: 2
        failover_criteria: [error, timeout, http_429, http_503, non_idempotent]
        connect_timeout: 1000
        read_timeout: 2000
        write_timeout: 3000
        hash_on_header: X-Session
        latency_strategy: e2e
        tokens_count_strategy: cost
        slots: 100
        max_fails: 3
        fail_timeout: 5000
      embeddings:
        auth: {header_name: Authorization, header_value: Bearer sk-emb}
        model: {provider: openai, name: text-embedding-3-small}
      vectordb:
        strategy: memory
        dimensions: 1536
        distance_metric: euclidean
        threshold: 0.7
      redis:
        host: redis.internal
        port: 6380
        username: gw
        password: hunter2
        database: 2
        timeout: 500
        sync_interval: 50
      targets:
        - route_type: llm/v1/chat
          weight: 50
          description: general questions
          metadata: {team: a}
          auth: {header_name: Authorization, header_value: Bearer sk-openai}
          logging: {log_statistics: true}
          model:
            provider: openai
            name: gpt-4o
            model_alias: fast
            options: {input_cost: 2.5, output_cost: 10}
        - route_type: llm/v1/chat
          description: CATCHALL
          auth: {header_name: x-api-key, header_value: sk-ant}
          model:
            provider: anthropic
            name: claude-sonnet-4
            model_alias: smart
            options: {anthropic_version: "2023-06-01", input_cost: 3, output_cost: 15}
        - route_type: llm/v1/chat
          weight: 65535
          auth: {aws_access_key_id: AKIA, aws_secret_access_key: secret}
          logging: {log_payloads: true}
          model:
            provider: bedrock
            name: amazon.nova-pro-v1:0
            options: {input_cost: 0.8, output_cost: 3.2, bedrock: {aws_region: eu-west-1}}
)";

TEST(advanced, full_config_with_three_providers_loads) {
  auto c = load_config_string(full_yaml, "t");
  ASSERT_EQ(c.plugins.size(), 1u);
  EXPECT_EQ(c.plugins[0].name, "ai-proxy-advanced");
  EXPECT_EQ(c.chains.at(0).ai_proxy, 0u);
  const auto& a = advanced_of(c);
  ASSERT_EQ(a.targets.size(), 3u);

  const auto& b = a.balancer;
  EXPECT_EQ(b.algorithm, balancer_algorithm::lowest_usage);
  EXPECT_EQ(b.retries, 2);
  EXPECT_EQ(b.failover_criteria, failover::error | failover::timeout | failover::http_429 |
                                     failover::http_503 | failover::non_idempotent);
  EXPECT_EQ(b.connect_timeout_ms, 1000);
  EXPECT_EQ(b.read_timeout_ms, 2000);
  EXPECT_EQ(b.write_timeout_ms, 3000);
  EXPECT_EQ(b.hash_on_header, "X-Session");
  EXPECT_EQ(b.latency_strategy, latency_strategy::e2e);
  EXPECT_EQ(b.tokens_count_strategy, tokens_count_strategy::cost);
  EXPECT_EQ(b.slots, 100);
  EXPECT_EQ(b.max_fails, 3);
  EXPECT_EQ(b.fail_timeout_ms, 5000);

  ASSERT_TRUE(a.embeddings);
  EXPECT_EQ(a.embeddings->model.provider, provider_kind::openai);
  EXPECT_EQ(a.embeddings->model.name, "text-embedding-3-small");
  EXPECT_EQ(a.embeddings->auth.header_value, "Bearer sk-emb");
  ASSERT_TRUE(a.vectordb);
  EXPECT_EQ(a.vectordb->strategy, "memory");
  EXPECT_EQ(a.vectordb->dimensions, 1536);
  EXPECT_EQ(a.vectordb->distance_metric, "euclidean");
  EXPECT_DOUBLE_EQ(a.vectordb->threshold, 0.7);
  EXPECT_FALSE(a.vectordb->redis);  // memory strategy needs none
  ASSERT_TRUE(a.redis);
  EXPECT_EQ(a.redis->host, "redis.internal");
  EXPECT_EQ(a.redis->port, 6380);
  EXPECT_EQ(a.redis->username, "gw");
  EXPECT_EQ(a.redis->password, "hunter2");
  EXPECT_EQ(a.redis->database, 2);
  EXPECT_EQ(a.redis->timeout_ms, 500);
  EXPECT_EQ(a.redis->sync_interval_ms, 50);

  const provider_kind providers[] = {provider_kind::openai, provider_kind::anthropic,
                                     provider_kind::bedrock};
  for (std::size_t i = 0; i < 3; ++i) {
    const ai_proxy_config& t = a.targets[i].conf;
    SCOPED_TRACE(i);
    EXPECT_EQ(t.model.provider, providers[i]);
    EXPECT_EQ(t.route_type, route_type::llm_v1_chat);
    // Plugin-level fields, copied into every target.
    EXPECT_EQ(t.response_streaming, streaming_policy::deny);
    EXPECT_EQ(t.max_request_body_size, 4096);
    EXPECT_FALSE(t.model_name_header);
    EXPECT_EQ(t.llm_format, "openai");
    EXPECT_EQ(t.genai_category, genai_category::text_generation);
    EXPECT_TRUE(t.normalize_errors);
    EXPECT_EQ(t.precedence, options_precedence::config);
  }
  EXPECT_EQ(a.targets[0].weight, 50);
  EXPECT_EQ(a.targets[1].weight, 100);
  EXPECT_EQ(a.targets[2].weight, 65535);
  EXPECT_EQ(a.targets[0].description, "general questions");
  EXPECT_EQ(a.targets[1].description, "CATCHALL");
  EXPECT_EQ(a.targets[2].description, "");
  EXPECT_EQ(a.targets[0].model_alias, "fast");
  EXPECT_EQ(a.targets[1].model_alias, "smart");
  EXPECT_EQ(a.targets[2].model_alias, "");
  // Per-target fields stay per target.
  EXPECT_EQ(a.targets[0].conf.auth.header_value, "Bearer sk-openai");
  EXPECT_EQ(a.targets[1].conf.auth.header_name, "x-api-key");
  EXPECT_EQ(a.targets[2].conf.auth.aws_access_key_id, "AKIA");
  EXPECT_TRUE(a.targets[0].conf.logging.log_statistics);
  EXPECT_FALSE(a.targets[1].conf.logging.log_statistics);
  EXPECT_TRUE(a.targets[2].conf.logging.log_payloads);
  EXPECT_EQ(a.targets[1].conf.model.options.anthropic_version, "2023-06-01");
  EXPECT_EQ(a.targets[2].conf.model.options.bedrock.aws_region, "eu-west-1");
  EXPECT_EQ(a.targets[0].conf.model.options.input_cost, 2.5);
}

TEST(advanced, defaults_are_kongs) {
  auto c = load_config_string(adv(targets(mock_target())), "t");
  const auto& a = advanced_of(c);
  const auto& b = a.balancer;
  EXPECT_EQ(b.algorithm, balancer_algorithm::round_robin);
  EXPECT_EQ(b.retries, 5);
  EXPECT_EQ(b.failover_criteria, failover::error | failover::timeout);
  EXPECT_EQ(b.connect_timeout_ms, 60000);
  EXPECT_EQ(b.read_timeout_ms, 60000);
  EXPECT_EQ(b.write_timeout_ms, 60000);
  EXPECT_EQ(b.hash_on_header, "X-Kong-LLM-Request-ID");
  EXPECT_EQ(b.latency_strategy, latency_strategy::tpot);
  EXPECT_EQ(b.tokens_count_strategy, tokens_count_strategy::total_tokens);
  EXPECT_EQ(b.slots, 10000);
  EXPECT_EQ(b.max_fails, 0);
  EXPECT_EQ(b.fail_timeout_ms, 10000);
  EXPECT_FALSE(a.embeddings);
  EXPECT_FALSE(a.vectordb);
  EXPECT_FALSE(a.redis);
  ASSERT_EQ(a.targets.size(), 1u);
  EXPECT_EQ(a.targets[0].weight, 100);
  EXPECT_EQ(a.targets[0].conf.max_request_body_size, 1048576);
  EXPECT_EQ(a.targets[0].conf.response_streaming, streaming_policy::allow);
  EXPECT_TRUE(a.targets[0].conf.model_name_header);
  EXPECT_EQ(a.targets[0].conf.precedence, options_precedence::request);
}

TEST(advanced, azure_target_gets_the_default_api_version) {
  auto c =
      load_config_string(adv(targets(R"({"route_type":"llm/v1/chat","model":{"provider":"azure",
          "options":{"azure_instance":"i","azure_deployment_id":"d"}}})")),
                         "t");
  EXPECT_EQ(advanced_of(c).targets[0].conf.model.options.azure_api_version, "2023-05-15");
}

// ------------------------------------------------------------------ targets

TEST(advanced_targets, required_non_empty_array) {
  expect_problem(adv(R"("balancer":{})"), cfg + ".targets", "required field missing");
  expect_problem(adv(R"("targets":[])"), cfg + ".targets", "length must be at least 1");
  expect_problem(adv(R"("targets":{"a":1})"), cfg + ".targets", "expected an array");
}

TEST(advanced_targets, each_target_needs_route_type_and_model) {
  expect_problem(adv(targets(mock_target() + R"(,{"model":{"provider":"mock"}})")),
                 t1 + ".route_type", "required field missing");
  expect_problem(adv(targets(R"({"route_type":"llm/v1/chat"})")), t0 + ".model",
                 "required field missing");
  expect_problem(adv(targets(R"({"route_type":"llm/v1/chat","model":{"name":"x"}})")),
                 t0 + ".model.provider", "required field missing");
}

TEST(advanced_targets, ai_proxy_checks_apply_with_the_targets_path) {
  const std::string y =
      adv(targets(mock_target() + "," +
                  R"({"route_type":"llm/v1/chat","model":{"provider":"azure","options":{
            "azure_deployment_id":"d"}},"auth":{"header_name":"api-key"}},
         {"route_type":"llm/v1/completions","logging":{"log_statistics":true},
          "model":{"provider":"anthropic"}})"));
  expect_problem(y, t1 + ".model.options.azure_instance",
                 "must set 'model.options.azure_instance' for azure provider");
  expect_problem(y, t1 + ".auth.header_value",
                 "all or none of these fields must be set: 'auth.header_name', "
                 "'auth.header_value'");
  expect_problem(y, t2 + ".model.options.anthropic_version",
                 "must set 'model.options.anthropic_version' for anthropic provider");
  expect_problem(y, t2 + ".logging.log_statistics",
                 "anthropic does not support statistics when route_type is llm/v1/completions");
  expect_problem(adv(targets(R"({"route_type":"llm/v1/chat","model":{"provider":"mock",
                     "options":{"temperature":9}}})")),
                 t0 + ".model.options.temperature", "value should be between 0 and 5");
  expect_problem(adv(targets(R"({"route_type":"llm/v1/chat","model":{"provider":"openai",
                     "options":{"mock":{}}}})")),
                 t0 + ".model.options.mock", "only used by the 'mock' provider");
}

TEST(advanced_targets, plugin_level_fields_are_not_target_fields) {
  expect_problem(adv(targets(mock_target(R"("response_streaming":"deny")"))),
                 t0 + ".response_streaming", "unknown field");
  expect_problem(adv(targets(mock_target(R"("colour":"blue")"))), t0 + ".colour", "unknown field");
  expect_problem(adv(targets(mock_target()) + R"(,"colour":"blue")"), cfg + ".colour",
                 "unknown field");
}

TEST(advanced_targets, plugin_level_llm_format_is_checked_per_target) {
  const std::string y = adv(R"("llm_format":"gemini",)" +
                            targets(R"({"route_type":"llm/v1/chat","model":{"provider":"gemini"}},
                                       {"route_type":"llm/v1/chat","model":{"provider":"openai"}})"));
  expect_problem(y, cfg + ".llm_format",
                 "native llm_format 'gemini' can only be used with the 'gemini' model.provider "
                 "(in targets[1])");
  auto ps = problems_of(y);
  EXPECT_EQ(ps.size(), 1u) << dump(ps);
}

TEST(advanced_targets, weight_description_metadata) {
  expect_problem(adv(targets(mock_target(R"("weight":0)"))), t0 + ".weight",
                 "value should be between 1 and 65535");
  expect_problem(adv(targets(mock_target(R"("weight":65536)"))), t0 + ".weight",
                 "value should be between 1 and 65535");
  expect_problem(adv(targets(mock_target(R"("weight":"heavy")"))), t0 + ".weight",
                 "expected an integer");
  expect_problem(adv(targets(mock_target(R"("description":"")"))), t0 + ".description",
                 "length must be at least 1");
  expect_problem(adv(targets(mock_target(R"("metadata":"x")"))), t0 + ".metadata",
                 "expected a record");
  expect_loads(adv(targets(mock_target(R"("metadata":{"any":{"thing":[1,2]}})"))));
}

TEST(advanced_targets, model_alias_is_read_and_unique) {
  auto c = load_config_string(
      adv(targets(R"({"route_type":"llm/v1/chat","model":{"provider":"mock","model_alias":"a"}},
                     {"route_type":"llm/v1/chat","model":{"provider":"mock","model_alias":"b"}})")),
      "t");
  EXPECT_EQ(advanced_of(c).targets[1].model_alias, "b");
  expect_problem(
      adv(targets(R"({"route_type":"llm/v1/chat","model":{"provider":"mock","model_alias":"a"}},
                     {"route_type":"llm/v1/chat","model":{"provider":"mock","model_alias":"b"}},
                     {"route_type":"llm/v1/chat","model":{"provider":"mock","model_alias":"a"}})")),
      t2 + ".model.model_alias",
      "model_alias 'a' is already used by targets[0]: aliases must be unique among targets");
  // ai-proxy shares the model record: model_alias is accepted there and unused.
  expect_loads(ai(R"("route_type":"llm/v1/chat","model":{"provider":"mock","model_alias":"a"})"));
}

TEST(advanced_targets, all_targets_share_one_route_type) {
  expect_problem(adv(targets(mock_target() + "," +
                             R"({"route_type":"llm/v1/embeddings","model":{"provider":"mock"}})")),
                 t1 + ".route_type",
                 "all targets must have the same route_type (targets[0] has 'llm/v1/chat')");
}

TEST(advanced_targets, at_most_one_catchall) {
  expect_problem(adv(targets(mock_target(R"("description":"CATCHALL")") + "," +
                             mock_target(R"("description":"x")") + "," +
                             mock_target(R"("description":"CATCHALL")"))),
                 t2 + ".description",
                 "only one target may have description CATCHALL (targets[0] already has it)");
}

// ------------------------------------------------------------------ balancer

TEST(advanced_balancer, values_and_ranges) {
  auto bal = [](const std::string& b) {
    return adv(R"("balancer":{)" + b + "}," + targets(mock_target()));
  };
  const std::string b = cfg + ".balancer";
  expect_problem(bal(R"("algorithm":"random")"), b + ".algorithm",
                 "expected one of: round-robin, consistent-hashing, least-connections, "
                 "lowest-latency, lowest-usage, priority, semantic");
  expect_problem(bal(R"("retries":-1)"), b + ".retries", "value should be between 0 and 32767");
  expect_problem(bal(R"("retries":32768)"), b + ".retries", "value should be between 0 and 32767");
  expect_problem(bal(R"("failover_criteria":["error","http_418"])"), b + ".failover_criteria[1]",
                 "expected one of: error, timeout, invalid_header, http_403, http_404, http_429, "
                 "http_500, http_502, http_503, http_504, non_idempotent");
  expect_problem(bal(R"("failover_criteria":"error")"), b + ".failover_criteria", "expected a set");
  for (std::string k : {"connect_timeout", "read_timeout", "write_timeout", "fail_timeout"}) {
    expect_problem(bal("\"" + k + "\":0"), b + "." + k, "value should be between 1 and 2147483646");
  }
  expect_problem(bal(R"("hash_on_header":"x y")"), b + ".hash_on_header",
                 "bad header name 'x y', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
  expect_problem(bal(R"("latency_strategy":"p99")"), b + ".latency_strategy",
                 "expected one of: tpot, e2e");
  expect_problem(bal(R"("tokens_count_strategy":"llm-accuracy")"), b + ".tokens_count_strategy",
                 "tokens_count_strategy 'llm-accuracy' is not available in aiproxy (use "
                 "total-tokens, prompt-tokens, completion-tokens or cost)");
  expect_problem(bal(R"("tokens_count_strategy":"words")"), b + ".tokens_count_strategy",
                 "expected one of: total-tokens, prompt-tokens, completion-tokens, cost");
  expect_problem(bal(R"("slots":9)"), b + ".slots", "value should be between 10 and 65536");
  expect_problem(bal(R"("slots":65537)"), b + ".slots", "value should be between 10 and 65536");
  expect_problem(bal(R"("max_fails":-1)"), b + ".max_fails",
                 "value must be greater than or equal to 0");
  expect_problem(bal(R"("weights":1)"), b + ".weights", "unknown field");

  auto c = load_config_string(bal(R"("failover_criteria":[],"algorithm":"priority")"), "t");
  EXPECT_EQ(advanced_of(c).balancer.failover_criteria, 0u);
  EXPECT_EQ(advanced_of(c).balancer.algorithm, balancer_algorithm::priority);
  for (auto [name, algo] : {std::pair{"round-robin", balancer_algorithm::round_robin},
                            {"consistent-hashing", balancer_algorithm::consistent_hashing},
                            {"least-connections", balancer_algorithm::least_connections},
                            {"lowest-latency", balancer_algorithm::lowest_latency},
                            {"lowest-usage", balancer_algorithm::lowest_usage}}) {
    auto l = load_config_string(bal(std::string(R"("algorithm":")") + name + "\""), "t");
    EXPECT_EQ(advanced_of(l).balancer.algorithm, algo) << name;
  }
}

TEST(advanced_balancer, lowest_usage_by_cost_needs_costs_on_every_target) {
  const std::string y =
      adv(R"("balancer":{"algorithm":"lowest-usage","tokens_count_strategy":"cost"},)" +
          targets(R"({"route_type":"llm/v1/chat","model":{"provider":"mock",
                   "options":{"input_cost":1,"output_cost":2}}},
                 {"route_type":"llm/v1/chat","model":{"provider":"mock",
                   "options":{"input_cost":1}}})"));
  expect_problem(y, t1 + ".model.options.output_cost",
                 "must set 'model.options.output_cost' when balancer.tokens_count_strategy is "
                 "'cost'");
  EXPECT_EQ(problems_of(y).size(), 1u) << dump(problems_of(y));
  // Another algorithm does not read costs.
  expect_loads(adv(R"("balancer":{"algorithm":"round-robin","tokens_count_strategy":"cost"},)" +
                   targets(mock_target())));
}

// ------------------------------------------------------------------ semantic

constexpr const char* embeddings_ok = R"("embeddings":{"model":{"provider":"mock","name":"e"}})";
constexpr const char* vectordb_ok =
    R"("vectordb":{"strategy":"memory","dimensions":8,"distance_metric":"cosine"})";

TEST(advanced_semantic, needs_embeddings_vectordb_and_descriptions) {
  const std::string y = adv(R"("balancer":{"algorithm":"semantic"},)" +
                            targets(mock_target(R"("description":"math")") + "," + mock_target()));
  expect_problem(y, cfg + ".embeddings", "required when balancer.algorithm is 'semantic'");
  expect_problem(y, cfg + ".vectordb", "required when balancer.algorithm is 'semantic'");
  expect_problem(y, t1 + ".description",
                 "required when balancer.algorithm is 'semantic': semantic routing compares the "
                 "prompt with each description");
  EXPECT_EQ(problems_of(y).size(), 3u);
  expect_loads(adv(R"("balancer":{"algorithm":"semantic"},)" + std::string(embeddings_ok) + "," +
                   vectordb_ok + "," +
                   targets(mock_target(R"("description":"math")") + "," +
                           mock_target(R"("description":"CATCHALL")"))));
}

TEST(advanced_semantic, embeddings_record) {
  const std::string e = cfg + ".embeddings";
  auto emb = [](const std::string& body) {
    return adv(R"("embeddings":)" + body + "," + targets(mock_target()));
  };
  expect_problem(emb(R"({"auth":{}})"), e + ".model", "required field missing");
  expect_problem(emb(R"({"model":{"provider":"openai"}})"), e + ".model.name",
                 "required field missing");
  expect_problem(emb(R"({"model":{"provider":"anthropic","name":"x"}})"), e + ".model.provider",
                 "provider anthropic does not offer embeddings in aiproxy (use one of: openai, "
                 "azure, bedrock, gemini, huggingface, mistral, mock)");
  expect_problem(emb(R"({"model":{"provider":"azure","name":"x","options":{
                        "azure_deployment_id":"d"}}})"),
                 e + ".model.options.azure_instance",
                 "must set 'model.options.azure_instance' for azure provider");
  expect_problem(emb(R"({"model":{"provider":"openai","name":"x"},"auth":{"param_name":"k"}})"),
                 e + ".auth.param_value",
                 "all or none of these fields must be set: 'auth.param_name', "
                 "'auth.param_value', 'auth.param_location'");
  expect_problem(emb(R"({"model":{"provider":"openai","name":"x"},"region":"eu"})"), e + ".region",
                 "unknown field");
  auto c = load_config_string(
      emb(R"({"model":{"provider":"azure","name":"x","options":{"azure_instance":"i",
                "azure_deployment_id":"d"}}})"),
      "t");
  EXPECT_EQ(advanced_of(c).embeddings->model.options.azure_api_version, "2023-05-15");
}

TEST(advanced_semantic, vectordb_record) {
  const std::string v = cfg + ".vectordb";
  auto vdb = [](const std::string& body) {
    return adv(R"("vectordb":)" + body + "," + targets(mock_target()));
  };
  expect_problem(vdb(R"({"strategy":"pgvector","dimensions":8,"distance_metric":"cosine"})"),
                 v + ".strategy",
                 "vectordb strategy 'pgvector' is not offered by aiproxy: use redis or memory");
  expect_problem(vdb(R"({"strategy":"qdrant","dimensions":8,"distance_metric":"cosine"})"),
                 v + ".strategy", "expected one of: redis, memory");
  for (std::string k : {"strategy", "dimensions", "distance_metric"}) {
    expect_problem(vdb("{}"), v + "." + k, "required field missing");
  }
  expect_problem(vdb(R"({"strategy":"memory","dimensions":0,"distance_metric":"cosine"})"),
                 v + ".dimensions", "value must be greater than 0");
  expect_problem(vdb(R"({"strategy":"memory","dimensions":8,"distance_metric":"dot"})"),
                 v + ".distance_metric", "expected one of: cosine, euclidean");
  expect_problem(
      vdb(R"({"strategy":"memory","dimensions":8,"distance_metric":"cosine","threshold":-1})"),
      v + ".threshold", "value must be greater than or equal to 0");
  // A decK dump's pgvector defaults next to strategy redis are accepted.
  auto c = load_config_string(vdb(R"({"strategy":"redis","dimensions":8,"distance_metric":"cosine",
              "redis":{"host":"vec.internal","port":6390},
              "pgvector":{"host":"127.0.0.1","port":5432}})"),
                              "t");
  ASSERT_TRUE(advanced_of(c).vectordb->redis);
  EXPECT_EQ(advanced_of(c).vectordb->redis->host, "vec.internal");
  EXPECT_EQ(advanced_of(c).vectordb->redis->port, 6390);
}

TEST(advanced_semantic, redis_vectordb_without_its_own_redis_uses_the_plugin_redis) {
  auto with_plugin = load_config_string(
      adv(R"("redis":{"host":"shared.internal"},"vectordb":{"strategy":"redis","dimensions":8,
             "distance_metric":"cosine"},)" +
          targets(mock_target())),
      "t");
  EXPECT_EQ(advanced_of(with_plugin).vectordb->redis->host, "shared.internal");
  auto without = load_config_string(
      adv(R"("vectordb":{"strategy":"redis","dimensions":8,"distance_metric":"cosine"},)" +
          targets(mock_target())),
      "t");
  ASSERT_TRUE(advanced_of(without).vectordb->redis);
  EXPECT_EQ(advanced_of(without).vectordb->redis->host, "127.0.0.1");
  EXPECT_EQ(advanced_of(without).vectordb->redis->port, 6379);
}

// ------------------------------------------------------------------ redis

TEST(advanced_redis, kong_spellings_map_onto_aiproxys_fields) {
  auto c = load_config_string(
      adv(R"("redis":{"host":"r","port":7000,"username":"u","password":"p","database":3,
             "connect_timeout":100,"send_timeout":300,"read_timeout":200,"ssl":false,
             "ssl_verify":false,"server_name":"r","keepalive_pool_size":256,
             "keepalive_backlog":0,"connection_is_proxied":false,"cluster_max_redirections":5,
             "sentinel_master":null,"sentinel_nodes":null,"cluster_nodes":null},)" +
          targets(mock_target())),
      "t");
  const redis_config& r = *advanced_of(c).redis;
  EXPECT_EQ(r.host, "r");
  EXPECT_EQ(r.port, 7000);
  EXPECT_EQ(r.username, "u");
  EXPECT_EQ(r.password, "p");
  EXPECT_EQ(r.database, 3);
  EXPECT_EQ(r.timeout_ms, 300);  // the largest of Kong's three timeouts
  EXPECT_EQ(r.sync_interval_ms, 100);
  auto d = load_config_string(adv(R"("redis":{},)" + targets(mock_target())), "t");
  EXPECT_EQ(advanced_of(d).redis->host, "127.0.0.1");
  EXPECT_EQ(advanced_of(d).redis->port, 6379);
  EXPECT_EQ(advanced_of(d).redis->timeout_ms, 2000);
}

TEST(advanced_redis, messages) {
  const std::string r = cfg + ".redis";
  auto red = [](const std::string& body) {
    return adv(R"("redis":{)" + body + "}," + targets(mock_target()));
  };
  expect_problem(red(R"("port":0)"), r + ".port", "value should be between 1 and 65535");
  expect_problem(red(R"("host":"a b")"), r + ".host", "invalid value: a b");
  expect_problem(red(R"("database":-1)"), r + ".database",
                 "value must be greater than or equal to 0");
  expect_problem(red(R"("timeout":0)"), r + ".timeout", "value should be between 1 and 2147483646");
  expect_problem(red(R"("sync_interval":0)"), r + ".sync_interval",
                 "value should be between 1 and 2147483646");
  expect_problem(red(R"("ssl":true)"), r + ".ssl",
                 "not supported by aiproxy: it connects to Redis without TLS");
  expect_problem(red(R"("sentinel_master":"m")"), r + ".sentinel_master",
                 "not supported by aiproxy: it uses one Redis server (host, port), without "
                 "sentinel, cluster or cloud authentication");
  expect_problem(red(R"("cluster_nodes":[{"ip":"a","port":1}])"), r + ".cluster_nodes",
                 "not supported by aiproxy: it uses one Redis server (host, port), without "
                 "sentinel, cluster or cloud authentication");
  expect_problem(red(R"("url":"redis://x")"), r + ".url", "unknown field");
  expect_problem(red(R"("password":"")"), r + ".password", "length must be at least 1");
}

TEST(advanced_plugin, acls_are_refused) {
  expect_problem(adv(R"("acls":{"allow":[{"match":[]}]},)" + targets(mock_target())), cfg + ".acls",
                 "not supported by aiproxy: it does not identify consumers; restrict models with "
                 "routes");
  expect_loads(adv(R"("acls":null,)" + targets(mock_target())));
}

// ------------------------------------------------------------------ secrets

TEST(advanced_secrets, never_in_a_message) {
  ::setenv("DECK_TEST_ALIAS", "ALIASFROMENV", 1);
  const std::string y = R"(
_format_version: "3.0"
routes: [{name: r, paths: [/chat]}]
plugins:
  - name: ai-proxy-advanced
    config:
      redis: {password: REDISPASSWORD, port: 0, sentinel_password: SENTINELSECRET}
      embeddings:
        auth: {header_name: Authorization, header_value: Bearer EMBEDSECRET, param_name: k}
        model: {provider: openai}
      targets:
        - route_type: llm/v1/chat
          auth: {header_value: Bearer TARGETSECRET, aws_secret_access_key: AWSSECRET}
          model: {provider: openai, model_alias: '${{ env "DECK_TEST_ALIAS" }}'}
        - route_type: llm/v1/chat
          auth: {param_value: PARAMSECRET, param_location: query}
          model: {provider: openai, model_alias: '${{ env "DECK_TEST_ALIAS" }}'}
)";
  auto ps = problems_of(y);
  expect_problem(y, t1 + ".model.model_alias",
                 "model_alias '<value from environment>' is already used by targets[0]: aliases "
                 "must be unique among targets");
  ::unsetenv("DECK_TEST_ALIAS");
  ASSERT_GE(ps.size(), 5u) << dump(ps);
  for (const auto& p : ps) {
    for (const char* secret : {"REDISPASSWORD", "SENTINELSECRET", "EMBEDSECRET", "TARGETSECRET",
                               "AWSSECRET", "PARAMSECRET", "ALIASFROMENV"}) {
      EXPECT_THAT(p.message, Not(HasSubstr(secret))) << p.path;
      EXPECT_THAT(p.path, Not(HasSubstr(secret)));
    }
  }
}

// ------------------------------------------------------------------ chains

TEST(advanced_chains, route_beats_service_beats_global_across_both_plugins) {
  const std::string y = R"(
_format_version: "3.0"
services:
  - name: s
    url: http://h
    plugins:
      - name: ai-proxy-advanced
        config: {targets: [{route_type: llm/v1/chat, model: {provider: mock, name: service-adv}}]}
    routes:
      - name: route-simple
        paths: [/a]
        plugins:
          - name: ai-proxy
            config: {route_type: llm/v1/chat, model: {provider: mock, name: route-simple}}
      - name: service-level
        paths: [/b]
  - name: s2
    url: http://h
    routes:
      - name: global-only
        paths: [/c]
      - name: route-adv
        paths: [/d]
        plugins:
          - name: ai-proxy-advanced
            config: {targets: [{route_type: llm/v1/chat, model: {provider: mock, name: route-adv}}]}
plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock, name: global-simple}}
)";
  auto c = load_config_string(y, "t");
  auto model_of = [&](std::size_t route) -> std::string {
    const auto& conf = c.plugins.at(*c.chains.at(route).ai_proxy).config;
    if (const auto* a = std::get_if<ai_proxy_config>(&conf)) {
      return "ai-proxy:" + a->model.name;
    }
    return "advanced:" + std::get<ai_proxy_advanced_config>(conf).targets.at(0).conf.model.name;
  };
  ASSERT_EQ(c.routes.size(), 4u);
  EXPECT_EQ(model_of(0), "ai-proxy:route-simple");   // route ai-proxy beats service advanced
  EXPECT_EQ(model_of(1), "advanced:service-adv");    // service advanced beats global ai-proxy
  EXPECT_EQ(model_of(2), "ai-proxy:global-simple");  // only the global one
  EXPECT_EQ(model_of(3), "advanced:route-adv");      // route advanced beats global ai-proxy
}

TEST(advanced_chains, both_at_the_same_level_is_an_error_naming_both) {
  const std::string y = R"(
_format_version: "3.0"
routes:
  - name: r1
    paths: [/a]
  - name: r2
    paths: [/b]
plugins:
  - name: ai-proxy
    config: {route_type: llm/v1/chat, model: {provider: mock}}
  - name: ai-proxy-advanced
    config: {targets: [{route_type: llm/v1/chat, model: {provider: mock}}]}
)";
  auto ps = problems_of(y);
  ASSERT_EQ(ps.size(), 1u) << dump(ps);  // reported once, not once per route
  EXPECT_EQ(ps[0].path, "plugins[1]");
  EXPECT_EQ(ps[0].message,
            "plugin 'ai-proxy-advanced' and plugin 'ai-proxy' at plugins[0] both apply to route "
            "'r1' at the same level (global): a route is served by one of them; remove one or "
            "scope it elsewhere");
  // Disabled instances do not take part.
  std::string disabled = y;
  disabled.replace(disabled.find("  - name: ai-proxy-advanced\n"),
                   std::string("  - name: ai-proxy-advanced\n").size(),
                   "  - name: ai-proxy-advanced\n    enabled: false\n");
  expect_loads(disabled);
}

TEST(advanced_chains, two_advanced_instances_at_one_scope_are_a_uniqueness_violation) {
  expect_problem(
      R"({"_format_version":"3.0","routes":[{"name":"r","paths":["/a"]}],"plugins":[
          {"name":"ai-proxy-advanced","config":{"targets":[{"route_type":"llm/v1/chat",
            "model":{"provider":"mock"}}]}},
          {"name":"ai-proxy-advanced","config":{"targets":[{"route_type":"llm/v1/chat",
            "model":{"provider":"mock"}}]}}]})",
      "plugins[1]",
      "uniqueness violation: plugin 'ai-proxy-advanced' is already configured for the same "
      "route and service at plugins[0]");
}

// ------------------------------------------------------------------ route types (issue 4)

std::string rt(const std::string& route_type, const std::string& model,
               const std::string& extra = "") {
  return ai(R"("route_type":")" + route_type + R"(","model":)" + model + extra);
}

constexpr const char* azure_model =
    R"({"provider":"azure","options":{"azure_instance":"i","azure_deployment_id":"d"}})";

const char* const api_family[] = {"llm/v1/responses",
                                  "llm/v1/files",
                                  "llm/v1/batches",
                                  "llm/v1/assistants",
                                  "audio/v1/audio/speech",
                                  "audio/v1/audio/transcriptions",
                                  "audio/v1/audio/translations",
                                  "image/v1/images/generations",
                                  "image/v1/images/edits",
                                  "video/v1/videos/generations",
                                  "realtime/v1/realtime"};

TEST(route_types, openai_and_azure_serve_the_whole_api_family) {
  for (const char* t : api_family) {
    expect_loads(rt(t, R"({"provider":"openai"})"));
    expect_loads(rt(t, azure_model));
  }
}

TEST(route_types, gemini_and_bedrock_serve_image_generation_only) {
  expect_loads(rt("image/v1/images/generations", R"({"provider":"gemini"})"));
  expect_loads(rt("image/v1/images/generations", R"({"provider":"gemini","name":"imagen-4.0",
                   "options":{"gemini":{"api_endpoint":"us-central1-aiplatform.googleapis.com",
                   "project_id":"p","location_id":"us-central1"}}})"));
  expect_loads(rt("image/v1/images/generations",
                  R"({"provider":"bedrock","options":{"bedrock":{"aws_region":"us-east-1"}}})"));
  EXPECT_EQ(providers_offering(route_type::image_v1_images_generations),
            (std::vector<provider_kind>{provider_kind::openai, provider_kind::azure,
                                        provider_kind::gemini, provider_kind::bedrock}));
  // Image edits stay with openai and azure.
  expect_problem(rt("image/v1/images/edits", R"({"provider":"gemini"})"), cfg + ".route_type",
                 "provider gemini does not offer route_type image/v1/images/edits in "
                 "aiproxy (providers for it: openai, azure)");
  expect_problem(rt("image/v1/images/edits",
                    R"({"provider":"bedrock","options":{"bedrock":{"aws_region":"us-east-1"}}})"),
                 cfg + ".route_type",
                 "provider bedrock does not offer route_type image/v1/images/edits in "
                 "aiproxy (providers for it: openai, azure)");
  expect_problem(rt("image/v1/images/generations", R"({"provider":"cohere"})"), cfg + ".route_type",
                 "provider cohere does not offer route_type image/v1/images/generations in "
                 "aiproxy (providers for it: openai, azure, gemini, bedrock)");
}

TEST(route_types, other_providers_are_refused_with_the_providers_that_offer_it) {
  expect_problem(rt("llm/v1/responses", R"({"provider":"anthropic","options":{
                     "anthropic_version":"2023-06-01"}})"),
                 cfg + ".route_type",
                 "provider anthropic does not offer route_type llm/v1/responses in aiproxy "
                 "(providers for it: openai, azure)");
  for (const char* t : api_family) {
    const std::string offered = std::string_view(t) == "image/v1/images/generations"
                                    ? "openai, azure, gemini, bedrock"
                                    : "openai, azure";
    expect_problem(rt(t, R"({"provider":"mock"})"), cfg + ".route_type",
                   std::string("provider mock does not offer route_type ") + t +
                       " in aiproxy (providers for it: " + offered +
                       "); the mock provider answers "
                       "llm/v1/chat, llm/v1/completions and llm/v1/embeddings only");
  }
  // In an advanced target the same rule reports at the target's path.
  expect_problem(adv(targets(R"({"route_type":"realtime/v1/realtime","model":{"provider":"openai"}},
                                {"route_type":"realtime/v1/realtime","model":{"provider":"mock"}})")),
                 t1 + ".route_type",
                 "provider mock does not offer route_type realtime/v1/realtime in aiproxy "
                 "(providers for it: openai, azure); the mock provider answers llm/v1/chat, "
                 "llm/v1/completions and llm/v1/embeddings only");
}

TEST(route_types, translated_route_types_stay_open_to_every_provider) {
  for (const char* t : {"llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings"}) {
    expect_loads(rt(t, R"({"provider":"cohere"})"));
    expect_loads(rt(t, R"({"provider":"mock"})"));
  }
  EXPECT_EQ(providers_offering(route_type::llm_v1_files),
            (std::vector<provider_kind>{provider_kind::openai, provider_kind::azure}));
  EXPECT_TRUE(provider_offers(provider_kind::huggingface, route_type::llm_v1_embeddings));
}

TEST(route_types, native_llm_format_keeps_kongs_messages) {
  expect_problem(rt("llm/v1/embeddings", R"({"provider":"gemini"})", R"(,"llm_format":"gemini")"),
                 cfg + ".llm_format",
                 "native provider options in llm_format can only be used with the 'llm/v1/chat' "
                 "route_type");
  expect_problem(rt("llm/v1/chat", R"({"provider":"cohere"})", R"(,"llm_format":"huggingface")"),
                 cfg + ".llm_format",
                 "native llm_format 'huggingface' can only be used with the 'huggingface' "
                 "model.provider");
  for (const char* f : {"anthropic", "gemini", "cohere", "huggingface"}) {
    std::string model =
        std::string(R"({"provider":")") + f + "\"" +
        (std::string(f) == "anthropic" ? R"(,"options":{"anthropic_version":"2023-06-01"}})" : "}");
    expect_loads(rt("llm/v1/chat", model, std::string(R"(,"llm_format":")") + f + "\""));
  }
}

TEST(genai_category, derived_from_route_type_when_absent) {
  const std::pair<const char*, genai_category> expected[] = {
      {"llm/v1/chat", genai_category::text_generation},
      {"llm/v1/completions", genai_category::text_generation},
      {"llm/v1/embeddings", genai_category::text_embeddings},
      {"llm/v1/responses", genai_category::text_generation},
      {"llm/v1/files", genai_category::text_generation},
      {"llm/v1/batches", genai_category::text_generation},
      {"llm/v1/assistants", genai_category::text_generation},
      {"audio/v1/audio/speech", genai_category::audio_speech},
      {"audio/v1/audio/transcriptions", genai_category::audio_transcription},
      {"audio/v1/audio/translations", genai_category::audio_transcription},
      {"image/v1/images/generations", genai_category::image_generation},
      {"image/v1/images/edits", genai_category::image_generation},
      {"video/v1/videos/generations", genai_category::video_generation},
      {"realtime/v1/realtime", genai_category::realtime_generation}};
  for (const auto& [t, category] : expected) {
    auto c = load_config_string(rt(t, R"({"provider":"openai"})"), "t");
    EXPECT_EQ(std::get<ai_proxy_config>(c.plugins[0].config).genai_category, category) << t;
  }
}

TEST(genai_category, explicit_value_is_read_and_must_match) {
  auto c = load_config_string(rt("audio/v1/audio/speech", R"({"provider":"openai"})",
                                 R"(,"genai_category":"audio/speech")"),
                              "t");
  EXPECT_EQ(std::get<ai_proxy_config>(c.plugins[0].config).genai_category,
            genai_category::audio_speech);
  expect_problem(
      rt("llm/v1/chat", R"({"provider":"openai"})", R"(,"genai_category":"audio/speech")"),
      cfg + ".genai_category",
      "genai_category 'audio/speech' does not match route_type 'llm/v1/chat' "
      "(expected text/generation)");
  expect_problem(rt("llm/v1/chat", R"({"provider":"openai"})", R"(,"genai_category":"text")"),
                 cfg + ".genai_category",
                 "expected one of: text/generation, text/embeddings, audio/speech, "
                 "audio/transcription, image/generation, video/generation, realtime/generation");
  // Files and batches carry work of any kind.
  auto b = load_config_string(
      rt("llm/v1/batches", R"({"provider":"openai"})", R"(,"genai_category":"text/embeddings")"),
      "t");
  EXPECT_EQ(std::get<ai_proxy_config>(b.plugins[0].config).genai_category,
            genai_category::text_embeddings);
  // ai-proxy-advanced: a plugin-level value checked against each target.
  expect_problem(adv(R"("genai_category":"text/embeddings",)" + targets(mock_target())),
                 cfg + ".genai_category",
                 "genai_category 'text/embeddings' does not match route_type 'llm/v1/chat' "
                 "(expected text/generation) (in targets[0])");
  auto a = load_config_string(
      adv(targets(R"({"route_type":"llm/v1/embeddings","model":{"provider":"mock"}})")), "t");
  EXPECT_EQ(advanced_of(a).targets[0].conf.genai_category, genai_category::text_embeddings);
}

TEST(azure_responses, api_version_must_be_preview) {
  auto c = load_config_string(rt("llm/v1/responses", azure_model), "t");
  EXPECT_EQ(std::get<ai_proxy_config>(c.plugins[0].config).model.options.azure_api_version,
            "preview");
  expect_loads(rt("llm/v1/responses",
                  R"({"provider":"azure","options":{"azure_instance":"i","azure_deployment_id":"d",
                      "azure_api_version":"preview"}})"));
  expect_problem(
      rt("llm/v1/responses",
         R"({"provider":"azure","options":{"azure_instance":"i","azure_deployment_id":"d",
             "azure_api_version":"2024-10-21"}})"),
      cfg + ".model.options.azure_api_version",
      "the Azure Responses API (route_type llm/v1/responses) needs "
      "'model.options.azure_api_version' = 'preview' (leave it unset to get it)");
  // Other route types keep Kong's default and any version.
  expect_loads(rt("llm/v1/files",
                  R"({"provider":"azure","options":{"azure_instance":"i","azure_deployment_id":"d",
                      "azure_api_version":"2024-10-21"}})"));
}

// ------------------------------------------------------------------ fuzz seeds

std::string seed(const std::string& name) {
  return std::string(AIPROXY_SOURCE_DIR) + "/fuzz/corpus/config_loader/" + name;
}

TEST(fuzz_seeds, the_advanced_seeds_are_what_they_claim) {
  auto c = load_config_file(seed("17-advanced.yaml"));
  EXPECT_EQ(advanced_of(c).targets.size(), 2u);
  EXPECT_EQ(advanced_of(c).balancer.algorithm, balancer_algorithm::semantic);
  try {
    load_config_file(seed("18-advanced-broken.yaml"));
    ADD_FAILURE() << "18-advanced-broken.yaml loaded";
  } catch (const invalid_config& e) {
    EXPECT_GE(e.problems().size(), 10u);
  }
  try {
    load_config_file(seed("19-route-types.yaml"));
    ADD_FAILURE() << "19-route-types.yaml loaded";
  } catch (const invalid_config& e) {
    std::vector<std::string> paths;
    for (const auto& p : e.problems()) {
      paths.push_back(p.path);
    }
    // routes[2] is gemini image generation: its route type is served, its category is wrong.
    EXPECT_THAT(paths, ::testing::ElementsAre("routes[2].plugins[0].config.genai_category",
                                              "routes[3].plugins[0].config.route_type"))
        << e.what();
  }
}

}  // namespace
}  // namespace aiproxy::config
