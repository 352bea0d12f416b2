// Gemini / Vertex AI translator (see gemini.hpp): endpoint and action, OpenAI request →
// GenerateContentRequest / embeddings request, GenerateContentResponse → OpenAI response, the
// stream translator and Google's error shape. Pure: no I/O, no clock.
#include "aiproxy/providers/gemini.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <map>

namespace aiproxy::providers {

namespace {

using config::route_type;

constexpr std::string_view public_host = "generativelanguage.googleapis.com";

// ---------------------------------------------------------------- small JSON helpers

std::optional<std::int64_t> int_of(const boost::json::value* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->get_int64();
  }
  if (v->is_uint64()) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_double()) {
    return static_cast<std::int64_t>(v->get_double());
  }
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

std::string route_prefix(route_type rt) {
  std::string p = "transformation failed from type gemini://";
  p += config::to_string(rt);
  p += ": ";
  return p;
}

std::string request_prefix(route_type rt) {
  std::string p = "error transforming to gemini://";
  p += config::to_string(rt);
  p += ": ";
  return p;
}

bool is_vertex(const config::gemini_options& g) {
  return !g.api_endpoint.empty() && !g.project_id.empty() && !g.location_id.empty();
}

// ---------------------------------------------------------------- the endpoint

// A model id as one path segment: percent-encoded, except '@' (a path character Vertex model
// versions use, `claude-3@20240229`).
std::string model_segment(std::string_view id) {
  std::string enc = percent_encode(id);
  for (auto pos = enc.find("%40"); pos != std::string::npos; pos = enc.find("%40", pos + 1)) {
    enc.replace(pos, 3, "@");
  }
  return enc;
}

// `models/{id}` for the public API; a leading `models/` or `tunedModels/` is kept.
std::string public_model_path(std::string_view model) {
  for (const std::string_view prefix : {"models/", "tunedModels/"}) {
    if (starts_with(model, prefix)) {
      return std::string(prefix) + model_segment(model.substr(prefix.size()));
    }
  }
  return "models/" + model_segment(model);
}

// `publishers/google/models/{id}` for Vertex; `publishers/{p}/models/{id}` and `models/{id}` are
// understood.
std::string vertex_model_path(std::string_view model) {
  if (starts_with(model, "publishers/")) {
    const auto rest = model.substr(std::string_view("publishers/").size());
    const auto slash = rest.find("/models/");
    if (slash != std::string_view::npos && slash > 0) {
      return "publishers/" + percent_encode(rest.substr(0, slash)) + "/models/" +
             model_segment(rest.substr(slash + std::string_view("/models/").size()));
    }
  }
  if (starts_with(model, "models/")) {
    model.remove_prefix(std::string_view("models/").size());
  }
  return "publishers/google/models/" + model_segment(model);
}

bool is_host_port(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == ':';
  });
}

// Switches the action of a configured path (`…:generateContent` ↔ `…:streamGenerateContent`)
// to the one this call needs; other paths stay as they are.
void switch_action(std::string& path, bool stream) {
  const auto slash = path.rfind('/');
  const auto colon = path.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return;
  }
  const std::string_view action = std::string_view(path).substr(colon + 1);
  if (action == "generateContent" || action == "streamGenerateContent") {
    path.resize(colon + 1);
    path += stream ? "streamGenerateContent" : "generateContent";
  }
}

bool upstream_url_has_alt(std::string_view upstream_url) {
  auto parsed = boost::urls::parse_uri(upstream_url);
  return parsed && parsed->params().find("alt") != parsed->params().end();
}

result<endpoint> make_endpoint(const target& t, std::string_view query) {
  const auto rt = t.conf.route_type;
  const auto& g = t.options.gemini;
  const bool vertex = is_vertex(g);
  const bool embeddings = rt == route_type::llm_v1_embeddings;
  std::string action;
  if (embeddings) {
    action = vertex ? "predict" : "batchEmbedContents";
  } else {
    action = t.stream ? "streamGenerateContent" : "generateContent";
  }
  endpoint ep;
  if (vertex) {
    if (!is_host_port(g.api_endpoint)) {
      return error::internal("model.options.gemini.api_endpoint must be a host name");
    }
    if (auto r = apply_upstream_url(ep, "https://" + g.api_endpoint); !r) {
      return r.error();
    }
    ep.path = "/v1/projects/" + percent_encode(g.project_id) + "/locations/" +
              percent_encode(g.location_id) + "/";
    ep.path += g.endpoint_id.empty() ? vertex_model_path(t.model)
                                     : "endpoints/" + percent_encode(g.endpoint_id);
  } else {
    ep.host = public_host;
    ep.path = "/v1beta/" + public_model_path(t.model);
  }
  ep.path.push_back(':');
  ep.path += action;

  const auto& upstream_url = t.options.upstream_url;
  if (!upstream_url.empty()) {
    const std::string provider_path = ep.path;
    if (auto r = apply_upstream_url(ep, upstream_url); !r) {
      return r.error();
    }
    if (ep.path != provider_path && !embeddings) {
      switch_action(ep.path, t.stream);  // one configured URL serves both kinds of call
    }
  }
  if (!embeddings) {
    if (t.stream) {
      ep.query.set("alt", "sse", query_builder::origin::gateway);
    } else if (!upstream_url.empty() && upstream_url_has_alt(upstream_url)) {
      ep.query.set("alt", "json", query_builder::origin::gateway);
    }
  }
  if (auto r = ep.query.add_client_query(query); !r) {
    return r.error();
  }
  return ep;
}

