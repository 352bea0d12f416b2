// Hugging Face translator (see huggingface.hpp): router chat (OpenAI shape, finish reasons and
// ids normalized), text-generation completions, feature-extraction embeddings, and the TGI
// token-stream translator shared with llama2 raw. Pure: no I/O.
#include "aiproxy/providers/huggingface.hpp"

#include "aiproxy/json/rewrite.hpp"
#include "aiproxy/json/usage_reader.hpp"
#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/upstream_url.hpp"
#include "aiproxy/stream/sse_writer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <vector>

namespace aiproxy::providers {

namespace {

using config::route_type;

std::string double_json(double d) {
  std::string s;
  json::write_double(s, d);
  return s;
}

std::string int_json(std::int64_t i) {
  std::string s;
  json::write_int(s, i);
  return s;
}

std::string string_json(std::string_view v) {
  std::string s;
  json::write_string(s, v);
  return s;
}

/// The message of a Hugging Face error body: `{"error": "..."}` (with `error_type` or
/// `estimated_time`), `{"error": {"message": ...}}` or `{"message": "..."}`. Empty if none.
std::string error_message(const boost::json::object& o) {
  if (const auto* e = o.if_contains("error")) {
    if (const auto* s = e->if_string()) {
      return std::string(*s);
    }
    if (const auto* eo = e->if_object()) {
      if (const auto* m = eo->if_contains("message"); m != nullptr && m->is_string()) {
        return std::string(m->get_string());
      }
    }
  }
  if (const auto* m = o.if_contains("message"); m != nullptr && m->is_string()) {
    return std::string(m->get_string());
  }
  return {};
}

/// Model ids such as `meta-llama/Llama-3.1-8B-Instruct` keep their '/' in the path; each
/// segment is percent-encoded.
std::string model_path(std::string_view model) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto slash = model.find('/', start);
    out += percent_encode(model.substr(start, slash - start));
    if (slash == std::string_view::npos) {
      break;
    }
    out.push_back('/');
    start = slash + 1;
  }
  return out;
}

/// OpenAI's finish reasons stay; TGI's become OpenAI's.
std::string_view chat_finish_reason(std::string_view r) noexcept {
  if (r == "stop" || r == "length" || r == "tool_calls" || r == "content_filter" ||
      r == "function_call") {
    return r;
  }
  return tgi_finish_reason(r);
}

result<std::string> chat_body(const client_request& req, const target& t,
                              const std::optional<body_auth_field>& auth) {
  const auto& body = req.body;
  if (present(body, "top_k") != nullptr) {
    return error::bad_request(
        "top_k is not supported by huggingface chat completions (the router speaks OpenAI's "
        "chat format)");
  }
  if (t.options.top_k) {
    return error::bad_request(
        "model.options.top_k is not supported by huggingface chat completions");
  }
  std::vector<json::field_edit> edits;
  edits.reserve(10);
  edits.push_back(json::field_edit::set("model", string_json(t.model)));
  edits.push_back(json::field_edit::set("stream", t.stream ? "true" : "false"));
  if (t.stream) {
    edits.push_back(json::field_edit::set("stream_options", R"({"include_usage":true})"));
  } else {
    edits.push_back(json::field_edit::erase("stream_options"));
  }
  // The router documents max_tokens only.
  edits.push_back(json::field_edit::erase("max_completion_tokens"));
  if (auto m = max_output_tokens(body, t)) {
    edits.push_back(json::field_edit::set("max_tokens", int_json(*m)));
  }
  const auto prec = t.conf.precedence;
  if (auto v = tuning_number(body, "temperature", t.options.temperature, prec)) {
    edits.push_back(json::field_edit::set("temperature", double_json(*v)));
  }
  if (auto v = tuning_number(body, "top_p", t.options.top_p, prec)) {
    edits.push_back(json::field_edit::set("top_p", double_json(*v)));
  }
  if (auth) {
    edits.push_back(json::field_edit::set(auth->name, string_json(auth->value)));
  }
  std::string out;
  out.reserve(1024);
  json::write_object_with_edits(out, body, edits);
  return out;
}

