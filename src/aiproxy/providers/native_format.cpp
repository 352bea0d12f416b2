// Native formats (see native_format.hpp): operation, model and stream flag from a native request,
// the upstream request built from it, and usage read back from native responses and streams.
// Pure: no I/O. Reads the provider translators (registry) and the stream decoders; writes nothing
// but the values it returns.
#include "aiproxy/providers/native_format.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/request_validation.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/pct_string_view.hpp>

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <vector>

namespace aiproxy::providers {

namespace {

using config::provider_kind;
namespace bj = boost::json;

// ---------------------------------------------------------------- small helpers

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') {
      ++i;
    }
    const auto j = path.find('/', i);
    const auto end = j == std::string_view::npos ? path.size() : j;
    if (end > i) {
      out.push_back(path.substr(i, end - i));
    }
    i = end;
  }
  return out;
}

// Percent-decodes one path segment; nullopt for invalid encoding.
std::optional<std::string> pct_decode(std::string_view s) {
  auto pv = boost::urls::make_pct_string_view(s);
  if (!pv) {
    return std::nullopt;
  }
  return pv->decode();
}

error unknown_operation(std::string_view format, std::string_view method, std::string_view path,
                        std::string_view expected) {
  return error::bad_request("no native " + std::string(format) + " operation at " +
                            std::string(method) + " " + std::string(path) + " (expected " +
                            std::string(expected) + ")");
}

// The raw client query without the parameters named in `drop` (compared on the raw key).
std::string query_without(std::string_view raw, std::initializer_list<std::string_view> drop) {
  std::string out;
  std::size_t i = 0;
  while (i <= raw.size() && !raw.empty()) {
    const auto amp = raw.find('&', i);
    const auto end = amp == std::string_view::npos ? raw.size() : amp;
    const auto pair = raw.substr(i, end - i);
    const auto key = pair.substr(0, pair.find('='));
    bool dropped = false;
    for (const auto d : drop) {
      dropped = dropped || key == d;
    }
    if (!pair.empty() && !dropped) {
      if (!out.empty()) {
        out.push_back('&');
      }
      out.append(pair);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    i = amp + 1;
  }
  return out;
}

bool query_has(std::string_view raw, std::string_view key, std::string_view value) {
  std::size_t i = 0;
  while (i < raw.size()) {
    const auto amp = raw.find('&', i);
    const auto end = amp == std::string_view::npos ? raw.size() : amp;
    const auto pair = raw.substr(i, end - i);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key && eq != std::string_view::npos && pair.substr(eq + 1) == value) {
      return true;
    }
    if (amp == std::string_view::npos) {
      break;
    }
    i = amp + 1;
  }
  return false;
}

// A Gemini model as compared and written in paths: without a leading "models/".
std::string_view gemini_bare(std::string_view m) {
  return starts_with(m, "models/") ? m.substr(7) : m;
}

