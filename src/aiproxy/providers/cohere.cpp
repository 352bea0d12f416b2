// Cohere translator (see cohere.hpp): endpoint and body for v2 chat, v1 chat, v1 generate and
// v2 embed; their responses, SSE (v2) and NDJSON (v1, generate) streams and error bodies mapped
// to OpenAI's shapes through openai_shapes. Pure: no I/O; may touch only JSON and strings.
#include "aiproxy/providers/cohere.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <utility>
#include <vector>

namespace aiproxy::providers {

namespace {

namespace bj = boost::json;
using config::route_type;

constexpr std::string_view default_host = "api.cohere.com";

enum class chat_api { v1, v2 };

std::optional<std::int64_t> int_at(const bj::object* o, std::string_view key) {
  const auto* v = o != nullptr ? o->if_contains(key) : nullptr;
  if (v == nullptr || !v->is_number()) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(v->to_number<double>());
}

std::string where(std::size_t i) {
  return "messages[" + std::to_string(i) + "]";
}

std::string prefix(route_type rt) {
  std::string p = "transformation failed from type cohere://";
  p += config::to_string(rt);
  p += ": ";
  return p;
}

// ---------------------------------------------------------------- endpoint

std::string_view default_path(route_type rt) {
  switch (rt) {
    default:  // only the translated route types reach a translator
    case route_type::llm_v1_chat:
      return "/v2/chat";
    case route_type::llm_v1_completions:
      return "/v1/generate";
    case route_type::llm_v1_embeddings:
      return "/v2/embed";
  }
  return "/v2/chat";
}

result<endpoint> make_endpoint(const target& t, std::string_view query) {
  endpoint ep;
  ep.host = default_host;
  ep.path = default_path(t.conf.route_type);
  if (!t.options.upstream_url.empty()) {
    if (auto r = apply_upstream_url(ep, t.options.upstream_url); !r) {
      return r.error();
    }
  }
  if (auto r = ep.query.add_client_query(query); !r) {
    return r.error();
  }
  return ep;
}

// Kong's Cohere driver speaks the v1 chat API; an upstream_url ending in /v1/chat keeps it.
chat_api api_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') {
    path.remove_suffix(1);
  }
  constexpr std::string_view v1 = "/v1/chat";
  const bool is_v1 = path.size() >= v1.size() && path.substr(path.size() - v1.size()) == v1;
  return is_v1 ? chat_api::v1 : chat_api::v2;
}

// ---------------------------------------------------------------- request: shared fields

// Fields of an OpenAI request that Cohere cannot express in any of its APIs.
result<void> reject_unsupported(const bj::object& body, route_type rt) {
  if (const auto* n = present(body, "n");
      n != nullptr && (!n->is_number() || n->to_number<double>() != 1)) {
    return error::bad_request("n other than 1 is not supported by the cohere provider");
  }
  if (const auto* lb = present(body, "logit_bias")) {
    if (!lb->is_object() || !lb->get_object().empty()) {
      return error::bad_request("logit_bias is not supported by the cohere provider");
    }
  }
  if (rt == route_type::llm_v1_chat) {
    if (const auto* lp = present(body, "logprobs");
        lp != nullptr && !(lp->is_bool() && !lp->get_bool())) {
      return error::bad_request("logprobs is not supported by the cohere provider");
    }
    if (present(body, "top_logprobs") != nullptr) {
      return error::bad_request("top_logprobs is not supported by the cohere provider");
    }
    if (present(body, "functions") != nullptr || present(body, "function_call") != nullptr) {
      return error::bad_request(
          "functions/function_call are not supported by the cohere provider: use tools");
    }
    if (present(body, "audio") != nullptr || present(body, "prediction") != nullptr) {
      return error::bad_request("audio and prediction are not supported by the cohere provider");
    }
    if (const auto* m = present(body, "modalities"); m != nullptr && m->is_array()) {
      for (const auto& e : m->get_array()) {
        if (!e.is_string() || e.get_string() != "text") {
          return error::bad_request("the cohere provider only answers with text modalities");
        }
      }
    }
  }
  if (rt == route_type::llm_v1_completions) {
    if (const auto* lp = present(body, "logprobs")) {
      if (!(lp->is_number() && lp->to_number<double>() == 0) &&
          !(lp->is_bool() && !lp->get_bool())) {
        return error::bad_request("logprobs is not supported by the cohere provider");
      }
    }
    if (const auto* e = present(body, "echo"); e != nullptr && !(e->is_bool() && !e->get_bool())) {
      return error::bad_request("echo is not supported by the cohere provider");
    }
    if (const auto* b = present(body, "best_of");
        b != nullptr && (!b->is_number() || b->to_number<double>() != 1)) {
      return error::bad_request("best_of other than 1 is not supported by the cohere provider");
    }
    if (const auto* s = present(body, "suffix");
        s != nullptr && !(s->is_string() && s->get_string().empty())) {
      return error::bad_request("suffix is not supported by the cohere provider");
    }
  }
  return {};
}