result<std::string> completions_body(const client_request& req, const target& t,
                                     const std::optional<body_auth_field>& auth) {
  const auto& body = req.body;
  const auto* prompt = present(body, "prompt");
  std::string inputs;
  if (prompt != nullptr && prompt->is_string()) {
    inputs = std::string(prompt->get_string());
  } else if (prompt != nullptr && prompt->is_array() && prompt->get_array().size() == 1 &&
             prompt->get_array()[0].is_string()) {
    inputs = std::string(prompt->get_array()[0].get_string());
  } else {
    return error::bad_request(
        "huggingface text-generation takes one text prompt: 'prompt' must be a string");
  }
  if (const auto* e = present(body, "echo"); e != nullptr && e->is_bool() && e->get_bool()) {
    return error::bad_request("echo is not supported by huggingface text-generation");
  }
  if (present(body, "suffix") != nullptr) {
    return error::bad_request("suffix is not supported by huggingface text-generation");
  }
  if (const auto* n = present(body, "n");
      n != nullptr && !(n->is_number() && n->to_number<double>() == 1)) {
    return error::bad_request("n other than 1 is not supported by huggingface text-generation");
  }
  if (const auto* lp = present(body, "logprobs");
      lp != nullptr && !(lp->is_number() && lp->to_number<double>() == 0)) {
    return error::bad_request("logprobs is not supported by huggingface text-generation");
  }
  if (present(body, "presence_penalty") != nullptr) {
    return error::bad_request("presence_penalty is not supported by huggingface text-generation");
  }
  boost::json::object params;
  write_tgi_sampling(body, t, params);
  if (const auto* f = present(body, "frequency_penalty"); f != nullptr && f->is_number()) {
    params["frequency_penalty"] = f->to_number<double>();
  }
  params["return_full_text"] = false;
  params["details"] = true;
  boost::json::object out;
  out["inputs"] = inputs;
  out["parameters"] = std::move(params);
  if (t.stream) {
    out["stream"] = true;
  }
  if (auth) {
    out[auth->name] = auth->value;
  }
  return json::to_json(out);
}

result<std::string> embeddings_body(const client_request& req, const target& t,
                                    const std::optional<body_auth_field>& auth) {
  const auto& body = req.body;
  if (present(body, "dimensions") != nullptr || t.options.embeddings_dimensions) {
    return error::bad_request("dimensions is not supported by huggingface feature-extraction");
  }
  const auto* input = present(body, "input");
  boost::json::object out;
  if (input != nullptr && input->is_string()) {
    out["inputs"] = input->get_string();
  } else if (input != nullptr && input->is_array()) {
    boost::json::array a;
    for (const auto& e : input->get_array()) {
      if (!e.is_string()) {
        return error::bad_request(
            "huggingface feature-extraction takes text: 'input' must be a string or an array "
            "of strings (token arrays are not supported)");
      }
      a.push_back(e);
    }
    out["inputs"] = std::move(a);
  } else {
    return error::bad_request("'input' must be a string or an array of strings");
  }
  if (auth) {
    out[auth->name] = auth->value;
  }
  return json::to_json(out);
}

result<boost::json::value> parse_body(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) {
    return error::bad_gateway("huggingface response is not valid JSON");
  }
  return v;
}

result<translated_response> chat_response(boost::json::value v, const target& t) {
  auto* o = v.if_object();
  if (o == nullptr) {
    return error::bad_gateway("huggingface chat response is not a JSON object");
  }
  const auto* choices = o->if_contains("choices");
  if (choices == nullptr || !choices->is_array()) {
    auto msg = error_message(*o);
    if (!msg.empty()) {
      return error::bad_gateway("huggingface error: " + msg);
    }
    return error::bad_gateway("huggingface chat response has no 'choices'");
  }
  const auto* id = o->if_contains("id");
  if (id == nullptr || !id->is_string() || id->get_string().empty()) {
    (*o)["id"] = t.id;
  }
  (*o)["object"] = "chat.completion";
  if (const auto* c = o->if_contains("created"); c == nullptr || !c->is_number()) {
    (*o)["created"] = t.created;
  }
  if (const auto* m = o->if_contains("model");
      m == nullptr || !m->is_string() || m->get_string().empty()) {
    (*o)["model"] = t.model;
  }
  for (auto& c : (*o)["choices"].as_array()) {
    auto* co = c.if_object();
    if (co == nullptr) {
      continue;
    }
    if (auto* fr = co->if_contains("finish_reason"); fr != nullptr && fr->is_string()) {
      *fr = chat_finish_reason(fr->get_string());
    }
    if (auto* msg = co->if_contains("message"); msg != nullptr && msg->is_object()) {
      auto& mo = msg->get_object();
      if (!mo.contains("role")) {
        mo["role"] = "assistant";
      }
      // TGI 2.x sends tool-call arguments as a JSON object and finishes with eos_token: the
      // client gets OpenAI's string arguments and finish_reason tool_calls.
      auto* calls = mo.if_contains("tool_calls");
      if (calls != nullptr && calls->is_array() && !calls->get_array().empty()) {
        for (auto& call : calls->get_array()) {
          auto* fn = call.is_object() ? call.get_object().if_contains("function") : nullptr;
          auto* args = fn != nullptr && fn->is_object() ? fn->get_object().if_contains("arguments")
                                                        : nullptr;
          if (args != nullptr && !args->is_string()) {
            *args = json::to_json(*args);
          }
        }
        if (auto* fr = co->if_contains("finish_reason");
            fr != nullptr && fr->is_string() && fr->get_string() == "stop") {
          *fr = "tool_calls";
        }
      }
    }
  }
  translated_response out;
  read_openai_summary(*o, out.summary);
  out.body = json::to_json(v);
  return out;
}