bool is_region(std::string_view s) {
  if (s.empty() || s.size() > 63) {
    return false;
  }
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- operations

struct parsed_operation {
  native_operation op = native_operation::anthropic_messages;
  std::string url_model;  // model named by the URL (decoded); empty for body formats
  bool url_stream = false;
  // Gemini: the client's API version and whether the path was Vertex-shaped.
  std::string api_version;
  bool vertex_path = false;
  std::string vertex_publisher = "google";
};

parsed_operation op_of(native_operation op) {
  parsed_operation p;
  p.op = op;
  return p;
}

result<parsed_operation> parse_anthropic(std::string_view method, std::string_view path) {
  while (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  if (path == "/v1/messages") {
    return op_of(native_operation::anthropic_messages);
  }
  if (path == "/v1/messages/count_tokens") {
    return op_of(native_operation::anthropic_count_tokens);
  }
  return unknown_operation("anthropic", method, path,
                           "POST /v1/messages or /v1/messages/count_tokens");
}

result<parsed_operation> parse_gemini(std::string_view method, std::string_view path) {
  constexpr std::string_view expected =
      "/{version}/models/{model}:generateContent|streamGenerateContent|countTokens or "
      "/{version}/projects/{p}/locations/{l}/publishers/{pub}/models/{model}:…";
  const auto segs = segments(path);
  if (segs.size() < 3) {
    return unknown_operation("gemini", method, path, expected);
  }
  const std::string_view last = segs.back();
  const auto colon = last.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return unknown_operation("gemini", method, path, expected);
  }
  parsed_operation p = op_of(native_operation::gemini_generate);
  const std::string_view action = last.substr(colon + 1);
  if (action == "generateContent") {
    p.op = native_operation::gemini_generate;
  } else if (action == "streamGenerateContent") {
    p.op = native_operation::gemini_stream_generate;
    p.url_stream = true;
  } else if (action == "countTokens") {
    p.op = native_operation::gemini_count_tokens;
  } else {
    return unknown_operation("gemini", method, path, expected);
  }
  auto model = pct_decode(last.substr(0, colon));
  if (!model || model->empty()) {
    return error::bad_request("gemini model in the path is not valid percent-encoding");
  }
  p.api_version = std::string(segs[0]);
  const std::string_view kind = segs[segs.size() - 2];
  if (segs.size() == 3 && (kind == "models" || kind == "tunedModels")) {
    p.url_model = kind == "tunedModels" ? "tunedModels/" + *model : *model;
    return p;
  }
  // /{v}/projects/{p}/locations/{l}/publishers/{pub}/models/{m}
  if (segs.size() == 9 && segs[1] == "projects" && segs[3] == "locations" &&
      segs[5] == "publishers" && kind == "models") {
    p.vertex_path = true;
    p.vertex_publisher = std::string(segs[6]);
    p.url_model = *model;
    return p;
  }
  return unknown_operation("gemini", method, path, expected);
}

result<parsed_operation> parse_bedrock(std::string_view method, std::string_view path) {
  constexpr std::string_view expected =
      "/model/{modelId}/converse|converse-stream|invoke|invoke-with-response-stream";
  const auto segs = segments(path);
  if (segs.size() != 3 || segs[0] != "model") {
    return unknown_operation("bedrock", method, path, expected);
  }
  parsed_operation p = op_of(native_operation::bedrock_converse);
  const std::string_view action = segs[2];
  if (action == "converse") {
    p.op = native_operation::bedrock_converse;
  } else if (action == "converse-stream") {
    p.op = native_operation::bedrock_converse_stream;
    p.url_stream = true;
  } else if (action == "invoke") {
    p.op = native_operation::bedrock_invoke;
  } else if (action == "invoke-with-response-stream") {
    p.op = native_operation::bedrock_invoke_stream;
    p.url_stream = true;
  } else {
    return unknown_operation("bedrock", method, path, expected);
  }
  auto model = pct_decode(segs[1]);
  if (!model || model->empty()) {
    return error::bad_request("bedrock model id in the path is not valid percent-encoding");
  }
  p.url_model = std::move(*model);
  return p;
}

result<parsed_operation> parse_cohere(std::string_view method, std::string_view path) {
  while (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  if (path == "/v2/chat") {
    return op_of(native_operation::cohere_chat_v2);
  }
  if (path == "/v1/chat") {
    return op_of(native_operation::cohere_chat_v1);
  }
  return unknown_operation("cohere", method, path, "POST /v2/chat or /v1/chat");
}

result<parsed_operation> parse_huggingface(std::string_view method, std::string_view path) {
  if (ends_with(path, "/chat/completions")) {
    return op_of(native_operation::huggingface_chat);
  }
  return unknown_operation("huggingface", method, path, "POST …/v1/chat/completions");
}

std::string_view format_name(provider_kind p) {
  return config::to_string(p);
}

// The operation's own path segment or action, for switching a configured upstream path.
void switch_operation(std::string& path, native_operation op) {
  switch (op) {
    case native_operation::gemini_generate:
    case native_operation::gemini_stream_generate:
    case native_operation::gemini_count_tokens: {
      const auto slash = path.rfind('/');
      const auto colon = path.rfind(':');
      if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
        return;
      }
      path.resize(colon + 1);
      path += op == native_operation::gemini_generate          ? "generateContent"
              : op == native_operation::gemini_stream_generate ? "streamGenerateContent"
                                                               : "countTokens";
      return;
    }
    case native_operation::bedrock_converse:
    case native_operation::bedrock_converse_stream:
    case native_operation::bedrock_invoke:
    case native_operation::bedrock_invoke_stream: {
      for (const std::string_view a :
           {"/converse-stream", "/converse", "/invoke-with-response-stream", "/invoke"}) {
        if (ends_with(path, a)) {
          path.resize(path.size() - a.size());
          path += op == native_operation::bedrock_converse          ? "/converse"
                  : op == native_operation::bedrock_converse_stream ? "/converse-stream"
                  : op == native_operation::bedrock_invoke          ? "/invoke"
                                                           : "/invoke-with-response-stream";
          return;
        }
      }
      return;
    }
    default:
      return;
  }
}

std::string_view gemini_action(native_operation op) {
  return op == native_operation::gemini_generate          ? "generateContent"
         : op == native_operation::gemini_stream_generate ? "streamGenerateContent"
                                                          : "countTokens";
}

bool is_vertex(const config::gemini_options& g) {
  return !g.api_endpoint.empty() && !g.project_id.empty() && !g.location_id.empty();
}

std::string model_path_segment(std::string_view id) {
  std::string enc = percent_encode(id);
  for (auto pos = enc.find("%40"); pos != std::string::npos; pos = enc.find("%40", pos + 1)) {
    enc.replace(pos, 3, "@");  // Vertex model versions: claude-3@20240229
  }
  return enc;
}

// Default endpoint (host and path) for the call, before upstream_url.
result<endpoint> default_endpoint(provider_kind p, const parsed_operation& op,
                                  std::string_view client_path, std::string_view model,
                                  const config::model_options& o) {
  endpoint ep;
  switch (p) {
    case provider_kind::anthropic:
      ep.host = "api.anthropic.com";
      ep.path = std::string(client_path);
      break;
    case provider_kind::cohere:
      ep.host = "api.cohere.com";
      ep.path = std::string(client_path);
      break;
    case provider_kind::huggingface:
      ep.host = "router.huggingface.co";
      ep.path = std::string(client_path);
      break;
    case provider_kind::gemini: {
      const auto& g = o.gemini;
      std::string m;
      if (is_vertex(g)) {
        ep.host = g.api_endpoint;
        const std::string version = op.vertex_path ? op.api_version : std::string("v1");
        m = "/" + version + "/projects/" + percent_encode(g.project_id) + "/locations/" +
            percent_encode(g.location_id) + "/publishers/" + percent_encode(op.vertex_publisher) +
            "/models/" + model_path_segment(gemini_bare(model));
      } else {
        ep.host = "generativelanguage.googleapis.com";
        const std::string version = op.vertex_path ? std::string("v1beta") : op.api_version;
        const std::string_view bare = gemini_bare(model);
        m = "/" + version + "/";
        if (starts_with(bare, "tunedModels/")) {
          m += "tunedModels/" + model_path_segment(bare.substr(12));
        } else {
          m += "models/" + model_path_segment(bare);
        }
      }
      ep.path = m + ":" + std::string(gemini_action(op.op));
      break;
    }
    case provider_kind::bedrock: {
      const auto& region = o.bedrock.aws_region;
      if (!is_region(region)) {
        return error::internal(
            "bedrock needs a region such as us-east-1: set model.options.bedrock.aws_region (or "
            "AWS_REGION)");
      }
      ep.host = "bedrock-runtime." + region + ".amazonaws.com";
      const auto segs = segments(client_path);
      ep.path = "/model/" + percent_encode(model) + "/" + std::string(segs.back());
      break;
    }
    default:
      return error::internal("llm_format " + std::string(format_name(p)) +
                             " is not a native format");
  }
  return ep;
}

}  // namespace

