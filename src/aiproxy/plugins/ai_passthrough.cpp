// The OpenAI API family beyond chat, completions and embeddings (responses, files, batches,
// assistants, audio, images, videos): requests proxied to OpenAI or Azure with auth injected and
// paths mapped, bodies read within max_request_body_size, responses relayed to the client as
// they arrive (audio, file contents, SSE), usage read where the API reports it without altering
// a byte. Stages: map path -> body (model checks) -> auth -> cloud identity -> upstream ->
// relay (scan SSE events / a bounded copy of a JSON body) -> record.

#include "aiproxy/plugins/ai_passthrough.hpp"

#include "aiproxy/json/rewrite.hpp"
#include "aiproxy/json/writer.hpp"
#include "aiproxy/plugins/ai_images.hpp"
#include "aiproxy/plugins/flow_support.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/openai_api_family.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/request_validation.hpp"
#include "aiproxy/stream/decoder.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <optional>
#include <vector>

namespace aiproxy::plugins {

namespace asio = boost::asio;
using clock = flow_clock;

namespace {

/// Largest JSON response body kept (besides relaying it) to read usage and log the payload.
constexpr std::size_t max_scanned_json_bytes = 8 * 1024 * 1024;

bool is_json_type(std::string_view content_type) {
  const auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  return iequals(type, "application/json");
}

struct passthrough {
  http::downstream& d;
  const ai_proxy_call& call;
  worker_services& services;
  observability::request_record& record;
  observability::ai_record& ai;

