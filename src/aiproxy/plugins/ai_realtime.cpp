// realtime/v1/realtime: a client WebSocket relayed to the provider's realtime endpoint (wss),
// auth injected, frames relayed both ways unbuffered, usage read from response.done events.
// Order: upgrade check -> model -> endpoint (OpenAI or Azure) and headers -> auth, cloud
// identity -> upstream handshake (errors answered over HTTP) -> client 101 -> two relay
// coroutines and an idle watchdog -> usage, cost. May touch: the downstream, the upstream
// WebSocket client of this thread, the request's log record.

#include "aiproxy/plugins/ai_realtime.hpp"

#include "aiproxy/json/usage_reader.hpp"
#include "aiproxy/plugins/flow_support.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/upstream_url.hpp"
#include "aiproxy/upstream/websocket_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <array>
#include <memory>

namespace aiproxy::plugins {

namespace asio = boost::asio;
using clock = flow_clock;

namespace {

constexpr std::size_t max_message_bytes = 16 * 1024 * 1024;

/// The worker's upstream WebSocket client (the server's --ca-file and --tls-verify apply); a
/// default one (verification on, system CAs) when the services have none, as in unit tests.
upstream::websocket_client& websocket_client_of(worker_services& services) {
  if (services.websocket != nullptr) {
    return *services.websocket;
  }
  thread_local upstream::websocket_client c{upstream::client_options{}};
  return c;
}

/// Client request headers that go upstream (the rest, the client's own key above all, stay).
bool forwarded_header(std::string_view name) {
  static constexpr std::string_view names[] = {"openai-beta",    "openai-organization",
                                               "openai-project", "openai-safety-identifier",
                                               "x-request-id",   "user-agent"};
  for (auto n : names) {
    if (iequals(n, name)) {
      return true;
    }
  }
  return false;
}

/// Upstream handshake answer headers that reach the client's 101.
bool returned_header(std::string_view name) {
  return name.size() > 2 && (iequals(name.substr(0, 2), "x-") ||
                             (name.size() > 7 && iequals(name.substr(0, 7), "openai-")));
}

bool has_static_auth(const config::auth_config& a) {
  return !a.header_name.empty() || !a.param_name.empty() || a.gcp_use_service_account ||
         !a.aws_access_key_id.empty() || a.azure_use_managed_identity ||
         !a.azure_client_secret.empty();
}

error realtime_error(int status, std::string message, std::string code = {}) {
  return error{status, std::move(message), "invalid_request_error", std::move(code)};
}

/// Adds `response.usage` of a response.done event (OpenAI Realtime: input_tokens,
/// output_tokens, total_tokens, input_token_details.cached_tokens) to `u`; reads the session's
/// model from session.created / session.updated. Text frames only; a cheap substring check
/// first, so audio deltas are never parsed.
void scan_server_event(std::string_view data, observability::ai_record& ai) {
  const bool done = data.find("\"response.done\"") != std::string_view::npos;
  const bool session = !done && (data.find("\"session.created\"") != std::string_view::npos ||
                                 data.find("\"session.updated\"") != std::string_view::npos);
  if (!done && !session) {
    return;
  }
  std::array<unsigned char, 4096> stack;
  boost::json::monotonic_resource arena(stack.data(), stack.size());
  boost::system::error_code ec;
  auto v = boost::json::parse(data, ec, &arena);
  const auto* obj = ec ? nullptr : v.if_object();
  if (obj == nullptr) {
    return;
  }
  const auto* type = obj->if_contains("type");
  if (type == nullptr || !type->is_string()) {
    return;
  }
  auto member = [](const boost::json::object* o, std::string_view k) -> const boost::json::object* {
    if (o == nullptr) {
      return nullptr;
    }
    const auto* m = o->if_contains(k);
    return m != nullptr ? m->if_object() : nullptr;
  };
  auto count = [](const boost::json::object* o, std::string_view k, std::int64_t& out) {
    out = 0;
    const auto* m = o != nullptr ? o->if_contains(k) : nullptr;
    return m != nullptr && json::read_count(*m, out);
  };
  if (type->get_string() == "response.done") {
    const auto* usage = member(member(obj, "response"), "usage");
    if (usage == nullptr) {
      return;
    }
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t total = 0;
    std::int64_t cached = 0;
    const bool has_in = count(usage, "input_tokens", in);
    const bool has_out = count(usage, "output_tokens", out);
    const bool has_total = count(usage, "total_tokens", total);
    count(member(usage, "input_token_details"), "cached_tokens", cached);
    if (!has_in && !has_out && !has_total) {
      return;
    }
    ai.usage.prompt_tokens += in;
    ai.usage.completion_tokens += out;
    ai.usage.total_tokens += has_total ? total : in + out;
    ai.usage.cached_tokens += cached;
    ai.usage.known = true;
    return;
  }
  if (type->get_string() == "session.created" || type->get_string() == "session.updated") {
    if (const auto* s = member(obj, "session")) {
      if (const auto* m = s->if_contains("model"); m != nullptr && m->is_string()) {
        ai.response_model = std::string(m->get_string());
      }
    }
  }
}

/// The relay of one session: client -> upstream and upstream -> client, message by message,
/// each direction paced by its writer, plus a watchdog that closes both sides when neither
/// sent anything for `idle`.
struct relay {
  http::websocket& client;
  http::websocket& upstream;
  observability::request_record& record;
  observability::ai_record& ai;
  std::chrono::milliseconds idle;
  asio::steady_timer watchdog;
  clock::time_point last_activity = clock::now();
  int running = 2;
  bool first_upstream_message = true;
  clock::time_point started = clock::now();