std::string_view to_string(native_operation op) {
  switch (op) {
    case native_operation::anthropic_messages:
      return "anthropic.messages";
    case native_operation::anthropic_count_tokens:
      return "anthropic.count_tokens";
    case native_operation::gemini_generate:
      return "gemini.generateContent";
    case native_operation::gemini_stream_generate:
      return "gemini.streamGenerateContent";
    case native_operation::gemini_count_tokens:
      return "gemini.countTokens";
    case native_operation::bedrock_converse:
      return "bedrock.converse";
    case native_operation::bedrock_converse_stream:
      return "bedrock.converse-stream";
    case native_operation::bedrock_invoke:
      return "bedrock.invoke";
    case native_operation::bedrock_invoke_stream:
      return "bedrock.invoke-with-response-stream";
    case native_operation::cohere_chat_v2:
      return "cohere.v2.chat";
    case native_operation::cohere_chat_v1:
      return "cohere.v1.chat";
    case native_operation::huggingface_chat:
      return "huggingface.chat.completions";
  }
  return "unknown";
}

result<native_call> map_native_request(const native_client_request& req,
                                       const config::ai_proxy_config& conf,
                                       const config::model_config& model_cfg) {
  const provider_kind p = conf.model.provider;
  const std::string_view path = req.path.empty() ? std::string_view("/") : req.path;

  // 1. The operation.
  result<parsed_operation> parsed = error::internal("unreachable");
  switch (p) {
    case provider_kind::anthropic:
      parsed = parse_anthropic(req.method, path);
      break;
    case provider_kind::gemini:
      parsed = parse_gemini(req.method, path);
      break;
    case provider_kind::bedrock:
      parsed = parse_bedrock(req.method, path);
      break;
    case provider_kind::cohere:
      parsed = parse_cohere(req.method, path);
      break;
    case provider_kind::huggingface:
      parsed = parse_huggingface(req.method, path);
      break;
    default:
      return error::internal("provider " + std::string(format_name(p)) + " has no native format");
  }
  if (!parsed) {
    return parsed.error();
  }
  if (req.method != "POST") {
    return error::method_not_allowed("native " + std::string(format_name(p)) + " operation " +
                                     std::string(to_string(parsed->op)) + " takes POST, not " +
                                     std::string(req.method));
  }

  // 2. The body: a JSON object (read for the model and the stream flag).
  boost::system::error_code ec;
  bj::value body = bj::parse(req.body, ec);
  if (ec || !body.is_object()) {
    return error::bad_request("request body is not a JSON object");
  }
  auto& obj = body.as_object();
  const bool url_model_format = p == provider_kind::gemini || p == provider_kind::bedrock;
  bool body_changed = false;

  native_call call;
  call.provider = p;
  call.op = parsed->op;
  call.has_usage = parsed->op != native_operation::anthropic_count_tokens &&
                   parsed->op != native_operation::gemini_count_tokens;

  // 3. The model: the URL's, or the body's (an HF client with only an endpointUrl sends that
  // URL as its model: that counts as no model).
  std::string client_model;
  if (url_model_format) {
    client_model = parsed->url_model;
  } else {
    client_model = std::string(string_at(obj, "model"));
    if (p == provider_kind::huggingface &&
        (starts_with(client_model, "http://") || starts_with(client_model, "https://"))) {
      client_model.clear();
    }
  }
  call.client_model = client_model;
  std::string_view configured = model_cfg.name;
  std::string compared_client = client_model;
  if (p == provider_kind::gemini) {
    configured = gemini_bare(configured);
    compared_client = std::string(gemini_bare(client_model));
  }
  auto model = resolve_model_name(configured, compared_client);
  if (!model) {
    if (p == provider_kind::cohere && parsed->op == native_operation::cohere_chat_v1 &&
        client_model.empty() && configured.empty()) {
      model = std::string();  // v1 chat has a default model
    } else {
      return model.error();
    }
  }
  call.model = std::move(*model);
  if (!url_model_format && !call.model.empty() && string_at(obj, "model") != call.model) {
    obj["model"] = call.model;
    body_changed = true;
  }

  // 4. Streaming.
  if (parsed->url_stream) {
    call.stream = true;
  } else if (const auto* s = obj.if_contains("stream"); s != nullptr && s->is_bool()) {
    call.stream = s->get_bool() && parsed->op != native_operation::anthropic_count_tokens;
  }
  if (call.stream && conf.response_streaming == config::streaming_policy::deny) {
    return error::bad_request("response streaming is not enabled for this LLM");
  }

  // 5. Where it goes.
  auto ep = default_endpoint(p, *parsed, path, call.model, model_cfg.options);
  if (!ep) {
    return ep.error();
  }
  if (!model_cfg.options.upstream_url.empty()) {
    const std::string native_path = ep->path;
    if (auto r = apply_upstream_url(*ep, model_cfg.options.upstream_url); !r) {
      return r.error();
    }
    if (ep->path != native_path) {
      switch_operation(ep->path, parsed->op);
    }
  }
  std::string client_query(req.query);
  if (p == provider_kind::gemini && !conf.auth.allow_override) {
    client_query = query_without(client_query, {"key"});  // a client credential
  }
  if (auto r = ep->query.add_client_query(client_query); !r) {
    return r.error();
  }

  // 6. Headers: the client's minus hop-by-hop fields and its credentials, then auth.
  upstream_request& out = call.request;
  out.headers.reserve(req.headers.size() + 4);
  forward_client_headers(req.headers, out.headers);
  if (!conf.auth.allow_override || p == provider_kind::bedrock) {
    for (const std::string_view h : {"authorization", "x-api-key", "api-key", "x-goog-api-key"}) {
      out.headers.erase(h);
    }
  }
  if (p == provider_kind::bedrock) {
    // The client's own SigV4 (made with its credentials for the gateway's URL) never travels:
    // the gateway signs again with its own.
    std::vector<std::string> amz;
    for (const auto& [name, value] : out.headers.fields()) {
      if (name.size() >= 6 && iequals(std::string_view(name).substr(0, 6), "x-amz-")) {
        amz.emplace_back(name);
      }
    }
    for (const auto& name : amz) {
      out.headers.erase(name);
    }
  }
  out.headers.set("Content-Type", "application/json");
  out.headers.set("Accept-Encoding", "identity");
  if (p == provider_kind::anthropic && !out.headers.contains("anthropic-version")) {
    out.headers.set("anthropic-version",
                    model_cfg.options.anthropic_version.empty()
                        ? std::string_view("2023-06-01")
                        : std::string_view(model_cfg.options.anthropic_version));
  }
  if (p == provider_kind::huggingface) {
    const auto& hf = model_cfg.options.huggingface;
    if (hf.use_cache && !out.headers.contains("x-use-cache")) {
      out.headers.set("x-use-cache", *hf.use_cache ? "true" : "false");
    }
    if (hf.wait_for_model && !out.headers.contains("x-wait-for-model")) {
      out.headers.set("x-wait-for-model", *hf.wait_for_model ? "true" : "false");
    }
  }
  if (const auto field = apply_auth(conf.auth, out.headers, ep->query, obj)) {
    obj[field->name] = field->value;
    body_changed = true;
  }

  out.body = body_changed ? json::to_json(body) : std::string(req.body);
  out.method = std::string(req.method);
  out.scheme = ep->scheme;
  out.host = std::move(ep->host);
  out.port = ep->port;
  out.target = ep->target();
  if (call.stream) {
    switch (parsed->op) {
      case native_operation::bedrock_converse_stream:
      case native_operation::bedrock_invoke_stream:
        out.framing = stream::framing::aws_eventstream;
        break;
      case native_operation::cohere_chat_v1:
        out.framing = stream::framing::ndjson;
        break;
      case native_operation::gemini_stream_generate:
        out.framing =
            query_has(req.query, "alt", "sse") ? stream::framing::sse : stream::framing::json_array;
        out.json_array_stream_ok = true;
        break;
      default:
        out.framing = stream::framing::sse;
        break;
    }
  }
  if (p == provider_kind::bedrock) {
    out.aws_sigv4 = aws_signing{model_cfg.options.bedrock.aws_region, "bedrock"};
  }
  return call;
}