// ---------------------------------------------------------------- the request

struct request_error {
  route_type rt;
  error operator()(std::string_view detail) const {
    return error::bad_request(request_prefix(rt) + std::string(detail));
  }
};

std::string_view mime_from_extension(std::string_view url) {
  const auto end = url.find_first_of("?#");
  std::string_view path = url.substr(0, end);
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return {};
  }
  const std::string ext = lower(path.substr(dot + 1));
  if (ext == "png") {
    return "image/png";
  }
  if (ext == "jpg" || ext == "jpeg") {
    return "image/jpeg";
  }
  if (ext == "webp") {
    return "image/webp";
  }
  if (ext == "gif") {
    return "image/gif";
  }
  if (ext == "pdf") {
    return "application/pdf";
  }
  return {};
}

// One image_url / file URL as a Gemini part: a base64 data URL → inlineData; an https (or gs)
// URL → fileData with the type guessed from its extension. Nothing is fetched.
result<boost::json::object> media_part(std::string_view url, const request_error& fail) {
  if (auto d = parse_data_url(url)) {
    boost::json::object inline_data;
    inline_data["mimeType"] = d->mime_type;
    inline_data["data"] = d->base64;
    return boost::json::object{{"inlineData", std::move(inline_data)}};
  }
  const bool https = starts_with(url, "https://") || starts_with(url, "http://");
  const bool gcs = starts_with(url, "gs://");
  if (!https && !gcs) {
    return fail("image_url must be a base64 data URL or an https URL");
  }
  boost::json::object file_data;
  const auto mime = mime_from_extension(url);
  const bool files_api = starts_with(url, "https://generativelanguage.googleapis.com/") &&
                         url.find("/files/") != std::string_view::npos;
  if (!mime.empty()) {
    file_data["mimeType"] = mime;
  } else if (!files_api) {
    return fail(
        "cannot tell the media type of image_url '" + std::string(url.substr(0, 200)) +
        "': send a base64 data URL, or a URL ending in .png, .jpg, .jpeg, .webp, .gif or .pdf");
  }
  file_data["fileUri"] = url;
  return boost::json::object{{"fileData", std::move(file_data)}};
}

result<boost::json::array> user_parts(const boost::json::value* content,
                                      const request_error& fail) {
  boost::json::array parts;
  if (content == nullptr || content->is_null()) {
    return parts;
  }
  if (const auto* s = content->if_string()) {
    parts.push_back(boost::json::object{{"text", *s}});
    return parts;
  }
  const auto* arr = content->if_array();
  if (arr == nullptr) {
    return fail("message content must be a string or an array of parts");
  }
  for (const auto& pv : *arr) {
    const auto* p = pv.if_object();
    if (p == nullptr) {
      return fail("message content parts must be objects");
    }
    const std::string_view type = string_at(*p, "type");
    if (type == "text") {
      const auto* text = p->if_contains("text");
      if (text == nullptr || !text->is_string()) {
        return fail("message part of type 'text' has no 'text' string");
      }
      parts.push_back(boost::json::object{{"text", text->get_string()}});
    } else if (type == "image_url") {
      const auto* iu = p->if_contains("image_url");
      std::string_view url;
      if (iu != nullptr && iu->is_object()) {
        url = string_at(iu->get_object(), "url");
      } else if (iu != nullptr && iu->is_string()) {
        url = iu->get_string();
      }
      if (url.empty()) {
        return fail("message part of type 'image_url' has no 'image_url.url'");
      }
      auto part = media_part(url, fail);
      if (!part) {
        return part.error();
      }
      parts.push_back(std::move(*part));
    } else if (type == "input_audio") {
      const auto* ia = p->if_contains("input_audio");
      const auto* o = ia != nullptr ? ia->if_object() : nullptr;
      if (o == nullptr || string_at(*o, "data").empty() || string_at(*o, "format").empty()) {
        return fail("message part of type 'input_audio' needs 'input_audio.data' and 'format'");
      }
      boost::json::object inline_data;
      inline_data["mimeType"] = "audio/" + lower(string_at(*o, "format"));
      inline_data["data"] = string_at(*o, "data");
      parts.push_back(boost::json::object{{"inlineData", std::move(inline_data)}});
    } else if (type == "file") {
      const auto* f = p->if_contains("file");
      const auto* o = f != nullptr ? f->if_object() : nullptr;
      const std::string_view data = o != nullptr ? string_at(*o, "file_data") : std::string_view();
      if (data.empty()) {
        return fail("message part of type 'file' needs 'file.file_data' (a base64 data URL)");
      }
      auto part = media_part(data, fail);
      if (!part) {
        return part.error();
      }
      parts.push_back(std::move(*part));
    } else {
      return fail("cannot transform part of type '" + std::string(type) + "' to Gemini format");
    }
  }
  return parts;
}

// A tool result's payload: a JSON object as it is, anything else as {"content": text}.
boost::json::object function_response(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (!ec && v.is_object()) {
    return std::move(v.get_object());
  }
  return boost::json::object{{"content", text}};
}

