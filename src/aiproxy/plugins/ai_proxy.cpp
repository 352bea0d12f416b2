// The ai-proxy request flow for the translated route types (chat, completions, embeddings).
// Once per request: body -> parse -> validate -> streaming policy (prepare_request). Then once per
// target tried (attempt_target): templates -> model -> translate -> cloud identity (token, SigV4)
// -> upstream -> translate back (whole or streamed) -> usage, cost, latencies. An attempt that
// fails before any byte reached the client hands its failure back, so ai-proxy-advanced can try
// another target; ai-proxy makes one attempt and delivers its failure.

#include "aiproxy/plugins/ai_proxy.hpp"

#include "aiproxy/core/ids.hpp"
#include "aiproxy/plugins/ai_native.hpp"
#include "aiproxy/plugins/ai_passthrough.hpp"
#include "aiproxy/plugins/ai_realtime.hpp"
#include "aiproxy/plugins/flow_support.hpp"
#include "aiproxy/providers/mock.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/providers/request_validation.hpp"
#include "aiproxy/stream/decoder.hpp"
#include "aiproxy/stream/sse_writer.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <chrono>

namespace aiproxy::plugins {

namespace asio = boost::asio;
using clock = flow_clock;

namespace {

constexpr std::size_t max_error_body_bytes = 4 * 1024 * 1024;
constexpr std::size_t max_response_body_bytes = 256 * 1024 * 1024;

/// Providers whose responses already carry OpenAI's id and created fields.
bool is_openai_compatible(const config::ai_proxy_config& c) {
  switch (c.model.provider) {
    case config::provider_kind::openai:
    case config::provider_kind::azure:
      return true;
    case config::provider_kind::mistral:
      return c.model.options.mistral_format != "ollama";
    case config::provider_kind::llama2:
      return c.model.options.llama2_format == "openai";
    default:
      return false;
  }
}

/// Nesting depth a client's body may have.
constexpr std::size_t max_body_depth = 64;

/// True when a request for `conf` is checked from an index of its body: a chat request for an
/// OpenAI-compatible provider, forwarded with a few top-level edits.
bool indexable(const config::ai_proxy_config& conf) {
  return conf.route_type == config::route_type::llm_v1_chat && is_openai_compatible(conf);
}

/// Parses p.body into p.parsed, in an arena sized from the body. False when it is not JSON.
bool parse_body(const prepared_request& p) {
  boost::json::parse_options popts;
  popts.max_depth = max_body_depth;
  boost::system::error_code ec;
  p.arena = std::make_unique<boost::json::monotonic_resource>(p.body.size() * 2 + 1024);
  // Constructed in place, not assigned: assigning a value into one with another storage
  // would copy the whole tree out of the arena onto the heap.
  p.parsed.emplace(boost::json::parse(p.body, ec, p.arena.get(), popts));
  return !ec;
}

struct flow {
  http::downstream& d;
  const config::route_match& match;
  worker_services& services;
  observability::request_record& record;
  observability::ai_record& ai;