stream::framing native_stream_framing(const native_call& call, std::string_view content_type) {
  if (!call.stream || !call.has_usage) {
    return stream::framing::none;
  }
  auto has = [&](std::string_view needle) {
    return content_type.find(needle) != std::string_view::npos;
  };
  switch (call.op) {
    case native_operation::bedrock_converse_stream:
    case native_operation::bedrock_invoke_stream:
      return has("vnd.amazon.eventstream") ? stream::framing::aws_eventstream
                                           : stream::framing::none;
    case native_operation::gemini_stream_generate:
      if (has("text/event-stream")) {
        return stream::framing::sse;
      }
      return has("json") ? stream::framing::json_array : stream::framing::none;
    case native_operation::cohere_chat_v1:
      if (has("text/event-stream")) {
        return stream::framing::sse;
      }
      return has("json") ? stream::framing::ndjson : stream::framing::none;
    default:
      return has("text/event-stream") ? stream::framing::sse : stream::framing::none;
  }
}

// ---------------------------------------------------------------- usage

namespace {

// The model options the translators read for this call. Cohere's translators pick v1 or v2 from
// the configured upstream path, so a native v1 call names a /v1/chat URL here.
config::model_options options_for(const native_call& call, const config::ai_proxy_config& conf) {
  config::model_options o = conf.model.options;
  if (call.op == native_operation::cohere_chat_v1) {
    o.upstream_url = "https://api.cohere.com/v1/chat";
  } else if (call.provider == provider_kind::cohere) {
    o.upstream_url = "https://api.cohere.com/v2/chat";
  }
  return o;
}

std::optional<std::int64_t> header_int(const header_list& h, std::string_view name) {
  const auto v = h.get(name);
  if (!v) {
    return std::nullopt;
  }
  const auto s = trim(*v);
  std::int64_t n = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || n < 0) {
    return std::nullopt;
  }
  return n;
}