struct contents_result {
  boost::json::array contents;
  std::string system;
  bool has_system = false;
};

result<contents_result> map_messages(const boost::json::array& messages,
                                     const request_error& fail) {
  contents_result out;
  std::map<std::string, std::string, std::less<>> call_names;  // tool_call id → function name
  bool last_is_tool_turn = false;
  for (const auto& mv : messages) {
    const auto* m = mv.if_object();
    if (m == nullptr) {
      return fail("every message must be an object");
    }
    const std::string_view role = string_at(*m, "role");
    const auto* content = m->if_contains("content");
    if (role == "system" || role == "developer") {
      if (out.has_system) {
        out.system.push_back('\n');
      }
      out.system += content_text(content);
      out.has_system = true;
      continue;
    }
    if (role == "user") {
      auto parts = user_parts(content, fail);
      if (!parts) {
        return parts.error();
      }
      if (parts->empty()) {
        parts->push_back(boost::json::object{{"text", ""}});
      }
      out.contents.push_back(boost::json::object{{"role", "user"}, {"parts", std::move(*parts)}});
      last_is_tool_turn = false;
      continue;
    }
    if (role == "assistant") {
      boost::json::array parts;
      if (std::string text = content_text(content); !text.empty()) {
        parts.push_back(boost::json::object{{"text", std::move(text)}});
      }
      if (const auto* tc = present(*m, "tool_calls")) {
        if (!tc->is_array()) {
          return fail("assistant tool_calls must be an array");
        }
        for (const auto& cv : tc->get_array()) {
          const auto* c = cv.if_object();
          const auto* fn = c != nullptr ? c->if_contains("function") : nullptr;
          const auto* fo = fn != nullptr ? fn->if_object() : nullptr;
          const std::string_view name = fo != nullptr ? string_at(*fo, "name") : std::string_view();
          if (name.empty()) {
            return fail("assistant tool_calls need function.name");
          }
          std::string_view args_text = string_at(*fo, "arguments");
          boost::json::value args = boost::json::object();
          if (!args_text.empty()) {
            boost::system::error_code ec;
            args = boost::json::parse(args_text, ec);
            if (ec || !args.is_object()) {
              return fail("the arguments of tool call '" + std::string(name) +
                          "' are not a JSON object");
            }
          }
          parts.push_back(boost::json::object{
              {"functionCall", boost::json::object{{"name", name}, {"args", std::move(args)}}}});
          if (const std::string_view id = string_at(*c, "id"); !id.empty()) {
            call_names.insert_or_assign(std::string(id), std::string(name));
          }
        }
      }
      if (!parts.empty()) {
        out.contents.push_back(boost::json::object{{"role", "model"}, {"parts", std::move(parts)}});
        last_is_tool_turn = false;
      }
      continue;
    }
    if (role == "tool" || role == "function") {
      std::string name;
      if (role == "tool") {
        const std::string_view id = string_at(*m, "tool_call_id");
        const auto it = call_names.find(id);
        if (it == call_names.end()) {
          return fail("tool message with tool_call_id '" + std::string(id) +
                      "' does not answer any earlier assistant tool call: Gemini needs the "
                      "function name");
        }
        name = it->second;
      } else {
        name = std::string(string_at(*m, "name"));
        if (name.empty()) {
          return fail("function message needs a 'name'");
        }
      }
      boost::json::object part{
          {"functionResponse",
           boost::json::object{{"name", name},
                               {"response", function_response(content_text(content))}}}};
      if (last_is_tool_turn) {
        out.contents.back().as_object()["parts"].as_array().push_back(std::move(part));
      } else {
        out.contents.push_back(
            boost::json::object{{"role", "user"}, {"parts", boost::json::array{std::move(part)}}});
        last_is_tool_turn = true;
      }
      continue;
    }
    return fail("message role '" + std::string(role) + "' is not supported by Gemini");
  }
  return out;
}