  asio::awaitable<void> fail(const error& e) {
    record.error_message = e.message;
    co_await http::send_error(d, e);
  }
};

/// The upstream body and the model, after the model checks of a create call.
struct prepared_body {
  std::string body;
  std::string model;  // what the upstream is asked for, when known
  bool stream = false;
  bool json = false;  // a JSON text body (payloads may be logged)
};

result<prepared_body> prepare_body(std::string_view body, std::string_view content_type,
                                   const providers::api_family_target& target,
                                   const config::ai_proxy_config& conf,
                                   std::string_view configured_model,
                                   const boost::json::object*& parsed_out,
                                   boost::json::monotonic_resource& arena,
                                   boost::json::value& holder) {
  prepared_body out;
  out.json = is_json_type(content_type);
  const bool body_auth =
      conf.auth.param_location == config::param_location::body && !conf.auth.param_name.empty();
  if (out.json && !body.empty() && (target.model_in_body || body_auth)) {
    boost::json::parse_options popts;
    popts.max_depth = 64;
    boost::system::error_code ec;
    holder = boost::json::parse(body, ec, &arena, popts);
    if (ec || !holder.is_object()) {
      return error::bad_request("request body is not a JSON object");
    }
    parsed_out = &holder.get_object();
  }
  if (!target.model_in_body) {
    return out;
  }
  if (parsed_out != nullptr) {
    const auto* m = parsed_out->if_contains("model");
    const std::string_view client =
        m != nullptr && m->is_string() ? std::string_view(m->get_string()) : std::string_view();
    if (!configured_model.empty() || !client.empty()) {
      auto resolved = providers::resolve_model_name(configured_model, client);
      if (!resolved) {
        return resolved.error();
      }
      out.model = std::move(*resolved);
    }
    const auto* s = parsed_out->if_contains("stream");
    out.stream = s != nullptr && s->is_bool() && s->get_bool();
    return out;
  }
  if (auto boundary = providers::multipart_boundary(content_type)) {
    const auto field = providers::read_multipart_field(body, *boundary, "model");
    if (field.malformed) {
      return error::bad_request("request body is not valid multipart/form-data");
    }
    const std::string_view client = field.value ? std::string_view(*field.value) : "";
    if (!configured_model.empty() || !client.empty()) {
      auto resolved = providers::resolve_model_name(configured_model, client);
      if (!resolved) {
        return resolved.error();
      }
      out.model = std::move(*resolved);
    }
    if (!field.value && !out.model.empty()) {
      auto with = providers::multipart_with_field(body, *boundary, "model", out.model);
      if (!with) {
        return error::bad_request("cannot add the configured model to the multipart body");
      }
      out.body = std::move(*with);
    }
    const auto stream_field = providers::read_multipart_field(body, *boundary, "stream", 16);
    out.stream = stream_field.value && *stream_field.value == "true";
  }
  return out;
}

}  // namespace

boost::asio::awaitable<void> run_passthrough(http::downstream& d, const ai_proxy_call& call,
                                             worker_services& services,
                                             observability::request_record& record) {
  if (serves_translated_images(call.conf)) {  // gemini / bedrock image generation
    co_await run_translated_images(d, call, services, record);
    co_return;
  }
  const auto& conf = call.conf;
  if (!record.ai) {
    record.ai.emplace();
  }
  auto& ai = *record.ai;
  passthrough f{d, call, services, record, ai};
  const auto& head = d.head();

  // 1. Templates, only when the config has any.
  std::optional<config::model_config> templated;
  if (conf.has_templates) {
    request_template_source source(head, call.match);
    auto resolved = config::resolve_model(conf.model, source);
    if (!resolved) {
      co_await f.fail(resolved.error());
      co_return;
    }
    templated = std::move(*resolved);
  }
  const config::model_config& model_cfg = templated ? *templated : conf.model;

  // 2. Where the request goes.
  providers::api_family_request mreq;
  mreq.route_type = conf.route_type;
  mreq.provider = conf.model.provider;
  mreq.options = &model_cfg.options;
  mreq.method = head.method;
  mreq.upstream_path = call.match.upstream_path;
  mreq.request_path = head.path;
  mreq.query = head.query;
  auto target = providers::map_api_family(mreq);
  if (!target) {
    co_await f.fail(target.error());
    co_return;
  }

  // 3. Body, within the route's limit (413 over it), and the model checks of create calls.
  auto body = co_await d.read_body(static_cast<std::uint64_t>(conf.max_request_body_size));
  if (!body) {
    co_await f.fail(body.error());
    co_return;
  }
  record.request_size = d.bytes_received();
  const std::string_view content_type = head.headers.get("content-type").value_or("");
  boost::json::monotonic_resource arena;
  boost::json::value holder(&arena);  // same storage as the parse: assigning it does not copy
  const boost::json::object* parsed = nullptr;
  auto prepared =
      prepare_body(*body, content_type, *target, conf, model_cfg.name, parsed, arena, holder);
  if (!prepared) {
    co_await f.fail(prepared.error());
    co_return;
  }
  if (prepared->stream && conf.response_streaming == config::streaming_policy::deny) {
    co_await f.fail(error::bad_request("response streaming is not enabled for this LLM"));
    co_return;
  }
  ai.request_model = !prepared->model.empty() ? prepared->model : model_cfg.name;
  if (conf.model.provider == config::provider_kind::azure) {
    ai.azure_instance_id = model_cfg.options.azure_instance;
    ai.azure_deployment_id = model_cfg.options.azure_deployment_id;
    ai.azure_api_version = model_cfg.options.azure_api_version;
  }

  // 4. The upstream request: the client's headers (OpenAI-Beta included), its Content-Type
  // (multipart boundary kept), the configured auth.
  providers::upstream_request up;
  up.method = target->method;
  up.headers.reserve(head.headers.size() + 4);
  providers::forward_client_headers(head.headers, up.headers);
  if (!content_type.empty()) {
    up.headers.set("Content-Type", content_type);
  }
  up.headers.set("Accept-Encoding", "identity");
  const boost::json::object no_body;
  const auto body_auth = providers::apply_auth(conf.auth, up.headers, target->ep.query,
                                               parsed != nullptr ? *parsed : no_body);
  std::vector<json::field_edit> edits;
  if (parsed != nullptr) {
    const auto* m = parsed->if_contains("model");
    if (target->model_in_body && !prepared->model.empty() && (m == nullptr || !m->is_string())) {
      std::string v;
      json::write_string(v, prepared->model);
      edits.push_back(json::field_edit::set("model", std::move(v)));
    }
    if (body_auth) {
      std::string v;
      json::write_string(v, body_auth->value);
      edits.push_back(json::field_edit::set(body_auth->name, std::move(v)));
    }
  }
  if (!edits.empty()) {
    json::write_object_with_edits(up.body, *parsed, edits);
  } else if (!prepared->body.empty()) {
    up.body = std::move(prepared->body);
  } else {
    up.body.assign(body->data(), body->size());
  }
  up.scheme = target->ep.scheme;
  up.host = target->ep.host;
  up.port = target->ep.port;
  up.target = target->ep.target();
  up.framing = stream::framing::sse;
  record.upstream_uri = upstream_uri_of(up);
  if (ai.log_payloads && prepared->json) {
    ai.request_payload = loggable_request(up.body, conf.auth);
  }

  // 5. Cloud identity (Azure Entra ID bearer token).
  if (auto id = co_await apply_cloud_identity(up, conf, services, call.timeouts); !id) {
    co_await f.fail(id.error());
    co_return;
  }

  // 6. Call the provider.
  const auto sent_at = clock::now();
  auto exch = co_await services.client->send(up, call.timeouts);
  if (!exch) {
    record.upstream_latency_ms = ms_since(sent_at);
    co_await f.fail(exch.error());
    co_return;
  }
  upstream::exchange& ex = **exch;
  const int status = ex.head().status;
  const bool ok = status >= 200 && status <= 299;
  const std::string_view up_type = ex.head().headers.get("content-type").value_or("");
  const bool sse = is_event_stream(up_type, stream::framing::sse);
  const bool scan_json = ok && is_json_type(up_type);
  ai.request_mode = sse ? "stream" : "oneshot";
  if (!ok) {
    record.error_message = "upstream answered " + std::to_string(status);
  }

  // 7. Relay the response as it arrives; SSE events are decoded on the side for usage, a JSON
  // body is copied (bounded) to read usage once it ended.
  header_list headers = client_headers_from(ex.head().headers, false);
  if (ok && conf.model_name_header && !ai.request_model.empty()) {
    headers.add("X-Kong-LLM-Model",
                std::string(config::to_string(conf.model.provider)) + "/" + ai.request_model);
  }
  std::unique_ptr<stream::decoder> decoder;
  if (sse && ok) {
    decoder = stream::make_decoder(stream::framing::sse);
  }
  providers::api_stream_scanner scanner;
  std::vector<stream::event> events;
  std::string captured;
  bool capture_overflow = false;
  bool decoding = decoder != nullptr;

  if (!co_await d.begin_stream(status, headers)) {
    record.client_aborted = true;
    co_return;
  }
  std::string in;
  bool first = true;
  std::optional<error> read_error;
  for (;;) {
    in.clear();
    auto more = co_await ex.read_some(in);
    if (!more) {
      read_error = more.error();
      break;
    }
    if (!*more) {
      if (decoding) {
        (void)decoder->finish(events);
      }
      break;
    }
    if (in.empty()) {
      continue;
    }
    if (decoding) {
      if (auto r = decoder->feed(in, events); !r) {
        decoding = false;  // analytics stop; the bytes still go through
        ai.incomplete_reason = "upstream stream could not be decoded: " + r.error().message;
      }
      for (const auto& ev : events) {
        scanner.on_event(ev);
      }
      events.clear();
    }
    if (scan_json || (ai.log_payloads && sse && ok)) {
      if (!capture_overflow && captured.size() + in.size() <= max_scanned_json_bytes) {
        captured += in;
      } else {
        capture_overflow = true;
        captured.clear();
      }
    }
    if (!co_await d.write_chunk(in)) {
      record.client_aborted = true;
      break;
    }
    if (first) {
      ai.time_to_first_token_ms = ms_since(sent_at);
      first = false;
    }
  }
  for (const auto& ev : events) {
    scanner.on_event(ev);
  }
  record.upstream_latency_ms = ms_since(sent_at);
  ai.llm_latency_ms = static_cast<std::int64_t>(record.upstream_latency_ms);
  if (!ai.time_to_first_token_ms) {
    ai.time_to_first_token_ms = record.upstream_latency_ms;
  }

  if (record.client_aborted) {
    ai.incomplete_reason = "client closed the connection during the response";
  } else if (read_error) {
    // The response already started: an SSE stream gets an error event; any other body (audio,
    // a file) is cut off, so the client sees it incomplete rather than whole.
    record.error_message = read_error->message;
    ai.incomplete_reason = read_error->message;
    if (sse) {
      co_await http::send_error(d, *read_error);
    } else {
      d.abort_response();
    }
  } else {
    co_await d.end_stream();
  }

  // 8. Usage, model and cost.
  providers::response_summary summary;
  if (sse && ok) {
    summary = scanner.summary();
    if (!scanner.finished() && !read_error && !record.client_aborted &&
        ai.incomplete_reason.empty() && conf.route_type == config::route_type::llm_v1_responses) {
      ai.incomplete_reason = "upstream stream ended before its final event";
    }
  } else if (scan_json && !capture_overflow && !captured.empty()) {
    summary = providers::summary_from_api_body(captured);
  }
  if (summary.usage.known) {
    ai.usage = summary.usage;
  }
  if (!summary.response_model.empty()) {
    ai.response_model = summary.response_model;
  }
  ai.cost = cost_of(ai.usage, model_cfg.options);
  if (ai.log_payloads && ok && (scan_json || sse) && !capture_overflow) {
    ai.response_payload = std::move(captured);
  }
}

}  // namespace aiproxy::plugins
