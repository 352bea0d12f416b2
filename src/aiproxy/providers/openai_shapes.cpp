// OpenAI request readers and response/chunk writers shared by the translating providers.
// Pure: strings and JSON in, strings out.

#include "aiproxy/providers/openai_shapes.hpp"

#include "aiproxy/providers/auth.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/stream/sse_writer.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <charconv>
#include <cstring>

namespace aiproxy::providers {

namespace {

void write_float(std::string& out, double d) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, static_cast<float>(d));
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

void write_base64(std::string& out, std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = byte(i) << 16;
    if (rest == 2) {
      n |= byte(i + 1) << 8;
    }
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
}

void write_head(std::string& out, std::string_view id, std::string_view object,
                std::int64_t created, std::string_view model) {
  out.append("{\"id\":");
  json::write_string(out, id);
  out.append(",\"object\":");
  json::write_string(out, object);
  out.append(",\"created\":");
  json::write_int(out, created);
  out.append(",\"model\":");
  json::write_string(out, model);
}

void write_finish_reason(std::string& out, std::string_view reason) {
  out.append("\"finish_reason\":");
  if (reason.empty()) {
    out.append("null");
  } else {
    json::write_string(out, reason);
  }
}

}  // namespace

// ---------------------------------------------------------------- reading the request

namespace {

bool forwarded(std::string_view name) {
  static constexpr header_name_set dropped({
      "connection",
      "keep-alive",
      "te",
      "trailer",
      "transfer-encoding",
      "upgrade",
      "proxy-authorization",
      "proxy-connection",
      "host",
      "content-length",
      "accept-encoding",
      "expect",
      "content-type",
  });
  return !dropped.contains(name);
}

}  // namespace

void forward_client_headers(const header_list& in, header_list& out) {
  for (const auto& [name, value] : in.fields()) {
    if (forwarded(name)) {
      out.add(name, value);
    }
  }
}

void forward_client_headers(const header_list& in, header_list& out,
                            const config::auth_config& auth) {
  for (const auto& [name, value] : in.fields()) {
    if (forwarded(name) && !auth_replaces_client_header(auth, name)) {
      out.add(name, value);
    }
  }
}

std::optional<double> tuning_number(const boost::json::object& body, std::string_view key,
                                    std::optional<double> configured,
                                    config::options_precedence precedence) {
  const auto* v = present(body, key);
  std::optional<double> client;
  if (v != nullptr && v->is_number()) {
    client = v->to_number<double>();
  }
  if (configured && (precedence == config::options_precedence::config || !client)) {
    return configured;
  }
  return client;
}

std::optional<std::int64_t> tuning_integer(const boost::json::object& body, std::string_view key,
                                           std::optional<std::int64_t> configured,
                                           config::options_precedence precedence) {
  auto d = tuning_number(
      body, key,
      configured ? std::optional<double>(static_cast<double>(*configured)) : std::nullopt,
      precedence);
  if (!d) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(*d);
}

std::optional<std::int64_t> max_output_tokens(const boost::json::object& body, const target& t) {
  const char* key =
      present(body, "max_completion_tokens") != nullptr ? "max_completion_tokens" : "max_tokens";
  return tuning_integer(body, key, t.options.max_tokens, t.conf.precedence);
}

std::vector<std::string> stop_sequences(const boost::json::object& body) {
  std::vector<std::string> out;
  const auto* v = present(body, "stop");
  if (v == nullptr) {
    return out;
  }
  if (const auto* s = v->if_string()) {
    out.emplace_back(*s);
  } else if (const auto* a = v->if_array()) {
    for (const auto& e : *a) {
      if (const auto* s = e.if_string()) {
        out.emplace_back(*s);
      }
    }
  }
  return out;
}

namespace {

std::optional<double> client_number(const boost::json::object& body, std::string_view key) {
  const auto* v = present(body, key);
  if (v == nullptr || !v->is_number()) {
    return std::nullopt;
  }
  return v->to_number<double>();
}

}  // namespace

sampling read_sampling(const boost::json::object& body, const target& t) {
  const auto prec = t.conf.precedence;
  sampling s;
  s.max_tokens = max_output_tokens(body, t);
  s.temperature = tuning_number(body, "temperature", t.options.temperature, prec);
  s.top_p = tuning_number(body, "top_p", t.options.top_p, prec);
  s.top_k = tuning_integer(body, "top_k", t.options.top_k, prec);
  s.stop = stop_sequences(body);
  s.presence_penalty = client_number(body, "presence_penalty");
  s.frequency_penalty = client_number(body, "frequency_penalty");
  return s;
}