  asio::awaitable<void> pump(bool from_upstream) {
    http::websocket& from = from_upstream ? upstream : client;
    http::websocket& to = from_upstream ? client : upstream;
    const char* from_name = from_upstream ? "upstream" : "client";
    for (;;) {
      auto m = co_await from.read();
      if (!m) {
        // The connection failed (reset, timeout, message too big): the other side goes away.
        if (from_upstream) {
          note(m.error().message);
        } else {
          record.client_aborted = true;
        }
        co_await to.close(http::ws_code::going_away,
                          std::string(from_name) + " connection ended without a close frame");
        break;
      }
      if (!*m) {
        // A clean close: pass its status on.
        const auto pc = from.peer_close().value_or(http::ws_close{});
        co_await to.close(pc.code, pc.reason);
        break;
      }
      last_activity = clock::now();
      if (from_upstream) {
        if (first_upstream_message) {
          first_upstream_message = false;
          ai.time_to_first_token_ms = ms_since(started);
        }
        if (!(*m)->binary) {
          scan_server_event((*m)->data, ai);
        }
      }
      if (auto w = co_await to.write((*m)->data, (*m)->binary); !w) {
        if (from_upstream) {
          record.client_aborted = true;
        } else {
          note(w.error().message);
        }
        co_await from.close(
            http::ws_code::going_away,
            std::string(from_upstream ? "client" : "upstream") + " connection ended");
        break;
      }
    }
    if (--running == 0) {
      watchdog.cancel();
    }
  }

  asio::awaitable<void> watch() {
    for (;;) {
      watchdog.expires_at(last_activity + idle);
      co_await watchdog.async_wait(asio::as_tuple(asio::use_awaitable));
      if (running == 0) {
        co_return;
      }
      if (clock::now() >= last_activity + idle) {
        note("realtime session idle for " + std::to_string(idle.count()) + " ms");
        co_await client.close(http::ws_code::going_away, "idle timeout");
        co_await upstream.close(http::ws_code::going_away, "idle timeout");
        co_return;
      }
    }
  }

