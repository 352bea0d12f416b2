// Translated image generation (image/v1/images/generations on gemini and bedrock): the OpenAI
// body read within max_request_body_size, checked and translated (providers/image_generation),
// the cloud identity applied (Vertex AI bearer token, SigV4), the provider called once, and its
// images answered as OpenAI's `data[].b64_json`. Non-2xx answers pass through (normalized to
// OpenAI's error shape with normalize_errors). Stages: path/method -> templates -> body ->
// translate -> identity -> upstream -> translate back -> record.

#include "aiproxy/plugins/ai_images.hpp"

#include "aiproxy/plugins/flow_support.hpp"
#include "aiproxy/providers/image_generation.hpp"
#include "aiproxy/providers/openai_api_family.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <optional>

namespace aiproxy::plugins {

namespace asio = boost::asio;
using clock = flow_clock;

namespace {

/// Images come back base64-encoded in one JSON body: ten large PNGs fit well within this.
constexpr std::size_t max_response_body_bytes = 256 * 1024 * 1024;
/// Largest answer kept for payload logging.
constexpr std::size_t max_logged_payload_bytes = 8 * 1024 * 1024;

struct images_flow {
  http::downstream& d;
  observability::request_record& record;

  asio::awaitable<void> fail(const error& e) {
    record.error_message = e.message;
    co_await http::send_error(d, e);
  }
};

}  // namespace

bool serves_translated_images(const config::ai_proxy_config& conf) {
  return conf.route_type == config::route_type::image_v1_images_generations &&
         (conf.model.provider == config::provider_kind::gemini ||
          conf.model.provider == config::provider_kind::bedrock);
}

asio::awaitable<void> run_translated_images(http::downstream& d, const ai_proxy_call& call,
                                            worker_services& services,
                                            observability::request_record& record) {
  const auto& conf = call.conf;
  if (!record.ai) {
    record.ai.emplace();
  }
  auto& ai = *record.ai;
  images_flow f{d, record};
  const auto& head = d.head();
  ai.request_mode = "oneshot";

  // 1. Only POST .../images/generations (the OpenAI mapping's path and method rules).
  const config::model_options no_options;
  providers::api_family_request mreq;
  mreq.route_type = conf.route_type;
  mreq.provider = config::provider_kind::openai;
  mreq.options = &no_options;
  mreq.method = head.method;
  mreq.upstream_path = call.match.upstream_path;
  mreq.request_path = head.path;
  if (auto mapped = providers::map_api_family(mreq); !mapped) {
    co_await f.fail(mapped.error());
    co_return;
  }

  // 2. Templates, only when the config has any.
  std::optional<config::model_config> templated;
  auto model_conf = resolved_model(conf, head, call.match, templated);
  if (!model_conf) {
    co_await f.fail(model_conf.error());
    co_return;
  }
  const config::model_config& model_cfg = **model_conf;
  ai.request_model = model_cfg.name;

  // 3. Body, within the route's limit (413 over it), as a JSON object.
  auto body = co_await d.read_body(static_cast<std::uint64_t>(conf.max_request_body_size));
  if (!body) {
    co_await f.fail(body.error());
    co_return;
  }
  record.request_size = d.bytes_received();
  boost::json::monotonic_resource arena;
  boost::json::parse_options popts;
  popts.max_depth = 64;
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(*body, ec, &arena, popts);
  if (ec || !parsed.is_object()) {
    co_await f.fail(error::bad_request("request body is not a JSON object"));
    co_return;
  }

  // 4. Translate (model checks, fields, endpoint, auth).
  auto translated = providers::images_to_upstream(parsed.get_object(), head.headers, head.query,
                                                  conf, model_cfg.options, model_cfg.name);
  if (!translated) {
    co_await f.fail(translated.error());
    co_return;
  }
  providers::image_call& ic = *translated;
  providers::upstream_request& up = ic.request;
  ai.request_model = ic.model;
  record.upstream_uri = upstream_uri_of(up);
  if (ai.log_payloads) {
    ai.request_payload = loggable_request(up.body, conf.auth);
  }

  // 5. Cloud identity: a Vertex AI bearer token, SigV4 over the final request (Bedrock).
  if (auto id = co_await apply_cloud_identity(up, conf, services, call.timeouts); !id) {
    co_await f.fail(id.error());
    co_return;
  }

  // 6. Call the provider.
  const auto sent_at = clock::now();
  auto exch = co_await services.client->send(up, call.timeouts, sent_at);
  if (!exch) {
    record.upstream_latency_ms = ms_since(sent_at);
    co_await f.fail(exch.error());
    co_return;
  }
  upstream::exchange& ex = **exch;
  const int status = ex.head().status;

  // 7a. Errors pass through with their status, headers and body.
  if (status < 200 || status > 299) {
    co_await pass_upstream_error(
        d, ex, record, conf.normalize_errors ? &providers::provider_for(conf) : nullptr, sent_at);
    co_return;
  }

  // 7b. The images, translated back.
  auto resp_body = co_await ex.read_all(max_response_body_bytes);
  record.upstream_latency_ms = ms_since(sent_at);
  ai.llm_latency_ms = static_cast<std::int64_t>(record.upstream_latency_ms);
  ai.time_to_first_token_ms = record.upstream_latency_ms;
  if (!resp_body) {
    co_await f.fail(resp_body.error());
    co_return;
  }
  const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  auto answer = providers::images_from_upstream(ic, *resp_body, created);
  if (!answer) {
    ai.response_model = ic.model;
    co_await f.fail(answer.error());
    co_return;
  }
  if (answer->summary.usage.known) {
    ai.usage = answer->summary.usage;
  }
  ai.response_model = answer->summary.response_model;
  ai.images = answer->images;
  ai.cost = cost_of(ai.usage, model_cfg.options);
  if (ai.log_payloads && answer->body.size() <= max_logged_payload_bytes) {
    ai.response_payload = answer->body;
  }
  header_list headers = client_headers_from(ex.head().headers, true);
  headers.set("Content-Type", "application/json");
  if (conf.model_name_header) {
    headers.add("X-Kong-LLM-Model",
                std::string(config::to_string(conf.model.provider)) + "/" + ic.model);
  }
  co_await d.respond(status, headers, std::move(answer->body));
}

}  // namespace aiproxy::plugins