std::optional<std::int64_t> int_field(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return std::nullopt;
  }
  const auto d = v->to_number<double>();
  if (d < 0) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(d);
}

void finish_usage(json::usage& u) {
  if (u.total_tokens == 0) {
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
  }
  u.known = true;
}

// Usage from one JSON object of a Bedrock InvokeModel body or chunk: Bedrock's own invocation
// metrics, else the usage block of the model's native answer (Anthropic's input_tokens /
// output_tokens with message_start / message_delta, or Converse-like inputTokens / outputTokens).
// Returns true when it found something.
bool read_invoke_usage(const bj::object& o, json::usage& u, std::string& response_model) {
  if (const auto* m = object_at(o, "amazon-bedrock-invocationMetrics")) {
    const auto in = int_field(*m, "inputTokenCount");
    const auto out = int_field(*m, "outputTokenCount");
    if (in || out) {
      u.prompt_tokens = in.value_or(u.prompt_tokens);
      u.completion_tokens = out.value_or(u.completion_tokens);
      u.total_tokens = 0;
      finish_usage(u);
      return true;
    }
  }
  const bj::object* holder = &o;
  if (const auto* msg = object_at(o, "message")) {  // Anthropic message_start
    holder = msg;
    if (const auto m = string_at(*msg, "model"); !m.empty()) {
      response_model = std::string(m);
    }
  } else if (const auto m = string_at(o, "model"); !m.empty()) {
    response_model = std::string(m);
  }
  const auto* usage = object_at(*holder, "usage");
  if (usage == nullptr) {
    return false;
  }
  bool found = false;
  for (const auto& [in_key, out_key] :
       {std::pair<std::string_view, std::string_view>{"input_tokens", "output_tokens"},
        {"inputTokens", "outputTokens"},
        {"prompt_tokens", "completion_tokens"}}) {
    if (const auto in = int_field(*usage, in_key)) {
      u.prompt_tokens = *in;
      found = true;
    }
    if (const auto out = int_field(*usage, out_key)) {
      u.completion_tokens = *out;
      found = true;
    }
  }
  if (const auto c = int_field(*usage, "cache_read_input_tokens")) {
    u.cached_tokens = *c;
  }
  if (found) {
    u.total_tokens = 0;
    finish_usage(u);
  }
  return found;
}