  void note(const std::string& message) {
    if (record.error_message.empty()) {
      record.error_message = message;
      ai.incomplete_reason = message;
    }
  }
};

}  // namespace

boost::asio::awaitable<void> run_realtime(http::downstream& d, const ai_proxy_call& call,
                                          worker_services& services,
                                          observability::request_record& record) {
  const auto& conf = call.conf;
  auto& ai = *record.ai;
  ai.request_mode = "realtime";
  auto fail = [&](const error& e) -> asio::awaitable<void> {
    record.error_message = e.message;
    co_await http::send_error(d, e);
  };

  // 1. Only a WebSocket upgrade is served here.
  if (!d.wants_websocket()) {
    const error e =
        realtime_error(426,
                       "realtime/v1/realtime routes take a WebSocket: send an HTTP/1.1 GET with "
                       "'Connection: Upgrade' and 'Upgrade: websocket'",
                       "websocket_upgrade_required");
    record.error_message = e.message;
    header_list h = http::json_headers();
    h.add("Upgrade", "websocket");
    co_await d.respond(e.status, h, e.to_json());
    co_return;
  }
  const auto kind = conf.model.provider;
  if (kind != config::provider_kind::openai && kind != config::provider_kind::azure) {
    co_await fail(realtime_error(400, "provider " + std::string(config::to_string(kind)) +
                                          " has no realtime API; use openai or azure"));
    co_return;
  }

  // 2. The model: the configured name (templates resolved) replaces the client's ?model=.
  request_template_source source(d.head(), call.match);
  std::optional<config::model_config> templated;
  auto model_conf = resolved_model(conf, d.head(), call.match, templated);
  if (!model_conf) {
    co_await fail(model_conf.error());
    co_return;
  }
  const config::model_config& model_cfg = **model_conf;
  const auto& opt = model_cfg.options;
  ai.request_model = !model_cfg.name.empty()
                         ? model_cfg.name
                         : std::string(source.query_param("model").value_or(std::string_view()));

  // 3. Endpoint: OpenAI wss://api.openai.com/v1/realtime?model=M; Azure (preview)
  // wss://{instance}.openai.azure.com/openai/realtime?api-version=V&deployment=D, or with
  // azure_api_version "v1" (GA) /openai/v1/realtime?model=D.
  providers::endpoint ep;
  if (kind == config::provider_kind::openai) {
    ep.host = "api.openai.com";
    ep.path = "/v1/realtime";
    if (!model_cfg.name.empty()) {
      ep.query.set("model", model_cfg.name, providers::query_builder::origin::pinned);
    }
  } else {
    if (opt.azure_instance.empty() || opt.azure_deployment_id.empty()) {
      co_await fail(error::internal(
          "azure realtime needs model.options.azure_instance and azure_deployment_id"));
      co_return;
    }
    ep.host = opt.azure_instance + ".openai.azure.com";
    if (opt.azure_api_version == "v1") {
      ep.path = "/openai/v1/realtime";
      ep.query.set("model", opt.azure_deployment_id, providers::query_builder::origin::pinned);
    } else {
      ep.path = "/openai/realtime";
      if (!opt.azure_api_version.empty()) {
        ep.query.set("api-version", opt.azure_api_version,
                     providers::query_builder::origin::provider_default);
      }
      ep.query.set("deployment", opt.azure_deployment_id, providers::query_builder::origin::pinned);
    }
    ai.azure_instance_id = opt.azure_instance;
    ai.azure_deployment_id = opt.azure_deployment_id;
    ai.azure_api_version = opt.azure_api_version;
    if (ai.request_model.empty()) {
      ai.request_model = opt.azure_deployment_id;
    }
  }
  if (!opt.upstream_url.empty()) {
    if (auto r = providers::apply_upstream_url(ep, opt.upstream_url); !r) {
      co_await fail(r.error());
      co_return;
    }
  }
  if (auto r = ep.query.add_client_query(d.head().query); !r) {
    co_await fail(r.error());
    co_return;
  }

  // 4. Headers and auth. Only a few client headers go upstream; the client's own key only when
  // the route holds no credentials at all (or allow_override lets it replace the configured one).
  providers::upstream_request up;
  up.method = "GET";
  up.scheme = ep.scheme;
  up.host = ep.host;
  up.port = ep.port;
  up.target = ep.target();
  const bool byo_key = !has_static_auth(conf.auth);
  for (const auto& [name, value] : d.head().headers.fields()) {
    if (forwarded_header(name) ||
        (byo_key && (iequals(name, "authorization") || iequals(name, "api-key"))) ||
        (!conf.auth.header_name.empty() && iequals(name, conf.auth.header_name))) {
      up.headers.add(name, value);
    }
  }
  const boost::json::object no_body;
  if (auto body_field = providers::apply_auth(conf.auth, up.headers, ep.query, no_body)) {
    co_await fail(error::internal("auth.param_location body cannot be used on a realtime route"));
    co_return;
  }
  up.target = ep.target();  // query auth, if any
  if (auto id = co_await apply_cloud_identity(up, conf, services, call.timeouts); !id) {
    co_await fail(id.error());
    co_return;
  }
  record.upstream_uri = upstream_uri_of(up);
  if (record.upstream_uri.starts_with("https://")) {
    record.upstream_uri.replace(0, 5, "wss");
  } else if (record.upstream_uri.starts_with("http://")) {
    record.upstream_uri.replace(0, 4, "ws");
  }

  // 5. The upstream handshake; its failures are still HTTP answers to the client.
  const auto sent_at = clock::now();
  upstream::websocket_limits limits;
  limits.max_message_bytes = max_message_bytes;
  auto conn = co_await websocket_client_of(services).connect(up, call.timeouts, limits);
  record.upstream_latency_ms = ms_since(sent_at);
  if (!conn) {
    co_await fail(conn.error());
    co_return;
  }
  if (!conn->socket) {
    record.error_message =
        "upstream declined the WebSocket upgrade with " + std::to_string(conn->status);
    co_await d.respond(conn->status, client_headers_from(conn->headers, false),
                       std::move(conn->body));
    co_return;
  }
  http::websocket& upstream_ws = *conn->socket;

  // 6. The client's 101.
  header_list extra;
  for (const auto& [name, value] : conn->headers.fields()) {
    if (returned_header(name)) {
      extra.add(name, value);
    }
  }
  if (conf.model_name_header && !ai.request_model.empty()) {
    extra.add("X-Kong-LLM-Model", std::string(config::to_string(kind)) + "/" + ai.request_model);
  }
  auto accepted = co_await d.accept_websocket(extra);
  if (!accepted) {
    co_await upstream_ws.close(http::ws_code::going_away, "client handshake failed");
    if (d.response_started()) {
      record.error_message = accepted.error().message;
      record.client_aborted = true;
    } else {
      co_await fail(accepted.error());
    }
    co_return;
  }
  http::websocket& client_ws = **accepted;

  // 7. Relay until both directions ended.
  using namespace asio::experimental::awaitable_operators;
  relay r{client_ws, upstream_ws,        record,
          ai,        call.timeouts.read, asio::steady_timer(co_await asio::this_coro::executor)};
  co_await (r.pump(false) && r.pump(true) && r.watch());

  ai.llm_latency_ms = static_cast<std::int64_t>(ms_since(r.started));
  ai.cost = cost_of(ai.usage, model_cfg.options);
}

}  // namespace aiproxy::plugins