result<translated_response> completions_response(const boost::json::value& v, const target& t) {
  const boost::json::object* item = v.if_object();
  if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    item = a->front().if_object();
  }
  const auto* text = item != nullptr ? item->if_contains("generated_text") : nullptr;
  if (text == nullptr || !text->is_string()) {
    if (item != nullptr) {
      auto msg = error_message(*item);
      if (!msg.empty()) {
        return error::bad_gateway("huggingface error: " + msg);
      }
    }
    return error::bad_gateway("huggingface text-generation response has no 'generated_text'");
  }
  text_result r;
  r.text = std::string(text->get_string());
  r.finish_reason = "stop";
  if (const auto* d = item->if_contains("details"); d != nullptr && d->is_object()) {
    if (const auto* fr = d->get_object().if_contains("finish_reason");
        fr != nullptr && fr->is_string()) {
      r.finish_reason = std::string(tgi_finish_reason(fr->get_string()));
    }
  }
  translated_response out;
  out.body = write_text_completion(r, t);
  out.summary.response_model = t.model;
  out.summary.finish_reason = r.finish_reason;
  return out;
}

bool read_vector(const boost::json::array& a, std::vector<double>& out) {
  out.reserve(a.size());
  for (const auto& x : a) {
    if (!x.is_number()) {
      return false;
    }
    out.push_back(x.to_number<double>());
  }
  return true;
}

result<translated_response> embeddings_response(const boost::json::value& v,
                                                const boost::json::object& client_body,
                                                const target& t) {
  const auto* a = v.if_array();
  if (a == nullptr) {
    if (const auto* o = v.if_object()) {
      auto msg = error_message(*o);
      if (!msg.empty()) {
        return error::bad_gateway("huggingface error: " + msg);
      }
    }
    return error::bad_gateway("huggingface feature-extraction response is not an array");
  }
  std::vector<std::vector<double>> vectors;
  if (!a->empty() && a->front().is_number()) {
    vectors.emplace_back();
    if (!read_vector(*a, vectors.back())) {
      return error::bad_gateway("huggingface feature-extraction response holds a non-number");
    }
  } else {
    for (const auto& row : *a) {
      const auto* r = row.if_array();
      vectors.emplace_back();
      if (r == nullptr || !read_vector(*r, vectors.back())) {
        return error::bad_gateway(
            "huggingface feature-extraction returned token-level embeddings (one vector per "
            "token), not one vector per input: use a sentence-embedding model");
      }
    }
  }
  translated_response out;
  out.body = write_embeddings(vectors, t.model, json::usage{}, client_body);
  out.summary.response_model = t.model;
  return out;
}

// ---------------------------------------------------------------- streams

/// The router's OpenAI-shaped chunks, forwarded with TGI finish reasons and empty ids
/// normalized and the gateway-requested usage chunk dropped when the client did not ask.
class hf_chat_stream final : public stream_translator {
 public:
  explicit hf_chat_stream(const target& t) : t_(t) {}

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (done_) {
      return {};
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
    boost::system::error_code ec;
    auto v = boost::json::parse(data, ec);
    auto* o = ec ? nullptr : v.if_object();
    if (o == nullptr) {
      return error::bad_gateway("huggingface sent a stream event that is not a JSON object");
    }
    if (!o->contains("choices")) {
      if (auto msg = error_message(*o); !msg.empty()) {
        std::string code;
        if (const auto* et = o->if_contains("error_type"); et != nullptr && et->is_string()) {
          code = std::string(et->get_string());
        }
        return error::bad_gateway(msg, code);
      }
    }
    const auto* id = o->if_contains("id");
    if (id == nullptr || !id->is_string() || id->get_string().empty()) {
      (*o)["id"] = t_.id;
    }
    if (auto* c = o->if_contains("choices"); c != nullptr && c->is_array()) {
      for (auto& choice : c->get_array()) {
        auto* co = choice.if_object();
        if (co == nullptr) {
          continue;
        }
        if (auto* fr = co->if_contains("finish_reason"); fr != nullptr && fr->is_string()) {
          *fr = chat_finish_reason(fr->get_string());
          finish_seen_ = true;
        }
        const auto* d = co->if_contains("delta");
        const auto* content =
            d != nullptr && d->is_object() ? d->get_object().if_contains("content") : nullptr;
        if (content != nullptr && content->is_string()) {
          text_.append(content->get_string().data(), content->get_string().size());
        }
      }
    }
    read_openai_summary(*o, summary_);
    const auto* usage = o->if_contains("usage");
    if (usage != nullptr && !usage->is_null() && !t_.client_wants_usage) {
      const auto* choices = o->if_contains("choices");
      if (choices == nullptr || (choices->is_array() && choices->get_array().empty())) {
        return {};  // the gateway asked for this chunk, the client did not
      }
      o->erase("usage");
    }
    stream::write_sse_data(out, json::to_json(v));
    return {};
  }