// max_tokens, temperature, p, k, stop_sequences, seed and the penalties: the same names in
// every Cohere generation API.
result<void> write_sampling(const bj::object& body, const target& t, bj::object& out) {
  const auto s = read_sampling(body, t);
  write_sampling(s, {"max_tokens", "temperature", "p", "k", "stop_sequences"}, out);
  if (const auto* seed = present(body, "seed")) {
    if (!seed->is_int64() && !seed->is_uint64()) {
      return error::bad_request("seed must be an integer");
    }
    out["seed"] = *seed;
  }
  for (const std::string_view key : {"frequency_penalty", "presence_penalty"}) {
    if (const auto* v = present(body, key)) {
      if (!v->is_number()) {
        return error::bad_request(std::string(key) + " must be a number");
      }
      out[key] = *v;
    }
  }
  return {};
}

// `response_format` → Cohere's {type: json_object, <schema_key>: schema}.
result<void> write_response_format(const bj::object& body, std::string_view schema_key,
                                   bj::object& out) {
  auto rf = read_response_format(body);
  if (!rf) {
    return rf.error();
  }
  if (rf->kind == response_format::mode::text) {
    return {};
  }
  bj::object f;
  f["type"] = "json_object";
  if (rf->kind == response_format::mode::json_schema) {
    f[schema_key] = *rf->schema;
  }
  out["response_format"] = std::move(f);
  return {};
}

// The text of a message whose content may only hold text (system, assistant, tool, v1).
result<std::string> text_only(const bj::value* content, const std::string& at,
                              std::string_view why) {
  if (content != nullptr && content->is_array()) {
    for (std::size_t j = 0; j < content->get_array().size(); ++j) {
      const auto* part = content->get_array()[j].if_object();
      const std::string_view type = part != nullptr ? string_at(*part, "type") : "";
      if (type != "text") {
        return error::bad_request(at + ".content[" + std::to_string(j) + "]: " +
                                  (type.empty() ? std::string("a part without a type")
                                                : "part type '" + std::string(type) + "'") +
                                  " is not supported " + std::string(why));
      }
    }
  } else if (content != nullptr && !content->is_string() && !content->is_null()) {
    return error::bad_request(at + ".content must be a string or an array of parts");
  }
  return content_text(content);
}

// ---------------------------------------------------------------- request: v2 chat

result<bj::value> v2_user_content(const bj::value* content, const std::string& at) {
  if (content == nullptr) {
    return error::bad_request(at + ".content is required");
  }
  if (content->is_string()) {
    return *content;
  }
  if (!content->is_array()) {
    return error::bad_request(at + ".content must be a string or an array of parts");
  }
  bj::array parts;
  const auto& arr = content->get_array();
  for (std::size_t j = 0; j < arr.size(); ++j) {
    const std::string pat = at + ".content[" + std::to_string(j) + "]";
    const auto* part = arr[j].if_object();
    if (part == nullptr) {
      return error::bad_request(pat + " must be an object");
    }
    const std::string_view type = string_at(*part, "type");
    if (type == "text") {
      bj::object p;
      p["type"] = "text";
      p["text"] = bj::string_view(string_at(*part, "text"));
      parts.emplace_back(std::move(p));
    } else if (type == "image_url") {
      // Cohere takes the URL itself, https or a base64 data URL; nothing is fetched here.
      const auto* iu = part->if_contains("image_url");
      std::string_view url;
      std::string_view detail;
      if (iu != nullptr && iu->is_string()) {
        url = iu->get_string();
      } else if (iu != nullptr && iu->is_object()) {
        url = string_at(iu->get_object(), "url");
        detail = string_at(iu->get_object(), "detail");
      }
      if (url.empty()) {
        return error::bad_request(pat + ".image_url.url is required");
      }
      bj::object img;
      img["url"] = bj::string_view(url);
      if (!detail.empty()) {
        img["detail"] = bj::string_view(detail);
      }
      bj::object p;
      p["type"] = "image_url";
      p["image_url"] = std::move(img);
      parts.emplace_back(std::move(p));
    } else {
      return error::bad_request(pat + ": part type '" + std::string(type) +
                                "' is not supported by the cohere provider");
    }
  }
  return bj::value(std::move(parts));
}

result<bj::array> v2_tool_calls(const bj::value& calls, const std::string& at) {
  bj::array out;
  if (!calls.is_array()) {
    return error::bad_request(at + ".tool_calls must be an array");
  }
  const auto& arr = calls.get_array();
  for (std::size_t k = 0; k < arr.size(); ++k) {
    const std::string cat = at + ".tool_calls[" + std::to_string(k) + "]";
    const auto* c = arr[k].if_object();
    const auto* fn = c != nullptr ? object_at(*c, "function") : nullptr;
    if (fn == nullptr || string_at(*fn, "name").empty()) {
      return error::bad_request(cat + " must have a function with a name");
    }
    if (const auto type = string_at(*c, "type"); !type.empty() && type != "function") {
      return error::bad_request(cat + ": tool call type '" + std::string(type) +
                                "' is not supported by the cohere provider");
    }
    bj::object f;
    f["name"] = bj::string_view(string_at(*fn, "name"));
    const auto* args = fn->if_contains("arguments");
    if (args != nullptr && args->is_string()) {
      f["arguments"] = args->get_string();
    } else if (args != nullptr && args->is_object()) {
      f["arguments"] = json::to_json(*args);
    } else {
      f["arguments"] = "{}";
    }
    bj::object call;
    call["id"] = bj::string_view(string_at(*c, "id"));
    call["type"] = "function";
    call["function"] = std::move(f);
    out.emplace_back(std::move(call));
  }
  return out;
}