result<void> map_tools(const boost::json::object& body, boost::json::object& out,
                       const request_error& fail) {
  const auto* tools = present(body, "tools");
  boost::json::array decls;
  if (tools != nullptr) {
    if (!tools->is_array()) {
      return fail("tools must be an array");
    }
    for (const auto& tv : tools->get_array()) {
      const auto* to = tv.if_object();
      if (to == nullptr) {
        return fail("every tool must be an object");
      }
      const std::string_view type = string_at(*to, "type");
      if (type != "function") {
        return fail("tool type '" + std::string(type) + "' is not supported by Gemini");
      }
      const auto* fn = to->if_contains("function");
      const auto* fo = fn != nullptr ? fn->if_object() : nullptr;
      if (fo == nullptr || string_at(*fo, "name").empty()) {
        return fail("every tool needs function.name");
      }
      boost::json::object d;
      d["name"] = string_at(*fo, "name");
      if (const auto* desc = present(*fo, "description")) {
        d["description"] = *desc;
      }
      if (const auto* params = present(*fo, "parameters")) {
        // parametersJsonSchema takes standard JSON Schema (additionalProperties, type arrays…)
        // as OpenAI clients write it; `parameters` only takes Google's OpenAPI subset.
        d["parametersJsonSchema"] = *params;
      }
      decls.push_back(std::move(d));
    }
    if (!decls.empty()) {
      out["tools"] =
          boost::json::array{boost::json::object{{"functionDeclarations", std::move(decls)}}};
    }
  }
  auto choice = read_tool_choice(body);
  if (!choice) {
    return choice.error();
  }
  std::string_view mode;
  switch (choice->kind) {
    case tool_choice::mode::unset:
      break;
    case tool_choice::mode::auto_:
      mode = "AUTO";
      break;
    case tool_choice::mode::none:
      mode = "NONE";
      break;
    case tool_choice::mode::required:
    case tool_choice::mode::function:
      mode = "ANY";
      break;
  }
  if (!mode.empty()) {
    boost::json::object fcc{{"mode", mode}};
    if (choice->kind == tool_choice::mode::function) {
      fcc["allowedFunctionNames"] = boost::json::array{boost::json::value(choice->function_name)};
    }
    out["toolConfig"] = boost::json::object{{"functionCallingConfig", std::move(fcc)}};
  }
  if (const auto* ptc = present(body, "parallel_tool_calls");
      ptc != nullptr && ptc->is_bool() && !ptc->get_bool() && out.contains("tools") &&
      choice->kind != tool_choice::mode::none) {
    return fail("parallel_tool_calls: false cannot be expressed for Gemini");
  }
  return {};
}

// Fields of the OpenAI request Gemini has no way to honour.
result<void> reject_unsupported(const boost::json::object& body, const request_error& fail) {
  if (const auto* v = present(body, "logprobs"); v != nullptr && v->is_bool() && v->get_bool()) {
    return fail("logprobs is not supported by the Gemini translator");
  }
  if (present(body, "top_logprobs") != nullptr) {
    return fail("top_logprobs is not supported by the Gemini translator");
  }
  if (const auto* v = present(body, "logit_bias");
      v != nullptr && !(v->is_object() && v->get_object().empty())) {
    return fail("logit_bias is not supported by Gemini");
  }
  if (present(body, "functions") != nullptr || present(body, "function_call") != nullptr) {
    return fail("functions/function_call are not supported by the Gemini translator: use tools");
  }
  if (present(body, "audio") != nullptr) {
    return fail("audio output is not supported by the Gemini translator");
  }
  if (const auto* v = present(body, "modalities"); v != nullptr && v->is_array()) {
    for (const auto& m : v->get_array()) {
      if (!(m.is_string() && m.get_string() == "text")) {
        return fail("only the 'text' modality is supported by the Gemini translator");
      }
    }
  }
  return {};
}

result<void> map_generation_config(const boost::json::object& body, const target& t,
                                   boost::json::object& out, const request_error& fail) {
  const auto s = read_sampling(body, t);
  boost::json::object gc;
  write_sampling(s, {"maxOutputTokens", "temperature", "topP", "topK", "stopSequences"}, gc);
  if (auto v = int_of(present(body, "seed"))) {
    gc["seed"] = *v;
  }
  if (s.presence_penalty) {
    gc["presencePenalty"] = *s.presence_penalty;
  }
  if (s.frequency_penalty) {
    gc["frequencyPenalty"] = *s.frequency_penalty;
  }
  if (auto n = int_of(present(body, "n")); n && *n != 1) {
    if (*n < 1) {
      return fail("n must be at least 1");
    }
    if (t.stream) {
      return fail("n > 1 is not supported with stream by the Gemini translator");
    }
    gc["candidateCount"] = *n;
  }
  auto format = read_response_format(body);
  if (!format) {
    return format.error();
  }
  if (format->kind != response_format::mode::text) {
    gc["responseMimeType"] = "application/json";
  }
  if (format->kind == response_format::mode::json_schema) {
    // responseJsonSchema accepts standard JSON Schema; responseSchema only Google's subset.
    gc["responseJsonSchema"] = *format->schema;
  }
  if (const auto* v = present(body, "reasoning_effort")) {
    if (!v->is_string()) {
      return fail("reasoning_effort must be a string");
    }
    const std::string_view effort = v->get_string();
    boost::json::object thinking;
    if (t.model.find("gemini-3") != std::string::npos) {
      // Gemini 3 takes a level; it cannot switch thinking off, "none" asks for the least.
      thinking["thinkingLevel"] = effort == "none" ? std::string_view("minimal") : effort;
      thinking["includeThoughts"] = true;
    } else {
      std::int64_t budget = 0;
      if (effort == "none") {
        budget = 0;
      } else if (effort == "minimal") {
        budget = 512;
      } else if (effort == "low") {
        budget = 1024;
      } else if (effort == "medium") {
        budget = 8192;
      } else if (effort == "high") {
        budget = 24576;
      } else {
        return fail("reasoning_effort '" + std::string(effort) + "' is not supported by Gemini");
      }
      thinking["thinkingBudget"] = budget;
      if (budget > 0) {
        thinking["includeThoughts"] = true;
      }
    }
    gc["thinkingConfig"] = std::move(thinking);
  }
  if (!gc.empty()) {
    out["generationConfig"] = std::move(gc);
  }
  return {};
}

