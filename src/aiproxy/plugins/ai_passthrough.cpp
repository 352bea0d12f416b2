// The OpenAI API family beyond chat, completions and embeddings (responses, files, batches,
// assistants, audio, images, videos): requests proxied to OpenAI or Azure with auth injected and
// paths mapped, multipart uploads relayed upstream as they arrive and other bodies read whole
// (both within max_request_body_size), responses relayed to the client as they arrive (audio,
// file contents, SSE), usage read where the API reports it without altering a byte. Stages: map
// path -> body (model checks; streamed for multipart) -> auth -> cloud identity -> upstream ->
// relay (scan SSE events / a bounded copy of a JSON body) -> record.

#include "aiproxy/plugins/ai_passthrough.hpp"

#include "aiproxy/json/rewrite.hpp"
#include "aiproxy/json/writer.hpp"
#include "aiproxy/plugins/ai_images.hpp"
#include "aiproxy/plugins/flow_support.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/multipart_stream.hpp"
#include "aiproxy/providers/openai_api_family.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/request_validation.hpp"
#include "aiproxy/stream/decoder.hpp"
#include "aiproxy/upstream/client.hpp"

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

/// The model and stream flag of a whole body, after the model checks of a JSON create call
/// (multipart bodies are streamed: see multipart_upload).
struct prepared_body {
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
  }
  return out;
}

/// The body of a multipart/form-data call relayed to the upstream as it arrives: pieces read
/// from the client within the route's limit, scanned (when the body carries the model) for the
/// `model` and `stream` fields. A client model that is not the configured one, a `stream` the
/// route denies, or broken framing fails the source, which aborts the upstream request before
/// the body is complete (the scanner holds the closing delimiter back until the end); the
/// configured model is added as a last part when the client sent none.
class multipart_upload final : public upstream::body_source {
 public:
  /// Read ahead before the head goes upstream, waiting for the model field: a small upload is
  /// then sent with its length, and a wrong model sent first costs no upstream request.
  static constexpr std::size_t max_primed_bytes = 64 * 1024;

  multipart_upload(http::downstream& d, std::uint64_t limit, const std::string& boundary,
                   bool model_in_body, std::string_view configured_model, bool deny_stream)
      : d_(d),
        limit_(limit),
        configured_(configured_model),
        deny_stream_(deny_stream),
        declared_(d.declared_body_length()) {
    if (model_in_body) {
      scanner_.emplace(boundary, std::vector<std::string>{"model", "stream"});
    }
  }

  /// Reads the start of the body (at least one piece; more, within max_primed_bytes, until the
  /// model question is settled). Fails as next() does, before anything went upstream.
  asio::awaitable<result<void>> prime() {
    std::string primed;
    for (;;) {
      auto piece = co_await read();
      if (!piece) {
        co_return piece.error();
      }
      primed.append(*piece);
      if (done_ || !scanner_ || settled() || primed.size() >= max_primed_bytes) {
        break;
      }
    }
    primed_ = std::move(primed);
    co_return result<void>{};
  }

  asio::awaitable<result<std::string_view>> next() override {
    if (primed_) {
      out_ = std::move(*primed_);
      primed_.reset();
      emitted_ += out_.size();
      co_return std::string_view(out_);
    }
    auto piece = co_await read();
    if (piece) {
      emitted_ += piece->size();
    }
    co_return piece;
  }

  std::optional<std::uint64_t> length() const noexcept override {
    if (done_) {
      return emitted_;  // the whole body was read ahead
    }
    if (!declared_ || (scanner_ && !settled())) {
      return std::nullopt;  // the configured model may still have to be added
    }
    return declared_;
  }

  /// Why the body was refused: the client's answer (400, 408, 413), when the source failed.
  const std::optional<error>& failure() const noexcept { return failure_; }
  /// The model the upstream is asked for, once known (empty when neither side named one).
  const std::string& model() const noexcept { return model_; }
  bool stream() const noexcept { return stream_; }

 private:
  /// True when the forwarded body can no longer differ in length from the client's.
  bool settled() const noexcept { return configured_.empty() || model_checked_; }

  result<std::string_view> refuse(error e) {
    failure_ = e;
    return e;
  }

  /// Takes in what the scanner captured so far; fails on a refused model or stream.
  result<void> check_fields() {
    using state = providers::multipart_scanner::field_state;
    if (!model_checked_) {
      const auto st = scanner_->state("model");
      if (st == state::complete || st == state::too_long) {
        model_checked_ = true;
        const std::string_view client = st == state::complete
                                            ? std::string_view(*scanner_->value("model"))
                                            : std::string_view("(a model name over 256 bytes)");
        if (!configured_.empty() || st == state::complete) {
          auto resolved = providers::resolve_model_name(configured_, client);
          if (!resolved) {
            return resolved.error();
          }
          model_ = std::move(*resolved);
        }
      }
    }
    if (!stream_checked_) {
      const auto st = scanner_->state("stream");
      if (st == state::complete || st == state::too_long) {
        stream_checked_ = true;
        stream_ = st == state::complete && *scanner_->value("stream") == "true";
        if (stream_ && deny_stream_) {
          return error::bad_request("response streaming is not enabled for this LLM");
        }
      }
    }
    return {};
  }