result<bj::array> v2_messages(const bj::array& msgs) {
  bj::array out;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const std::string at = where(i);
    const auto* m = msgs[i].if_object();
    if (m == nullptr) {
      return error::bad_request(at + " must be an object");
    }
    const std::string_view role = string_at(*m, "role");
    const auto* content = m->if_contains("content");
    bj::object msg;
    if (role == "system" || role == "developer") {
      auto text = text_only(content, at, "in system messages by the cohere provider");
      if (!text) {
        return text.error();
      }
      msg["role"] = "system";
      msg["content"] = *text;
    } else if (role == "user") {
      auto c = v2_user_content(content, at);
      if (!c) {
        return c.error();
      }
      msg["role"] = "user";
      msg["content"] = std::move(*c);
    } else if (role == "assistant") {
      auto text = text_only(content, at, "in assistant messages by the cohere provider");
      if (!text) {
        return text.error();
      }
      msg["role"] = "assistant";
      const auto* calls = present(*m, "tool_calls");
      const bool has_calls = calls != nullptr && !(calls->is_array() && calls->get_array().empty());
      if (has_calls) {
        auto tc = v2_tool_calls(*calls, at);
        if (!tc) {
          return tc.error();
        }
        // Text written before tool calls is what Cohere calls the tool plan.
        const std::string_view reasoning = string_at(*m, "reasoning_content");
        if (!reasoning.empty()) {
          msg["tool_plan"] = bj::string_view(reasoning);
          if (!text->empty()) {
            msg["content"] = *text;
          }
        } else if (!text->empty()) {
          msg["tool_plan"] = *text;
        }
        msg["tool_calls"] = std::move(*tc);
      } else {
        msg["content"] = *text;
      }
    } else if (role == "tool") {
      const std::string_view id = string_at(*m, "tool_call_id");
      if (id.empty()) {
        return error::bad_request(at + ".tool_call_id is required for tool messages");
      }
      auto text = text_only(content, at, "in tool messages by the cohere provider");
      if (!text) {
        return text.error();
      }
      msg["role"] = "tool";
      msg["tool_call_id"] = bj::string_view(id);
      msg["content"] = *text;
    } else if (role == "function") {
      return error::bad_request(at +
                                ": role 'function' is not supported by the cohere provider; "
                                "use tools and tool messages");
    } else {
      return error::bad_request(at + ": role '" + std::string(role) +
                                "' is not supported by the cohere provider");
    }
    out.emplace_back(std::move(msg));
  }
  return out;
}

result<void> v2_tools(const bj::object& body, bj::object& out) {
  auto choice = read_tool_choice(body);
  if (!choice) {
    return choice.error();
  }
  const auto* tools = present(body, "tools");
  const bool have_tools = tools != nullptr && tools->is_array() && !tools->get_array().empty();
  if (tools != nullptr && !tools->is_array()) {
    return error::bad_request("tools must be an array");
  }
  if (have_tools) {
    bj::array list;
    bool all_strict = true;  // Cohere's strict_tools covers every tool, so all must ask
    const auto& arr = tools->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string at = "tools[" + std::to_string(i) + "]";
      const auto* tool = arr[i].if_object();
      if (tool == nullptr) {
        return error::bad_request(at + " must be an object");
      }
      if (const auto type = string_at(*tool, "type"); type != "function") {
        return error::bad_request(at + ": tool type '" + std::string(type) +
                                  "' is not supported by the cohere provider");
      }
      const auto* fn = object_at(*tool, "function");
      if (fn == nullptr || string_at(*fn, "name").empty()) {
        return error::bad_request(at + ".function.name is required");
      }
      bj::object f;
      f["name"] = bj::string_view(string_at(*fn, "name"));
      if (const auto d = string_at(*fn, "description"); !d.empty()) {
        f["description"] = bj::string_view(d);
      }
      if (const auto* p = object_at(*fn, "parameters")) {
        f["parameters"] = *p;
      } else {
        f["parameters"] = bj::object{{"type", "object"}, {"properties", bj::object()}};
      }
      if (const auto* s = fn->if_contains("strict");
          s == nullptr || !s->is_bool() || !s->get_bool()) {
        all_strict = false;
      }
      bj::object t;
      t["type"] = "function";
      t["function"] = std::move(f);
      list.emplace_back(std::move(t));
    }
    out["tools"] = std::move(list);
    if (all_strict) {
      out["strict_tools"] = true;
    }
    if (const auto* p = present(body, "parallel_tool_calls");
        p != nullptr && p->is_bool() && !p->get_bool()) {
      return error::bad_request(
          "parallel_tool_calls: false is not supported by the cohere provider (Cohere may "
          "always answer with several tool calls)");
    }
  }
  switch (choice->kind) {
    case tool_choice::mode::unset:
    case tool_choice::mode::auto_:
      break;
    case tool_choice::mode::none:
      if (have_tools) {
        out["tool_choice"] = "NONE";
      }
      break;
    case tool_choice::mode::required:
      if (!have_tools) {
        return error::bad_request("tool_choice 'required' needs tools");
      }
      out["tool_choice"] = "REQUIRED";
      break;
    case tool_choice::mode::function:
      return error::bad_request("tool_choice naming a function ('" + choice->function_name +
                                "') is not supported by the cohere provider: use 'required' or "
                                "'auto'");
  }
  return {};
}

