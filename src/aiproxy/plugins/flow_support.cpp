// Shared pieces of the AI request flows (see flow_support.hpp).

#include "aiproxy/plugins/flow_support.hpp"

#include "aiproxy/upstream/cloud_identity.hpp"
#include "aiproxy/upstream/sigv4.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse_query.hpp>

#include <charconv>
#include <cstdlib>

namespace aiproxy::plugins {

namespace asio = boost::asio;

result<const config::model_config*> resolved_model(const config::ai_proxy_config& conf,
                                                   const http::request_head& head,
                                                   const config::route_match& match,
                                                   std::optional<config::model_config>& holder) {
  if (!conf.has_templates) {
    return &conf.model;
  }
  request_template_source source(head, match);
  auto resolved = config::resolve_model(conf.model, source);
  if (!resolved) {
    return resolved.error();
  }
  holder = std::move(*resolved);
  return &*holder;
}

request_template_source::request_template_source(const http::request_head& head,
                                                 const config::route_match& match)
    : head_(head), match_(match) {
  if (auto params = boost::urls::parse_query(head.query)) {
    for (auto p : *params) {
      query_.emplace_back(p.key, p.value);
    }
  }
}

std::optional<std::string_view> request_template_source::header(std::string_view name) const {
  return head_.headers.get(name);
}

std::optional<std::string_view> request_template_source::uri_capture(std::string_view name) const {
  for (const auto& [k, v] : match_.uri_captures) {
    if (k == name) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> request_template_source::query_param(std::string_view name) const {
  for (const auto& [k, v] : query_) {
    if (k == name) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

namespace {

// Hop-by-hop and framing headers, cookies, and Content-Encoding (the body is inflated).
constexpr header_name_set not_for_clients({"connection", "keep-alive", "proxy-connection",
                                           "transfer-encoding", "te", "trailer", "upgrade",
                                           "content-length", "set-cookie", "content-encoding"});

bool not_for_client(std::string_view name, bool drop_content_type) {
  return not_for_clients.contains(name) || (drop_content_type && iequals(name, "content-type"));
}

}  // namespace

header_list client_headers_from(const header_list& upstream, bool drop_content_type) {
  header_list out;
  out.reserve(upstream.size() + 2);
  for (const auto& [name, value] : upstream.fields()) {
    if (!not_for_client(name, drop_content_type)) {
      out.add(name, value);
    }
  }
  return out;
}

header_list client_headers_from(header_list&& upstream, bool drop_content_type) {
  header_list out = std::move(upstream);
  out.erase_if(
      [&](const header_list::field& f) { return not_for_client(f.first, drop_content_type); });
  return out;
}

bool is_event_stream(std::string_view content_type, stream::framing framing) {
  auto has = [&](std::string_view needle) {
    return content_type.find(needle) != std::string_view::npos;
  };
  switch (framing) {
    case stream::framing::sse:
      return has("text/event-stream");
    case stream::framing::ndjson:
      return has("ndjson") || has("json");
    case stream::framing::json_array:
      return has("json");
    case stream::framing::aws_eventstream:
      return has("vnd.amazon.eventstream");
    case stream::framing::none:
      return false;
  }
  return false;
}

double cost_of(const json::usage& u, const config::model_options& o) {
  if (!o.input_cost || !o.output_cost) {
    return 0;
  }
  return (static_cast<double>(u.prompt_tokens) * *o.input_cost +
          static_cast<double>(u.completion_tokens) * *o.output_cost) /
         1e6;
}

std::string loggable_request(const std::string& body, const config::auth_config& auth) {
  if (auth.param_location != config::param_location::body || auth.param_name.empty()) {
    return body;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return "(unavailable: body holds credentials)";
  }
  if (auto* p = v.as_object().if_contains(auth.param_name)) {
    *p = "REDACTED";
  }
  return boost::json::serialize(v);
}

asio::awaitable<void> sleep_ms(std::int64_t ms) {
  if (ms <= 0) {
    co_return;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(ms));
  co_await timer.async_wait(asio::use_awaitable);
}

void add_stream_headers(header_list& h) {
  h.set("Content-Type", "text/event-stream");
  h.set("Cache-Control", "no-cache");
}

bool needs_cloud_identity(const providers::upstream_request& up,
                          const config::ai_proxy_config& conf,
                          const worker_services& services) noexcept {
  return (upstream::needs_cloud_token(conf) && services.identity != nullptr) ||
         up.aws_sigv4.has_value();
}

asio::awaitable<result<void>> apply_cloud_identity(providers::upstream_request& up,
                                                   const config::ai_proxy_config& conf,
                                                   worker_services& services,
                                                   const upstream::timeouts& timeouts) {
  if (upstream::needs_cloud_token(conf) && services.identity != nullptr) {
    auto token = co_await services.identity->bearer_token(conf, timeouts);
    if (!token) {
      co_return token.error();
    }
    if (!token->empty()) {
      up.headers.set("Authorization", "Bearer " + *token);
    }
  }
  if (up.aws_sigv4) {
    auto creds =
        upstream::aws_credentials_from(conf.auth, [](const char* n) { return std::getenv(n); });
    if (!creds) {
      co_return error::internal(
          "no AWS credentials for provider bedrock: set auth.aws_access_key_id and "
          "auth.aws_secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    upstream::sign_sigv4(up, *creds, up.aws_sigv4->region, up.aws_sigv4->service, now);
  }
  co_return result<void>{};
}

asio::awaitable<void> pass_upstream_error(http::downstream& d, upstream::exchange& ex,
                                          observability::request_record& record,
                                          const providers::provider* normalize,
                                          flow_clock::time_point sent_at) {
  constexpr std::size_t max_error_body_bytes = 4 * 1024 * 1024;
  const int status = ex.head().status;
  auto body = co_await ex.read_all(max_error_body_bytes);
  record.upstream_latency_ms = ms_since(sent_at);
  if (record.ai) {
    record.ai->llm_latency_ms = static_cast<std::int64_t>(record.upstream_latency_ms);
  }
  if (!body) {
    record.error_message = body.error().message;
    co_await http::send_error(d, body.error());
    co_return;
  }
  record.error_message = "upstream answered " + std::to_string(status);
  if (normalize != nullptr) {
    if (auto normalized = normalize->openai_error(status, *body)) {
      header_list h = client_headers_from(ex.head().headers, true);
      h.add("Content-Type", "application/json");
      co_await d.respond(status, h, std::move(*normalized));
      co_return;
    }
  }
  co_await d.respond(status, client_headers_from(ex.head().headers, false), std::move(*body));
}

std::string upstream_uri_of(const providers::upstream_request& up) {
  const bool default_port =
      (up.scheme == "https" && up.port == 443) || (up.scheme == "http" && up.port == 80);
  std::string uri;  // one allocation, not one per concatenation
  uri.reserve(up.scheme.size() + up.host.size() + up.target.size() + 9);
  uri += up.scheme;
  uri += "://";
  uri += up.host;
  if (!default_port) {
    char digits[8];
    uri += ':';
    uri.append(digits, std::to_chars(digits, digits + sizeof digits, up.port).ptr);
  }
  uri += up.target;
  return uri;
}

}  // namespace aiproxy::plugins
