// Native formats (llm_format anthropic, gemini, bedrock, cohere, huggingface): the client speaks
// the provider's own API; the body goes through untranslated with auth injected (SigV4 re-signed),
// and usage, cost and latency are read from the native response or stream.
// Stages: body -> templates -> map (providers/native_format) -> cloud identity -> upstream ->
// relay (whole, or chunk by chunk while a copy is decoded for usage) -> record.

#include "aiproxy/plugins/ai_native.hpp"

#include "aiproxy/plugins/flow_support.hpp"
#include "aiproxy/providers/native_format.hpp"

namespace aiproxy::plugins {

namespace asio = boost::asio;
using clock = flow_clock;

namespace {

constexpr std::size_t max_response_body_bytes = 256 * 1024 * 1024;

struct native_flow {
  http::downstream& d;
  const ai_proxy_call& call;
  observability::request_record& record;
  observability::ai_record& ai;

  asio::awaitable<void> fail(const error& e) {
    record.error_message = e.message;
    co_await http::send_error(d, e);
  }
};

/// Relays a 2xx native stream to the client as it arrives, unchanged, while a copy is decoded
/// for usage.
asio::awaitable<void> relay_stream(native_flow& f, const providers::native_call& nc,
                                   upstream::exchange& ex, header_list headers,
                                   clock::time_point sent_at) {
  const auto& conf = f.call.conf;
  const auto content_type = ex.head().headers.get("content-type").value_or("");
  const auto framing = providers::native_stream_framing(nc, content_type);
  std::unique_ptr<providers::native_usage_stream> reader;
  if (framing != stream::framing::none) {
    reader = providers::make_native_usage_stream(nc, conf, framing);
  } else {
    f.ai.incomplete_reason = "usage not read: upstream stream Content-Type '" +
                             std::string(content_type.substr(0, 100)) + "'";
  }
  if (!co_await f.d.begin_stream(ex.head().status, headers)) {
    f.record.client_aborted = true;
    f.ai.incomplete_reason = "client closed the connection during the stream";
    co_return;
  }
  std::string in;
  bool first = true;
  std::optional<error> upstream_error;
  for (;;) {
    in.clear();
    auto more = co_await ex.read_some(in);
    if (!more) {
      upstream_error = more.error();
      break;
    }
    if (!*more) {
      break;
    }
    if (in.empty()) {
      continue;
    }
    if (reader) {
      reader->feed(in);
    }
    if (!co_await f.d.write_chunk(in)) {
      f.record.client_aborted = true;
      break;
    }
    if (first) {
      f.ai.time_to_first_token_ms = ms_since(sent_at);
      first = false;
    }
  }
  if (reader && !upstream_error && !f.record.client_aborted) {
    reader->finish();
  }
  if (f.record.client_aborted) {
    f.ai.incomplete_reason = "client closed the connection during the stream";
  } else {
    if (upstream_error) {
      // The native framing has no room for a gateway error event: the response is cut off, so
      // the client's SDK reports a broken stream instead of taking it for a complete one.
      f.ai.incomplete_reason = upstream_error->message;
      f.record.error_message = upstream_error->message;
      f.d.abort_response();
    } else {
      if (reader && reader->failure()) {
        f.ai.incomplete_reason = reader->failure()->message;
      }
      co_await f.d.end_stream();
    }
  }
  if (reader) {
    const auto& summary = reader->summary();
    f.ai.usage = summary.usage;
    if (!summary.response_model.empty()) {
      f.ai.response_model = summary.response_model;
    }
    if (f.ai.log_payloads) {
      f.ai.response_payload = std::string(reader->text());
    }
  }
  f.ai.llm_latency_ms = static_cast<std::int64_t>(ms_since(sent_at));
}

}  // namespace

boost::asio::awaitable<void> run_native(http::downstream& d, const ai_proxy_call& call,
                                        worker_services& services,
                                        observability::request_record& record) {
  const auto& conf = call.conf;
  auto& ai = *record.ai;
  native_flow f{d, call, record, ai};

  // 1. Body, within the route's limit.
  auto body = co_await d.read_body(static_cast<std::uint64_t>(conf.max_request_body_size));
  if (!body) {
    co_await f.fail(body.error());
    co_return;
  }
  record.request_size = d.bytes_received();

  // 2. Templates, only when the config has any.
  std::optional<config::model_config> templated;
  auto model_conf = resolved_model(conf, d.head(), call.match, templated);
  if (!model_conf) {
    co_await f.fail(model_conf.error());
    co_return;
  }
  const config::model_config& model_cfg = **model_conf;

  // 3. Map the native request: operation, model, stream, upstream request with auth.
  const auto& head = d.head();
  const providers::native_client_request creq{head.method, call.match.upstream_path, head.query,
                                              head.headers, *body};
  auto mapped = providers::map_native_request(creq, conf, model_cfg);
  if (!mapped) {
    co_await f.fail(mapped.error());
    co_return;
  }
  providers::native_call& nc = *mapped;
  ai.request_model = nc.model;
  ai.request_mode = nc.stream ? "stream" : "oneshot";
  record.upstream_uri = upstream_uri_of(nc.request);
  if (ai.log_payloads) {
    ai.request_payload = loggable_request(nc.request.body, conf.auth);
  }

  // 4. Cloud identities: a Vertex AI bearer token, SigV4 over the final request (Bedrock).
  if (auto id = co_await apply_cloud_identity(nc.request, conf, services, call.timeouts); !id) {
    co_await f.fail(id.error());
    co_return;
  }

  // 5. Call the provider.
  const auto sent_at = clock::now();
  auto exch = co_await services.client->send(nc.request, call.timeouts, sent_at);
  if (!exch) {
    record.upstream_latency_ms = ms_since(sent_at);
    co_await f.fail(exch.error());
    co_return;
  }
  upstream::exchange& ex = **exch;
  const int status = ex.head().status;

  // 6a. Errors pass through with their status, headers and body.
  if (status < 200 || status > 299) {
    co_await pass_upstream_error(d, ex, record, nullptr, sent_at);
    co_return;
  }

  header_list headers = client_headers_from(ex.head().headers, false);
  if (conf.model_name_header) {
    headers.add("X-Kong-LLM-Model",
                std::string(config::to_string(conf.model.provider)) + "/" + nc.model);
  }

  // 6b. Streams, relayed chunk by chunk.
  if (nc.stream) {
    co_await relay_stream(f, nc, ex, std::move(headers), sent_at);
    record.upstream_latency_ms = ms_since(sent_at);
    ai.cost = cost_of(ai.usage, model_cfg.options);
    co_return;
  }

  // 6c. Whole responses.
  auto resp_body = co_await ex.read_all(max_response_body_bytes);
  record.upstream_latency_ms = ms_since(sent_at);
  ai.llm_latency_ms = static_cast<std::int64_t>(record.upstream_latency_ms);
  ai.time_to_first_token_ms = record.upstream_latency_ms;
  if (!resp_body) {
    co_await f.fail(resp_body.error());
    co_return;
  }
  const auto summary = providers::native_response_summary(nc, conf, *resp_body, ex.head().headers);
  ai.usage = summary.usage;
  ai.response_model = summary.response_model;
  ai.cost = cost_of(ai.usage, model_cfg.options);
  if (ai.log_payloads) {
    ai.response_payload = *resp_body;
  }
  co_await d.respond(status, headers, std::move(*resp_body));
}

}  // namespace aiproxy::plugins