result<bj::object> v2_chat_body(const bj::object& body, const target& t) {
  bj::object out;
  out["model"] = t.model;
  const auto* msgs = body.if_contains("messages");
  if (msgs == nullptr || !msgs->is_array()) {
    return error::bad_request("messages must be an array");
  }
  auto messages = v2_messages(msgs->get_array());
  if (!messages) {
    return messages.error();
  }
  out["messages"] = std::move(*messages);
  if (auto r = v2_tools(body, out); !r) {
    return r.error();
  }
  if (auto r = write_sampling(body, t, out); !r) {
    return r.error();
  }
  if (auto r = write_response_format(body, "json_schema", out); !r) {
    return r.error();
  }
  out["stream"] = t.stream;
  return out;
}

// ---------------------------------------------------------------- request: v1 chat

result<bj::object> v1_chat_body(const bj::object& body, const target& t) {
  constexpr std::string_view why =
      "by Cohere's v1 chat API (use an upstream_url ending in /v2/chat)";
  if (const auto* tools = present(body, "tools");
      tools != nullptr && !(tools->is_array() && tools->get_array().empty())) {
    return error::bad_request(std::string("tools are not supported ") + std::string(why));
  }
  auto choice = read_tool_choice(body);
  if (!choice) {
    return choice.error();
  }
  if (choice->kind == tool_choice::mode::required || choice->kind == tool_choice::mode::function) {
    return error::bad_request(std::string("tool_choice is not supported ") + std::string(why));
  }
  const auto* msgs = body.if_contains("messages");
  if (msgs == nullptr || !msgs->is_array()) {
    return error::bad_request("messages must be an array");
  }
  const auto& arr = msgs->get_array();
  // The last message that is not a system message is the one Cohere answers.
  std::optional<std::size_t> last;
  for (std::size_t i = arr.size(); i-- > 0;) {
    const auto* m = arr[i].if_object();
    const auto role = m != nullptr ? string_at(*m, "role") : "";
    if (role != "system" && role != "developer") {
      last = i;
      break;
    }
  }
  const auto* last_msg = last ? arr[*last].if_object() : nullptr;
  if (last_msg == nullptr || string_at(*last_msg, "role") != "user") {
    return error::bad_request(
        "Cohere's v1 chat API needs the last non-system message to come from the user");
  }
  std::string preamble;
  bj::array history;
  std::string message;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string at = where(i);
    const auto* m = arr[i].if_object();
    if (m == nullptr) {
      return error::bad_request(at + " must be an object");
    }
    const std::string_view role = string_at(*m, "role");
    if (role == "tool" || role == "function") {
      return error::bad_request(at + ": tool results are not supported " + std::string(why));
    }
    if (role == "assistant") {
      if (const auto* calls = present(*m, "tool_calls");
          calls != nullptr && !(calls->is_array() && calls->get_array().empty())) {
        return error::bad_request(at + ": tool calls are not supported " + std::string(why));
      }
    } else if (role != "user" && role != "system" && role != "developer") {
      return error::bad_request(at + ": role '" + std::string(role) +
                                "' is not supported by the cohere provider");
    }
    auto text = text_only(m->if_contains("content"), at, why);
    if (!text) {
      return text.error();
    }
    if (role == "system" || role == "developer") {
      if (!preamble.empty()) {
        preamble += "\n";
      }
      preamble += *text;
    } else if (i == *last) {
      message = std::move(*text);
    } else {
      bj::object h;
      h["role"] = role == "user" ? "USER" : "CHATBOT";
      h["message"] = std::move(*text);
      history.emplace_back(std::move(h));
    }
  }
  bj::object out;
  out["model"] = t.model;
  out["message"] = message;
  if (!history.empty()) {
    out["chat_history"] = std::move(history);
  }
  if (!preamble.empty()) {
    out["preamble"] = preamble;
  }
  if (auto r = write_sampling(body, t, out); !r) {
    return r.error();
  }
  if (auto r = write_response_format(body, "schema", out); !r) {
    return r.error();
  }
  out["stream"] = t.stream;
  return out;
}

// ---------------------------------------------------------------- request: generate, embed

result<bj::object> generate_body(const bj::object& body, const target& t) {
  const auto* prompt = body.if_contains("prompt");
  std::string_view text;
  if (prompt != nullptr && prompt->is_string()) {
    text = prompt->get_string();
  } else if (prompt != nullptr && prompt->is_array() && prompt->get_array().size() == 1 &&
             prompt->get_array()[0].is_string()) {
    text = prompt->get_array()[0].get_string();
  } else {
    return error::bad_request(
        "the cohere provider takes one prompt string (no prompt lists or token arrays)");
  }
  bj::object out;
  out["model"] = t.model;
  out["prompt"] = bj::string_view(text);
  if (auto r = write_sampling(body, t, out); !r) {
    return r.error();
  }
  out["stream"] = t.stream;
  return out;
}