  result<void> finish(std::string& out) override {
    if (done_) {
      return {};
    }
    if (finish_seen_) {  // complete answer, the server just did not say [DONE]
      stream::write_sse_done(out);
      done_ = true;
      return {};
    }
    return incomplete_stream("huggingface");
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  const target& t_;
  bool done_ = false;
  bool finish_seen_ = false;
  response_summary summary_;
  std::string text_;
};

class tgi_stream final : public stream_translator {
 public:
  tgi_stream(const target& t, std::string_view provider_name)
      : writer_(t), provider_(provider_name) {
    summary_.response_model = t.model;
  }

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (writer_.finished()) {
      return {};
    }
    const std::string_view data = trim(ev.data);
    if (data.empty()) {
      return {};
    }
    if (data == "[DONE]") {
      return finish_with(out, summary_.finish_reason.empty() ? "stop" : summary_.finish_reason);
    }
    boost::system::error_code ec;
    const auto v = boost::json::parse(data, ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (o == nullptr) {
      return error::bad_gateway(provider_ + " sent a stream event that is not a JSON object");
    }
    if (!o->contains("token")) {
      if (auto msg = error_message(*o); !msg.empty()) {
        std::string code;
        if (const auto* et = o->if_contains("error_type"); et != nullptr && et->is_string()) {
          code = std::string(et->get_string());
        }
        return error::bad_gateway(msg, code);
      }
    }
    if (const auto* tok = o->if_contains("token"); tok != nullptr && tok->is_object()) {
      const auto& to = tok->get_object();
      const auto* special = to.if_contains("special");
      const bool is_special = special != nullptr && special->is_bool() && special->get_bool();
      const auto* text = to.if_contains("text");
      if (!is_special && text != nullptr && text->is_string() && !text->get_string().empty()) {
        const std::string_view s = text->get_string();
        writer_.content(out, s);
        text_.append(s.data(), s.size());
      }
    }
    const auto* generated = present(*o, "generated_text");
    const auto* details = present(*o, "details");
    if (generated == nullptr && details == nullptr) {
      return {};
    }
    std::string reason = "stop";
    if (details != nullptr && details->is_object()) {
      const auto& d = details->get_object();
      if (const auto* fr = d.if_contains("finish_reason"); fr != nullptr && fr->is_string()) {
        reason = std::string(tgi_finish_reason(fr->get_string()));
      }
      const auto* gen = d.if_contains("generated_tokens");
      const auto* in = d.if_contains("input_length");
      if (gen != nullptr && json::read_count(*gen, summary_.usage.completion_tokens)) {
        summary_.usage.known = true;
      }
      if (in != nullptr && json::read_count(*in, summary_.usage.prompt_tokens)) {
        summary_.usage.known = true;
      }
      summary_.usage.total_tokens = summary_.usage.prompt_tokens + summary_.usage.completion_tokens;
    }
    return finish_with(out, reason);
  }