result<boost::json::object> chat_body(const boost::json::object& body, const target& t) {
  const request_error fail{t.conf.route_type};
  if (auto r = reject_unsupported(body, fail); !r) {
    return r.error();
  }
  boost::json::object out;
  const auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) {
    return fail("messages must be an array");
  }
  auto mapped = map_messages(messages->get_array(), fail);
  if (!mapped) {
    return mapped.error();
  }
  if (mapped->has_system) {
    if (starts_with(t.model, "gemini-1.0") || starts_with(t.model, "models/gemini-1.0")) {
      return fail("system prompts aren't supported on gemini-1.0 models");
    }
  }
  if (mapped->contents.empty()) {
    return fail("the request has no user or assistant message to send");
  }
  out["contents"] = std::move(mapped->contents);
  if (mapped->has_system) {
    out["systemInstruction"] = boost::json::object{
        {"parts", boost::json::array{boost::json::object{{"text", std::move(mapped->system)}}}}};
  }
  if (auto r = map_tools(body, out, fail); !r) {
    return r.error();
  }
  if (auto r = map_generation_config(body, t, out, fail); !r) {
    return r.error();
  }
  return out;
}

result<boost::json::object> completions_body(const boost::json::object& body, const target& t) {
  const request_error fail{t.conf.route_type};
  if (auto r = reject_unsupported(body, fail); !r) {
    return r.error();
  }
  const auto* prompt = body.if_contains("prompt");
  std::string_view text;
  if (prompt != nullptr && prompt->is_string()) {
    text = prompt->get_string();
  } else if (prompt != nullptr && prompt->is_array() && prompt->get_array().size() == 1 &&
             prompt->get_array().front().is_string()) {
    text = prompt->get_array().front().get_string();
  } else {
    return fail("prompt must be one string (Gemini takes no batches or token arrays)");
  }
  boost::json::object out;
  out["contents"] = boost::json::array{boost::json::object{
      {"role", "user"}, {"parts", boost::json::array{boost::json::object{{"text", text}}}}}};
  if (auto r = map_generation_config(body, t, out, fail); !r) {
    return r.error();
  }
  return out;
}

result<boost::json::object> embeddings_body(const boost::json::object& body, const target& t,
                                            bool vertex_shape) {
  const request_error fail{t.conf.route_type};
  std::vector<std::string_view> inputs;
  const auto* input = body.if_contains("input");
  if (input != nullptr && input->is_string()) {
    inputs.push_back(input->get_string());
  } else if (input != nullptr && input->is_array()) {
    for (const auto& v : input->get_array()) {
      if (!v.is_string()) {
        return fail("input must be a string or an array of strings (Gemini takes no tokens)");
      }
      inputs.push_back(v.get_string());
    }
  }
  if (inputs.empty()) {
    return fail("input must be a string or an array of strings");
  }
  const auto dims =
      tuning_integer(body, "dimensions", t.options.embeddings_dimensions, t.conf.precedence);
  boost::json::object out;
  if (vertex_shape) {
    boost::json::array instances;
    for (const auto s : inputs) {
      instances.push_back(boost::json::object{{"content", s}});
    }
    out["instances"] = std::move(instances);
    if (dims) {
      out["parameters"] = boost::json::object{{"outputDimensionality", *dims}};
    }
    return out;
  }
  std::string model = t.model;
  if (!starts_with(model, "models/") && !starts_with(model, "tunedModels/")) {
    model = "models/" + model;
  }
  boost::json::array requests;
  for (const auto s : inputs) {
    boost::json::object r;
    r["model"] = model;
    r["content"] =
        boost::json::object{{"parts", boost::json::array{boost::json::object{{"text", s}}}}};
    if (dims) {
      r["outputDimensionality"] = *dims;
    }
    requests.push_back(std::move(r));
  }
  out["requests"] = std::move(requests);
  return out;
}

// ---------------------------------------------------------------- the response

struct candidate_view {
  std::string text;
  std::string reasoning;
  bool has_text = false;
  bool has_reasoning = false;
  std::vector<tool_call_out> calls;
  std::string raw_finish;
  std::int64_t index = 0;
};

// Reads the parts of one candidate. `first_call_index` numbers calls without an id.
candidate_view read_candidate(const boost::json::object& c, const target& t, int first_call_index) {
  candidate_view v;
  v.raw_finish = std::string(string_at(c, "finishReason"));
  v.index = int_of(c.if_contains("index")).value_or(0);
  const auto* content = c.if_contains("content");
  const auto* co = content != nullptr ? content->if_object() : nullptr;
  const auto* parts = co != nullptr ? co->if_contains("parts") : nullptr;
  if (parts == nullptr || !parts->is_array()) {
    return v;
  }
  for (const auto& pv : parts->get_array()) {
    const auto* p = pv.if_object();
    if (p == nullptr) {
      continue;
    }
    if (const auto* text = p->if_contains("text"); text != nullptr && text->is_string()) {
      const auto* thought = p->if_contains("thought");
      if (thought != nullptr && thought->is_bool() && thought->get_bool()) {
        v.reasoning.append(text->get_string().data(), text->get_string().size());
        v.has_reasoning = true;
      } else {
        v.text.append(text->get_string().data(), text->get_string().size());
        v.has_text = true;
      }
    } else if (const auto* fc = p->if_contains("functionCall"); fc != nullptr && fc->is_object()) {
      const auto& fo = fc->get_object();
      tool_call_out call;
      call.name = std::string(string_at(fo, "name"));
      const auto* args = present(fo, "args");
      call.arguments = args != nullptr ? json::to_json(*args) : std::string("{}");
      call.id = std::string(string_at(fo, "id"));
      if (call.id.empty()) {
        call.id = gemini_tool_call_id(t.id, first_call_index + static_cast<int>(v.calls.size()));
      }
      v.calls.push_back(std::move(call));
    }
  }
  return v;
}

