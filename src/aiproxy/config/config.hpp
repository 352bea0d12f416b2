#pragma once
// The validated, immutable gateway configuration: what a Kong declarative file (decK
// `_format_version: "3.0"`) becomes after loading. Built by config/loader.cpp; read by everything
// else through std::shared_ptr<const gateway_config>. Pure data: no I/O, no Asio.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace aiproxy::config {

// ---------------------------------------------------------------- ai-proxy plugin

enum class route_type {
  llm_v1_chat,
  llm_v1_completions,
  llm_v1_embeddings,
  // The rest of the OpenAI API family (Kong 3.11+): proxied as they are, usage read where the
  // API reports it.
  llm_v1_responses,
  llm_v1_files,
  llm_v1_batches,
  llm_v1_assistants,
  audio_v1_audio_speech,
  audio_v1_audio_transcriptions,
  audio_v1_audio_translations,
  image_v1_images_generations,
  image_v1_images_edits,
  video_v1_videos_generations,
  realtime_v1_realtime,
};

/// True for the three route types the gateway translates (chat, completions, embeddings).
constexpr bool is_translated(route_type t) {
  return t == route_type::llm_v1_chat || t == route_type::llm_v1_completions ||
         t == route_type::llm_v1_embeddings;
}

/// Kong's `genai_category` (EE 3.11+): what kind of generative call a route makes.
enum class genai_category {
  text_generation,
  text_embeddings,
  audio_speech,
  audio_transcription,
  image_generation,
  video_generation,
  realtime_generation,
};

enum class provider_kind {
  openai,
  azure,
  anthropic,
  cohere,
  mistral,
  llama2,
  gemini,
  bedrock,
  huggingface,
  mock,  // built-in deterministic provider, answers without any network
};

enum class streaming_policy { allow, deny, always };

enum class param_location { none, query, body };

/// Who wins when both the client and `model.options` set temperature, top_p, top_k or max_tokens.
/// `request`: the client's value wins, the option is a default (Kong's current docs).
/// `config`: the option overrides the client (Kong OSS 3.10 behaviour).
enum class options_precedence { request, config };

std::string_view to_string(route_type t);
std::string_view to_string(provider_kind p);
std::string_view to_string(genai_category c);

struct auth_config {
  std::string header_name;
  std::string header_value;  // secret
  std::string param_name;
  std::string param_value;  // secret
  config::param_location param_location = config::param_location::none;
  bool allow_override = false;
  // Cloud identities (used by the providers that need them).
  bool gcp_use_service_account = false;
  std::string gcp_service_account_json;  // secret
  std::string aws_access_key_id;         // secret
  std::string aws_secret_access_key;     // secret
  bool azure_use_managed_identity = false;
  std::string azure_client_id;
  std::string azure_client_secret;  // secret
  std::string azure_tenant_id;
};

/// Options of the built-in `mock` provider (`model.options.mock`).
struct mock_options {
  std::int64_t latency_ms = 0;      // delay before the response (or the first chunk)
  std::int64_t chunk_delay_ms = 0;  // delay between streamed chunks
  std::string reply;                // fixed reply text; empty = deterministic echo of the prompt
};

/// `model.options.gemini` (Vertex AI). Kong: all three of api_endpoint, project_id and location_id
/// or none.
struct gemini_options {
  std::string api_endpoint;  // hostname only
  std::string project_id;
  std::string location_id;
  std::string endpoint_id;  // EE 3.12: Vertex Model Garden endpoint
};

/// `model.options.bedrock`.
struct bedrock_options {
  std::string aws_region;
  std::string aws_assume_role_arn;
  std::string aws_role_session_name;
  std::string aws_sts_endpoint_url;
  bool embeddings_normalize = false;
  std::string performance_config_latency;
};

/// `model.options.huggingface`.
struct huggingface_options {
  std::optional<bool> use_cache;
  std::optional<bool> wait_for_model;
};

/// `model.options.cohere` (EE 3.11).
struct cohere_options {
  std::string embedding_input_type = "classification";
  std::optional<bool> wait_for_model;
};