result<bj::object> embed_body(const bj::object& body, const target& t) {
  bj::array texts;
  const auto* input = body.if_contains("input");
  if (input != nullptr && input->is_string()) {
    texts.emplace_back(input->get_string());
  } else if (input != nullptr && input->is_array()) {
    for (const auto& e : input->get_array()) {
      if (!e.is_string()) {
        return error::bad_request(
            "the cohere provider embeds strings only (no token arrays in input)");
      }
      texts.emplace_back(e.get_string());
    }
  } else {
    return error::bad_request("input must be a string or an array of strings");
  }
  bj::object out;
  out["model"] = t.model;
  out["texts"] = std::move(texts);
  out["input_type"] = t.options.cohere.embedding_input_type;
  out["embedding_types"] = bj::array{"float"};
  if (auto d =
          tuning_integer(body, "dimensions", t.options.embeddings_dimensions, t.conf.precedence)) {
    out["output_dimension"] = *d;
  }
  return out;
}

// ---------------------------------------------------------------- responses

// Cohere v2 `usage`: real token counts, billed units when those are missing.
json::usage read_v2_usage(const bj::object* usage) {
  json::usage u;
  if (usage == nullptr) {
    return u;
  }
  const bj::object* src = object_at(*usage, "tokens");
  if (src == nullptr || (!int_at(src, "input_tokens") && !int_at(src, "output_tokens"))) {
    src = object_at(*usage, "billed_units");
  }
  const auto in = int_at(src, "input_tokens");
  const auto out = int_at(src, "output_tokens");
  if (in || out) {
    u.known = true;
    u.prompt_tokens = in.value_or(0);
    u.completion_tokens = out.value_or(0);
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
  }
  if (auto cached = int_at(usage, "cached_tokens")) {
    u.cached_tokens = *cached;
  }
  return u;
}

// Cohere v1 `meta` (chat, generate): meta.tokens, else the legacy token_count, else
// meta.billed_units.
json::usage read_v1_usage(const bj::object& response) {
  const auto* meta = object_at(response, "meta");
  json::usage u;
  if (meta != nullptr) {
    u = read_v2_usage(meta);  // same tokens / billed_units / cached_tokens layout
    const auto* tokens = object_at(*meta, "tokens");
    if (tokens != nullptr && (int_at(tokens, "input_tokens") || int_at(tokens, "output_tokens"))) {
      return u;
    }
  }
  if (const auto* tc = object_at(response, "token_count")) {
    const auto in = int_at(tc, "prompt_tokens");
    const auto out = int_at(tc, "response_tokens");
    if (in || out) {
      u.known = true;
      u.prompt_tokens = in.value_or(0);
      u.completion_tokens = out.value_or(0);
      u.total_tokens = int_at(tc, "total_tokens").value_or(u.prompt_tokens + u.completion_tokens);
    }
  }
  return u;
}

error generation_failed(std::string_view detail) {
  std::string msg = "cohere reported an error while generating the answer";
  if (!detail.empty()) {
    msg += ": ";
    msg += detail;
  }
  return error::bad_gateway(std::move(msg), "upstream_generation_error");
}

result<translated_response> chat_v2_response(const bj::object& obj, const target& t) {
  const auto* msg = object_at(obj, "message");
  chat_result r;
  r.id = std::string(string_at(obj, "id"));
  r.model = t.model;
  std::string text;
  std::string reasoning;
  if (const auto* c = msg->if_contains("content")) {
    if (const auto* s = c->if_string()) {
      text.assign(s->data(), s->size());
    } else if (const auto* arr = c->if_array()) {
      for (const auto& item : *arr) {
        const auto* io = item.if_object();
        if (io == nullptr) {
          continue;
        }
        const auto type = string_at(*io, "type");
        if (type == "text") {
          text += string_at(*io, "text");
        } else if (type == "thinking") {
          reasoning += string_at(*io, "thinking");
        }
      }
    }
  }
  if (const auto plan = string_at(*msg, "tool_plan"); !plan.empty()) {
    if (!reasoning.empty()) {
      reasoning += "\n";
    }
    reasoning += plan;
  }
  if (const auto* calls = msg->if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
    for (const auto& c : calls->get_array()) {
      const auto* co = c.if_object();
      const auto* fn = co != nullptr ? object_at(*co, "function") : nullptr;
      if (fn == nullptr) {
        continue;
      }
      tool_call_out call;
      call.id = std::string(string_at(*co, "id"));
      call.name = std::string(string_at(*fn, "name"));
      const auto* args = fn->if_contains("arguments");
      if (args != nullptr && args->is_string()) {
        call.arguments = std::string(args->get_string());
      } else if (args != nullptr && args->is_object()) {
        call.arguments = json::to_json(*args);
      }
      if (call.arguments.empty()) {
        call.arguments = "{}";
      }
      r.tool_calls.push_back(std::move(call));
    }
  }
  const auto fr = string_at(obj, "finish_reason");
  if (fr == "ERROR") {
    return generation_failed(string_at(obj, "error_message"));
  }
  r.finish_reason = !r.tool_calls.empty() ? "tool_calls" : std::string(cohere_finish_reason(fr));
  if (!text.empty() || r.tool_calls.empty()) {
    r.content = std::move(text);
  }
  if (!reasoning.empty()) {
    r.reasoning_content = std::move(reasoning);
  }
  r.usage = read_v2_usage(object_at(obj, "usage"));
  translated_response out;
  out.summary.usage = r.usage;
  out.summary.response_model = r.model;
  out.summary.finish_reason = r.finish_reason;
  out.body = write_chat_completion(r, t);
  return out;
}