bool is_gemini_error(const boost::json::object& o) {
  const auto* e = o.if_contains("error");
  return e != nullptr && e->is_object();
}

struct google_error {
  std::string message;
  std::string status;  // RESOURCE_EXHAUSTED, …
  int code = 0;
};

std::optional<google_error> read_google_error(const boost::json::value& v) {
  const boost::json::object* o = v.if_object();
  if (o == nullptr) {
    // Vertex wraps errors of JSON-array streams in an array.
    if (const auto* a = v.if_array(); a != nullptr && a->size() == 1) {
      o = a->front().if_object();
    }
  }
  if (o == nullptr || !is_gemini_error(*o)) {
    return std::nullopt;
  }
  const auto& e = o->at("error").get_object();
  if (!e.contains("status") && e.contains("type")) {
    return std::nullopt;  // already OpenAI-shaped (an OpenAI-compatible proxy in front)
  }
  google_error g;
  g.message = std::string(string_at(e, "message"));
  g.status = std::string(string_at(e, "status"));
  g.code = static_cast<int>(int_of(e.if_contains("code")).value_or(0));
  if (g.message.empty() && g.status.empty()) {
    return std::nullopt;
  }
  return g;
}

result<translated_response> embeddings_response(const boost::json::object& obj, const target& t,
                                                const boost::json::object* client_body) {
  std::vector<std::vector<double>> vectors;
  json::usage usage;
  const auto read_values = [](const boost::json::value* values, std::vector<double>& out) {
    if (values == nullptr || !values->is_array()) {
      return false;
    }
    for (const auto& x : values->get_array()) {
      if (!x.is_number()) {
        return false;
      }
      out.push_back(x.to_number<double>());
    }
    return true;
  };
  const auto bad = [&] {
    return error::bad_gateway(route_prefix(t.conf.route_type) +
                              "'embeddings' or 'predictions' not in gemini response");
  };
  if (const auto* preds = obj.if_contains("predictions"); preds != nullptr && preds->is_array()) {
    for (const auto& p : preds->get_array()) {
      const auto* po = p.if_object();
      const auto* emb = po != nullptr ? po->if_contains("embeddings") : nullptr;
      const auto* eo = emb != nullptr ? emb->if_object() : nullptr;
      if (eo == nullptr) {
        return bad();
      }
      vectors.emplace_back();
      if (!read_values(eo->if_contains("values"), vectors.back())) {
        return bad();
      }
      if (const auto* st = eo->if_contains("statistics"); st != nullptr && st->is_object()) {
        if (auto n = int_of(st->get_object().if_contains("token_count"))) {
          usage.prompt_tokens += *n;
          usage.known = true;
        }
      }
    }
  } else if (const auto* embs = obj.if_contains("embeddings");
             embs != nullptr && embs->is_array()) {
    for (const auto& e : embs->get_array()) {
      const auto* eo = e.if_object();
      vectors.emplace_back();
      if (eo == nullptr || !read_values(eo->if_contains("values"), vectors.back())) {
        return bad();
      }
    }
  } else if (const auto* emb = obj.if_contains("embedding"); emb != nullptr && emb->is_object()) {
    vectors.emplace_back();
    if (!read_values(emb->get_object().if_contains("values"), vectors.back())) {
      return bad();
    }
  } else {
    return bad();
  }
  if (const auto* um = obj.if_contains("usageMetadata"); um != nullptr && um->is_object()) {
    if (auto n = int_of(um->get_object().if_contains("promptTokenCount"))) {
      usage.prompt_tokens = *n;
      usage.known = true;
    }
  }
  usage.total_tokens = usage.prompt_tokens;
  translated_response out;
  static const boost::json::object empty;
  out.body = write_embeddings(vectors, t.model, usage, client_body ? *client_body : empty);
  out.summary.usage = usage;
  out.summary.response_model = t.model;
  return out;
}

// ---------------------------------------------------------------- the provider

class gemini final : public provider {
 public:
  result<upstream_request> to_upstream(const client_request& req, const target& t) const override {
    const auto rt = t.conf.route_type;
    auto ep = make_endpoint(t, req.query);
    if (!ep) {
      return ep.error();
    }
    result<boost::json::object> body = boost::json::object();
    switch (rt) {
      default:  // only the translated route types reach a translator
      case route_type::llm_v1_chat:
        body = chat_body(req.body, t);
        break;
      case route_type::llm_v1_completions:
        body = completions_body(req.body, t);
        break;
      case route_type::llm_v1_embeddings: {
        const bool vertex_shape =
            is_vertex(t.options.gemini) || std::string_view(ep->path).ends_with(":predict");
        body = embeddings_body(req.body, t, vertex_shape);
        break;
      }
    }
    if (!body) {
      return body.error();
    }
    upstream_request out;
    out.headers.reserve(req.headers.size() + 4);
    forward_client_headers(req.headers, out.headers);
    out.headers.set("Content-Type", "application/json");
    out.headers.set("Accept-Encoding", "identity");
    if (const auto field = apply_auth(t.conf.auth, out.headers, ep->query, req.body)) {
      (*body)[field->name] = field->value;
    }
    out.body.reserve(1024);
    json::write_value(out.body, *body);
    out.method = "POST";
    out.scheme = ep->scheme;
    out.host = std::move(ep->host);
    out.port = ep->port;
    out.target = ep->target();
    if (t.stream) {
      out.framing = stream::framing::sse;
      out.json_array_stream_ok = true;
    }
    return out;
  }

