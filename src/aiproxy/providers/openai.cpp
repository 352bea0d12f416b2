// OpenAI-compatible translator: endpoint, headers, body rewrite, response and stream
// passthrough with usage reading (see openai.hpp). Pure: no I/O.
#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/openai_response_scan.hpp"
#include "aiproxy/providers/openai_shapes.hpp"

#include "aiproxy/json/rewrite.hpp"
#include "aiproxy/json/text_scan.hpp"
#include "aiproxy/json/usage_reader.hpp"
#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"

#include "aiproxy/providers/upstream_url.hpp"
#include "aiproxy/stream/sse_writer.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <boost/container/small_vector.hpp>

#include <array>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace aiproxy::providers {

namespace {

using config::provider_kind;
using config::route_type;

/// A request's body edits: a dozen at most, kept on the stack.
using edit_list = boost::container::small_vector<json::field_edit, 12>;

std::span<const json::field_edit> span_of(const edit_list& edits) noexcept {
  return {edits.data(), edits.size()};
}

std::string_view operation_path(route_type t) noexcept {
  switch (t) {
    default:  // only the translated route types reach a translator
    case route_type::llm_v1_chat:
      return "chat/completions";
    case route_type::llm_v1_completions:
      return "completions";
    case route_type::llm_v1_embeddings:
      return "embeddings";
  }
  return "chat/completions";
}

bool is_host_label(std::string_view s) noexcept {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (const char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string prefix(provider_kind kind, route_type rt) {
  std::string p = "transformation failed from type ";
  p += config::to_string(kind);
  p += "://";
  p += config::to_string(rt);
  p += ": ";
  return p;
}

result<endpoint> make_endpoint(provider_kind kind, const target& t, std::string_view query) {
  const auto rt = t.conf.route_type;
  const auto& opt = t.options;
  endpoint ep;
  const std::string_view op = operation_path(rt);
  switch (kind) {
    case provider_kind::openai:
      ep.host = "api.openai.com";
      ep.path = "/v1/";
      ep.path += op;
      break;
    case provider_kind::azure:
      if (!is_host_label(opt.azure_instance)) {
        return error::bad_request("model.options.azure_instance must be a host name label");
      }
      if (opt.azure_deployment_id.empty()) {
        return error::bad_request("model.options.azure_deployment_id is empty");
      }
      ep.host = opt.azure_instance + ".openai.azure.com";
      ep.path = "/openai/deployments/";
      ep.path += percent_encode(opt.azure_deployment_id);
      ep.path.push_back('/');
      ep.path += op;
      if (!opt.azure_api_version.empty()) {
        ep.query.set("api-version", opt.azure_api_version, query_builder::origin::provider_default);
      }
      break;
    case provider_kind::mistral:
      ep.host = "api.mistral.ai";
      if (rt != route_type::llm_v1_completions) {
        ep.path = "/v1/";
        ep.path += op;
      }
      break;
    default:  // llama2 (openai format): the server is wherever upstream_url says
      ep.path = "/v1/";
      ep.path += op;
      break;
  }
  if (!opt.upstream_url.empty()) {
    if (auto r = apply_upstream_url(ep, opt.upstream_url); !r) {
      return r.error();
    }
  }
  if (ep.host.empty()) {
    return error::internal("provider " + std::string(config::to_string(kind)) +
                           " needs model.options.upstream_url");
  }
  if (ep.path.empty()) {
    return error::internal("provider " + std::string(config::to_string(kind)) + " has no " +
                           std::string(config::to_string(rt)) +
                           " endpoint: set model.options.upstream_url with a path");
  }
  if (auto r = ep.query.add_client_query(query); !r) {
    return r.error();
  }
  return ep;
}

std::string int_json(std::int64_t v) {
  std::string s;
  json::write_int(s, v);
  return s;
}

std::string double_json(double v) {
  std::string s;
  json::write_double(s, v);
  return s;
}

/// The two ways a translator sees the client's top-level fields: a parsed object, or an index.
struct parsed_fields {
  const boost::json::object& body;
  bool contains(std::string_view key) const { return body.contains(key); }
  bool present(std::string_view key) const { return providers::present(body, key) != nullptr; }
  /// The client's stream_options when it is an object with members, else nullptr.
  const boost::json::object* stream_options() const {
    const auto* so = body.if_contains("stream_options");
    const auto* o = so != nullptr ? so->if_object() : nullptr;
    return o != nullptr && !o->empty() ? o : nullptr;
  }
};

struct indexed_fields {
  const json::top_level_index& body;
  bool contains(std::string_view key) const { return body.contains(key); }
  bool present(std::string_view key) const {
    const auto* m = body.find(key);
    return m != nullptr && m->kind != json::member_kind::null;
  }
  /// True when the client's stream_options is an object with members, which only a parsed
  /// body can merge into.
  bool stream_options_needs_parse() const {
    const auto* m = body.find("stream_options");
    return m != nullptr && m->kind == json::member_kind::object && m->size > 0;
  }
  const boost::json::object* stream_options() const { return nullptr; }
};

// Adds the edit for one tuning option according to the precedence rule.
template <class Fields>
void tune(edit_list& edits, const Fields& body, config::options_precedence prec,
          std::string_view key, std::string json) {
  if (prec == config::options_precedence::config || !body.present(key)) {
    edits.push_back(json::field_edit::set(key, std::move(json)));
  }
}

template <class Fields>
edit_list body_edits(provider_kind kind, const Fields& body, const target& t) {
  edit_list edits;
  std::string model;
  json::write_string(model, t.model);
  edits.push_back(json::field_edit::set("model", std::move(model)));

  const auto& opt = t.options;
  const auto prec = t.conf.precedence;
  if (t.conf.route_type == route_type::llm_v1_embeddings) {
    if (opt.embeddings_dimensions) {
      tune(edits, body, prec, "dimensions", int_json(*opt.embeddings_dimensions));
    }
    return edits;
  }

  edits.push_back(json::field_edit::set("stream", t.stream ? "true" : "false"));
  if (t.stream) {
    // Always ask for the usage chunk; merge with whatever else the client put there.
    std::string so = R"({"include_usage":true})";
    if (const auto* o = body.stream_options()) {
      so.clear();
      const std::array<json::field_edit, 1> iu = {json::field_edit::set("include_usage", "true")};
      json::write_object_with_edits(so, *o, iu);
    }
    edits.push_back(json::field_edit::set("stream_options", std::move(so)));
  } else {
    // OpenAI rejects stream_options without stream.
    edits.push_back(json::field_edit::erase("stream_options"));
  }

  if (opt.max_tokens) {
    const bool uses_mct = body.contains("max_completion_tokens");
    if (uses_mct) {
      tune(edits, body, prec, "max_completion_tokens", int_json(*opt.max_tokens));
    }
    if (!uses_mct || (prec == config::options_precedence::config && body.contains("max_tokens"))) {
      tune(edits, body, prec, "max_tokens", int_json(*opt.max_tokens));
    }
  }
  if (opt.temperature) {
    tune(edits, body, prec, "temperature", double_json(*opt.temperature));
  }
  if (opt.top_p) {
    tune(edits, body, prec, "top_p", double_json(*opt.top_p));
  }
  if (opt.top_k) {
    tune(edits, body, prec, "top_k", int_json(*opt.top_k));
  }
  if (kind == provider_kind::openai || kind == provider_kind::azure) {
    edits.push_back(json::field_edit::erase("top_k"));
  }
  return edits;
}

// Stack-backed arena for parsing one response or chunk without touching the heap when small.
struct parse_arena {
  alignas(std::max_align_t) std::array<unsigned char, 4096> buffer;
  boost::json::monotonic_resource resource{buffer.data(), buffer.size()};
};

}  // namespace

void read_openai_summary(const boost::json::object& obj, response_summary& s) {
  if (const auto* m = obj.if_contains("model")) {
    if (const auto* ms = m->if_string(); ms != nullptr && !ms->empty()) {
      s.response_model.assign(ms->data(), ms->size());
    }
  }
  if (const auto* c = obj.if_contains("choices")) {
    if (const auto* arr = c->if_array()) {
      for (const auto& choice : *arr) {
        const auto* co = choice.if_object();
        const auto* fr = co != nullptr ? co->if_contains("finish_reason") : nullptr;
        if (fr != nullptr && fr->is_string()) {
          s.finish_reason.assign(fr->get_string().data(), fr->get_string().size());
          break;
        }
      }
    }
  }
  if (const auto* u = obj.if_contains("usage"); u != nullptr && u->is_object()) {
    auto usage = json::read_openai_usage(*u);
    if (usage.known) {
      s.usage = usage;
    }
  }
}

namespace {

/// Fills in the endpoint, headers and auth of `out`; the body is left to the caller. Returns
/// the field the body auth adds, if any.
result<std::optional<body_auth_field>> start_upstream(
    provider_kind kind, const target& t, const header_list& client_headers, std::string_view query,
    const std::function<bool(std::string_view)>& client_has, upstream_request& out) {
  auto ep = make_endpoint(kind, t, query);
  if (!ep) {
    return ep.error();
  }
  out.headers.reserve(client_headers.size() + 4);
  forward_client_headers(client_headers, out.headers, t.conf.auth);
  // Added, not set: forward_client_headers never copies the client's Content-Type or
  // Accept-Encoding, so there is no earlier field to replace.
  out.headers.add("Content-Type", "application/json");
  out.headers.add("Accept-Encoding", "identity");
  auto body_auth = apply_auth(t.conf.auth, out.headers, ep->query, client_has);
  out.method = "POST";
  out.scheme = ep->scheme;
  out.host = std::move(ep->host);
  out.port = ep->port;
  out.target = std::move(*ep).target();
  out.framing = t.stream ? stream::framing::sse : stream::framing::none;
  return body_auth;
}

void add_body_auth(edit_list& edits, const std::optional<body_auth_field>& a) {
  if (a) {
    std::string v;
    json::write_string(v, a->value);
    edits.push_back(json::field_edit::set(a->name, std::move(v)));
  }
}

}  // namespace

result<upstream_request> openai_compatible_provider::to_upstream(const client_request& req,
                                                                 const target& t) const {
  result<upstream_request> r;  // the request is built in place
  upstream_request& out = *r;
  auto body_auth = start_upstream(
      kind_, t, req.headers, req.query,
      [&](std::string_view key) { return req.body.contains(key); }, out);
  if (!body_auth) {
    return body_auth.error();
  }
  auto edits = body_edits(kind_, parsed_fields{req.body}, t);
  add_body_auth(edits, *body_auth);
  out.body.reserve(req.raw.empty() ? 2048 : req.raw.size() + 128);
  json::write_edited_object(out.body, req.raw, req.body, span_of(edits));
  return r;
}

std::optional<result<upstream_request>> openai_compatible_provider::to_upstream_indexed(
    const indexed_request& req, const target& t) const {
  const indexed_fields fields{req.body};
  if (t.stream && fields.stream_options_needs_parse()) {
    return std::nullopt;
  }
  std::optional<result<upstream_request>> r(std::in_place);  // the request is built in place
  upstream_request& out = **r;
  auto body_auth = start_upstream(
      kind_, t, req.headers, req.query,
      [&](std::string_view key) { return req.body.contains(key); }, out);
  if (!body_auth) {
    return result<upstream_request>(body_auth.error());
  }
  auto edits = body_edits(kind_, fields, t);
  add_body_auth(edits, *body_auth);
  out.body.reserve(req.raw.size() + 128);
  if (!json::write_edited_index(out.body, req.raw, req.body, span_of(edits))) {
    return std::nullopt;  // an edit changes a field the client sent: rewrite from a parse
  }
  return r;
}

result<translated_response> openai_compatible_provider::from_upstream(std::string_view body,
                                                                      const target& t) const {
  const auto rt = t.conf.route_type;
  const std::string_view field = rt == route_type::llm_v1_embeddings ? "data" : "choices";
  auto scan = scan_openai_response(body, field);
  if (!scan) {
    return error::bad_gateway(prefix(kind_, rt) + "upstream response is not valid JSON");
  }
  if (!scan->is_object || !scan->has_payload) {
    return error::bad_gateway(prefix(kind_, rt) + "'" + std::string(field) + "' not in " +
                              std::string(config::to_string(rt)) + " response");
  }
  translated_response out;
  out.summary = std::move(scan->summary);
  return out;
}

namespace {

class openai_stream_translator final : public stream_translator {
 public:
  explicit openai_stream_translator(const target& t)
      : route_(t.conf.route_type),
        client_wants_usage_(t.client_wants_usage),
        collect_text_(t.conf.logging.log_payloads) {}

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (done_) {
      return {};  // nothing after [DONE] reaches the client
    }
    const std::string_view data = trim(ev.data);
    if (data.empty()) {
      return {};
    }
    if (data == "[DONE]") {
      stream::write_sse_done(out);
      done_ = true;
      return {};
    }
    const bool usage_null = json::key_values_all_null(data, "usage");
    if (!needs_parse(data, usage_null)) {
      stream::write_sse_data(out, ev.data);  // a plain content chunk goes out as it came
      return {};
    }
    if (!collect_text_ && (usage_null || client_wants_usage_)) {
      // Read without a DOM: the chunk goes out unchanged, only the summary is taken from it.
      auto scan = scan_openai_response(data, "choices");
      if (!scan) {
        return error::bad_gateway("upstream sent a stream event that is not JSON");
      }
      if (!scan->is_object) {
        return error::bad_gateway("upstream sent a stream event that is not a JSON object");
      }
      merge_summary(std::move(scan->summary));
      stream::write_sse_data(out, ev.data);
      return {};
    }
    parse_arena arena;
    boost::system::error_code ec;
    const auto v = boost::json::parse(data, ec, &arena.resource);
    if (ec) {
      return error::bad_gateway("upstream sent a stream event that is not JSON");
    }
    const auto* obj = v.if_object();
    if (obj == nullptr) {
      return error::bad_gateway("upstream sent a stream event that is not a JSON object");
    }
    read_openai_summary(*obj, summary_);
    if (collect_text_) {
      collect(*obj);
    }
    const auto* usage = obj->if_contains("usage");
    const bool has_usage = usage != nullptr && !usage->is_null();
    if (has_usage && !client_wants_usage_) {
      const auto* choices = obj->if_contains("choices");
      const bool usage_only =
          choices == nullptr || (choices->is_array() && choices->get_array().empty());
      if (usage_only) {
        return {};  // the gateway asked for this chunk, the client did not
      }
      // Usage riding on a content chunk (some OpenAI-compatible servers): strip it.
      const std::array<json::field_edit, 1> strip = {json::field_edit::erase("usage")};
      scratch_.clear();
      json::write_object_with_edits(scratch_, *obj, strip);
      stream::write_sse_data(out, scratch_);
      return {};
    }
    stream::write_sse_data(out, ev.data);
    return {};
  }

  result<void> finish(std::string& out) override {
    if (!done_) {
      return error::bad_gateway("upstream stream ended before it was complete");
    }
    return {};
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  /// Only chunks that can change what the gateway records or forwards are parsed: the first
  /// one (model), any holding a non-null usage or finish_reason, and all of them when the text
  /// is collected for payload logging. The rest are forwarded byte for byte.
  bool needs_parse(std::string_view d, bool usage_null) const noexcept {
    // With stream_options.include_usage (which the gateway asks for), OpenAI writes
    // "usage":null into every chunk: only a non-null usage needs reading.
    return collect_text_ || summary_.response_model.empty() || d.front() != '{' ||
           d.back() != '}' || !usage_null || !json::key_values_all_null(d, "finish_reason");
  }

  /// What a scanned chunk adds to the summary: a model, a finish reason, usage counts.
  void merge_summary(response_summary&& s) {
    if (!s.response_model.empty()) {
      summary_.response_model = std::move(s.response_model);
    }
    if (!s.finish_reason.empty()) {
      summary_.finish_reason = std::move(s.finish_reason);
    }
    if (s.usage.known) {
      summary_.usage = s.usage;
    }
  }

  void collect(const boost::json::object& obj) {
    const auto* c = obj.if_contains("choices");
    const auto* arr = c != nullptr ? c->if_array() : nullptr;
    if (arr == nullptr || arr->empty()) {
      return;
    }
    const auto* choice = arr->front().if_object();
    if (choice == nullptr) {
      return;
    }
    const boost::json::value* piece = nullptr;
    if (route_ == route_type::llm_v1_completions) {
      piece = choice->if_contains("text");
    } else if (const auto* d = choice->if_contains("delta"); d != nullptr && d->is_object()) {
      piece = d->get_object().if_contains("content");
    }
    if (piece != nullptr && piece->is_string()) {
      text_.append(piece->get_string().data(), piece->get_string().size());
    }
  }

  route_type route_;
  bool client_wants_usage_;
  bool collect_text_;
  bool done_ = false;
  response_summary summary_;
  std::string text_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<stream_translator> openai_compatible_provider::make_stream_translator(
    const target& t) const {
  return std::make_unique<openai_stream_translator>(t);
}

}  // namespace aiproxy::providers
