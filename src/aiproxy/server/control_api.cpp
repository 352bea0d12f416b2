// Admin and status endpoints. Nothing here prints a secret: plugin configs are summarised.

#include "aiproxy/server/control_api.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace aiproxy::server {

namespace asio = boost::asio;

namespace {

constexpr std::string_view version = "0.1.0";

asio::awaitable<void> send_json(http::downstream& d, int status, const boost::json::value& v) {
  co_await d.respond(status, http::json_headers(), boost::json::serialize(v));
}

boost::json::object status_object(const control_state& s) {
  auto cfg = s.current_config();
  boost::json::object server;
  server["connections_active"] = s.connections();
  boost::json::object out;
  out["server"] = std::move(server);
  out["configuration_hash"] = cfg->config.source_digest;
  out["workers"] = s.worker_count;
  return out;
}

boost::json::object plugin_summary(const config::gateway_config& cfg,
                                   const config::plugin_instance& p) {
  boost::json::object o;
  o["id"] = p.id;
  o["name"] = p.name;
  o["enabled"] = p.enabled;
  o["route"] = p.route ? boost::json::value(cfg.routes[*p.route].name) : nullptr;
  o["service"] = p.service ? boost::json::value(cfg.services[*p.service].name) : nullptr;
  if (const auto* ai = std::get_if<config::ai_proxy_config>(&p.config)) {
    o["route_type"] = config::to_string(ai->route_type);
    o["provider"] = config::to_string(ai->model.provider);
    o["model"] = ai->model.name;
  } else if (const auto* adv = std::get_if<config::ai_proxy_advanced_config>(&p.config)) {
    // Targets as far as an operator needs them; never auth or Redis credentials.
    o["route_type"] = config::to_string(adv->targets.front().conf.route_type);
    static constexpr const char* algorithms[] = {
        "round-robin",  "consistent-hashing", "least-connections", "lowest-latency",
        "lowest-usage", "priority",           "semantic"};
    o["algorithm"] = algorithms[static_cast<int>(adv->balancer.algorithm)];
    boost::json::array targets;
    for (const auto& t : adv->targets) {
      boost::json::object x;
      x["provider"] = config::to_string(t.conf.model.provider);
      x["model"] = t.conf.model.name;
      x["weight"] = t.weight;
      if (!t.model_alias.empty()) {
        x["model_alias"] = t.model_alias;
      }
      targets.emplace_back(std::move(x));
    }
    o["targets"] = std::move(targets);
  }
  return o;
}

}  // namespace

asio::awaitable<void> admin_handler::handle(http::downstream& d) {
  const auto& head = d.head();
  if (head.method != "GET") {
    const error e = error::method_not_allowed("the admin API is read-only");
    co_await http::send_error(d, e);
    co_return;
  }
  auto snapshot = state_.current_config();
  const auto& cfg = snapshot->config;
  if (head.path == "/") {
    boost::json::object o;
    o["tagline"] = "Welcome to aiproxy";
    o["version"] = version;
    o["configuration_hash"] = cfg.source_digest;
    o["workers"] = state_.worker_count;
    boost::json::array plugins;
    plugins.emplace_back("ai-proxy");
    plugins.emplace_back("ai-proxy-advanced");
    plugins.emplace_back("file-log");
    o["plugins"] = {{"available_on_server", std::move(plugins)}};
    co_await send_json(d, 200, o);
  } else if (head.path == "/routes") {
    boost::json::array data;
    for (const auto& r : cfg.routes) {
      boost::json::array paths;
      for (const auto& p : r.paths) {
        paths.emplace_back(p);
      }
      data.push_back(boost::json::object{{"id", r.id}, {"name", r.name}, {"paths", paths}});
    }
    const boost::json::object o{{"data", data}};
    co_await send_json(d, 200, o);
  } else if (head.path == "/services") {
    boost::json::array data;
    for (const auto& s : cfg.services) {
      data.push_back(boost::json::object{{"id", s.id},
                                         {"name", s.name},
                                         {"protocol", s.protocol},
                                         {"host", s.host},
                                         {"port", s.port},
                                         {"path", s.path}});
    }
    const boost::json::object o{{"data", data}};
    co_await send_json(d, 200, o);
  } else if (head.path == "/plugins") {
    boost::json::array data;
    for (const auto& p : cfg.plugins) {
      data.push_back(plugin_summary(cfg, p));
    }
    const boost::json::object o{{"data", data}};
    co_await send_json(d, 200, o);
  } else if (head.path == "/status") {
    co_await send_json(d, 200, status_object(state_));
  } else {
    const error e = error::not_found("Not found");
    co_await http::send_error(d, e);
  }
}

asio::awaitable<void> status_handler::handle(http::downstream& d) {
  const auto& head = d.head();
  if (head.method != "GET") {
    const error e = error::method_not_allowed("the status API is read-only");
    co_await http::send_error(d, e);
    co_return;
  }
  if (head.path == "/status") {
    co_await send_json(d, 200, status_object(state_));
  } else if (head.path == "/status/ready") {
    const boost::json::object o{{"message", "ready"}};
    co_await send_json(d, 200, o);
  } else if (head.path == "/metrics") {
    header_list h;
    h.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    std::string text = state_.metrics();
    co_await d.respond(200, h, std::move(text));
  } else {
    const error e = error::not_found("Not found");
    co_await http::send_error(d, e);
  }
}

}  // namespace aiproxy::server