void write_sampling(const sampling& s, const sampling_keys& keys, boost::json::object& out) {
  if (s.max_tokens && !keys.max_tokens.empty()) {
    out[keys.max_tokens] = *s.max_tokens;
  }
  if (s.temperature && !keys.temperature.empty()) {
    out[keys.temperature] = *s.temperature;
  }
  if (s.top_p && !keys.top_p.empty()) {
    out[keys.top_p] = *s.top_p;
  }
  if (s.top_k && !keys.top_k.empty()) {
    out[keys.top_k] = *s.top_k;
  }
  if (!s.stop.empty() && !keys.stop.empty()) {
    out[keys.stop] = string_array(s.stop);
  }
}

boost::json::array string_array(const std::vector<std::string>& strings) {
  boost::json::array a;
  a.reserve(strings.size());
  for (const auto& s : strings) {
    a.emplace_back(s);
  }
  return a;
}

std::string content_text(const boost::json::value* content, char separator) {
  std::string out;
  if (content == nullptr) {
    return out;
  }
  if (const auto* s = content->if_string()) {
    out.assign(s->data(), s->size());
    return out;
  }
  if (const auto* parts = content->if_array()) {
    for (const auto& p : *parts) {
      const auto* po = p.if_object();
      const auto* text = po != nullptr ? po->if_contains("text") : nullptr;
      if (text != nullptr && text->is_string()) {
        if (!out.empty()) {
          out.push_back(separator);
        }
        out.append(text->get_string().data(), text->get_string().size());
      }
    }
  }
  return out;
}

