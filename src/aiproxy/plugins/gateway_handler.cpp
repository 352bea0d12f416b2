// Route matching, plugin chain dispatch, the plain service proxy, and the one log emission per
// request (access log, file-log plugins, metrics).

#include "aiproxy/plugins/gateway_handler.hpp"

#include "aiproxy/observability/log_format.hpp"
#include "aiproxy/plugins/ai_proxy.hpp"
#include "aiproxy/plugins/ai_proxy_advanced.hpp"
#include "aiproxy/upstream/client.hpp"

#include <chrono>

namespace aiproxy::plugins {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

upstream::timeouts timeouts_for(const config::gateway_config& cfg, const config::route& route) {
  upstream::timeouts t;
  if (route.service) {
    const auto& s = cfg.services[*route.service];
    t.connect = std::chrono::milliseconds(s.connect_timeout_ms);
    t.write = std::chrono::milliseconds(s.write_timeout_ms);
    t.read = std::chrono::milliseconds(s.read_timeout_ms);
  }
  return t;
}

bool is_hop_by_hop(std::string_view name) {
  static constexpr header_name_set hop_by_hop({"connection", "keep-alive", "proxy-connection",
                                               "transfer-encoding", "te", "trailer", "upgrade",
                                               "content-length", "host", "expect"});
  return hop_by_hop.contains(name);
}

/// A route with a service and no ai-proxy: forward the request as it is, stream the answer back.
asio::awaitable<void> proxy_to_service(http::downstream& d, const config::service& service,
                                       const config::route& route, const config::route_match& match,
                                       const upstream::timeouts& timeouts,
                                       worker_services& services,
                                       observability::request_record& record) {
  auto body = co_await d.read_body(0);
  if (!body) {
    record.error_message = body.error().message;
    co_await http::send_error(d, body.error());
    co_return;
  }
  record.request_size = d.bytes_received();
  const auto& head = d.head();
  providers::upstream_request req;
  req.method = head.method;
  req.scheme = service.protocol;
  req.host = service.host;
  req.port = service.port;
  req.target = match.upstream_path;  // the service path joined with the (stripped) request path
  if (!head.query.empty()) {
    req.target.append("?").append(head.query);
  }
  for (const auto& [name, value] : head.headers.fields()) {
    if (!is_hop_by_hop(name)) {
      req.headers.add(name, value);
    }
  }
  if (route.preserve_host) {
    req.host_header = std::string(head.headers.get("host").value_or(""));
  }
  req.body = std::string(*body);
  record.upstream_uri = req.scheme + "://" + req.host + ":" + std::to_string(req.port) + req.target;

  const auto sent_at = clock::now();
  auto exch = co_await services.client->send(req, timeouts, sent_at);
  if (!exch) {
    record.upstream_latency_ms =
        std::chrono::duration<double, std::milli>(clock::now() - sent_at).count();
    record.error_message = exch.error().message;
    co_await http::send_error(d, exch.error());
    co_return;
  }
  auto& ex = **exch;
  header_list headers;
  for (const auto& [name, value] : ex.head().headers.fields()) {
    if (!is_hop_by_hop(name)) {
      headers.add(name, value);
    }
  }
  if (!co_await d.begin_stream(ex.head().status, headers)) {
    record.client_aborted = true;
    co_return;
  }
  std::string chunk;
  for (;;) {
    chunk.clear();
    auto more = co_await ex.read_some(chunk);
    if (!more) {
      record.error_message = more.error().message;
      break;  // the client sees a truncated body, as from any proxy
    }
    if (!*more) {
      co_await d.end_stream();
      break;
    }
    if (!co_await d.write_chunk(chunk)) {
      record.client_aborted = true;
      break;
    }
  }
  record.upstream_latency_ms =
      std::chrono::duration<double, std::milli>(clock::now() - sent_at).count();
}

}  // namespace

asio::awaitable<void> gateway_handler::handle(http::downstream& d) {
  const auto started = clock::now();
  const auto snapshot = services_.current_config();
  const auto& cfg = snapshot->config;
  const auto& head = d.head();

  observability::request_record record;
  record.logged = !services_.access_log.empty();  // and the route's loggers, once matched
  record.method = head.method;
  record.uri = head.target;
  record.host = head.host;
  record.client_ip = head.client_address;

  const config::plugin_chain* chain = nullptr;
  auto match = snapshot->router.match(head.method, head.host, head.path, head.headers);
  if (!match) {
    record.error_message = "no Route matched with those values";
    co_await http::send_error(d, error::not_found("no Route matched with those values"));
  } else {
    const auto& route = cfg.routes[match->route];
    chain = &cfg.chains[match->route];
    record.logged = record.logged || !chain->loggers.empty();
    record.route_id = route.id;
    record.route_name = route.name;
    if (route.service) {
      record.service_id = cfg.services[*route.service].id;
      record.service_name = cfg.services[*route.service].name;
    }
    const auto timeouts = timeouts_for(cfg, route);
    if (chain->ai_proxy) {
      const auto& plugin = cfg.plugins[*chain->ai_proxy];
      if (const auto* conf = std::get_if<config::ai_proxy_config>(&plugin.config)) {
        const ai_proxy_call call{*conf, plugin.id, *match, timeouts};
        co_await run_ai_proxy(d, call, services_, record);
      } else {
        const ai_proxy_advanced_call call{std::get<config::ai_proxy_advanced_config>(plugin.config),
                                          plugin.id, *match};
        co_await run_ai_proxy_advanced(d, call, services_, record);
      }
    } else if (route.service) {
      co_await proxy_to_service(d, cfg.services[*route.service], route, *match, timeouts, services_,
                                record);
    } else {
      co_await http::send_error(d, error::internal("route has no service and no ai-proxy plugin"));
    }
  }

  // Log phase: exactly once per request.
  record.request_headers = &head.headers;
  record.status = d.response_status();
  record.response_size = d.bytes_sent();
  const auto ended = clock::now();
  record.request_latency_ms = std::chrono::duration<double, std::milli>(ended - started).count();
  if (record.request_size == 0) {
    record.request_size = d.bytes_received();
  }
  services_.metrics->count_request(record.route_name.empty() ? record.route_id : record.route_name,
                                   record.status);
  if (record.ai) {
    const auto& ai = *record.ai;
    services_.metrics->observe_ai(ai.provider_name, ai.request_model, ai.request_mode, ai.usage,
                                  ai.cost, static_cast<double>(ai.llm_latency_ms));
  }
  if (record.logged) {
    // The wall-clock start only log lines show: read once here, not for every request.
    record.started_at =
        std::chrono::system_clock::now() -
        std::chrono::duration_cast<std::chrono::system_clock::duration>(ended - started);
  }
  if (!services_.access_log.empty()) {
    record.user_agent = head.headers.get("user-agent").value_or("");
    services_.logs->push(services_.index, services_.access_log,
                         observability::format_access_log(record));
  }
  if (chain != nullptr && !chain->loggers.empty()) {
    std::string line = observability::format_json_log(record);
    for (std::size_t i : chain->loggers) {
      const auto& fl = std::get<config::file_log_config>(cfg.plugins[i].config);
      services_.logs->push(services_.index, fl.path, line, fl.reopen);
    }
  }
}

}  // namespace aiproxy::plugins