// Standard base64 (with padding) to bytes; nullopt when invalid.
std::optional<std::string> base64_decode(std::string_view in) {
  const auto s = trim(in);
  if (s.empty() || s.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out(s.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) {
    return std::nullopt;
  }
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = s.size(); i > 0 && s[i - 1] == '=' && len > 0; --i) {
    --len;  // EVP_DecodeBlock counts the padding as zero bytes
  }
  out.resize(len);
  return out;
}

target target_for(const native_call& call, const config::ai_proxy_config& conf,
                  const config::model_options& options, bool stream) {
  return target{conf, options, call.model, stream, false, 0, {}};
}

// A native stream read through the provider's own stream translator.
class translator_usage_stream final : public native_usage_stream {
 public:
  translator_usage_stream(const native_call& call, const config::ai_proxy_config& conf,
                          stream::framing framing)
      : options_(options_for(call, conf)),
        target_(target_for(call, conf, options_, true)),
        decoder_(stream::make_decoder(framing)),
        translator_(provider_for(conf).make_stream_translator(target_)) {
    summary_.response_model = call.model;
  }

  void feed(std::string_view bytes) override {
    if (failure_) {
      return;
    }
    if (auto r = decoder_->feed(bytes, events_); !r) {
      translate();
      fail(r.error());
      return;
    }
    translate();
  }