  result<translated_response> from_upstream(std::string_view body, const target& t) const override {
    const auto rt = t.conf.route_type;
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec) {
      return error::bad_gateway(route_prefix(rt) + "upstream response is not valid JSON");
    }
    const auto* obj = v.if_object();
    if (obj == nullptr) {
      return error::bad_gateway(route_prefix(rt) + "upstream response is not a JSON object");
    }
    if (rt == route_type::llm_v1_embeddings) {
      return embeddings_response(*obj, t, nullptr);
    }
    const auto* cands = obj->if_contains("candidates");
    const auto* feedback = obj->if_contains("promptFeedback");
    if ((cands == nullptr || !cands->is_array()) &&
        (feedback == nullptr || !feedback->is_object())) {
      return error::bad_gateway(route_prefix(rt) + "'candidates' not in gemini response");
    }
    translated_response out;
    out.summary.response_model = std::string(string_at(*obj, "modelVersion"));
    if (out.summary.response_model.empty()) {
      out.summary.response_model = t.model;
    }
    if (const auto* um = obj->if_contains("usageMetadata"); um != nullptr && um->is_object()) {
      out.summary.usage = gemini_usage(um->get_object());
    }
    const std::string id(string_at(*obj, "responseId"));

    std::vector<candidate_view> views;
    int calls = 0;
    if (cands != nullptr && cands->is_array()) {
      for (const auto& cv : cands->get_array()) {
        if (const auto* c = cv.if_object()) {
          views.push_back(read_candidate(*c, t, calls));
          calls += static_cast<int>(views.back().calls.size());
        }
      }
    }
    std::vector<chat_result> results;
    if (views.empty()) {
      // The prompt itself was blocked (promptFeedback.blockReason): nothing was generated.
      chat_result r;
      r.finish_reason = "content_filter";
      results.push_back(std::move(r));
    }
    for (auto& view : views) {
      chat_result r;
      if (view.has_text) {
        r.content = std::move(view.text);
      }
      if (view.has_reasoning) {
        r.reasoning_content = std::move(view.reasoning);
      }
      r.finish_reason = std::string(gemini_finish_reason(view.raw_finish, !view.calls.empty()));
      if (r.finish_reason.empty()) {
        r.finish_reason = view.calls.empty() ? "stop" : "tool_calls";
      }
      r.tool_calls = std::move(view.calls);
      results.push_back(std::move(r));
    }
    for (auto& r : results) {
      r.id = id;
      r.model = out.summary.response_model;
    }
    results.front().usage = out.summary.usage;
    out.summary.finish_reason = results.front().finish_reason;

    if (rt == route_type::llm_v1_completions) {
      text_result tr;
      tr.id = id;
      tr.model = out.summary.response_model;
      tr.text = results.front().content.value_or(std::string());
      tr.finish_reason = results.front().finish_reason;
      tr.usage = out.summary.usage;
      out.body = write_text_completion(tr, t);
      return out;
    }
    if (results.size() == 1) {
      out.body = write_chat_completion(results.front(), t);
      return out;
    }
    // n > 1: one choice per candidate, in the candidates' order.
    auto whole = boost::json::parse(write_chat_completion(results.front(), t));
    auto& choices = whole.as_object()["choices"].as_array();
    for (std::size_t i = 1; i < results.size(); ++i) {
      auto one = boost::json::parse(write_chat_completion(results[i], t));
      auto choice = one.as_object()["choices"].as_array().front();
      choice.as_object()["index"] = static_cast<std::int64_t>(i);
      choices.push_back(std::move(choice));
    }
    out.body = json::to_json(whole);
    return out;
  }

  std::unique_ptr<stream_translator> make_stream_translator(const target& t) const override;

  std::optional<std::string> openai_error(int status, std::string_view body) const override {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec) {
      return std::nullopt;
    }
    const auto g = read_google_error(v);
    if (!g) {
      return std::nullopt;
    }
    return write_openai_error(g->message.empty() ? g->status : g->message,
                              openai_error_type_for(status), g->status);
  }
};

// ---------------------------------------------------------------- the stream translator

