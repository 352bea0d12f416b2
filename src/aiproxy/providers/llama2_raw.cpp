// llama2 raw translator (see llama2_raw.hpp): the Llama 2 prompt builder, the text-generation
// body, answers in the three shapes servers use, and TGI token streams (huggingface.hpp).
// Pure: no I/O.
#include "aiproxy/providers/llama2_raw.hpp"

#include "aiproxy/json/usage_reader.hpp"
#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/huggingface.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <vector>

namespace aiproxy::providers {

namespace {

using config::route_type;

std::string message_at(std::size_t i) {
  return "messages[" + std::to_string(i) + "]";
}

/// A message's text; image or other non-text parts are a 400.
result<std::string> text_of(const boost::json::value* content, std::size_t i) {
  if (content == nullptr || content->is_null()) {
    return std::string();
  }
  if (const auto* s = content->if_string()) {
    return std::string(*s);
  }
  const auto* parts = content->if_array();
  if (parts == nullptr) {
    return error::bad_request(message_at(i) + ".content must be a string or an array");
  }
  for (const auto& p : *parts) {
    const auto* po = p.if_object();
    if (po == nullptr || string_at(*po, "type") != "text") {
      return error::bad_request(message_at(i) +
                                ".content: llama2 format raw takes text only (no images or "
                                "other content parts)");
    }
  }
  return content_text(content);
}

result<void> check_unsupported(const boost::json::object& body) {
  if (const auto* tools = present(body, "tools");
      tools != nullptr && !(tools->is_array() && tools->get_array().empty())) {
    return error::bad_request("tools are not supported by llama2 format raw");
  }
  if (const auto* tc = present(body, "tool_choice");
      tc != nullptr &&
      !(tc->is_string() && (tc->get_string() == "none" || tc->get_string() == "auto"))) {
    return error::bad_request("tool_choice is not supported by llama2 format raw");
  }
  auto format = read_response_format(body);
  if (!format) {
    return format.error();
  }
  if (format->kind != response_format::mode::text) {
    return error::bad_request("response_format (JSON mode) is not supported by llama2 format raw");
  }
  if (const auto* n = present(body, "n");
      n != nullptr && !(n->is_number() && n->to_number<double>() == 1)) {
    return error::bad_request("n other than 1 is not supported by llama2 format raw");
  }
  if (const auto* lp = present(body, "logprobs")) {
    const bool off =
        (lp->is_bool() && !lp->get_bool()) || (lp->is_number() && lp->to_number<double>() == 0);
    if (!off) {
      return error::bad_request("logprobs is not supported by llama2 format raw");
    }
  }
  if (const auto* e = present(body, "echo"); e != nullptr && e->is_bool() && e->get_bool()) {
    return error::bad_request("echo is not supported by llama2 format raw");
  }
  if (present(body, "suffix") != nullptr) {
    return error::bad_request("suffix is not supported by llama2 format raw");
  }
  return {};
}

boost::json::object parameters(const boost::json::object& body, const target& t) {
  boost::json::object p;
  write_tgi_sampling(body, t, p);
  return p;
}

/// The first `{generated_text}` of `[...]`, `{data:[...]}` or the object itself.
const boost::json::object* generation_of(const boost::json::value& v) {
  const boost::json::value* list = &v;
  if (const auto* o = v.if_object()) {
    if (o->contains("generated_text")) {
      return o;
    }
    list = o->if_contains("data");
    if (list == nullptr) {
      return nullptr;
    }
  }
  const auto* a = list->if_array();
  if (a == nullptr || a->empty()) {
    return nullptr;
  }
  return a->front().if_object();
}

class llama2_raw final : public provider {
 public:
  result<upstream_request> to_upstream(const client_request& req, const target& t) const override {
    const auto& body = req.body;
    endpoint ep;
    if (!t.options.upstream_url.empty()) {
      if (auto r = apply_upstream_url(ep, t.options.upstream_url); !r) {
        return r.error();
      }
    }
    if (ep.host.empty()) {
      return error::internal("provider llama2 with format raw needs model.options.upstream_url");
    }
    if (ep.path.empty()) {
      ep.path = "/";
    }
    if (auto r = ep.query.add_client_query(req.query); !r) {
      return r.error();
    }
    if (t.conf.route_type == route_type::llm_v1_embeddings) {
      return error::bad_request(
          "llama2 format raw has no embeddings; use llama2_format ollama or openai");
    }
    if (auto r = check_unsupported(body); !r) {
      return r.error();
    }
    std::string inputs;
    if (t.conf.route_type == route_type::llm_v1_chat) {
      auto p = llama2_chat_prompt(body.at("messages").as_array());
      if (!p) {
        return p.error();
      }
      inputs = std::move(*p);
    } else {
      const auto* prompt = present(body, "prompt");
      const boost::json::value* one = prompt;
      if (prompt != nullptr && prompt->is_array() && prompt->get_array().size() == 1) {
        one = &prompt->get_array()[0];
      }
      if (one == nullptr || !one->is_string()) {
        return error::bad_request(
            "llama2 format raw takes one text prompt: 'prompt' must be a string");
      }
      inputs = "<s>[INST] ";
      inputs += one->get_string();
      inputs += " [/INST]";
    }

    upstream_request out;
    out.headers.reserve(req.headers.size() + 4);
    forward_client_headers(req.headers, out.headers);
    out.headers.set("Content-Type", "application/json");
    out.headers.set("Accept-Encoding", "identity");
    const auto body_auth = apply_auth(t.conf.auth, out.headers, ep.query, body);

    boost::json::object up;
    up["inputs"] = std::move(inputs);
    if (auto p = parameters(body, t); !p.empty()) {
      up["parameters"] = std::move(p);
    }
    if (t.stream) {
      up["stream"] = true;  // TGI answers with its token SSE stream
    }
    if (body_auth) {
      up[body_auth->name] = body_auth->value;
    }
    out.body = json::to_json(up);
    out.method = "POST";
    out.scheme = ep.scheme;
    out.host = std::move(ep.host);
    out.port = ep.port;
    out.target = ep.target();
    out.framing = t.stream ? stream::framing::sse : stream::framing::none;
    return out;
  }