  void finish() override {
    if (failure_) {
      return;
    }
    auto r = decoder_->finish(events_);
    translate();
    if (!r) {
      fail(r.error());
      return;
    }
    if (!failure_) {
      scratch_.clear();
      if (auto f = translator_->finish(scratch_); !f) {
        fail(f.error());
      }
    }
    take_summary();
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return translator_->text(); }
  const std::optional<error>& failure() const override { return failure_; }

 private:
  void translate() {
    for (const auto& ev : events_) {
      if (failure_) {
        break;
      }
      scratch_.clear();
      if (auto r = translator_->on_event(ev, scratch_); !r) {
        fail(r.error());
      }
    }
    events_.clear();
    take_summary();
  }

  void fail(error e) {
    if (!failure_) {
      failure_ = std::move(e);
    }
    take_summary();
  }

  void take_summary() {
    const auto& s = translator_->summary();
    summary_.usage = s.usage;
    summary_.finish_reason = s.finish_reason;
    if (!s.response_model.empty()) {
      summary_.response_model = s.response_model;
    }
  }

  config::model_options options_;
  target target_;
  std::unique_ptr<stream::decoder> decoder_;
  std::unique_ptr<stream_translator> translator_;
  std::vector<stream::event> events_;
  std::string scratch_;  // the translator's client output, discarded
  response_summary summary_;
  std::optional<error> failure_;
};