class gemini_stream final : public stream_translator {
 public:
  explicit gemini_stream(const target& t) : t_(t), writer_(t) { summary_.response_model = t.model; }

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (writer_.finished()) {
      return {};
    }
    std::string_view data = ev.data;
    while (!data.empty() && std::isspace(static_cast<unsigned char>(data.front())) != 0) {
      data.remove_prefix(1);
    }
    if (data.empty() || data == "[DONE]") {
      return {};
    }
    boost::system::error_code ec;
    const auto v = boost::json::parse(data, ec);
    if (ec) {
      return error::bad_gateway("gemini sent a stream event that is not JSON");
    }
    if (auto g = read_google_error(v)) {
      auto e = error::bad_gateway(g->message.empty() ? g->status : g->message, g->status);
      e.type = std::string(openai_error_type_for(g->code != 0 ? g->code : 500));
      return e;
    }
    const auto* obj = v.if_object();
    if (obj == nullptr) {
      return error::bad_gateway("gemini sent a stream event that is not a JSON object");
    }
    if (!started_) {
      started_ = true;
      if (const auto id = string_at(*obj, "responseId"); !id.empty()) {
        writer_.set_id(std::string(id));
      }
    }
    if (const auto mv = string_at(*obj, "modelVersion"); !mv.empty()) {
      if (writer_.model() != mv) {
        writer_.set_model(std::string(mv));
      }
      summary_.response_model = std::string(mv);
    }
    if (const auto* um = obj->if_contains("usageMetadata"); um != nullptr && um->is_object()) {
      summary_.usage = gemini_usage(um->get_object());  // cumulative: set, never add
    }
    const auto* cands = obj->if_contains("candidates");
    if (cands != nullptr && cands->is_array() && !cands->get_array().empty()) {
      const auto* c = cands->get_array().front().if_object();
      if (c != nullptr) {
        auto view = read_candidate(*c, t_, calls_);
        if (view.has_reasoning && !view.reasoning.empty()) {
          writer_.reasoning(out, view.reasoning);
        }
        if (view.has_text && !view.text.empty()) {
          writer_.content(out, view.text);
          text_ += view.text;
        }
        for (const auto& call : view.calls) {
          writer_.tool_call_start(out, calls_, call.id, call.name);
          writer_.tool_call_arguments(out, calls_, call.arguments);
          ++calls_;
        }
        if (!view.raw_finish.empty()) {
          raw_finish_ = view.raw_finish;
        }
      }
    } else if (const auto* fb = obj->if_contains("promptFeedback");
               fb != nullptr && fb->is_object() &&
               !string_at(fb->get_object(), "blockReason").empty()) {
      raw_finish_ = "SAFETY";  // the prompt was blocked: no candidate will come
      blocked_ = true;
    }
    return {};
  }

  result<void> finish(std::string& out) override {
    if (writer_.finished()) {
      return {};
    }
    if (raw_finish_.empty()) {
      return incomplete_stream("gemini");
    }
    std::string reason(blocked_ ? "content_filter" : gemini_finish_reason(raw_finish_, calls_ > 0));
    summary_.finish_reason = reason;
    writer_.finish(out, reason, summary_.usage);
    return {};
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  const target& t_;
  chunk_writer writer_;
  response_summary summary_;
  std::string text_;
  std::string raw_finish_;
  int calls_ = 0;
  bool started_ = false;
  bool blocked_ = false;
};

std::unique_ptr<stream_translator> gemini::make_stream_translator(const target& t) const {
  return std::make_unique<gemini_stream>(t);
}

}  // namespace

std::string_view gemini_finish_reason(std::string_view reason, bool has_tool_calls) {
  if (reason.empty()) {
    return {};
  }
  if (reason == "MAX_TOKENS") {
    return "length";
  }
  static constexpr std::string_view filtered[] = {
      "SAFETY",
      "RECITATION",
      "BLOCKLIST",
      "PROHIBITED_CONTENT",
      "SPII",
      "IMAGE_SAFETY",
      "IMAGE_PROHIBITED_CONTENT",
      "IMAGE_RECITATION",
  };
  for (const auto f : filtered) {
    if (reason == f) {
      return "content_filter";
    }
  }
  return has_tool_calls ? "tool_calls" : "stop";
}

json::usage gemini_usage(const boost::json::object& um) {
  json::usage u;
  const auto get = [&](std::string_view key) {
    auto v = int_of(um.if_contains(key));
    if (v) {
      u.known = true;
    }
    return v.value_or(0);
  };
  const auto prompt = get("promptTokenCount");
  const auto tool_prompt = get("toolUsePromptTokenCount");
  const auto candidates = get("candidatesTokenCount");
  const auto thoughts = get("thoughtsTokenCount");
  const auto cached = get("cachedContentTokenCount");
  const auto total = get("totalTokenCount");
  u.prompt_tokens = prompt + tool_prompt;
  u.completion_tokens = candidates + thoughts;
  u.reasoning_tokens = thoughts;
  u.cached_tokens = cached;
  u.total_tokens = total != 0 ? total : u.prompt_tokens + u.completion_tokens;
  return u;
}

std::string gemini_tool_call_id(std::string_view response_id, int index) {
  std::string id = "call_";
  if (starts_with(response_id, "chatcmpl-")) {
    response_id.remove_prefix(std::string_view("chatcmpl-").size());
  }
  if (!response_id.empty()) {
    id += response_id;
    id.push_back('_');
  }
  id += std::to_string(index);
  return id;
}

const provider& gemini_provider() {
  static const gemini instance;
  return instance;
}

}  // namespace aiproxy::providers