  /// The next bytes for the upstream (never empty until the body ended).
  asio::awaitable<result<std::string_view>> read() {
    for (;;) {
      if (done_) {
        co_return std::string_view();
      }
      auto piece = co_await d_.read_body_part(limit_);
      if (!piece) {
        co_return refuse(piece.error());
      }
      if (!scanner_) {
        done_ = piece->empty();
        co_return *piece;
      }
      if (piece->empty()) {  // the end: settle the model, then release the closing delimiter
        if (auto c = check_fields(); !c) {
          co_return refuse(c.error());
        }
        if (!model_checked_ && !configured_.empty()) {
          if (!scanner_->add_field("model", configured_)) {
            co_return refuse(
                error::bad_request("cannot add the configured model to the multipart body"));
          }
          model_ = configured_;
          model_checked_ = true;
        }
        auto tail = scanner_->finish();
        if (!tail) {
          co_return refuse(tail.error());
        }
        done_ = true;
        co_return *tail;
      }
      auto out = scanner_->feed(*piece);
      if (!out) {
        co_return refuse(out.error());
      }
      if (auto c = check_fields(); !c) {
        co_return refuse(c.error());
      }
      if (!out->empty()) {
        co_return *out;
      }
    }
  }

  http::downstream& d_;
  std::uint64_t limit_;
  std::string configured_;
  bool deny_stream_;
  std::optional<std::uint64_t> declared_;
  std::optional<providers::multipart_scanner> scanner_;
  std::optional<std::string> primed_;
  std::string out_;
  std::uint64_t emitted_ = 0;
  bool done_ = false;
  bool model_checked_ = false;
  bool stream_checked_ = false;
  bool stream_ = false;
  std::string model_;
  std::optional<error> failure_;
};

/// Multipart bodies of calls that carry one are streamed; everything else is read whole.
bool streams_body(std::string_view method, const std::optional<std::string>& boundary) {
  return boundary && (method == "POST" || method == "PUT" || method == "PATCH");
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
  auto model_conf = resolved_model(conf, head, call.match, templated);
  if (!model_conf) {
    co_await f.fail(model_conf.error());
    co_return;
  }
  const config::model_config& model_cfg = **model_conf;

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

  const std::string_view content_type = head.headers.get("content-type").value_or("");
  const auto boundary = providers::multipart_boundary(content_type);
  const auto limit = static_cast<std::uint64_t>(conf.max_request_body_size);

  // The upstream request: the client's headers (OpenAI-Beta included), its Content-Type
  // (multipart boundary kept), the configured auth.
  providers::upstream_request up;
  up.method = target->method;
  up.headers.reserve(head.headers.size() + 4);
  providers::forward_client_headers(head.headers, up.headers);
  if (!content_type.empty()) {
    up.headers.set("Content-Type", content_type);
  }
  up.headers.set("Accept-Encoding", "identity");
  up.scheme = target->ep.scheme;
  up.host = target->ep.host;
  up.port = target->ep.port;
  up.framing = stream::framing::sse;
  if (conf.model.provider == config::provider_kind::azure) {
    ai.azure_instance_id = model_cfg.options.azure_instance;
    ai.azure_deployment_id = model_cfg.options.azure_deployment_id;
    ai.azure_api_version = model_cfg.options.azure_api_version;
  }

  result<std::unique_ptr<upstream::exchange>> exch = error::internal("no upstream call");
  clock::time_point sent_at;
  if (streams_body(head.method, boundary)) {
    // 3a. A multipart upload goes upstream as it arrives, within the route's limit (413 past
    // it, the upstream request aborted); the model checks run on the fields as they pass.
    multipart_upload upload(d, limit, *boundary, target->model_in_body, model_cfg.name,
                            conf.response_streaming == config::streaming_policy::deny);
    if (auto primed = co_await upload.prime(); !primed) {
      record.request_size = d.bytes_received();
      co_await f.fail(primed.error());
      co_return;
    }
    ai.request_model = !upload.model().empty() ? upload.model() : model_cfg.name;
    const boost::json::object no_body;
    (void)providers::apply_auth(conf.auth, up.headers, target->ep.query, no_body);
    up.target = target->ep.target();
    record.upstream_uri = upstream_uri_of(up);
    if (auto id = co_await apply_cloud_identity(up, conf, services, call.timeouts); !id) {
      record.request_size = d.bytes_received();
      co_await f.fail(id.error());
      co_return;
    }
    sent_at = clock::now();
    exch = co_await services.client->send_streamed(up, upload, call.timeouts);
    record.request_size = d.bytes_received();
    if (!upload.model().empty()) {
      ai.request_model = upload.model();
    }
    if (!exch && upload.failure()) {
      co_await f.fail(*upload.failure());
      co_return;
    }
  } else {
    // 3b. Any other body is read whole within the route's limit (413 over it), then the model
    // checks of create calls.
    auto body = co_await d.read_body(limit);
    if (!body) {
      co_await f.fail(body.error());
      co_return;
    }
    record.request_size = d.bytes_received();
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

    const boost::json::object no_body;
    const auto body_auth = providers::apply_auth(conf.auth, up.headers, target->ep.query,
                                                 parsed != nullptr ? *parsed : no_body);
    up.target = target->ep.target();
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
    } else {
      up.body.assign(body->data(), body->size());
    }
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
    sent_at = clock::now();
    exch = co_await services.client->send(up, call.timeouts, sent_at);
  }
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