  asio::awaitable<void> fail(const error& e) {
    record.error_message = e.message;
    co_await http::send_error(d, e);
  }
};

asio::awaitable<void> serve_mock(flow& f, const providers::client_request& creq,
                                 const providers::target& t) {
  const auto& mock = t.options.mock;
  const auto started = clock::now();
  const std::string id = random_id(
      t.conf.route_type == config::route_type::llm_v1_chat
          ? "chatcmpl-"
          : (t.conf.route_type == config::route_type::llm_v1_completions ? "cmpl-" : "emb-"));
  const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  providers::mock_reply reply = providers::make_mock_reply(creq, t, id, created);
  f.ai.usage = reply.summary.usage;
  f.ai.response_model = reply.summary.response_model;
  co_await sleep_ms(mock.latency_ms);

  header_list headers;
  if (t.conf.model_name_header) {
    headers.add("X-Kong-LLM-Model", "mock/" + t.model);
  }
  if (!t.stream) {
    headers.add("Content-Type", "application/json");
    f.ai.llm_latency_ms = static_cast<std::int64_t>(ms_since(started));
    f.ai.time_to_first_token_ms = ms_since(started);
    if (f.ai.log_payloads) {
      f.ai.response_payload = reply.body;
    }
    co_await f.d.respond(200, headers, std::move(reply.body));
    co_return;
  }
  add_stream_headers(headers);
  if (!co_await f.d.begin_stream(200, headers)) {
    f.record.client_aborted = true;
    co_return;
  }
  bool first = true;
  for (const auto& chunk : reply.chunks) {
    if (!first) {
      co_await sleep_ms(mock.chunk_delay_ms);
    }
    if (!co_await f.d.write_chunk(chunk)) {
      f.record.client_aborted = true;
      co_return;
    }
    if (first) {
      f.ai.time_to_first_token_ms = ms_since(started);
      first = false;
    }
  }
  co_await f.d.end_stream();
  f.ai.llm_latency_ms = static_cast<std::int64_t>(ms_since(started));
}

/// Relays a translated stream. The client's response starts with the first translated bytes, so a
/// failure before then is handed back (when `may_retry`) for another target to answer; after it,
/// the stream ends with one error event.
asio::awaitable<std::optional<attempt_failure>> serve_stream(
    flow& f, const providers::provider& provider, const providers::target& t,
    upstream::exchange& exch, stream::framing framing, clock::time_point sent_at, bool may_retry) {
  header_list headers = client_headers_from(exch.take_headers(), true);
  add_stream_headers(headers);
  if (t.conf.model_name_header) {
    headers.add("X-Kong-LLM-Model",
                std::string(config::to_string(t.conf.model.provider)) + "/" + t.model);
  }
  auto decoder = stream::make_decoder(framing);
  auto translator = provider.make_stream_translator(t);

  std::string in;
  std::string out;
  std::vector<stream::event> events;
  std::optional<error> stream_error;
  bool started = false;

  auto deliver = [&]() -> asio::awaitable<bool> {
    if (out.empty()) {
      co_return true;
    }
    if (!started) {
      started = true;
      if (!co_await f.d.begin_stream(exch.head().status, headers)) {
        f.record.client_aborted = true;
        co_return false;
      }
    }
    auto written = co_await f.d.write_chunk(out);
    out.clear();
    if (!written) {
      f.record.client_aborted = true;
      co_return false;
    }
    if (!f.ai.time_to_first_token_ms) {
      f.ai.time_to_first_token_ms = ms_since(sent_at);
    }
    co_return true;
  };
  auto translate = [&]() -> bool {
    for (const auto& ev : events) {
      if (auto r = translator->on_event(ev, out); !r) {
        stream_error = r.error();
        events.clear();
        return false;
      }
    }
    events.clear();
    return true;
  };

  for (;;) {
    in.clear();
    auto more = co_await exch.read_some(in);
    if (!more) {
      stream_error = more.error();
      // Nothing reached the client yet: another target may still answer.
      if (may_retry && !started && out.empty()) {
        attempt_failure failure;
        failure.err = more.error();
        failure.kind = more.error().upstream;
        failure.request_sent = true;
        co_return failure;
      }
      break;
    }
    if (!*more) {
      // Events decoded before a framing error are still translated and delivered.
      auto r = decoder->finish(events);
      if (translate()) {
        if (!r) {
          stream_error = r.error();
        } else if (auto fin = translator->finish(out); !fin) {
          stream_error = fin.error();
        }
      }
      break;
    }
    if (auto r = decoder->feed(in, events); !r) {
      if (translate()) {
        stream_error = r.error();
      }
      break;
    }
    if (!translate()) {
      break;
    }
    if (!co_await deliver()) {
      break;
    }
  }

  if (!f.record.client_aborted) {
    if (stream_error) {
      // What was translated before the failure still goes out, then one error event.
      stream::write_sse_data(out, stream_error->to_json());
      f.ai.incomplete_reason = stream_error->message;
      f.record.error_message = stream_error->message;
    }
    if (!started && out.empty()) {
      // An empty but well-formed stream: the client still gets a (terminated) stream.
      started = true;
      if (!co_await f.d.begin_stream(exch.head().status, headers)) {
        f.record.client_aborted = true;
      }
    }
    if (!f.record.client_aborted && co_await deliver()) {
      co_await f.d.end_stream();
    }
  } else {
    f.ai.incomplete_reason = "client closed the connection during the stream";
  }
  const auto& summary = translator->summary();
  f.ai.usage = summary.usage;
  if (!summary.response_model.empty()) {
    f.ai.response_model = summary.response_model;
  }
  if (f.ai.log_payloads) {
    f.ai.response_payload = std::string(translator->text());
  }
  f.ai.llm_latency_ms = static_cast<std::int64_t>(ms_since(sent_at));
  co_return std::nullopt;
}

/// The failover criterion an upstream HTTP status matches (0: none).
std::uint32_t status_criterion(int status) {
  switch (status) {
    case 403:
      return config::failover::http_403;
    case 404:
      return config::failover::http_404;
    case 429:
      return config::failover::http_429;
    case 500:
      return config::failover::http_500;
    case 502:
      return config::failover::http_502;
    case 503:
      return config::failover::http_503;
    case 504:
      return config::failover::http_504;
    default:
      return 0;
  }
}

}  // namespace

const boost::json::object& prepared_request::object() const {
  if (!parsed && !parse_body(*this)) {
    static const boost::json::object empty;  // not reached: the body was checked
    return empty;
  }
  if (!parsed->is_object()) {
    static const boost::json::object empty;  // not reached: the body was checked
    return empty;
  }
  return parsed->get_object();
}

std::uint32_t attempt_failure::criterion() const {
  if (upstream_status != 0) {
    return status_criterion(upstream_status);
  }
  switch (kind) {
    case upstream_failure::error:
      return config::failover::error;
    case upstream_failure::timeout:
      return config::failover::timeout;
    case upstream_failure::invalid_header:
      return config::failover::invalid_header;
    case upstream_failure::none:
      break;
  }
  return 0;
}

namespace {

/// Steps 2 to 4 of prepare_request, on a body already read.
result<prepared_request> prepare_body(std::string_view body, const config::ai_proxy_config& conf,
                                      observability::request_record& record) {
  // 2. Check it: from an index of the body when the request can go upstream as it came (no
  // tree), else from a parse into the request's arena.
  prepared_request p;
  p.body = body;
  if (indexable(conf)) {
    p.index = json::index_top_level(body, providers::request_probes(), max_body_depth);
    if (!p.index) {
      return error::bad_request("request body doesn't contain valid prompts");
    }
    if (auto info = providers::validate_indexed_request(conf.route_type, *p.index)) {
      if (!*info) {
        return info->error();
      }
      p.info = std::move(**info);
    } else {
      p.index.reset();  // the index cannot tell: parse
    }
  }
  if (!p.index) {
    if (!parse_body(p)) {
      return error::bad_request("request body doesn't contain valid prompts");
    }
    // 3. Route type checks (Kong's messages).
    auto info = providers::validate_request(conf.route_type, *p.parsed);
    if (!info) {
      return info.error();
    }
    p.info = std::move(*info);
  }

  // 4. Streaming policy.
  p.stream = conf.route_type != config::route_type::llm_v1_embeddings && p.info.stream;
  if (p.stream && conf.response_streaming == config::streaming_policy::deny) {
    return error::bad_request("response streaming is not enabled for this LLM");
  }
  if (conf.response_streaming == config::streaming_policy::always &&
      conf.route_type != config::route_type::llm_v1_embeddings) {
    p.stream = true;
  }
  if (record.ai) {
    record.ai->request_mode = p.stream ? "stream" : "oneshot";
  }
  return p;
}

}  // namespace

asio::awaitable<result<prepared_request>> prepare_request(http::downstream& d,
                                                          const config::ai_proxy_config& conf,
                                                          observability::request_record& record) {
  // 1. Body, within the route's limit.
  auto body = co_await d.read_body(static_cast<std::uint64_t>(conf.max_request_body_size));
  if (!body) {
    co_return body.error();
  }
  record.request_size = d.bytes_received();
  co_return prepare_body(*body, conf, record);
}

std::optional<result<prepared_request>> prepare_held_request(
    http::downstream& d, const config::ai_proxy_config& conf,
    observability::request_record& record) {
  auto body = d.held_body(static_cast<std::uint64_t>(conf.max_request_body_size));
  if (!body) {
    return std::nullopt;
  }
  if (!*body) {
    return body->error();
  }
  record.request_size = d.bytes_received();
  return prepare_body(**body, conf, record);
}

asio::awaitable<std::optional<attempt_failure>> attempt_target(
    http::downstream& d, const config::ai_proxy_config& conf, const config::route_match& match,
    const prepared_request& p, const upstream::timeouts& timeouts, worker_services& services,
    observability::request_record& record, const attempt_options& opts) {
  auto& ai = *record.ai;
  ai.provider_name = std::string(config::to_string(conf.model.provider));
  ai.log_statistics = conf.logging.log_statistics;
  ai.log_payloads = conf.logging.log_payloads;
  flow f{d, match, services, record, ai};
  auto refuse = [](error e) {
    attempt_failure failure;
    failure.err = std::move(e);
    return std::optional<attempt_failure>(std::move(failure));
  };

  // 5. Templates, only when the config has any.
  std::optional<config::model_config> templated;
  auto model_conf = resolved_model(conf, d.head(), match, templated);
  if (!model_conf) {
    co_return refuse(model_conf.error());
  }
  const config::model_config& model_cfg = **model_conf;

  // 6. The model sent upstream. A balanced target with a configured model answers whatever
  // model the client named (the balancer chose the target, not the client).
  const std::string_view client_model =
      opts.target_model_wins && !model_cfg.name.empty() ? std::string_view() : p.info.model;
  auto model = providers::resolve_model_name(model_cfg.name, client_model);
  if (!model) {
    co_return refuse(model.error());
  }
  ai.request_model = *model;
  if (conf.model.provider == config::provider_kind::azure) {
    ai.azure_instance_id = model_cfg.options.azure_instance;
    ai.azure_deployment_id = model_cfg.options.azure_deployment_id;
    ai.azure_api_version = model_cfg.options.azure_api_version;
  }

  // Ids and timestamps for providers whose responses carry none (OpenAI-compatible ones do).
  std::string response_id;
  std::int64_t created = 0;
  if (!is_openai_compatible(conf)) {
    response_id = random_id(
        conf.route_type == config::route_type::llm_v1_completions ? "cmpl-" : "chatcmpl-");
    created = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  }
  const providers::target t{conf,    model_cfg.options, *model, p.stream, p.info.include_usage,
                            created, response_id};

  if (conf.model.provider == config::provider_kind::mock) {
    if (ai.log_payloads) {
      ai.request_payload = std::string(p.body);
    }
    const providers::client_request creq{p.object(), d.head().headers, d.head().query, p.body};
    co_await serve_mock(f, creq, t);
    ai.cost = cost_of(ai.usage, model_cfg.options);
    co_return std::nullopt;
  }

  // 7. Translate.
  const providers::provider& provider = providers::provider_for(conf);
  // Built in place (an upstream request is a dozen strings: moving it costs).
  std::optional<result<providers::upstream_request>> built =
      p.index
          ? provider.to_upstream_indexed(
                providers::indexed_request{*p.index, d.head().headers, d.head().query, p.body}, t)
          : std::nullopt;
  if (!built) {
    built.emplace(provider.to_upstream(
        providers::client_request{p.object(), d.head().headers, d.head().query, p.body}, t));
  }
  auto& up = *built;
  if (!up) {
    co_return refuse(up.error());
  }
  if (record.logged) {
    record.upstream_uri = upstream_uri_of(*up);
  }
  if (ai.log_payloads) {
    ai.request_payload = loggable_request(up->body, conf.auth);
  }

  // 8. Cloud identities: a fetched bearer token (Vertex AI, Azure Entra ID), then SigV4 over
  // the final request (Bedrock).
  if (needs_cloud_identity(*up, conf, services)) {
    if (auto id = co_await apply_cloud_identity(*up, conf, services, timeouts); !id) {
      co_return refuse(id.error());
    }
  }

  // 9. Call the provider.
  const auto sent_at = clock::now();
  auto exch = co_await services.client->send(*up, timeouts, sent_at);
  if (!exch) {
    record.upstream_latency_ms = ms_since(sent_at);
    attempt_failure failure;
    failure.err = exch.error();
    failure.kind = exch.error().upstream;
    failure.request_sent = exch.error().request_sent;
    co_return failure;
  }
  upstream::exchange& ex = **exch;
  const int status = ex.head().status;

  // 10a. Upstream errors: handed back, to be passed through (or tried elsewhere).
  if (status < 200 || status > 299) {
    auto err_body = co_await ex.read_all(max_error_body_bytes);
    record.upstream_latency_ms = ms_since(sent_at);
    ai.llm_latency_ms = static_cast<std::int64_t>(record.upstream_latency_ms);
    attempt_failure failure;
    failure.request_sent = true;
    if (!err_body) {
      failure.err = err_body.error();
      failure.kind = err_body.error().upstream;
      co_return failure;
    }
    failure.err = error::bad_gateway("upstream answered " + std::to_string(status));
    failure.upstream_status = status;
    failure.upstream_body = std::move(*err_body);
    if (conf.normalize_errors) {
      failure.upstream_headers = client_headers_from(ex.head().headers, true);
      if (auto normalized = provider.openai_error(status, failure.upstream_body)) {
        failure.upstream_body = std::move(*normalized);
        failure.upstream_headers.add("Content-Type", "application/json");
        co_return failure;
      }
    }
    failure.upstream_headers = client_headers_from(ex.head().headers, false);
    co_return failure;
  }

  // 10b. Streams.
  if (p.stream) {
    auto content_type = ex.head().headers.get("content-type").value_or("");
    stream::framing framing = up->framing;
    if (!is_event_stream(content_type, framing) && up->json_array_stream_ok &&
        is_event_stream(content_type, stream::framing::json_array)) {
      framing = stream::framing::json_array;
    }
    if (!is_event_stream(content_type, framing)) {
      record.upstream_latency_ms = ms_since(sent_at);
      attempt_failure failure;
      failure.err =
          error::bad_gateway("upstream answered a streaming request with Content-Type '" +
                                 std::string(content_type.substr(0, 100)) + "' instead of a stream",
                             "invalid_upstream_response");
      failure.kind = upstream_failure::invalid_header;
      failure.request_sent = true;
      co_return failure;
    }
    auto failed = co_await serve_stream(f, provider, t, ex, framing, sent_at, opts.may_retry);
    record.upstream_latency_ms = ms_since(sent_at);
    if (failed) {
      co_return failed;
    }
    ai.cost = cost_of(ai.usage, model_cfg.options);
    co_return std::nullopt;
  }

  // 10c. Whole responses.
  auto resp_body = co_await ex.read_all(max_response_body_bytes);
  record.upstream_latency_ms = ms_since(sent_at);
  ai.llm_latency_ms = static_cast<std::int64_t>(record.upstream_latency_ms);
  ai.time_to_first_token_ms = record.upstream_latency_ms;
  if (!resp_body) {
    attempt_failure failure;
    failure.err = resp_body.error();
    failure.kind = resp_body.error().upstream;
    failure.request_sent = true;
    co_return failure;
  }
  auto translated = provider.from_upstream(*resp_body, t);
  if (!translated) {
    co_await f.fail(translated.error());
    co_return std::nullopt;
  }
  ai.usage = translated->summary.usage;
  ai.response_model = std::move(translated->summary.response_model);
  ai.cost = cost_of(ai.usage, model_cfg.options);

  header_list headers = client_headers_from(ex.take_headers(), translated->body.has_value());
  if (translated->body) {
    headers.add("Content-Type", "application/json");
  }
  if (conf.model_name_header) {
    headers.add("X-Kong-LLM-Model",
                std::string(config::to_string(conf.model.provider)) + "/" + *model);
  }
  // Translated embeddings come back as floats; the OpenAI SDKs ask for base64 by default.
  if (translated->body && conf.route_type == config::route_type::llm_v1_embeddings) {
    const auto* encoding = p.object().if_contains("encoding_format");
    if (encoding != nullptr && encoding->is_string() && encoding->get_string() == "base64") {
      if (auto b64 = providers::embeddings_to_base64(*translated->body)) {
        translated->body = std::move(*b64);
      }
    }
  }
  std::string out = translated->body ? std::move(*translated->body) : std::move(*resp_body);
  if (ai.log_payloads) {
    ai.response_payload = out;
  }
  co_await d.respond(status, headers, std::move(out));
  co_return std::nullopt;
}

asio::awaitable<void> deliver_failure(http::downstream& d, attempt_failure failure,
                                      observability::request_record& record) {
  if (failure.upstream_status != 0) {
    record.error_message = "upstream answered " + std::to_string(failure.upstream_status);
    co_await d.respond(failure.upstream_status, failure.upstream_headers,
                       std::move(failure.upstream_body));
    co_return;
  }
  record.error_message = failure.err.message;
  co_await http::send_error(d, failure.err);
}

void begin_ai_record(const config::ai_proxy_config& conf, const std::string& plugin_id,
                     observability::request_record& record) {
  if (!record.ai) {
    record.ai.emplace();
  }
  auto& ai = *record.ai;
  ai.provider_name = std::string(config::to_string(conf.model.provider));
  ai.log_statistics = conf.logging.log_statistics;
  ai.log_payloads = conf.logging.log_payloads;
  if (!record.logged) {
    return;
  }
  ai.plugin_id = plugin_id;
  for (const auto* name : {&conf.auth.header_name, &conf.auth.param_name}) {
    if (!name->empty()) {
      record.secret_names.push_back(*name);
    }
  }
}

asio::awaitable<void> run_ai_proxy(http::downstream& d, const ai_proxy_call& call,
                                   worker_services& services,
                                   observability::request_record& record) {
  const auto& conf = call.conf;
  begin_ai_record(conf, call.plugin_id, record);

  // The rest of the API family, native formats and realtime have their own flows.
  if (conf.route_type == config::route_type::realtime_v1_realtime) {
    co_await run_realtime(d, call, services, record);
    co_return;
  }
  if (!config::is_translated(conf.route_type)) {
    co_await run_passthrough(d, call, services, record);
    co_return;
  }
  if (conf.llm_format != "openai") {
    co_await run_native(d, call, services, record);
    co_return;
  }

  auto held = prepare_held_request(d, conf, record);
  if (!held) {
    held.emplace(co_await prepare_request(d, conf, record));
  }
  auto& prepared = *held;
  if (!prepared) {
    record.error_message = prepared.error().message;
    co_await http::send_error(d, prepared.error());
    co_return;
  }
  auto failed = co_await attempt_target(d, conf, call.match, *prepared, call.timeouts, services,
                                        record, attempt_options{});
  if (failed) {
    co_await deliver_failure(d, std::move(*failed), record);
  }
}

}  // namespace aiproxy::plugins