struct model_options {
  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<double> input_cost;   // per 1M prompt tokens
  std::optional<double> output_cost;  // per 1M completion tokens
  std::string anthropic_version;
  std::string azure_instance;
  std::string azure_api_version;  // Kong default "2023-05-15" applied by the loader for azure
  std::string azure_deployment_id;
  std::string llama2_format;   // raw | openai | ollama
  std::string mistral_format;  // openai | ollama
  std::string upstream_url;
  std::string upstream_path;
  std::optional<std::int64_t> embeddings_dimensions;
  mock_options mock;
  gemini_options gemini;
  bedrock_options bedrock;
  huggingface_options huggingface;
  cohere_options cohere;
};

struct model_config {
  provider_kind provider = provider_kind::openai;
  std::string name;  // may hold $(...) placeholders
  model_options options;
};

struct logging_config {
  bool log_statistics = false;
  bool log_payloads = false;
};

struct ai_proxy_config {
  config::route_type route_type = config::route_type::llm_v1_chat;
  model_config model;
  auth_config auth;
  logging_config logging;
  streaming_policy response_streaming = streaming_policy::allow;
  std::int64_t max_request_body_size = 1048576;  // bytes; 0 = unlimited
  bool model_name_header = true;
  /// Client-side wire format: "openai" (translated), or a provider's native API ("anthropic",
  /// "gemini", "bedrock", "cohere", "huggingface") passed through untranslated.
  std::string llm_format = "openai";
  config::genai_category genai_category = config::genai_category::text_generation;
  options_precedence precedence = options_precedence::request;
  /// aiproxy extension: a provider's non-2xx error body is rewritten into OpenAI's error shape
  /// (status kept). Off by default: errors pass through unchanged, as Kong does.
  bool normalize_errors = false;
  /// True when model.name or any string under model.options holds a $(...) placeholder, so the
  /// data path can skip templating entirely when false.
  bool has_templates = false;
};

// ---------------------------------------------------------------- ai-proxy-advanced plugin

enum class balancer_algorithm {
  round_robin,
  consistent_hashing,
  least_connections,
  lowest_latency,
  lowest_usage,
  priority,
  semantic,
};

enum class latency_strategy { tpot, e2e };

enum class tokens_count_strategy { total_tokens, prompt_tokens, completion_tokens, cost };

/// `balancer.failover_criteria`, as bits (nginx `proxy_next_upstream` meanings).
namespace failover {
inline constexpr std::uint32_t error = 1u << 0;
inline constexpr std::uint32_t timeout = 1u << 1;
inline constexpr std::uint32_t invalid_header = 1u << 2;
inline constexpr std::uint32_t http_403 = 1u << 3;
inline constexpr std::uint32_t http_404 = 1u << 4;
inline constexpr std::uint32_t http_429 = 1u << 5;
inline constexpr std::uint32_t http_500 = 1u << 6;
inline constexpr std::uint32_t http_502 = 1u << 7;
inline constexpr std::uint32_t http_503 = 1u << 8;
inline constexpr std::uint32_t http_504 = 1u << 9;
inline constexpr std::uint32_t non_idempotent = 1u << 10;
}  // namespace failover

struct balancer_config {
  balancer_algorithm algorithm = balancer_algorithm::round_robin;
  std::int64_t retries = 5;
  std::uint32_t failover_criteria = failover::error | failover::timeout;
  std::int64_t connect_timeout_ms = 60000;
  std::int64_t read_timeout_ms = 60000;
  std::int64_t write_timeout_ms = 60000;
  std::string hash_on_header = "X-Kong-LLM-Request-ID";
  config::latency_strategy latency_strategy = config::latency_strategy::tpot;
  config::tokens_count_strategy tokens_count_strategy = config::tokens_count_strategy::total_tokens;
  std::int64_t slots = 10000;
  std::int64_t max_fails = 0;  // circuit breaker off when 0
  std::int64_t fail_timeout_ms = 10000;
};

/// A Redis server (Kong's shared `redis` record, single-node form).
struct redis_config {
  std::string host = "127.0.0.1";
  std::int64_t port = 6379;
  std::string username;
  std::string password;  // secret
  std::int64_t database = 0;
  std::int64_t timeout_ms = 2000;
  /// aiproxy: how often shared balancer state is pushed to and read from Redis.
  std::int64_t sync_interval_ms = 100;
};

/// `embeddings`: the model semantic routing embeds prompts and target descriptions with.
struct embeddings_config {
  model_config model;
  auth_config auth;
};

/// `vectordb`: where target description vectors live for semantic routing.
struct vectordb_config {
  std::string strategy = "redis";  // redis | pgvector (Kong); aiproxy adds "memory"
  std::int64_t dimensions = 0;
  std::string distance_metric = "cosine";  // cosine | euclidean
  double threshold = 0.5;
  std::optional<redis_config> redis;
};

