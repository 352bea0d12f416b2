// ai-proxy-advanced: balanced targets with retries and cross-provider failover (see
// ai_proxy_advanced.hpp). The single-target stages live in ai_proxy.cpp; this file only chooses
// targets, decides retries and reports outcomes.

#include "aiproxy/plugins/ai_proxy_advanced.hpp"

#include "aiproxy/core/log.hpp"
#include "aiproxy/plugins/ai_proxy.hpp"
#include "aiproxy/plugins/balancer_registry.hpp"
#include "aiproxy/plugins/flow_support.hpp"
#include "aiproxy/providers/mock.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/provider.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <openssl/sha.h>

#include <chrono>
#include <memory>
#include <random>

namespace aiproxy::plugins {

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_embeddings_body_bytes = 64 * 1024 * 1024;

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t next_random() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

upstream::timeouts timeouts_of(const config::balancer_config& b) {
  upstream::timeouts t;
  t.connect = std::chrono::milliseconds(b.connect_timeout_ms);
  t.write = std::chrono::milliseconds(b.write_timeout_ms);
  t.read = std::chrono::milliseconds(b.read_timeout_ms);
  return t;
}

/// The URI a tried target is logged with: no query string (it may hold an auth parameter).
std::string without_query(const std::string& uri) {
  return uri.substr(0, uri.find('?'));
}

std::string outcome_of(const std::optional<attempt_failure>& failed, int status) {
  if (!failed) {
    return status >= 200 && status < 400 ? "success" : "http_" + std::to_string(status);
  }
  if (failed->upstream_status != 0) {
    return "http_" + std::to_string(failed->upstream_status);
  }
  switch (failed->kind) {
    case upstream_failure::timeout:
      return "timeout";
    case upstream_failure::invalid_header:
      return "invalid_header";
    case upstream_failure::error:
      return "error";
    case upstream_failure::none:
      break;
  }
  return "refused";  // the gateway refused the request for this target (e.g. a 400)
}

/// Whether a failure counts against the target's circuit breaker: transport errors, timeouts and
/// invalid answers always do; an HTTP status does when it is a failover criterion, except 403 and
/// 404 (the target is healthy, the request is not).
bool counts_as_failure(const attempt_failure& f, std::uint32_t criteria) {
  const std::uint32_t c = f.criterion();
  if (c == config::failover::error || c == config::failover::timeout ||
      c == config::failover::invalid_header) {
    return true;
  }
  if (c == config::failover::http_403 || c == config::failover::http_404) {
    return false;
  }
  return c != 0 && (criteria & c) != 0;
}

std::string sha_hex(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : md) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

/// The text semantic routing embeds: every user message's text (chat) or the prompt.
std::string prompt_text(const boost::json::object& obj) {
  std::string out;
  if (const auto* messages = obj.if_contains("messages"); messages && messages->is_array()) {
    for (const auto& m : messages->get_array()) {
      if (!m.is_object()) {
        continue;
      }
      const auto* role = m.get_object().if_contains("role");
      if (role == nullptr || !role->is_string() || role->get_string() != "user") {
        continue;
      }
      auto text = providers::content_text(m.get_object().if_contains("content"));
      if (!text.empty()) {
        out += out.empty() ? "" : "\n";
        out += text;
      }
    }
  } else if (const auto* prompt = obj.if_contains("prompt"); prompt && prompt->is_string()) {
    out = std::string(prompt->get_string());
  }
  return out;
}

/// One embedding of `text` with the plugin's embeddings model, through its provider's translator.
asio::awaitable<result<std::vector<float>>> embed_text(const config::ai_proxy_config& econf,
                                                       const std::string& text,
                                                       worker_services& services,
                                                       const upstream::timeouts& timeouts) {
  boost::json::object body;
  body["model"] = econf.model.name;
  body["input"] = text;
  const header_list no_headers;
  const providers::client_request creq{body, no_headers, {}};
  const providers::target t{econf, econf.model.options, econf.model.name, false, false, 0, {}};
  std::string answer;
  if (econf.model.provider == config::provider_kind::mock) {
    answer = providers::make_mock_reply(creq, t, "emb-semantic", 0).body;
  } else {
    const auto& provider = providers::provider_for(econf);
    auto up = provider.to_upstream(creq, t);
    if (!up) {
      co_return up.error();
    }
    if (needs_cloud_identity(*up, econf, services)) {
      if (auto id = co_await apply_cloud_identity(*up, econf, services, timeouts); !id) {
        co_return id.error();
      }
    }
    auto exch = co_await services.client->send(*up, timeouts);
    if (!exch) {
      co_return exch.error();
    }
    auto raw = co_await (*exch)->read_all(max_embeddings_body_bytes);
    if (!raw) {
      co_return raw.error();
    }
    const int status = (*exch)->head().status;
    if (status < 200 || status > 299) {
      co_return error::bad_gateway("the embeddings model for semantic routing answered " +
                                   std::to_string(status));
    }
    auto translated = provider.from_upstream(*raw, t);
    if (!translated) {
      co_return translated.error();
    }
    answer = translated->body ? std::move(*translated->body) : std::move(*raw);
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(answer, ec);
  const boost::json::value* data = nullptr;
  if (!ec && v.is_object()) {
    data = v.get_object().if_contains("data");
  }
  if (data == nullptr || !data->is_array() || data->get_array().empty() ||
      !data->get_array()[0].is_object()) {
    co_return error::bad_gateway("the embeddings answer for semantic routing holds no vector");
  }
  const auto* emb = data->get_array()[0].get_object().if_contains("embedding");
  if (emb == nullptr || !emb->is_array()) {
    co_return error::bad_gateway("the embeddings answer for semantic routing holds no vector");
  }
  std::vector<float> out;
  out.reserve(emb->get_array().size());
  for (const auto& x : emb->get_array()) {
    if (!x.is_number()) {
      co_return error::bad_gateway("the embeddings answer for semantic routing is not numeric");
    }
    out.push_back(static_cast<float>(x.to_number<double>()));
  }
  co_return out;
}

/// Embeds the target descriptions not embedded yet (once per plugin; shared through the vector
/// store, so a fleet with Redis embeds each description once).
asio::awaitable<void> load_descriptions(balanced_plugin& p,
                                        const config::ai_proxy_advanced_config& conf,
                                        worker_services& services,
                                        const upstream::timeouts& timeouts) {
  for (std::size_t i = 0; i < conf.targets.size(); ++i) {
    const auto& description = conf.targets[i].description;
    if (description.empty() || description == "CATCHALL") {
      continue;
    }
    {
      std::lock_guard lock(p.semantic_mutex);
      if (p.semantic_loaded[i]) {
        continue;
      }
    }
    const std::string key = sha_hex(std::string(config::to_string(p.embeddings->model.provider)) +
                                    '/' + p.embeddings->model.name + '\n' + description);
    auto vec = p.vectors->get(key);
    if (!vec) {
      auto fetched = co_await embed_text(*p.embeddings, description, services, timeouts);
      if (!fetched) {
        log::warn("semantic routing: cannot embed the description of target " + std::to_string(i) +
                  ": " + fetched.error().message);
        continue;  // tried again by the next request
      }
      p.vectors->put(key, *fetched);
      vec = std::move(*fetched);
    }
    std::lock_guard lock(p.semantic_mutex);
    p.lb->semantic().set(i, std::move(*vec));
    p.semantic_loaded[i] = true;
  }
}

}  // namespace

asio::awaitable<void> run_ai_proxy_advanced(http::downstream& d, const ai_proxy_advanced_call& call,
                                            worker_services& services,
                                            observability::request_record& record) {
  const auto& conf = call.conf;
  const auto& first = conf.targets.front().conf;
  begin_ai_record(first, call.plugin_id, record);
  for (const auto& t : conf.targets) {
    for (const auto* name : {&t.conf.auth.header_name, &t.conf.auth.param_name}) {
      if (!name->empty() && record.logged) {
        record.secret_names.push_back(*name);
      }
    }
  }
  auto plugin = services.balancers->get(call.plugin_id, conf);
  auto& lb = *plugin->lb;
  const auto timeouts = timeouts_of(conf.balancer);
  const std::size_t n = conf.targets.size();
  auto tried = std::make_unique<bool[]>(n);

  balancer::pick_input input;
  const std::string hash_key(
      d.head().headers.get(conf.balancer.hash_on_header).value_or(std::string_view()));
  input.hash_key = hash_key;

  // Other route types and native formats: one balanced pick, no retry (their bodies are
  // relayed as they come and cannot be replayed elsewhere).
  if (!config::is_translated(first.route_type) || first.llm_format != "openai") {
    input.now_ms = epoch_ms();
    input.random = next_random();
    auto pick = lb.pick(input, std::span<const bool>(tried.get(), n));
    if (!pick) {
      record.error_message = "no target available";
      co_await http::send_error(
          d, error::service_unavailable("no target of this route is available: every target's "
                                        "circuit breaker is open"));
      co_return;
    }
    const auto& target = conf.targets[*pick];
    lb.on_start(*pick);
    const auto t0 = flow_clock::now();
    co_await run_ai_proxy(d, ai_proxy_call{target.conf, call.plugin_id, call.match, timeouts},
                          services, record);
    balancer::attempt_report report;
    report.now_ms = epoch_ms();
    report.e2e_ms = ms_since(t0);
    report.success = d.response_status() >= 200 && d.response_status() < 400;
    report.counts_as_failure = d.response_status() >= 500;
    if (record.ai) {
      report.prompt_tokens = record.ai->usage.prompt_tokens;
      report.completion_tokens = record.ai->usage.completion_tokens;
      report.cost = record.ai->cost;
      record.ai->tried_targets.push_back(
          {std::string(config::to_string(target.conf.model.provider)), record.ai->request_model,
           without_query(record.upstream_uri), d.response_status(),
           outcome_of(std::nullopt, d.response_status()), report.e2e_ms});
    }
    lb.on_finish(*pick, report);
    co_return;
  }

  auto held = prepare_held_request(d, first, record);
  if (!held) {
    held.emplace(co_await prepare_request(d, first, record));
  }
  auto& prepared = *held;
  if (!prepared) {
    record.error_message = prepared.error().message;
    co_await http::send_error(d, prepared.error());
    co_return;
  }
  auto& ai = *record.ai;

  // A client model equal to a target's alias selects that target alone.
  std::optional<std::size_t> alias;
  if (!prepared->info.model.empty()) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!conf.targets[i].model_alias.empty() &&
          conf.targets[i].model_alias == prepared->info.model) {
        alias = i;
        break;
      }
    }
  }

  std::vector<float> prompt_vector;
  if (!alias && conf.balancer.algorithm == config::balancer_algorithm::semantic &&
      plugin->embeddings) {
    co_await load_descriptions(*plugin, conf, services, timeouts);
    auto vec = co_await embed_text(*plugin->embeddings, prompt_text(prepared->object()), services,
                                   timeouts);
    if (vec) {
      prompt_vector = std::move(*vec);
    } else {
      // Without the prompt's vector only the CATCHALL target can be chosen.
      log::warn("semantic routing: cannot embed the prompt: " + vec.error().message);
    }
  }
  input.embedding = prompt_vector;

  const std::int64_t max_attempts = conf.balancer.retries + 1;
  const std::uint32_t criteria = conf.balancer.failover_criteria;
  std::optional<attempt_failure> last;
  for (std::int64_t attempt = 0; attempt < max_attempts; ++attempt) {
    std::optional<std::size_t> pick;
    if (alias) {
      if (!tried[*alias]) {
        pick = alias;
      }
    } else {
      input.now_ms = epoch_ms();
      input.random = next_random();
      pick = lb.pick(input, std::span<const bool>(tried.get(), n));
    }
    if (!pick) {
      break;
    }
    const std::size_t i = *pick;
    tried[i] = true;
    const auto& target = conf.targets[i];

    // Each attempt reports its own numbers.
    ai.usage = {};
    ai.cost = 0;
    ai.response_model.clear();
    ai.time_to_first_token_ms.reset();
    ai.llm_latency_ms = 0;
    ai.incomplete_reason.clear();
    ai.request_payload.clear();
    ai.response_payload.clear();
    record.upstream_uri.clear();

    lb.on_start(i);
    const auto t0 = flow_clock::now();
    const attempt_options opts{attempt + 1 < max_attempts, true};
    auto failed = co_await attempt_target(d, target.conf, call.match, *prepared, timeouts, services,
                                          record, opts);
    balancer::attempt_report report;
    report.now_ms = epoch_ms();
    report.e2e_ms = ms_since(t0);
    const int status = failed ? failed->upstream_status : d.response_status();
    if (!failed) {
      report.success = status >= 200 && status < 400;
      report.prompt_tokens = ai.usage.prompt_tokens;
      report.completion_tokens = ai.usage.completion_tokens;
      report.cost = ai.cost;
      if (report.success && ai.usage.completion_tokens > 0) {
        report.tpot_ms = static_cast<double>(ai.llm_latency_ms) /
                         static_cast<double>(ai.usage.completion_tokens);
      }
    } else {
      report.counts_as_failure = counts_as_failure(*failed, criteria);
    }
    lb.on_finish(i, report);
    ai.tried_targets.push_back({std::string(config::to_string(target.conf.model.provider)),
                                ai.request_model, without_query(record.upstream_uri), status,
                                outcome_of(failed, status), report.e2e_ms});
    if (!failed) {
      co_return;
    }
    const std::uint32_t c = failed->criterion();
    const bool may_replay = !failed->request_sent || d.head().method == "GET" ||
                            (criteria & config::failover::non_idempotent) != 0;
    const bool retry = c != 0 && (criteria & c) != 0 && may_replay && !d.response_started();
    last = std::move(failed);
    if (!retry) {
      break;
    }
  }
  if (last) {
    co_await deliver_failure(d, std::move(*last), record);
    co_return;
  }
  record.error_message = "no target available";
  co_await http::send_error(
      d, error::service_unavailable(
             "no target of this route is available: every target was tried or has its circuit "
             "breaker open"));
}

}  // namespace aiproxy::plugins