result<translated_response> chat_v1_response(const bj::object& obj, const target& t) {
  chat_result r;
  r.id = std::string(string_at(obj, "generation_id"));
  if (r.id.empty()) {
    r.id = std::string(string_at(obj, "response_id"));
  }
  r.model = t.model;
  const auto fr = string_at(obj, "finish_reason");
  if (fr == "ERROR") {
    return generation_failed({});
  }
  r.content = std::string(string_at(obj, "text"));
  r.finish_reason = std::string(cohere_finish_reason(fr));
  r.usage = read_v1_usage(obj);
  translated_response out;
  out.summary.usage = r.usage;
  out.summary.response_model = r.model;
  out.summary.finish_reason = r.finish_reason;
  out.body = write_chat_completion(r, t);
  return out;
}

result<translated_response> generate_response(const bj::object& obj, const target& t) {
  const auto* gens = obj.if_contains("generations");
  const auto* arr = gens != nullptr ? gens->if_array() : nullptr;
  const auto* first = arr != nullptr && !arr->empty() ? arr->front().if_object() : nullptr;
  if (first == nullptr) {
    return error::bad_gateway(prefix(route_type::llm_v1_completions) +
                              "'generations' missing from cohere response body");
  }
  const auto fr = string_at(*first, "finish_reason");
  if (fr == "ERROR") {
    return generation_failed({});
  }
  text_result r;
  r.id = std::string(string_at(obj, "id"));
  r.model = t.model;
  r.text = std::string(string_at(*first, "text"));
  r.finish_reason = std::string(cohere_finish_reason(fr));
  r.usage = read_v1_usage(obj);
  translated_response out;
  out.summary.usage = r.usage;
  out.summary.response_model = r.model;
  out.summary.finish_reason = r.finish_reason;
  out.body = write_text_completion(r, t);
  return out;
}

result<translated_response> embed_response(const bj::object& obj, const bj::object& client_body,
                                           const target& t) {
  const auto* emb = obj.if_contains("embeddings");
  const bj::array* rows = nullptr;
  if (emb != nullptr && emb->is_object()) {
    const auto* f = emb->get_object().if_contains("float");
    rows = f != nullptr ? f->if_array() : nullptr;
  } else if (emb != nullptr) {
    rows = emb->if_array();  // v1 without embedding_types: a plain list of float vectors
  }
  if (rows == nullptr) {
    return error::bad_gateway(prefix(route_type::llm_v1_embeddings) +
                              "'embeddings.float' missing from cohere response body");
  }
  std::vector<std::vector<double>> vectors;
  vectors.reserve(rows->size());
  for (const auto& row : *rows) {
    const auto* nums = row.if_array();
    if (nums == nullptr) {
      return error::bad_gateway(prefix(route_type::llm_v1_embeddings) +
                                "an embedding is not a list of numbers");
    }
    std::vector<double> v;
    v.reserve(nums->size());
    for (const auto& n : *nums) {
      if (!n.is_number()) {
        return error::bad_gateway(prefix(route_type::llm_v1_embeddings) +
                                  "an embedding is not a list of numbers");
      }
      v.push_back(n.to_number<double>());
    }
    vectors.push_back(std::move(v));
  }
  json::usage u;
  if (const auto* meta = object_at(obj, "meta")) {
    const auto* billed = object_at(*meta, "billed_units");
    auto in = int_at(billed, "input_tokens");
    if (!in) {
      in = int_at(object_at(*meta, "tokens"), "input_tokens");
    }
    if (in) {
      u.known = true;
      u.prompt_tokens = *in;
      u.total_tokens = *in;
    }
  }
  translated_response out;
  out.summary.usage = u;
  out.summary.response_model = t.model;
  out.body = write_embeddings(vectors, t.model, u, client_body);
  return out;
}

// ---------------------------------------------------------------- streams

enum class stream_kind { chat_v2, chat_v1, generate };

