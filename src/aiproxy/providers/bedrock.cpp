// AWS Bedrock translator (see bedrock.hpp): Converse / ConverseStream for chat and completions,
// InvokeModel for Titan and Cohere embeddings. Pure: JSON in, JSON and SSE bytes out.
#include "aiproxy/providers/bedrock.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <set>

namespace aiproxy::providers {

namespace {

using config::route_type;

// ---------------------------------------------------------------- small helpers

std::int64_t int_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return 0;
  }
  return v->to_number<std::int64_t>();
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

std::string prefix(route_type rt) {
  std::string p = "transformation failed from type bedrock://";
  p += config::to_string(rt);
  p += ": ";
  return p;
}

error bad_request(std::string detail) {
  return error::bad_request("bedrock: " + std::move(detail));
}

// Kong's "no system prompt" model patterns (Lua patterns such as `cohere.command.-text.-.*`).
bool rejects_system_prompt(std::string_view model) {
  if (contains(model, "amazon.titan") || contains(model, "mistral.mistral-7b-instruct") ||
      contains(model, "mistral.mixtral-8x7b-instruct")) {
    return true;
  }
  const auto c = model.find("cohere.command");
  return c != std::string_view::npos && model.find("text", c) != std::string_view::npos;
}

std::string_view finish_reason_for(std::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") {
    return "stop";
  }
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") {
    return "tool_calls";
  }
  if (stop_reason == "guardrail_intervened" || stop_reason == "content_filtered") {
    return "content_filter";
  }
  return stop_reason.empty() ? std::string_view() : std::string_view("stop");
}