  result<translated_response> from_upstream(std::string_view body, const target& t) const override {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec) {
      return error::bad_gateway("llama2 response is not valid JSON");
    }
    const auto* gen = generation_of(v);
    const auto* text = gen != nullptr ? gen->if_contains("generated_text") : nullptr;
    if (text == nullptr || !text->is_string()) {
      if (const auto* o = v.if_object()) {
        if (auto msg = plain_error_message(*o); !msg.empty()) {
          return error::bad_gateway("llama2 error: " + msg);
        }
      }
      return error::bad_gateway("llama2 raw response has no 'generated_text'");
    }
    translated_response out;
    out.summary.response_model = t.model;
    out.summary.finish_reason = "stop";
    if (const auto* d = gen->if_contains("details"); d != nullptr && d->is_object()) {
      if (const auto fr = string_at(d->get_object(), "finish_reason"); !fr.empty()) {
        out.summary.finish_reason = std::string(tgi_finish_reason(fr));
      }
    }
    if (const auto* o = v.if_object()) {
      if (const auto* u = o->if_contains("usage"); u != nullptr && u->is_object()) {
        out.summary.usage = json::read_openai_usage(*u);
      }
    }
    std::string answer = llama2_answer(text->get_string());
    if (t.conf.route_type == route_type::llm_v1_chat) {
      chat_result r;
      r.content = std::move(answer);
      r.finish_reason = out.summary.finish_reason;
      r.usage = out.summary.usage;
      out.body = write_chat_completion(r, t);
    } else {
      text_result r;
      r.text = std::move(answer);
      r.finish_reason = out.summary.finish_reason;
      r.usage = out.summary.usage;
      out.body = write_text_completion(r, t);
    }
    return out;
  }

  std::unique_ptr<stream_translator> make_stream_translator(const target& t) const override {
    return make_tgi_stream_translator(t, "llama2");
  }

  std::optional<std::string> openai_error(int status, std::string_view body) const override {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (o == nullptr) {
      return std::nullopt;
    }
    if (const auto* e = o->if_contains("error"); e != nullptr && e->is_object()) {
      return std::nullopt;  // already OpenAI-shaped
    }
    auto msg = plain_error_message(*o);
    if (msg.empty()) {
      return std::nullopt;
    }
    return write_openai_error(msg, openai_error_type_for(status),
                              std::string(string_at(*o, "error_type")));
  }
};

}  // namespace

result<std::string> llama2_chat_prompt(const boost::json::array& messages) {
  struct turn {
    std::string user;
    std::optional<std::string> answer;
  };
  std::string system;
  std::vector<turn> turns;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto* m = messages[i].if_object();
    if (m == nullptr) {
      return error::bad_request(message_at(i) + " must be an object");
    }
    if (const auto* tc = present(*m, "tool_calls");
        tc != nullptr && !(tc->is_array() && tc->get_array().empty())) {
      return error::bad_request(message_at(i) +
                                ".tool_calls: tool calls are not supported by llama2 format raw");
    }
    auto text = text_of(m->if_contains("content"), i);
    if (!text) {
      return text.error();
    }
    const std::string_view role = string_at(*m, "role");
    if (role == "system" || role == "developer") {
      if (!system.empty()) {
        system.push_back('\n');
      }
      system += *text;
    } else if (role == "user") {
      if (turns.empty() || turns.back().answer) {
        turns.push_back(turn{std::move(*text), std::nullopt});
      } else {
        turns.back().user += "\n" + *text;
      }
    } else if (role == "assistant") {
      if (turns.empty()) {
        return error::bad_request(
            "llama2 format raw needs a user message before the first assistant message");
      }
      if (turns.back().answer) {
        *turns.back().answer += "\n" + *text;
      } else {
        turns.back().answer = std::move(*text);
      }
    } else {
      return error::bad_request(message_at(i) + ".role '" + std::string(role) +
                                "' is not supported by llama2 format raw");
    }
  }
  if (turns.empty()) {
    return error::bad_request("llama2 format raw needs at least one user message");
  }
  if (turns.back().answer) {
    return error::bad_request("llama2 format raw needs the last message to be a user message");
  }
  std::string out;
  for (std::size_t k = 0; k < turns.size(); ++k) {
    out += "<s>[INST] ";
    if (k == 0 && !system.empty()) {
      out += "<<SYS>>\n";
      out += system;
      out += "\n<</SYS>>\n\n";
    }
    out += turns[k].user;
    out += " [/INST]";
    if (turns[k].answer) {
      out += ' ';
      out += *turns[k].answer;
      out += " </s>";
    }
  }
  return out;
}

std::string llama2_answer(std::string_view generated_text) {
  const std::string_view s = trim(generated_text);
  constexpr std::string_view close = "[/INST]";
  if (s.substr(0, 3) == "<s>" || s.substr(0, 6) == "[INST]") {
    if (const auto pos = s.rfind(close); pos != std::string_view::npos) {
      return std::string(trim(s.substr(pos + close.size())));
    }
  }
  return std::string(generated_text);
}

const provider& llama2_raw_provider() {
  static const llama2_raw instance;
  return instance;
}

}  // namespace aiproxy::providers