/// One `targets[]` entry: a whole ai-proxy configuration (the plugin-level fields
/// response_streaming, max_request_body_size, model_name_header, llm_format, genai_category,
/// normalize_errors and model_options_precedence are copied in by the loader; genai_category is
/// derived from the target's route_type when the plugin does not set it) plus its balancing
/// attributes.
struct ai_target {
  ai_proxy_config conf;
  std::int64_t weight = 100;
  std::string description;  // semantic routing text; "CATCHALL" = fallback
  std::string model_alias;  // model.model_alias: a client model equal to it selects this target
};

struct ai_proxy_advanced_config {
  std::vector<ai_target> targets;
  balancer_config balancer;
  std::optional<embeddings_config> embeddings;
  std::optional<vectordb_config> vectordb;
  /// aiproxy extension: balancer state (latency, usage, connections, breakers) shared by every
  /// gateway instance through this Redis server. Absent: state is shared by this process's
  /// workers only.
  std::optional<redis_config> redis;
  /// Everything whose change makes balancer state meaningless (targets, weights, algorithm,
  /// breaker, Redis, semantic settings), computed once by the loader: state is kept across
  /// reloads while it stays the same.
  std::string fingerprint;
};

/// The fingerprint of `c` (see ai_proxy_advanced_config::fingerprint).
std::string balancer_fingerprint(const ai_proxy_advanced_config& c);

/// A stable identity of a target (provider, model, upstream, description) for hash rings and
/// shared-state keys.
std::string target_key(const ai_target& t);

// ---------------------------------------------------------------- file-log plugin

struct file_log_config {
  std::string path;
  bool reopen = false;
};

// ---------------------------------------------------------------- entities

struct plugin_instance {
  std::string id;  // from the file, or derived deterministically from its position
  std::string name;
  bool enabled = true;
  std::optional<std::size_t> service;  // index into gateway_config::services
  std::optional<std::size_t> route;    // index into gateway_config::routes
  std::variant<ai_proxy_config, ai_proxy_advanced_config, file_log_config> config;
  std::string instance_name;
  std::vector<std::string> protocols = {"http", "https"};
  std::vector<std::string> tags;
  std::string source_path;  // where it sits in the file, e.g. "services[0].plugins[1]"
};

struct service {
  std::string id;
  std::string name;
  std::string protocol = "http";  // http | https
  std::string host;
  std::uint16_t port = 80;
  std::string path;  // may be empty
  std::int64_t connect_timeout_ms = 60000;
  std::int64_t write_timeout_ms = 60000;
  std::int64_t read_timeout_ms = 60000;
  std::int64_t retries = 5;
  bool enabled = true;  // routes of a disabled service are not matched (as Kong)
  std::vector<std::string> tags;
};

struct route {
  std::string id;
  std::string name;
  std::vector<std::string> paths;    // as written: "/prefix" or "~/regex"
  std::vector<std::string> methods;  // upper case; empty = any
  std::vector<std::string> hosts;    // lower case, may start with "*." or end with ".*"
  std::map<std::string, std::vector<std::string>> headers;  // lower-case name -> allowed values
  bool strip_path = true;
  bool preserve_host = false;
  std::int64_t regex_priority = 0;
  std::optional<std::size_t> service;  // index into gateway_config::services
  std::vector<std::string> protocols = {"http", "https"};
  std::int64_t https_redirect_status_code = 426;
  bool request_buffering = true;
  bool response_buffering = true;
  std::string path_handling = "v0";  // v0 | v1
  std::vector<std::string> tags;
};

/// The plugins that run for one route, resolved once at load time with Kong's precedence
/// (route-level beats service-level beats global, per plugin name). Indexes into
/// gateway_config::plugins; only enabled instances appear.
struct plugin_chain {
  std::optional<std::size_t> ai_proxy;  // an ai-proxy or an ai-proxy-advanced instance
  std::vector<std::size_t> loggers;     // file-log instances
};

struct gateway_config {
  std::vector<service> services;
  std::vector<route> routes;
  std::vector<plugin_instance> plugins;
  std::vector<plugin_chain> chains;  // one per route, same index as routes
  std::string source_digest;         // SHA-256 hex of the file as read (after env substitution)
};

}  // namespace aiproxy::config