std::optional<data_url> parse_data_url(std::string_view url) {
  constexpr std::string_view scheme = "data:";
  if (url.substr(0, scheme.size()) != scheme) {
    return std::nullopt;
  }
  const auto comma = url.find(',');
  if (comma == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view meta = url.substr(scheme.size(), comma - scheme.size());
  constexpr std::string_view b64 = ";base64";
  if (meta.size() < b64.size() || meta.substr(meta.size() - b64.size()) != b64) {
    return std::nullopt;
  }
  meta.remove_suffix(b64.size());
  if (const auto semi = meta.find(';'); semi != std::string_view::npos) {
    meta = meta.substr(0, semi);  // drop parameters such as charset
  }
  return data_url{std::string(meta), url.substr(comma + 1)};
}

result<tool_choice> read_tool_choice(const boost::json::object& body) {
  tool_choice c;
  const auto* v = present(body, "tool_choice");
  if (v == nullptr) {
    return c;
  }
  if (const auto* s = v->if_string()) {
    if (*s == "auto") {
      c.kind = tool_choice::mode::auto_;
    } else if (*s == "none") {
      c.kind = tool_choice::mode::none;
    } else if (*s == "required") {
      c.kind = tool_choice::mode::required;
    } else {
      return error::bad_request("tool_choice must be 'auto', 'none', 'required' or a function");
    }
    return c;
  }
  if (const auto* o = v->if_object()) {
    const auto* fn = o->if_contains("function");
    const auto* name =
        fn != nullptr && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
    if (name != nullptr && name->is_string() && !name->get_string().empty()) {
      c.kind = tool_choice::mode::function;
      c.function_name = std::string(name->get_string());
      return c;
    }
  }
  return error::bad_request(
      "tool_choice must be 'auto', 'none', 'required' or "
      "{\"type\":\"function\",\"function\":{\"name\":...}}");
}

result<response_format> read_response_format(const boost::json::object& body) {
  response_format f;
  const auto* v = present(body, "response_format");
  if (v == nullptr) {
    return f;
  }
  const auto* o = v->if_object();
  const auto* type = o != nullptr ? o->if_contains("type") : nullptr;
  if (type == nullptr || !type->is_string()) {
    return error::bad_request("response_format must be an object with a 'type'");
  }
  const auto& ts = type->get_string();
  if (ts == "text") {
    return f;
  }
  if (ts == "json_object") {
    f.kind = response_format::mode::json_object;
    return f;
  }
  if (ts == "json_schema") {
    const auto* js = o->if_contains("json_schema");
    const auto* jso = js != nullptr ? js->if_object() : nullptr;
    const auto* schema = jso != nullptr ? jso->if_contains("schema") : nullptr;
    if (schema == nullptr || !schema->is_object()) {
      return error::bad_request("response_format.json_schema.schema must be an object");
    }
    f.kind = response_format::mode::json_schema;
    f.schema = &schema->get_object();
    if (const auto* n = jso->if_contains("name"); n != nullptr && n->is_string()) {
      f.name = std::string(n->get_string());
    }
    if (const auto* s = jso->if_contains("strict"); s != nullptr && s->is_bool()) {
      f.strict = s->get_bool();
    }
    return f;
  }
  return error::bad_request("response_format.type '" + std::string(ts) + "' is not supported");
}

// ---------------------------------------------------------------- writing responses

void write_usage_field(std::string& out, const json::usage& u) {
  out.append("\"usage\":{\"prompt_tokens\":");
  json::write_int(out, u.prompt_tokens);
  out.append(",\"completion_tokens\":");
  json::write_int(out, u.completion_tokens);
  out.append(",\"total_tokens\":");
  json::write_int(out,
                  u.total_tokens != 0 ? u.total_tokens : u.prompt_tokens + u.completion_tokens);
  if (u.cached_tokens != 0) {
    out.append(",\"prompt_tokens_details\":{\"cached_tokens\":");
    json::write_int(out, u.cached_tokens);
    out.push_back('}');
  }
  if (u.reasoning_tokens != 0) {
    out.append(",\"completion_tokens_details\":{\"reasoning_tokens\":");
    json::write_int(out, u.reasoning_tokens);
    out.push_back('}');
  }
  out.push_back('}');
}

std::string write_chat_completion(const chat_result& r, const target& t) {
  std::string out;
  out.reserve(256 + (r.content ? r.content->size() : 0));
  write_head(out, r.id.empty() ? t.id : std::string_view(r.id), "chat.completion", t.created,
             r.model.empty() ? std::string_view(t.model) : std::string_view(r.model));
  out.append(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
  if (r.content) {
    json::write_string(out, *r.content);
  } else {
    out.append("null");
  }
  if (r.reasoning_content) {
    out.append(",\"reasoning_content\":");
    json::write_string(out, *r.reasoning_content);
  }
  if (!r.tool_calls.empty()) {
    out.append(",\"tool_calls\":[");
    bool first = true;
    for (const auto& c : r.tool_calls) {
      if (!first) {
        out.push_back(',');
      }
      first = false;
      out.append("{\"id\":");
      json::write_string(out, c.id);
      out.append(",\"type\":\"function\",\"function\":{\"name\":");
      json::write_string(out, c.name);
      out.append(",\"arguments\":");
      json::write_string(out, c.arguments);
      out.append("}}");
    }
    out.push_back(']');
  }
  out.append("},\"logprobs\":null,");
  write_finish_reason(out, r.finish_reason);
  out.append("}]");
  if (r.usage.known) {
    out.push_back(',');
    write_usage_field(out, r.usage);
  }
  out.push_back('}');
  return out;
}

std::string write_text_completion(const text_result& r, const target& t) {
  std::string out;
  out.reserve(192 + r.text.size());
  write_head(out, r.id.empty() ? t.id : std::string_view(r.id), "text_completion", t.created,
             r.model.empty() ? std::string_view(t.model) : std::string_view(r.model));
  out.append(",\"choices\":[{\"index\":0,\"text\":");
  json::write_string(out, r.text);
  out.append(",\"logprobs\":null,");
  write_finish_reason(out, r.finish_reason);
  out.append("}]");
  if (r.usage.known) {
    out.push_back(',');
    write_usage_field(out, r.usage);
  }
  out.push_back('}');
  return out;
}

std::string write_embeddings(const std::vector<std::vector<double>>& vectors,
                             std::string_view model, const json::usage& usage,
                             const boost::json::object& client_body) {
  const auto* enc = client_body.if_contains("encoding_format");
  const bool base64 = enc != nullptr && enc->is_string() && enc->get_string() == "base64";
  std::string out;
  out.append("{\"object\":\"list\",\"data\":[");
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    out.append("{\"object\":\"embedding\",\"index\":");
    json::write_int(out, static_cast<std::int64_t>(i));
    out.append(",\"embedding\":");
    if (base64) {
      std::string bytes(vectors[i].size() * 4, '\0');
      for (std::size_t k = 0; k < vectors[i].size(); ++k) {
        const float f = static_cast<float>(vectors[i][k]);
        std::uint32_t bits = 0;
        std::memcpy(&bits, &f, 4);
        for (int b = 0; b < 4; ++b) {  // little-endian float32, as OpenAI sends it
          bytes[k * 4 + static_cast<std::size_t>(b)] = static_cast<char>((bits >> (8 * b)) & 0xFF);
        }
      }
      out.push_back('"');
      write_base64(out, bytes);
      out.push_back('"');
    } else {
      out.push_back('[');
      for (std::size_t k = 0; k < vectors[i].size(); ++k) {
        if (k != 0) {
          out.push_back(',');
        }
        write_float(out, vectors[i][k]);
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out.append("],\"model\":");
  json::write_string(out, model);
  out.append(",\"usage\":{\"prompt_tokens\":");
  json::write_int(out, usage.prompt_tokens);
  out.append(",\"total_tokens\":");
  json::write_int(out, usage.total_tokens != 0 ? usage.total_tokens : usage.prompt_tokens);
  out.append("}}");
  return out;
}

std::optional<std::string> embeddings_to_base64(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  auto* o = ec ? nullptr : v.if_object();
  auto* data = o != nullptr ? o->if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array()) {
    return std::nullopt;
  }
  for (auto& item : data->get_array()) {
    auto* io = item.if_object();
    auto* emb = io != nullptr ? io->if_contains("embedding") : nullptr;
    if (emb == nullptr || !emb->is_array()) {
      continue;
    }
    std::string bytes;
    bytes.reserve(emb->get_array().size() * 4);
    for (const auto& x : emb->get_array()) {
      const float f = x.is_number() ? static_cast<float>(x.to_number<double>()) : 0.0F;
      std::uint32_t bits = 0;
      std::memcpy(&bits, &f, 4);
      for (int b = 0; b < 4; ++b) {  // little-endian float32, as OpenAI sends it
        bytes.push_back(static_cast<char>((bits >> (8 * b)) & 0xFF));
      }
    }
    std::string encoded;
    write_base64(encoded, bytes);
    *emb = encoded;
  }
  return json::to_json(v);
}

std::string write_openai_error(std::string_view message, std::string_view type,
                               std::string_view code, std::string_view param) {
  std::string out;
  out.append("{\"error\":{\"message\":");
  json::write_string(out, message);
  out.append(",\"type\":");
  json::write_string(out, type);
  out.append(",\"param\":");
  if (param.empty()) {
    out.append("null");
  } else {
    json::write_string(out, param);
  }
  out.append(",\"code\":");
  if (code.empty()) {
    out.append("null");
  } else {
    json::write_string(out, code);
  }
  out.append("}}");
  return out;
}

std::string_view openai_error_type_for(int status) {
  switch (status) {
    case 400:
    case 404:
    case 409:
    case 413:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

// ---------------------------------------------------------------- writing streams

chunk_writer::chunk_writer(const target& t)
    : t_(t),
      id_(t.id),
      model_(t.model),
      chat_(t.conf.route_type == config::route_type::llm_v1_chat) {}

void chunk_writer::head(std::string& out) {
  out.append("data: ");
  write_head(out, id_, chat_ ? "chat.completion.chunk" : "text_completion", t_.created, model_);
}

void chunk_writer::role(std::string& out) {
  if (role_sent_ || !chat_) {
    role_sent_ = true;
    return;
  }
  role_sent_ = true;
  head(out);
  out.append(
      ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
      "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void chunk_writer::delta_text(std::string& out, std::string_view field, std::string_view text) {
  role(out);
  head(out);
  out.append(",\"choices\":[{\"index\":0,\"delta\":{\"");
  out.append(field);
  out.append("\":");
  json::write_string(out, text);
  out.append("},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void chunk_writer::content(std::string& out, std::string_view text) {
  if (chat_) {
    delta_text(out, "content", text);
    return;
  }
  role(out);
  head(out);
  out.append(",\"choices\":[{\"index\":0,\"text\":");
  json::write_string(out, text);
  out.append(",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void chunk_writer::reasoning(std::string& out, std::string_view text) {
  if (chat_) {
    delta_text(out, "reasoning_content", text);
  }
}

void chunk_writer::tool_call_start(std::string& out, int index, std::string_view id,
                                   std::string_view name) {
  role(out);
  head(out);
  out.append(",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":");
  json::write_int(out, index);
  out.append(",\"id\":");
  json::write_string(out, id);
  out.append(",\"type\":\"function\",\"function\":{\"name\":");
  json::write_string(out, name);
  out.append(",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void chunk_writer::tool_call_arguments(std::string& out, int index, std::string_view fragment) {
  role(out);
  head(out);
  out.append(",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":");
  json::write_int(out, index);
  out.append(",\"function\":{\"arguments\":");
  json::write_string(out, fragment);
  out.append("}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void chunk_writer::finish(std::string& out, std::string_view finish_reason,
                          const json::usage& usage) {
  if (finished_) {
    return;
  }
  finished_ = true;
  role(out);
  head(out);
  if (chat_) {
    out.append(",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,");
  } else {
    out.append(",\"choices\":[{\"index\":0,\"text\":\"\",\"logprobs\":null,");
  }
  write_finish_reason(out, finish_reason.empty() ? std::string_view("stop") : finish_reason);
  out.append("}]}\n\n");
  if (t_.client_wants_usage) {
    head(out);
    out.append(",\"choices\":[],");
    json::usage u = usage;
    write_usage_field(out, u);
    out.append("}\n\n");
  }
  stream::write_sse_done(out);
}

}  // namespace aiproxy::providers