class cohere_stream final : public stream_translator {
 public:
  cohere_stream(const target& t, stream_kind kind) : writer_(t), kind_(kind) {
    summary_.response_model = t.model;
  }

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (writer_.finished()) {
      return {};  // nothing after the terminal event reaches the client
    }
    const std::string_view data = trim(ev.data);
    if (data.empty() || data == "[DONE]") {
      return {};
    }
    boost::system::error_code ec;
    const auto v = bj::parse(data, ec);
    if (ec || !v.is_object()) {
      return error::bad_gateway("cohere sent a stream event that is not a JSON object");
    }
    const auto& obj = v.get_object();
    switch (kind_) {
      case stream_kind::chat_v2:
        return on_v2(obj, ev.name, out);
      case stream_kind::chat_v1:
      case stream_kind::generate:
        return on_v1(obj, out);
    }
    return {};
  }

  result<void> finish(std::string&) override {
    if (!writer_.finished()) {
      return incomplete_stream("cohere");
    }
    return {};
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  static const bj::object* delta_message(const bj::object& obj) {
    const auto* delta = object_at(obj, "delta");
    return delta != nullptr ? object_at(*delta, "message") : nullptr;
  }

  void content(std::string& out, std::string_view text) {
    if (!text.empty()) {
      text_ += text;
      writer_.content(out, text);
    }
  }

  void end(std::string& out, std::string_view cohere_reason, const json::usage& u) {
    summary_.finish_reason =
        tool_calls_ > 0 ? "tool_calls" : std::string(cohere_finish_reason(cohere_reason));
    summary_.usage = u;
    writer_.finish(out, summary_.finish_reason, u);
  }

  result<void> on_v2(const bj::object& obj, std::string_view name, std::string& out) {
    std::string_view type = string_at(obj, "type");
    if (type.empty()) {
      type = name;
    }
    const auto* msg = delta_message(obj);
    if (type == "message-start") {
      if (const auto id = string_at(obj, "id"); !id.empty()) {
        writer_.set_id(std::string(id));
      }
    } else if (type == "content-start" || type == "content-delta") {
      const auto* c = msg != nullptr ? object_at(*msg, "content") : nullptr;
      if (c != nullptr) {
        content(out, string_at(*c, "text"));
        if (const auto thinking = string_at(*c, "thinking"); !thinking.empty()) {
          writer_.reasoning(out, thinking);
        }
      }
    } else if (type == "tool-plan-delta") {
      if (const auto plan = msg != nullptr ? string_at(*msg, "tool_plan") : ""; !plan.empty()) {
        writer_.reasoning(out, plan);
      }
    } else if (type == "tool-call-start") {
      const auto* call = msg != nullptr ? object_at(*msg, "tool_calls") : nullptr;
      const auto* fn = call != nullptr ? object_at(*call, "function") : nullptr;
      if (fn == nullptr) {
        return error::bad_gateway("cohere sent a tool-call-start event without a function");
      }
      const int index = tool_calls_++;
      cohere_index_.emplace_back(int_at(&obj, "index").value_or(index), index);
      writer_.tool_call_start(out, index, string_at(*call, "id"), string_at(*fn, "name"));
      if (const auto args = string_at(*fn, "arguments"); !args.empty()) {
        writer_.tool_call_arguments(out, index, args);
      }
    } else if (type == "tool-call-delta") {
      const auto* call = msg != nullptr ? object_at(*msg, "tool_calls") : nullptr;
      const auto* fn = call != nullptr ? object_at(*call, "function") : nullptr;
      const auto args = fn != nullptr ? string_at(*fn, "arguments") : "";
      if (!args.empty() && tool_calls_ > 0) {
        writer_.tool_call_arguments(out, our_index(int_at(&obj, "index")), args);
      }
    } else if (type == "message-end") {
      const auto* delta = object_at(obj, "delta");
      const auto reason = delta != nullptr ? string_at(*delta, "finish_reason") : "";
      const auto err = delta != nullptr ? string_at(*delta, "error") : "";
      if (reason == "ERROR" || !err.empty()) {
        return generation_failed(err);
      }
      end(out, reason, read_v2_usage(delta != nullptr ? object_at(*delta, "usage") : nullptr));
    } else if (type == "error") {
      return generation_failed(string_at(obj, "message"));
    }
    // content-end, tool-call-end, citation-start/-end and debug carry nothing to forward.
    return {};
  }

  // The OpenAI index of Cohere's tool call `cohere`: the one that started with that index,
  // else the latest.
  int our_index(std::optional<std::int64_t> cohere) const {
    if (cohere) {
      for (const auto& [c, ours] : cohere_index_) {
        if (c == *cohere) {
          return ours;
        }
      }
    }
    return tool_calls_ - 1;
  }

  // v1 chat and generate: NDJSON objects with `event_type`.
  result<void> on_v1(const bj::object& obj, std::string& out) {
    const auto type = string_at(obj, "event_type");
    if (type == "stream-start") {
      if (const auto id = string_at(obj, "generation_id"); !id.empty()) {
        writer_.set_id(std::string(id));
      }
    } else if (type == "text-generation") {
      content(out, string_at(obj, "text"));
    } else if (type == "stream-end") {
      const auto reason = string_at(obj, "finish_reason");
      if (reason == "ERROR") {
        return generation_failed({});
      }
      json::usage u;
      if (const auto* response = object_at(obj, "response")) {
        u = read_v1_usage(*response);
      }
      end(out, reason, u);
    } else if (type == "stream-error") {
      return generation_failed(string_at(obj, "err"));
    }
    // search, citation and tool events of v1 chat carry nothing for an OpenAI client here:
    // the v1 request never offers tools.
    return {};
  }

  chunk_writer writer_;
  stream_kind kind_;
  int tool_calls_ = 0;
  std::vector<std::pair<std::int64_t, int>> cohere_index_;
  response_summary summary_;
  std::string text_;
};