json::usage read_usage(const boost::json::object& u) {
  json::usage out;
  const std::int64_t cache_read = int_at(u, "cacheReadInputTokens");
  const std::int64_t cache_write = int_at(u, "cacheWriteInputTokens");
  out.prompt_tokens = int_at(u, "inputTokens") + cache_read + cache_write;
  out.completion_tokens = int_at(u, "outputTokens");
  out.total_tokens = int_at(u, "totalTokens");
  if (out.total_tokens == 0) {
    out.total_tokens = out.prompt_tokens + out.completion_tokens;
  }
  out.cached_tokens = cache_read;
  out.known = true;
  return out;
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

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// ---------------------------------------------------------------- endpoint

result<endpoint> make_endpoint(const target& t, std::string_view query) {
  const auto& region = t.options.bedrock.aws_region;
  if (region.empty()) {
    return error::internal(
        "bedrock needs a region: set model.options.bedrock.aws_region (or AWS_REGION / "
        "AWS_DEFAULT_REGION)");
  }
  if (!is_region(region)) {
    return error::internal(
        "model.options.bedrock.aws_region must be a region name such as "
        "us-east-1");
  }
  const bool embeddings = t.conf.route_type == route_type::llm_v1_embeddings;
  const std::string_view op = embeddings ? "invoke" : t.stream ? "converse-stream" : "converse";
  endpoint ep;
  ep.host = "bedrock-runtime." + region + ".amazonaws.com";
  ep.path = "/model/" + percent_encode(t.model) + "/" + std::string(op);
  if (!t.options.upstream_url.empty()) {
    const std::string provider_path = ep.path;
    if (auto r = apply_upstream_url(ep, t.options.upstream_url); !r) {
      return r.error();
    }
    // A configured path serves both modes: switch the Converse action to this call's mode.
    if (ep.path != provider_path && !embeddings) {
      if (t.stream && ends_with(ep.path, "/converse")) {
        ep.path += "-stream";
      } else if (!t.stream && ends_with(ep.path, "/converse-stream")) {
        ep.path.resize(ep.path.size() - std::string_view("-stream").size());
      }
    }
  }
  if (auto r = ep.query.add_client_query(query); !r) {
    return r.error();
  }
  return ep;
}

// ---------------------------------------------------------------- request: messages

struct conversation {
  boost::json::array system;
  boost::json::array messages;
  bool has_tool_blocks = false;
};

// Appends `blocks` as a message of `role`, merged into the previous one when it has that role
// (Converse wants user and assistant turns to alternate).
void push_message(conversation& c, std::string_view role, boost::json::array blocks) {
  if (blocks.empty()) {
    return;
  }
  if (!c.messages.empty()) {
    auto& last = c.messages.back().as_object();
    if (last.at("role").as_string() == role) {
      auto& content = last.at("content").as_array();
      for (auto& b : blocks) {
        content.push_back(std::move(b));
      }
      return;
    }
  }
  boost::json::object m;
  m["role"] = role;
  m["content"] = std::move(blocks);
  c.messages.push_back(std::move(m));
}

result<boost::json::object> image_block(const boost::json::object& part) {
  const auto* iu = part.if_contains("image_url");
  std::string_view url;
  if (iu != nullptr && iu->is_string()) {
    url = iu->get_string();
  } else if (iu != nullptr && iu->is_object()) {
    url = string_at(iu->get_object(), "url");
  }
  if (url.empty()) {
    return bad_request("an image_url content part has no url");
  }
  const auto data = parse_data_url(url);
  if (!data) {
    return bad_request(
        "image_url must be a base64 data URL (data:image/png;base64,...): Bedrock takes image "
        "bytes and the gateway fetches nothing");
  }
  std::string_view format;
  const std::string_view mime = data->mime_type;
  if (mime == "image/png") {
    format = "png";
  } else if (mime == "image/jpeg" || mime == "image/jpg") {
    format = "jpeg";
  } else if (mime == "image/gif") {
    format = "gif";
  } else if (mime == "image/webp") {
    format = "webp";
  } else {
    return bad_request("image type '" + std::string(mime) +
                       "' is not supported (png, jpeg, gif or webp)");
  }
  boost::json::object source;
  source["bytes"] = data->base64;
  boost::json::object image;
  image["format"] = format;
  image["source"] = std::move(source);
  boost::json::object block;
  block["image"] = std::move(image);
  return block;
}

boost::json::object text_block(std::string_view text) {
  boost::json::object b;
  b["text"] = text;
  return b;
}

// User content: a string, or text and image parts.
result<boost::json::array> user_blocks(const boost::json::value* content) {
  boost::json::array blocks;
  if (content == nullptr || content->is_null()) {
    return blocks;
  }
  if (const auto* s = content->if_string()) {
    if (!s->empty()) {
      blocks.push_back(text_block(*s));
    }
    return blocks;
  }
  const auto* parts = content->if_array();
  if (parts == nullptr) {
    return bad_request("message content must be a string or an array of parts");
  }
  for (const auto& p : *parts) {
    const auto* po = p.if_object();
    const std::string_view type = po != nullptr ? string_at(*po, "type") : std::string_view();
    if (type == "text") {
      const auto text = string_at(*po, "text");
      if (!text.empty()) {
        blocks.push_back(text_block(text));
      }
    } else if (type == "image_url") {
      auto img = image_block(*po);
      if (!img) {
        return img.error();
      }
      blocks.push_back(std::move(*img));
    } else {
      return bad_request("content part type '" + std::string(type) + "' is not supported");
    }
  }
  return blocks;
}

result<boost::json::array> assistant_blocks(const boost::json::object& m, conversation& c) {
  boost::json::array blocks;
  const auto* content = present(m, "content");
  if (content != nullptr && !content->is_string() && !content->is_array()) {
    return bad_request("assistant content must be a string or an array of parts");
  }
  const std::string text = content_text(content);
  if (!text.empty()) {
    blocks.push_back(text_block(text));
  }
  const auto* calls = present(m, "tool_calls");
  if (calls == nullptr) {
    return blocks;
  }
  if (!calls->is_array()) {
    return bad_request("assistant tool_calls must be an array");
  }
  for (const auto& call : calls->get_array()) {
    const auto* co = call.if_object();
    const auto* fn = co != nullptr ? object_at(*co, "function") : nullptr;
    if (fn == nullptr) {
      return bad_request("an assistant tool call has no function");
    }
    const std::string_view args = string_at(*fn, "arguments");
    boost::json::value input = boost::json::object();
    if (!args.empty()) {
      boost::system::error_code ec;
      input = boost::json::parse(args, ec);
      if (ec || !input.is_object()) {
        return bad_request("tool call arguments of '" + std::string(string_at(*fn, "name")) +
                           "' must be a JSON object");
      }
    }
    boost::json::object use;
    use["toolUseId"] = string_at(*co, "id");
    use["name"] = string_at(*fn, "name");
    use["input"] = std::move(input);
    boost::json::object block;
    block["toolUse"] = std::move(use);
    blocks.push_back(std::move(block));
    c.has_tool_blocks = true;
  }
  return blocks;
}

result<boost::json::array> tool_result_blocks(const boost::json::object& m, conversation& c) {
  const auto id = string_at(m, "tool_call_id");
  if (id.empty()) {
    return bad_request("a tool message needs a tool_call_id");
  }
  const std::string text = content_text(present(m, "content"));
  boost::json::array content;
  boost::system::error_code ec;
  auto parsed = boost::json::parse(text, ec);
  if (!ec && parsed.is_object()) {
    boost::json::object b;
    b["json"] = std::move(parsed);
    content.push_back(std::move(b));
  } else {
    content.push_back(text_block(text));
  }
  boost::json::object res;
  res["toolUseId"] = id;
  res["content"] = std::move(content);
  boost::json::object block;
  block["toolResult"] = std::move(res);
  c.has_tool_blocks = true;
  return boost::json::array{std::move(block)};
}

result<conversation> read_messages(const boost::json::array& messages, const target& t) {
  conversation c;
  for (const auto& v : messages) {
    const auto* m = v.if_object();
    if (m == nullptr) {
      return bad_request("every message must be an object");
    }
    const auto role = string_at(*m, "role");
    if (role == "system" || role == "developer") {
      if (rejects_system_prompt(t.model)) {
        return bad_request("system prompts are unsupported for model '" + t.model + "'");
      }
      const std::string text = content_text(present(*m, "content"));
      if (!text.empty()) {
        c.system.push_back(text_block(text));
      }
    } else if (role == "user") {
      auto blocks = user_blocks(present(*m, "content"));
      if (!blocks) {
        return blocks.error();
      }
      push_message(c, "user", std::move(*blocks));
    } else if (role == "assistant") {
      auto blocks = assistant_blocks(*m, c);
      if (!blocks) {
        return blocks.error();
      }
      push_message(c, "assistant", std::move(*blocks));
    } else if (role == "tool") {
      auto blocks = tool_result_blocks(*m, c);
      if (!blocks) {
        return blocks.error();
      }
      push_message(c, "user", std::move(*blocks));
    } else {
      return bad_request("message role '" + std::string(role) + "' is not supported");
    }
  }
  if (c.messages.empty()) {
    return bad_request("the request has no user or assistant message with content");
  }
  return c;
}

// ---------------------------------------------------------------- request: options

// Fields Bedrock cannot express: a clear 400 instead of a silent drop.
result<void> reject_unsupported(const boost::json::object& body) {
  if (present(body, "seed") != nullptr) {
    return bad_request("seed is not supported by the Converse API");
  }
  if (const auto* n = present(body, "n");
      n != nullptr && !(n->is_number() && n->to_number<double>() == 1)) {
    return bad_request("n must be 1: the Converse API returns one choice");
  }
  if (const auto* lp = present(body, "logprobs");
      lp != nullptr && !(lp->is_bool() && !lp->get_bool())) {
    return bad_request("logprobs is not supported by the Converse API");
  }
  if (present(body, "top_logprobs") != nullptr) {
    return bad_request("top_logprobs is not supported by the Converse API");
  }
  for (const char* key : {"frequency_penalty", "presence_penalty"}) {
    const auto* v = present(body, key);
    if (v != nullptr && !(v->is_number() && v->to_number<double>() == 0)) {
      return bad_request(std::string(key) + " is not supported by the Converse API");
    }
  }
  if (const auto* lb = present(body, "logit_bias");
      lb != nullptr && !(lb->is_object() && lb->get_object().empty())) {
    return bad_request("logit_bias is not supported by the Converse API");
  }
  return {};
}

result<boost::json::array> read_tools(const boost::json::object& body) {
  boost::json::array tools;
  const auto* v = present(body, "tools");
  if (v == nullptr) {
    return tools;
  }
  if (!v->is_array()) {
    return bad_request("tools must be an array");
  }
  for (const auto& tool : v->get_array()) {
    const auto* to = tool.if_object();
    const auto* fn = to != nullptr ? object_at(*to, "function") : nullptr;
    const auto type = to != nullptr ? string_at(*to, "type") : std::string_view();
    if (fn == nullptr || (type != "function" && !type.empty())) {
      return bad_request("only function tools are supported");
    }
    const auto name = string_at(*fn, "name");
    if (name.empty()) {
      return bad_request("a function tool needs a name");
    }
    if (name == bedrock_json_tool_name) {
      return bad_request("the tool name '" + std::string(name) + "' is reserved by the gateway");
    }
    boost::json::object spec;
    spec["name"] = name;
    if (const auto d = string_at(*fn, "description"); !d.empty()) {
      spec["description"] = d;
    }
    boost::json::object schema;
    if (const auto* p = object_at(*fn, "parameters")) {
      schema["json"] = *p;
    } else {
      schema["json"] = {{"type", "object"}, {"properties", boost::json::object()}};
    }
    spec["inputSchema"] = std::move(schema);
    boost::json::object entry;
    entry["toolSpec"] = std::move(spec);
    tools.push_back(std::move(entry));
  }
  return tools;
}

// toolConfig, or nothing; adds the json_object emulation tool when asked.
result<void> write_tool_config(boost::json::object& out, const boost::json::object& body,
                               const conversation& c, const response_format& rf) {
  auto tools = read_tools(body);
  if (!tools) {
    return tools.error();
  }
  auto choice = read_tool_choice(body);
  if (!choice) {
    return choice.error();
  }
  boost::json::object tool_choice;
  if (rf.kind == response_format::mode::json_object) {
    if (!tools->empty()) {
      return bad_request(
          "response_format json_object cannot be combined with tools (it is emulated with a "
          "forced tool); use json_schema");
    }
    boost::json::object spec;
    spec["name"] = bedrock_json_tool_name;
    spec["description"] = "Answer with a JSON object.";
    spec["inputSchema"] = {{"json", {{"type", "object"}}}};
    boost::json::object entry;
    entry["toolSpec"] = std::move(spec);
    tools->push_back(std::move(entry));
    tool_choice["tool"] = {{"name", bedrock_json_tool_name}};
  } else {
    switch (choice->kind) {
      case tool_choice::mode::none:
        if (c.has_tool_blocks) {
          return bad_request(
              "tool_choice 'none' cannot be expressed while the conversation holds tool calls "
              "(Converse needs the tools then)");
        }
        return {};  // no tools offered: the model cannot call one
      case tool_choice::mode::auto_:
        tool_choice["auto"] = boost::json::object();
        break;
      case tool_choice::mode::required:
        tool_choice["any"] = boost::json::object();
        break;
      case tool_choice::mode::function:
        tool_choice["tool"] = {{"name", choice->function_name}};
        break;
      case tool_choice::mode::unset:
        break;
    }
  }
  if (tools->empty()) {
    if (!tool_choice.empty()) {
      return bad_request("tool_choice needs tools");
    }
    return {};
  }
  boost::json::object config;
  config["tools"] = std::move(*tools);
  if (!tool_choice.empty()) {
    config["toolChoice"] = std::move(tool_choice);
  }
  out["toolConfig"] = std::move(config);
  return {};
}

result<boost::json::object> converse_body(const boost::json::object& body,
                                          const boost::json::array& messages, const target& t) {
  if (auto r = reject_unsupported(body); !r) {
    return r.error();
  }
  auto conv = read_messages(messages, t);
  if (!conv) {
    return conv.error();
  }
  auto rf = read_response_format(body);
  if (!rf) {
    return rf.error();
  }
  boost::json::object out;
  out["messages"] = std::move(conv->messages);
  if (!conv->system.empty()) {
    out["system"] = std::move(conv->system);
  }

  const auto s = read_sampling(body, t);
  boost::json::object inference;
  write_sampling(s, {"maxTokens", "temperature", "topP", {}, "stopSequences"}, inference);
  if (!inference.empty()) {
    out["inferenceConfig"] = std::move(inference);
  }

  if (auto r = write_tool_config(out, body, *conv, *rf); !r) {
    return r.error();
  }
  if (rf->kind == response_format::mode::json_schema) {
    boost::json::object schema;
    schema["schema"] = json::to_json(*rf->schema);
    if (!rf->name.empty()) {
      schema["name"] = rf->name;
    }
    out["outputConfig"] = {
        {"textFormat", {{"type", "json_schema"}, {"structure", {{"jsonSchema", schema}}}}}};
  }

  // Model-specific fields: the client's own (top level, or Kong's `bedrock` object), plus top_k.
  boost::json::object extra;
  const auto* kong_bedrock = object_at(body, "bedrock");
  const boost::json::object* client_extra = object_at(body, "additionalModelRequestFields");
  if (client_extra == nullptr && kong_bedrock != nullptr) {
    client_extra = object_at(*kong_bedrock, "additionalModelRequestFields");
  }
  if (client_extra != nullptr) {
    extra = *client_extra;
  }
  if (s.top_k) {
    extra["top_k"] = *s.top_k;
  }
  if (!extra.empty()) {
    out["additionalModelRequestFields"] = std::move(extra);
  }
  if (const auto* g = object_at(body, "guardrailConfig")) {
    out["guardrailConfig"] = *g;
  }
  if (!t.options.bedrock.performance_config_latency.empty()) {
    out["performanceConfig"] = {{"latency", t.options.bedrock.performance_config_latency}};
  }
  if (const auto user = string_at(body, "user"); !user.empty()) {
    out["requestMetadata"] = {{"user", user}};
  }
  return out;
}

result<boost::json::object> completions_body(const boost::json::object& body, const target& t) {
  const auto* prompt = present(body, "prompt");
  std::string_view text;
  if (prompt != nullptr && prompt->is_string()) {
    text = prompt->get_string();
  } else if (prompt != nullptr && prompt->is_array() && prompt->get_array().size() == 1 &&
             prompt->get_array().front().is_string()) {
    text = prompt->get_array().front().get_string();
  } else {
    return bad_request("prompt must be one string");
  }
  boost::json::array messages;
  messages.push_back({{"role", "user"}, {"content", text}});
  return converse_body(body, messages, t);
}

bool is_titan_embed(std::string_view model) {
  return contains(model, "amazon.titan-embed");
}

bool is_cohere_embed(std::string_view model) {
  return contains(model, "cohere.embed");
}

result<boost::json::object> embeddings_body(const boost::json::object& body, const target& t) {
  const auto* input = present(body, "input");
  std::vector<std::string_view> texts;
  if (input != nullptr && input->is_string()) {
    texts.push_back(input->get_string());
  } else if (input != nullptr && input->is_array()) {
    for (const auto& e : input->get_array()) {
      if (!e.is_string()) {
        return bad_request("embeddings input must be text (token arrays are not supported)");
      }
      texts.push_back(e.get_string());
    }
  }
  if (texts.empty()) {
    return bad_request("embeddings input is empty");
  }
  boost::json::object out;
  if (is_titan_embed(t.model)) {
    if (texts.size() != 1) {
      return bad_request("Titan embedding models take one input per request");
    }
    out["inputText"] = texts.front();
    const auto dims =
        tuning_integer(body, "dimensions", t.options.embeddings_dimensions, t.conf.precedence);
    if (dims) {
      out["dimensions"] = *dims;
    }
    if (t.options.bedrock.embeddings_normalize) {
      out["normalize"] = true;
    }
  } else if (is_cohere_embed(t.model)) {
    if (present(body, "dimensions") != nullptr) {
      return bad_request("dimensions is not supported by Cohere embedding models");
    }
    boost::json::array a;
    for (const auto s : texts) {
      a.emplace_back(s);
    }
    out["texts"] = std::move(a);
    out["input_type"] = "search_document";
  } else {
    return bad_request(
        "embeddings are supported for amazon.titan-embed-* and cohere.embed-* "
        "models, not '" +
        t.model + "'");
  }
  return out;
}

// ---------------------------------------------------------------- provider

class bedrock final : public provider {
 public:
  result<upstream_request> to_upstream(const client_request& req, const target& t) const override {
    const auto rt = t.conf.route_type;
    if (rt == route_type::llm_v1_embeddings && t.stream) {
      return bad_request("embeddings cannot be streamed");
    }
    auto ep = make_endpoint(t, req.query);
    if (!ep) {
      return ep.error();
    }
    result<boost::json::object> body = boost::json::object();
    if (rt == route_type::llm_v1_chat) {
      const auto* messages = present(req.body, "messages");
      if (messages == nullptr || !messages->is_array()) {
        return bad_request("messages must be an array");
      }
      body = converse_body(req.body, messages->get_array(), t);
    } else if (rt == route_type::llm_v1_completions) {
      body = completions_body(req.body, t);
    } else {
      body = embeddings_body(req.body, t);
    }
    if (!body) {
      return body.error();
    }

    upstream_request out;
    out.headers.reserve(req.headers.size() + 4);
    forward_client_headers(req.headers, out.headers);
    out.headers.set("Content-Type", "application/json");
    out.headers.set("Accept-Encoding", "identity");
    if (t.stream) {
      out.headers.set("Accept", "application/vnd.amazon.eventstream");
    } else {
      out.headers.set("Accept", "application/json");
    }
    if (const auto field = apply_auth(t.conf.auth, out.headers, ep->query, req.body)) {
      (*body)[field->name] = field->value;
    }
    out.body = json::to_json(*body);
    out.method = "POST";
    out.scheme = ep->scheme;
    out.host = std::move(ep->host);
    out.port = ep->port;
    out.target = ep->target();
    out.framing = t.stream ? stream::framing::aws_eventstream : stream::framing::none;
    out.aws_sigv4 = aws_signing{t.options.bedrock.aws_region, "bedrock"};
    return out;
  }

  result<translated_response> from_upstream(std::string_view body, const target& t) const override {
    const auto rt = t.conf.route_type;
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    const auto* obj = ec ? nullptr : v.if_object();
    if (obj == nullptr) {
      return error::bad_gateway(prefix(rt) + "upstream response is not a JSON object");
    }
    if (rt == route_type::llm_v1_embeddings) {
      return embeddings_response(*obj, t);
    }
    const auto* output = object_at(*obj, "output");
    const auto* message = output != nullptr ? object_at(*output, "message") : nullptr;
    const auto* content = message != nullptr ? message->if_contains("content") : nullptr;
    if (content == nullptr || !content->is_array()) {
      return error::bad_gateway(prefix(rt) + "'output.message.content' not in bedrock response");
    }
    std::string text;
    std::string reasoning;
    bool has_reasoning = false;
    bool json_tool = false;
    std::vector<tool_call_out> calls;
    for (const auto& b : content->get_array()) {
      const auto* bo = b.if_object();
      if (bo == nullptr) {
        continue;
      }
      if (const auto* tx = bo->if_contains("text"); tx != nullptr && tx->is_string()) {
        text.append(tx->get_string().data(), tx->get_string().size());
      } else if (const auto* use = object_at(*bo, "toolUse")) {
        const auto* input = present(*use, "input");
        std::string args = input != nullptr ? json::to_json(*input) : std::string("{}");
        if (string_at(*use, "name") == bedrock_json_tool_name) {
          text += args;  // response_format json_object emulation
          json_tool = true;
          continue;
        }
        calls.push_back(tool_call_out{std::string(string_at(*use, "toolUseId")),
                                      std::string(string_at(*use, "name")), std::move(args)});
      } else if (const auto* rc = object_at(*bo, "reasoningContent")) {
        if (const auto* rt_obj = object_at(*rc, "reasoningText")) {
          const auto r = string_at(*rt_obj, "text");
          reasoning.append(r.data(), r.size());
          has_reasoning = true;
        }
      }
    }
    translated_response out;
    std::string finish(finish_reason_for(string_at(*obj, "stopReason")));
    if (json_tool && finish == "tool_calls") {
      finish = "stop";
    }
    out.summary.finish_reason = finish;
    out.summary.response_model = t.model;
    if (const auto* u = object_at(*obj, "usage")) {
      out.summary.usage = read_usage(*u);
    }
    if (rt == route_type::llm_v1_completions) {
      text_result r;
      r.text = std::move(text);
      r.finish_reason = finish;
      r.usage = out.summary.usage;
      out.body = write_text_completion(r, t);
      return out;
    }
    chat_result r;
    if (!text.empty() || calls.empty()) {
      r.content = std::move(text);
    }
    if (has_reasoning) {
      r.reasoning_content = std::move(reasoning);
    }
    r.tool_calls = std::move(calls);
    r.finish_reason = finish;
    r.usage = out.summary.usage;
    out.body = write_chat_completion(r, t);
    return out;
  }

  std::unique_ptr<stream_translator> make_stream_translator(const target& t) const override;

  std::optional<std::string> openai_error(int status, std::string_view body) const override {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    const auto* obj = ec ? nullptr : v.if_object();
    if (obj == nullptr || obj->contains("error")) {
      return std::nullopt;
    }
    std::string_view message = string_at(*obj, "message");
    if (message.empty()) {
      message = string_at(*obj, "Message");
    }
    if (message.empty()) {
      return std::nullopt;
    }
    return write_openai_error(message, openai_error_type_for(status));
  }

 private:
  static result<translated_response> embeddings_response(const boost::json::object& obj,
                                                         const target& t) {
    std::vector<std::vector<double>> vectors;
    json::usage usage;
    const auto read_vector = [](const boost::json::value& v, std::vector<double>& out) {
      const auto* a = v.if_array();
      if (a == nullptr) {
        return false;
      }
      out.reserve(a->size());
      for (const auto& x : *a) {
        if (!x.is_number()) {
          return false;
        }
        out.push_back(x.to_number<double>());
      }
      return true;
    };
    if (const auto* e = obj.if_contains("embedding")) {  // Titan
      vectors.emplace_back();
      if (!read_vector(*e, vectors.back())) {
        return error::bad_gateway(prefix(route_type::llm_v1_embeddings) +
                                  "'embedding' is not a list of numbers");
      }
      usage.prompt_tokens = int_at(obj, "inputTextTokenCount");
      usage.total_tokens = usage.prompt_tokens;
      usage.known = obj.contains("inputTextTokenCount");
    } else if (const auto* es = obj.if_contains("embeddings")) {  // Cohere
      const boost::json::value* list = es;
      if (const auto* eo = es->if_object()) {  // embedding_types form: {"float": [[...]]}
        list = eo->if_contains("float");
      }
      const auto* arr = list != nullptr ? list->if_array() : nullptr;
      if (arr == nullptr) {
        return error::bad_gateway(prefix(route_type::llm_v1_embeddings) +
                                  "'embeddings' is not a list");
      }
      for (const auto& e : *arr) {
        vectors.emplace_back();
        if (!read_vector(e, vectors.back())) {
          return error::bad_gateway(prefix(route_type::llm_v1_embeddings) +
                                    "an embedding is not a list of numbers");
        }
      }
    } else {
      return error::bad_gateway(prefix(route_type::llm_v1_embeddings) +
                                "neither 'embedding' nor 'embeddings' in bedrock response");
    }
    translated_response out;
    out.summary.usage = usage;
    out.summary.response_model = t.model;
    out.body = write_embeddings(vectors, t.model, usage, boost::json::object());
    return out;
  }
};

// ---------------------------------------------------------------- stream

class bedrock_stream final : public stream_translator {
 public:
  explicit bedrock_stream(const target& t) : writer_(t) { summary_.response_model = t.model; }

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (writer_.finished()) {
      return {};
    }
    if (ev.id == "exception" || ev.id == "error") {
      return stream_error(ev);
    }
    boost::system::error_code ec;
    const auto v = boost::json::parse(ev.data, ec);
    const auto* obj = ec ? nullptr : v.if_object();
    if (obj == nullptr) {
      return error::bad_gateway("bedrock sent a stream event that is not a JSON object");
    }
    const std::string_view name = ev.name;
    if (name == "contentBlockStart") {
      const auto* start = object_at(*obj, "start");
      const auto* use = start != nullptr ? object_at(*start, "toolUse") : nullptr;
      if (use != nullptr) {
        const auto block = int_at(*obj, "contentBlockIndex");
        if (string_at(*use, "name") == bedrock_json_tool_name) {
          json_blocks_.insert(block);
        } else {
          const int index = tool_count_++;
          tool_index_[block] = index;
          writer_.tool_call_start(out, index, string_at(*use, "toolUseId"),
                                  string_at(*use, "name"));
        }
      }
    } else if (name == "contentBlockDelta") {
      const auto* delta = object_at(*obj, "delta");
      if (delta == nullptr) {
        return {};
      }
      const auto block = int_at(*obj, "contentBlockIndex");
      if (const auto* tx = delta->if_contains("text"); tx != nullptr && tx->is_string()) {
        content(out, tx->get_string());
      } else if (const auto* use = object_at(*delta, "toolUse")) {
        const auto input = string_at(*use, "input");
        if (json_blocks_.count(block) != 0) {
          if (!input.empty()) {
            content(out, input);
          }
        } else if (const auto it = tool_index_.find(block); it != tool_index_.end()) {
          if (!input.empty()) {
            writer_.tool_call_arguments(out, it->second, input);
          }
        } else {
          return error::bad_gateway("bedrock streamed tool input for a block it never started");
        }
      } else if (const auto* rc = object_at(*delta, "reasoningContent")) {
        if (const auto r = string_at(*rc, "text"); !r.empty()) {
          writer_.reasoning(out, r);
        }
      }
    } else if (name == "messageStop") {
      stopped_ = true;
      summary_.finish_reason = finish_reason_for(string_at(*obj, "stopReason"));
      if (!json_blocks_.empty() && summary_.finish_reason == "tool_calls") {
        summary_.finish_reason = "stop";
      }
      if (summary_.finish_reason.empty()) {
        summary_.finish_reason = "stop";
      }
    } else if (name == "metadata") {
      if (const auto* u = object_at(*obj, "usage")) {
        summary_.usage = read_usage(*u);
      }
      if (stopped_) {
        writer_.finish(out, summary_.finish_reason, summary_.usage);
      }
    }
    return {};  // messageStart, contentBlockStop and unknown events carry nothing to send
  }

  result<void> finish(std::string& out) override {
    if (writer_.finished()) {
      return {};
    }
    if (!stopped_) {
      return incomplete_stream("bedrock");
    }
    writer_.finish(out, summary_.finish_reason, summary_.usage);
    return {};
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  void content(std::string& out, std::string_view s) {
    text_.append(s.data(), s.size());
    writer_.content(out, s);
  }

  static error stream_error(const stream::event& ev) {
    std::string message;
    boost::system::error_code ec;
    const auto v = boost::json::parse(ev.data, ec);
    if (const auto* o = ec ? nullptr : v.if_object()) {
      message = string_at(*o, "message");
      if (message.empty()) {
        message = string_at(*o, "Message");
      }
    } else {
      message = ev.data;
    }
    const std::string type = ev.name.empty() ? std::string("bedrock_stream_error") : ev.name;
    if (message.empty()) {
      message = "bedrock stream failed: " + type;
    }
    error e = error::bad_gateway(std::move(message), type);
    e.type = type;
    return e;
  }

  chunk_writer writer_;
  response_summary summary_;
  std::string text_;
  std::map<std::int64_t, int> tool_index_;  // content block index -> tool call index
  std::set<std::int64_t> json_blocks_;      // blocks of the json_object emulation tool
  int tool_count_ = 0;
  bool stopped_ = false;
};

std::unique_ptr<stream_translator> bedrock::make_stream_translator(const target& t) const {
  return std::make_unique<bedrock_stream>(t);
}

}  // namespace

const provider& bedrock_provider() {
  static const bedrock instance;
  return instance;
}

}  // namespace aiproxy::providers