// InvokeModelWithResponseStream: eventstream `chunk` events whose payload is
// {"bytes": base64(model-native JSON)}. No translator reads these (their content is whatever
// the model family speaks), so usage comes from Bedrock's invocation metrics on the last chunk,
// or the model's own usage fields when those are missing.
class invoke_usage_stream final : public native_usage_stream {
 public:
  explicit invoke_usage_stream(const native_call& call)
      : decoder_(stream::make_decoder(stream::framing::aws_eventstream)) {
    summary_.response_model = call.model;
  }

  void feed(std::string_view bytes) override {
    if (failure_) {
      return;
    }
    auto r = decoder_->feed(bytes, events_);
    read();
    if (!r) {
      failure_ = r.error();
    }
  }

  void finish() override {
    if (failure_) {
      return;
    }
    auto r = decoder_->finish(events_);
    read();
    if (!r) {
      failure_ = r.error();
    }
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return {}; }
  const std::optional<error>& failure() const override { return failure_; }

 private:
  void read() {
    for (const auto& ev : events_) {
      if (failure_) {
        break;
      }
      if (ev.id == "exception" || ev.id == "error") {
        failure_ = error::bad_gateway("bedrock stream failed: " + ev.name, ev.name);
        break;
      }
      if (ev.name != "chunk") {
        continue;
      }
      boost::system::error_code ec;
      const auto v = bj::parse(ev.data, ec);
      const auto* o = ec ? nullptr : v.if_object();
      const auto b64 = o != nullptr ? string_at(*o, "bytes") : std::string_view();
      const auto bytes = base64_decode(b64);
      if (!bytes) {
        continue;
      }
      const auto inner = bj::parse(*bytes, ec);
      if (const auto* io = ec ? nullptr : inner.if_object()) {
        std::string model;
        read_invoke_usage(*io, summary_.usage, model);
        if (!model.empty()) {
          summary_.response_model = std::move(model);
        }
      }
    }
    events_.clear();
  }

  std::unique_ptr<stream::decoder> decoder_;
  std::vector<stream::event> events_;
  response_summary summary_;
  std::optional<error> failure_;
};

}  // namespace

response_summary native_response_summary(const native_call& call,
                                         const config::ai_proxy_config& conf, std::string_view body,
                                         const header_list& headers) {
  response_summary out;
  out.response_model = call.model;
  if (!call.has_usage) {
    return out;
  }
  if (call.op == native_operation::bedrock_invoke) {
    const auto in = header_int(headers, "x-amzn-bedrock-input-token-count");
    const auto outn = header_int(headers, "x-amzn-bedrock-output-token-count");
    boost::system::error_code ec;
    const auto v = bj::parse(body, ec);
    std::string model;
    if (const auto* o = ec ? nullptr : v.if_object()) {
      read_invoke_usage(*o, out.usage, model);
    }
    if (!model.empty()) {
      out.response_model = std::move(model);
    }
    if (in || outn) {
      out.usage.prompt_tokens = in.value_or(0);
      out.usage.completion_tokens = outn.value_or(0);
      out.usage.total_tokens = 0;
      finish_usage(out.usage);
    }
    return out;
  }
  const config::model_options options = options_for(call, conf);
  const target t = target_for(call, conf, options, false);
  auto translated = provider_for(conf).from_upstream(body, t);
  if (!translated) {
    return out;
  }
  out.usage = translated->summary.usage;
  out.finish_reason = translated->summary.finish_reason;
  if (!translated->summary.response_model.empty()) {
    out.response_model = translated->summary.response_model;
  }
  return out;
}

std::unique_ptr<native_usage_stream> make_native_usage_stream(const native_call& call,
                                                              const config::ai_proxy_config& conf,
                                                              stream::framing framing) {
  if (call.op == native_operation::bedrock_invoke_stream) {
    return std::make_unique<invoke_usage_stream>(call);
  }
  return std::make_unique<translator_usage_stream>(call, conf, framing);
}

}  // namespace aiproxy::providers