// ---------------------------------------------------------------- the provider

class cohere final : public provider {
 public:
  result<upstream_request> to_upstream(const client_request& req, const target& t) const override {
    auto ep = make_endpoint(t, req.query);
    if (!ep) {
      return ep.error();
    }
    const auto rt = t.conf.route_type;
    if (auto r = reject_unsupported(req.body, rt); !r) {
      return r.error();
    }
    result<bj::object> body = error::internal("unreachable");
    stream::framing framing = stream::framing::ndjson;
    switch (rt) {
      default:  // only the translated route types reach a translator
      case route_type::llm_v1_chat:
        if (api_of(ep->path) == chat_api::v1) {
          body = v1_chat_body(req.body, t);
        } else {
          body = v2_chat_body(req.body, t);
          framing = stream::framing::sse;
        }
        break;
      case route_type::llm_v1_completions:
        body = generate_body(req.body, t);
        break;
      case route_type::llm_v1_embeddings:
        body = embed_body(req.body, t);
        break;
    }
    if (!body) {
      return body.error();
    }
    upstream_request out;
    out.headers.reserve(req.headers.size() + 4);
    forward_client_headers(req.headers, out.headers);
    out.headers.set("Content-Type", "application/json");
    out.headers.set("Accept-Encoding", "identity");
    if (const auto auth = apply_auth(t.conf.auth, out.headers, ep->query, req.body)) {
      (*body)[auth->name] = bj::string_view(auth->value);
    }
    out.body.reserve(1024);
    json::write_value(out.body, *body);
    out.method = "POST";
    out.scheme = ep->scheme;
    out.host = std::move(ep->host);
    out.port = ep->port;
    out.target = ep->target();
    out.framing = t.stream && rt != route_type::llm_v1_embeddings ? framing : stream::framing::none;
    return out;
  }

  result<translated_response> from_upstream(std::string_view body, const target& t) const override {
    const auto rt = t.conf.route_type;
    boost::system::error_code ec;
    const auto v = bj::parse(body, ec);
    if (ec || !v.is_object()) {
      return error::bad_gateway(prefix(rt) + "upstream response is not a JSON object");
    }
    const auto& obj = v.get_object();
    switch (rt) {
      default:  // only the translated route types reach a translator
      case route_type::llm_v1_chat:
        // Answer whichever shape came back: v2 has `message`, v1 has `text`.
        if (object_at(obj, "message") != nullptr) {
          return chat_v2_response(obj, t);
        }
        if (const auto* text = obj.if_contains("text"); text != nullptr && text->is_string()) {
          return chat_v1_response(obj, t);
        }
        return error::bad_gateway(
            prefix(rt) + "'message' (v2) or 'text' (v1) missing from cohere response body");
      case route_type::llm_v1_completions:
        return generate_response(obj, t);
      case route_type::llm_v1_embeddings:
        return embed_response(obj, empty_client_body(), t);
    }
    return error::internal("unknown route type");
  }

  std::unique_ptr<stream_translator> make_stream_translator(const target& t) const override {
    stream_kind kind = stream_kind::generate;
    if (t.conf.route_type == route_type::llm_v1_chat) {
      kind = api_of(chat_path(t)) == chat_api::v1 ? stream_kind::chat_v1 : stream_kind::chat_v2;
    }
    return std::make_unique<cohere_stream>(t, kind);
  }

  std::optional<std::string> openai_error(int status, std::string_view body) const override {
    boost::system::error_code ec;
    const auto v = bj::parse(body, ec);
    if (ec || !v.is_object()) {
      return std::nullopt;
    }
    const auto& obj = v.get_object();
    if (const auto* inner = object_at(obj, "error")) {  // already OpenAI-like: fill it in
      const auto msg = string_at(*inner, "message");
      if (msg.empty()) {
        return std::nullopt;
      }
      const auto type = string_at(*inner, "type");
      return write_openai_error(msg, type.empty() ? openai_error_type_for(status) : type,
                                string_at(*inner, "code"), string_at(*inner, "param"));
    }
    const auto msg = string_at(obj, "message");
    if (msg.empty()) {
      return std::nullopt;
    }
    return write_openai_error(msg, openai_error_type_for(status));
  }

 private:
  static const bj::object& empty_client_body() {
    static const bj::object empty;
    return empty;
  }

  static std::string chat_path(const target& t) {
    endpoint ep;
    ep.host = default_host;
    ep.path = default_path(route_type::llm_v1_chat);
    if (!t.options.upstream_url.empty()) {
      (void)apply_upstream_url(ep, t.options.upstream_url);
    }
    return ep.path;
  }
};

}  // namespace

std::string_view cohere_finish_reason(std::string_view c) {
  if (c == "MAX_TOKENS" || c == "ERROR_LIMIT" || c == "TIMEOUT") {
    return "length";
  }
  if (c == "TOOL_CALL") {
    return "tool_calls";
  }
  if (c == "ERROR_TOXIC") {
    return "content_filter";
  }
  return "stop";  // COMPLETE, STOP_SEQUENCE, USER_CANCEL and anything new
}

const provider& cohere_provider() {
  static const cohere instance;
  return instance;
}

}  // namespace aiproxy::providers