  result<void> finish(std::string&) override {
    if (writer_.finished()) {
      return {};
    }
    return incomplete_stream(provider_);
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  result<void> finish_with(std::string& out, std::string reason) {
    summary_.finish_reason = std::move(reason);
    writer_.finish(out, summary_.finish_reason, summary_.usage);
    return {};
  }

  chunk_writer writer_;
  std::string provider_;
  response_summary summary_;
  std::string text_;
};

class huggingface final : public provider {
 public:
  result<upstream_request> to_upstream(const client_request& req, const target& t) const override {
    const auto rt = t.conf.route_type;
    endpoint ep;
    ep.host = "router.huggingface.co";
    switch (rt) {
      default:  // only the translated route types reach a translator
      case route_type::llm_v1_chat:
        ep.path = "/v1/chat/completions";
        break;
      case route_type::llm_v1_completions:
        ep.path = "/hf-inference/models/" + model_path(t.model);
        break;
      case route_type::llm_v1_embeddings:
        ep.path = "/hf-inference/models/" + model_path(t.model) + "/pipeline/feature-extraction";
        break;
    }
    if (!t.options.upstream_url.empty()) {
      if (auto r = apply_upstream_url(ep, t.options.upstream_url); !r) {
        return r.error();
      }
    }
    if (auto r = ep.query.add_client_query(req.query); !r) {
      return r.error();
    }
    upstream_request out;
    out.headers.reserve(req.headers.size() + 6);
    forward_client_headers(req.headers, out.headers);
    out.headers.set("Content-Type", "application/json");
    out.headers.set("Accept-Encoding", "identity");
    const auto& hf = t.options.huggingface;
    if (hf.use_cache) {
      out.headers.set("x-use-cache", *hf.use_cache ? "true" : "false");
    }
    if (hf.wait_for_model) {
      out.headers.set("x-wait-for-model", *hf.wait_for_model ? "true" : "false");
    }
    const auto body_auth = apply_auth(t.conf.auth, out.headers, ep.query, req.body);

    result<std::string> body = std::string();
    switch (rt) {
      default:  // only the translated route types reach a translator
      case route_type::llm_v1_chat:
        body = chat_body(req, t, body_auth);
        break;
      case route_type::llm_v1_completions:
        body = completions_body(req, t, body_auth);
        break;
      case route_type::llm_v1_embeddings:
        body = embeddings_body(req, t, body_auth);
        break;
    }
    if (!body) {
      return body.error();
    }
    out.body = std::move(*body);
    out.method = "POST";
    out.scheme = ep.scheme;
    out.host = std::move(ep.host);
    out.port = ep.port;
    out.target = ep.target();
    out.framing = t.stream ? stream::framing::sse : stream::framing::none;
    return out;
  }

  result<translated_response> from_upstream(std::string_view body, const target& t) const override {
    auto v = parse_body(body);
    if (!v) {
      return v.error();
    }
    switch (t.conf.route_type) {
      case route_type::llm_v1_chat:
        return chat_response(std::move(*v), t);
      case route_type::llm_v1_completions:
        return completions_response(*v, t);
      default:
        break;
    }
    // from_upstream does not see the client's body, so `encoding_format: base64` cannot be
    // honoured yet: vectors are written as floats (see the report on the provider seam).
    static const boost::json::object no_options;
    return embeddings_response(*v, no_options, t);
  }

  std::unique_ptr<stream_translator> make_stream_translator(const target& t) const override {
    if (t.conf.route_type == route_type::llm_v1_chat) {
      return std::make_unique<hf_chat_stream>(t);
    }
    return make_tgi_stream_translator(t, "huggingface");
  }

  std::optional<std::string> openai_error(int status, std::string_view body) const override {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (o == nullptr) {
      return std::nullopt;
    }
    if (const auto* e = o->if_contains("error"); e != nullptr && e->is_object()) {
      return std::nullopt;  // already OpenAI-shaped (the router's third-party providers)
    }
    auto msg = error_message(*o);
    if (msg.empty()) {
      return std::nullopt;
    }
    std::string code;
    if (const auto* et = o->if_contains("error_type"); et != nullptr && et->is_string()) {
      code = std::string(et->get_string());
    } else if (o->contains("estimated_time")) {
      code = "model_loading";
    }
    return write_openai_error(msg, openai_error_type_for(status), code);
  }
};

}  // namespace

void write_tgi_sampling(const boost::json::object& body, const target& t,
                        boost::json::object& params) {
  const auto s = read_sampling(body, t);
  write_sampling(s, {"max_new_tokens", "temperature", "top_p", "top_k", "stop"}, params);
  if (const auto* seed = present(body, "seed"); seed != nullptr && seed->is_number()) {
    params["seed"] = seed->to_number<std::int64_t>();
  }
}

std::string_view tgi_finish_reason(std::string_view reason) noexcept {
  if (reason == "length") {
    return "length";
  }
  return "stop";  // eos_token, stop_sequence, and anything unknown
}

std::unique_ptr<stream_translator> make_tgi_stream_translator(const target& t,
                                                              std::string_view provider_name) {
  return std::make_unique<tgi_stream>(t, provider_name);
}

const provider& huggingface_provider() {
  static const huggingface instance;
  return instance;
}

}  // namespace aiproxy::providers
