// The Anthropic translator (see anthropic.hpp): request building for /v1/messages and
// /v1/complete, response and stream translation, error normalization. Pure: no I/O.
#include "aiproxy/providers/anthropic.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <vector>

namespace aiproxy::providers {

namespace {

using config::route_type;

// Stack-backed arena for building one request or parsing one response or event.
struct arena {
  alignas(std::max_align_t) std::array<unsigned char, 4096> buffer;
  boost::json::monotonic_resource resource{buffer.data(), buffer.size()};
  boost::json::storage_ptr storage() { return boost::json::storage_ptr(&resource); }
};

std::string at_index(std::string_view base, std::size_t i) {
  std::string s(base);
  s.push_back('[');
  s += std::to_string(i);
  s.push_back(']');
  return s;
}

error unsupported(std::string_view field) {
  return error::bad_request(std::string(field) + " is not supported by anthropic");
}

// ---------------------------------------------------------------- chat request

// Fields of an OpenAI chat request that Anthropic cannot express: a 400 when they ask for
// something (a neutral value such as `n: 1`, `logprobs: false` or a zero penalty is ignored).
result<void> reject_inexpressible_chat(const boost::json::object& body) {
  if (present(body, "seed") != nullptr) {
    return error::bad_request(
        "seed is not supported by anthropic (the Messages API has no deterministic sampling)");
  }
  if (const auto* n = present(body, "n");
      n != nullptr && !(n->is_number() && n->to_number<double>() == 1)) {
    return error::bad_request("n other than 1 is not supported by anthropic (one choice per call)");
  }
  if (const auto* l = present(body, "logprobs");
      l != nullptr && !(l->is_bool() && !l->get_bool())) {
    return unsupported("logprobs");
  }
  if (present(body, "top_logprobs") != nullptr) {
    return unsupported("top_logprobs");
  }
  if (const auto* lb = present(body, "logit_bias");
      lb != nullptr && !(lb->is_object() && lb->get_object().empty())) {
    return unsupported("logit_bias");
  }
  for (const char* k : {"presence_penalty", "frequency_penalty"}) {
    if (const auto* p = present(body, k);
        p != nullptr && !(p->is_number() && p->to_number<double>() == 0)) {
      return unsupported(k);
    }
  }
  if (const auto* m = present(body, "modalities")) {
    const auto* a = m->if_array();
    bool text_only = a != nullptr;
    if (a != nullptr) {
      for (const auto& e : *a) {
        text_only = text_only && e.is_string() && e.get_string() == "text";
      }
    }
    if (!text_only) {
      return error::bad_request("modalities other than [\"text\"] are not supported by anthropic");
    }
  }
  for (const char* k : {"audio", "prediction", "web_search_options", "reasoning_effort"}) {
    if (present(body, k) != nullptr) {
      return unsupported(k);
    }
  }
  if (present(body, "functions") != nullptr || present(body, "function_call") != nullptr) {
    return error::bad_request(
        "functions/function_call (deprecated) are not supported by anthropic: use tools");
  }
  return {};
}

// An image_url part → an Anthropic image block (base64 data URL or an http(s) URL; nothing is
// fetched by the gateway).
result<void> image_block(const boost::json::object& part, boost::json::object& block,
                         const std::string& where) {
  const auto* iu = part.if_contains("image_url");
  std::string_view url;
  if (iu != nullptr && iu->is_string()) {
    url = iu->get_string();
  } else if (const auto* o = iu != nullptr ? iu->if_object() : nullptr) {
    url = string_at(*o, "url");
  }
  if (url.empty()) {
    return error::bad_request(where + ".image_url.url must be a non-empty string");
  }
  block["type"] = "image";
  auto& source = block["source"].emplace_object();
  if (auto d = parse_data_url(url)) {
    source["type"] = "base64";
    source["media_type"] = d->mime_type;
    source["data"] = d->base64;
    return {};
  }
  if (url.substr(0, 8) == "https://" || url.substr(0, 7) == "http://") {
    source["type"] = "url";
    source["url"] = url;
    return {};
  }
  return error::bad_request(where +
                            ".image_url.url must be an http(s) URL or a base64 data URL for "
                            "anthropic");
}

// A `file` part with inline data → an Anthropic document block (PDF by default).
result<void> document_block(const boost::json::object& part, boost::json::object& block,
                            const std::string& where) {
  const auto* file = object_at(part, "file");
  const std::string_view data =
      file != nullptr ? string_at(*file, "file_data") : std::string_view();
  if (data.empty()) {
    return error::bad_request(where +
                              ".file: only inline file_data is supported by anthropic (not "
                              "file_id)");
  }
  block["type"] = "document";
  auto& source = block["source"].emplace_object();
  source["type"] = "base64";
  if (auto d = parse_data_url(data)) {
    source["media_type"] = d->mime_type;
    source["data"] = d->base64;
  } else {
    source["media_type"] = "application/pdf";
    source["data"] = data;
  }
  if (const auto name = string_at(*file, "filename"); !name.empty()) {
    block["title"] = name;
  }
  return {};
}

// Appends the blocks of an OpenAI message `content` (string or parts) to `blocks`. Empty
// texts are skipped (Anthropic rejects empty text blocks).
result<void> content_blocks(const boost::json::value* content, boost::json::array& blocks,
                            const std::string& where) {
  if (content == nullptr || content->is_null()) {
    return {};
  }
  const auto add_text = [&](std::string_view text) {
    if (!text.empty()) {
      auto& b = blocks.emplace_back(boost::json::object(blocks.storage())).as_object();
      b["type"] = "text";
      b["text"] = text;
    }
  };
  if (const auto* s = content->if_string()) {
    add_text(*s);
    return {};
  }
  const auto* parts = content->if_array();
  if (parts == nullptr) {
    return error::bad_request(where + ".content must be a string or an array of parts");
  }
  for (std::size_t i = 0; i < parts->size(); ++i) {
    const std::string pw = at_index(where + ".content", i);
    const auto* part = (*parts)[i].if_object();
    const std::string_view type = part != nullptr ? string_at(*part, "type") : std::string_view();
    if (type == "text") {
      add_text(string_at(*part, "text"));
    } else if (type == "refusal") {
      add_text(string_at(*part, "refusal"));
    } else if (type == "image_url") {
      boost::json::object b(blocks.storage());
      if (auto r = image_block(*part, b, pw); !r) {
        return r.error();
      }
      blocks.emplace_back(std::move(b));
    } else if (type == "file") {
      boost::json::object b(blocks.storage());
      if (auto r = document_block(*part, b, pw); !r) {
        return r.error();
      }
      blocks.emplace_back(std::move(b));
    } else if (type == "input_audio") {
      return error::bad_request(pw + ": audio input is not supported by anthropic");
    } else {
      return error::bad_request(pw + ".type '" + std::string(type) +
                                "' is not supported by anthropic");
    }
  }
  return {};
}

// Anthropic wants user and assistant turns to alternate: a message with the same role as the
// previous one is merged into it.
class turn_list {
 public:
  explicit turn_list(boost::json::storage_ptr sp) : messages_(std::move(sp)) {}

  boost::json::array& blocks_for(std::string_view role) {
    if (!messages_.empty()) {
      auto& last = messages_.back().as_object();
      if (last.at("role").as_string() == role) {
        return last.at("content").as_array();
      }
    }
    auto& m = messages_.emplace_back(boost::json::object(messages_.storage())).as_object();
    m["role"] = role;
    return m["content"].emplace_array();
  }

  // A turn that is one plain text block is written as a string.
  boost::json::array take() {
    for (auto& m : messages_) {
      auto& content = m.as_object().at("content");
      auto& blocks = content.as_array();
      if (blocks.size() == 1) {
        const auto& b = blocks.front().as_object();
        if (b.size() == 2 && string_at(b, "type") == "text") {
          const boost::json::string text = b.at("text").as_string();
          content = text;
        }
      } else if (blocks.empty()) {
        content = "";  // Anthropic reports an empty turn itself
      }
    }
    return std::move(messages_);
  }

 private:
  boost::json::array messages_;
};

result<void> tool_use_blocks(const boost::json::array& calls, boost::json::array& blocks,
                             const std::string& where) {
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const std::string cw = at_index(where + ".tool_calls", i);
    const auto* call = calls[i].if_object();
    const auto* fn = call != nullptr ? object_at(*call, "function") : nullptr;
    const std::string_view name = fn != nullptr ? string_at(*fn, "name") : std::string_view();
    if (name.empty()) {
      return error::bad_request(cw + ".function.name must be a non-empty string");
    }
    auto& b = blocks.emplace_back(boost::json::object(blocks.storage())).as_object();
    b["type"] = "tool_use";
    b["id"] = string_at(*call, "id");
    b["name"] = name;
    const std::string_view args = string_at(*fn, "arguments");
    if (args.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      b["input"].emplace_object();
      continue;
    }
    boost::system::error_code ec;
    auto input = boost::json::parse(args, ec, blocks.storage());
    if (ec || !input.is_object()) {
      return error::bad_request(cw +
                                ".function.arguments must be a JSON object for anthropic "
                                "(tool_use input)");
    }
    b["input"] = std::move(input);
  }
  return {};
}

result<void> tool_result_block(const boost::json::object& msg, boost::json::array& blocks,
                               const std::string& where) {
  const std::string_view id = string_at(msg, "tool_call_id");
  if (id.empty()) {
    return error::bad_request(where + ".tool_call_id must be a non-empty string");
  }
  auto& b = blocks.emplace_back(boost::json::object(blocks.storage())).as_object();
  b["type"] = "tool_result";
  b["tool_use_id"] = id;
  const auto* content = msg.if_contains("content");
  if (content != nullptr && content->is_array()) {
    boost::json::array parts(blocks.storage());
    if (auto r = content_blocks(content, parts, where); !r) {
      return r.error();
    }
    b["content"] = std::move(parts);
  } else {
    b["content"] = content_text(content);
  }
  return {};
}

// messages → `system` (every system/developer message, in order) and alternating turns.
result<void> map_messages(const boost::json::object& body, boost::json::object& out) {
  const auto sp = out.storage();
  const auto& messages = body.at("messages").as_array();
  boost::json::array system(sp);
  turn_list turns(sp);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = at_index("messages", i);
    const auto* msg = messages[i].if_object();
    const std::string_view role = msg != nullptr ? string_at(*msg, "role") : std::string_view();
    if (role.empty()) {
      return error::bad_request(where + ".role must be a string");
    }
    const auto* content = msg->if_contains("content");
    if (role == "system" || role == "developer") {
      if (auto r = content_blocks(content, system, where); !r) {
        return r.error();
      }
      for (const auto& b : system) {
        if (string_at(b.as_object(), "type") != "text") {
          return error::bad_request(where + ".content: anthropic takes only text in system");
        }
      }
    } else if (role == "user") {
      if (auto r = content_blocks(content, turns.blocks_for("user"), where); !r) {
        return r.error();
      }
    } else if (role == "assistant") {
      auto& blocks = turns.blocks_for("assistant");
      if (auto r = content_blocks(content, blocks, where); !r) {
        return r.error();
      }
      if (const auto* calls = present(*msg, "tool_calls")) {
        if (!calls->is_array()) {
          return error::bad_request(where + ".tool_calls must be an array");
        }
        if (auto r = tool_use_blocks(calls->get_array(), blocks, where); !r) {
          return r.error();
        }
      }
      if (present(*msg, "function_call") != nullptr) {
        return error::bad_request(where +
                                  ".function_call (deprecated) is not supported by anthropic: "
                                  "use tool_calls");
      }
    } else if (role == "tool") {
      if (auto r = tool_result_block(*msg, turns.blocks_for("user"), where); !r) {
        return r.error();
      }
    } else {
      return error::bad_request(where + ".role '" + std::string(role) +
                                "' is not supported by anthropic");
    }
  }
  if (system.size() == 1) {
    out["system"] = system.front().as_object().at("text");
  } else if (!system.empty()) {
    out["system"] = std::move(system);
  }
  out["messages"] = turns.take();
  return {};
}

// tools, tool_choice, parallel_tool_calls and response_format (emulated with a forced tool).
result<void> map_tools(const boost::json::object& body, boost::json::object& out) {
  const auto sp = out.storage();
  boost::json::array tools(sp);
  if (const auto* tv = present(body, "tools")) {
    const auto* ta = tv->if_array();
    if (ta == nullptr) {
      return error::bad_request("tools must be an array");
    }
    for (std::size_t i = 0; i < ta->size(); ++i) {
      const std::string where = at_index("tools", i);
      const auto* tool = (*ta)[i].if_object();
      const std::string_view type = tool != nullptr ? string_at(*tool, "type") : std::string_view();
      if (type != "function") {
        return error::bad_request(where + ".type '" + std::string(type) +
                                  "' is not supported by anthropic (only 'function')");
      }
      const auto* fn = object_at(*tool, "function");
      const std::string_view name = fn != nullptr ? string_at(*fn, "name") : std::string_view();
      if (name.empty()) {
        return error::bad_request(where + ".function.name must be a non-empty string");
      }
      if (name == anthropic_json_tool) {
        return error::bad_request(where + ".function.name '" + std::string(name) +
                                  "' is reserved by the gateway for JSON mode on anthropic");
      }
      auto& t = tools.emplace_back(boost::json::object(sp)).as_object();
      t["name"] = name;
      if (const auto d = string_at(*fn, "description"); !d.empty()) {
        t["description"] = d;
      }
      if (const auto* params = object_at(*fn, "parameters")) {
        t["input_schema"] = *params;
      } else {
        auto& schema = t["input_schema"].emplace_object();
        schema["type"] = "object";
        schema["properties"].emplace_object();
      }
    }
  }
  const bool client_tools = !tools.empty();

  auto choice = read_tool_choice(body);
  if (!choice) {
    return choice.error();
  }
  auto format = read_response_format(body);
  if (!format) {
    return format.error();
  }
  const bool json_mode = format->kind != response_format::mode::text;
  if (json_mode) {
    auto& t = tools.emplace_back(boost::json::object(sp)).as_object();
    t["name"] = anthropic_json_tool;
    std::string description =
        "Give your final answer by calling this tool: its input is the answer, as JSON";
    if (format->schema != nullptr) {
      const auto* type = format->schema->if_contains("type");
      if (type != nullptr && !(type->is_string() && type->get_string() == "object")) {
        return error::bad_request(
            "response_format.json_schema.schema must describe an object for anthropic (JSON "
            "mode is a tool call whose input is an object)");
      }
      if (!format->name.empty()) {
        description += " (schema '" + format->name + "')";
      }
      t["description"] = description;
      t["input_schema"] = *format->schema;
    } else {
      t["description"] = description;
      auto& schema = t["input_schema"].emplace_object();
      schema["type"] = "object";
    }
  }
  if (tools.empty()) {
    return {};  // a tool_choice without tools means nothing upstream
  }
  out["tools"] = std::move(tools);

  // With JSON mode the answer must come through a tool: the JSON tool when the client's tools
  // are off or absent, any tool (the client's or the JSON one) when the model may choose.
  boost::json::object tc(sp);
  using mode = tool_choice::mode;
  switch (choice->kind) {
    case mode::unset:
    case mode::auto_:
      if (json_mode) {
        tc["type"] = client_tools ? "any" : "tool";
        if (!client_tools) {
          tc["name"] = anthropic_json_tool;
        }
      } else {
        tc["type"] = "auto";
      }
      break;
    case mode::none:
      if (json_mode) {
        tc["type"] = "tool";
        tc["name"] = anthropic_json_tool;
      } else {
        tc["type"] = "none";
      }
      break;
    case mode::required:
      tc["type"] = "any";
      break;
    case mode::function:
      tc["type"] = "tool";
      tc["name"] = choice->function_name;
      break;
  }
  const auto* ptc = present(body, "parallel_tool_calls");
  if (ptc != nullptr && ptc->is_bool() && !ptc->get_bool() && string_at(tc, "type") != "none") {
    tc["disable_parallel_tool_use"] = true;
  }
  const bool default_choice = choice->kind == mode::unset && !json_mode && tc.size() == 1;
  if (!default_choice) {
    out["tool_choice"] = std::move(tc);
  }
  return {};
}

// temperature, top_p, top_k (client or config under the precedence rule).
void map_sampling(const sampling& s, boost::json::object& out) {
  if (s.temperature) {
    out["temperature"] = *s.temperature;
  }
  if (s.top_p) {
    out["top_p"] = *s.top_p;
  }
  if (s.top_k) {
    out["top_k"] = *s.top_k;
  }
}

void map_stop_and_user(const boost::json::object& body, const sampling& s,
                       boost::json::object& out) {
  if (!s.stop.empty()) {
    auto& a = out["stop_sequences"].emplace_array();
    for (const auto& stop : s.stop) {
      a.emplace_back(stop);
    }
  }
  if (const auto user = string_at(body, "user"); !user.empty()) {
    out["metadata"].emplace_object()["user_id"] = user;
  }
}

result<void> build_messages_body(const boost::json::object& body, const target& t,
                                 boost::json::object& out) {
  if (auto r = reject_inexpressible_chat(body); !r) {
    return r.error();
  }
  out["model"] = t.model;
  // Anthropic requires max_tokens; OpenAI does not, so a default fills the gap.
  const auto s = read_sampling(body, t);
  out["max_tokens"] = s.max_tokens.value_or(anthropic_default_max_tokens);
  if (auto r = map_messages(body, out); !r) {
    return r.error();
  }
  if (auto r = map_tools(body, out); !r) {
    return r.error();
  }
  map_stop_and_user(body, s, out);
  map_sampling(s, out);
  out["stream"] = t.stream;
  return {};
}

// ---------------------------------------------------------------- completions request

result<void> build_complete_body(const boost::json::object& body, const target& t,
                                 boost::json::object& out) {
  if (present(body, "seed") != nullptr) {
    return error::bad_request("seed is not supported by anthropic");
  }
  if (const auto* n = present(body, "n");
      n != nullptr && !(n->is_number() && n->to_number<double>() == 1)) {
    return error::bad_request("n other than 1 is not supported by anthropic");
  }
  if (const auto* b = present(body, "best_of");
      b != nullptr && !(b->is_number() && b->to_number<double>() == 1)) {
    return unsupported("best_of");
  }
  if (const auto* e = present(body, "echo"); e != nullptr && !(e->is_bool() && !e->get_bool())) {
    return unsupported("echo");
  }
  if (const auto* s = present(body, "suffix");
      s != nullptr && !(s->is_string() && s->get_string().empty())) {
    return unsupported("suffix");
  }
  if (present(body, "logprobs") != nullptr) {
    return unsupported("logprobs");
  }
  if (const auto* lb = present(body, "logit_bias");
      lb != nullptr && !(lb->is_object() && lb->get_object().empty())) {
    return unsupported("logit_bias");
  }
  for (const char* k : {"presence_penalty", "frequency_penalty"}) {
    if (const auto* p = present(body, k);
        p != nullptr && !(p->is_number() && p->to_number<double>() == 0)) {
      return unsupported(k);
    }
  }
  const auto* pv = body.if_contains("prompt");
  std::string_view prompt;
  if (pv != nullptr && pv->is_string()) {
    prompt = pv->get_string();
  } else if (const auto* pa = pv != nullptr ? pv->if_array() : nullptr;
             pa != nullptr && pa->size() == 1 && pa->front().is_string()) {
    prompt = pa->front().get_string();
  } else {
    return error::bad_request(
        "prompt must be one string for anthropic (no batches, no token arrays)");
  }
  out["model"] = t.model;
  // The legacy API wants Human/Assistant turns; a prompt already in that form goes as it is.
  constexpr std::string_view human = "\n\nHuman:";
  if (prompt.substr(0, human.size()) == human) {
    out["prompt"] = prompt;
  } else {
    std::string p;
    p.reserve(prompt.size() + 32);
    p.append("\n\nHuman: ").append(prompt).append("\n\nAssistant:");
    out["prompt"] = p;
  }
  const auto s = read_sampling(body, t);
  out["max_tokens_to_sample"] = s.max_tokens.value_or(anthropic_default_max_tokens);
  map_stop_and_user(body, s, out);
  map_sampling(s, out);
  out["stream"] = t.stream;
  return {};
}

std::string transformation_prefix(route_type rt) {
  return "transformation failed from type anthropic://" + std::string(config::to_string(rt)) + ": ";
}

// ---------------------------------------------------------------- responses

// Anthropic's usage counters as read so far; prompt tokens include the cache writes and reads.
struct usage_counters {
  std::int64_t input = 0;
  std::int64_t output = 0;
  std::int64_t cache_creation = 0;
  std::int64_t cache_read = 0;
  bool known = false;

  // Sets every counter present in `u` (stream counters are cumulative: set, never add).
  void read(const boost::json::object& u) {
    const auto take = [&](std::string_view key, std::int64_t& field) {
      const auto* v = u.if_contains(key);
      if (v != nullptr && v->is_number()) {
        field = v->to_number<std::int64_t>();
        return true;
      }
      return false;
    };
    const bool in = take("input_tokens", input);
    const bool outp = take("output_tokens", output);
    take("cache_creation_input_tokens", cache_creation);
    take("cache_read_input_tokens", cache_read);
    known = known || in || outp;
  }

  json::usage to_usage() const {
    json::usage u;
    u.known = known;
    u.prompt_tokens = input + cache_creation + cache_read;
    u.completion_tokens = output;
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    u.cached_tokens = cache_read;
    return u;
  }
};

// The error of an Anthropic error body (`{"type":"error","error":{...}}`, or the bare
// `{"error":{...}}`); nullptr when `obj` is not one.
const boost::json::object* anthropic_error_of(const boost::json::object& obj) {
  const auto* e = object_at(obj, "error");
  if (e == nullptr || !e->contains("message")) {
    return nullptr;
  }
  return e;
}

error stream_error_from(const boost::json::object& err) {
  const auto type = string_at(err, "type");
  std::string message(string_at(err, "message"));
  if (message.empty()) {
    message = "anthropic reported an error in the stream";
  }
  auto e = error::bad_gateway(std::move(message), type.empty() ? "api_error" : std::string(type));
  e.type = anthropic_error_type_to_openai(type, 502);
  return e;
}

result<translated_response> messages_response(const boost::json::object& obj, const target& t) {
  const auto* content = obj.if_contains("content");
  if (content == nullptr || !content->is_array()) {
    return error::bad_gateway(transformation_prefix(route_type::llm_v1_chat) +
                              "'content' not in anthropic://llm/v1/chat response");
  }
  chat_result r;
  r.id = string_at(obj, "id");
  r.model = string_at(obj, "model");
  std::string text;
  std::string reasoning;
  bool has_text = false;
  bool has_reasoning = false;
  for (const auto& bv : content->get_array()) {
    const auto* b = bv.if_object();
    if (b == nullptr) {
      continue;
    }
    const auto type = string_at(*b, "type");
    if (type == "text") {
      text += string_at(*b, "text");
      has_text = true;
    } else if (type == "thinking") {
      reasoning += string_at(*b, "thinking");
      has_reasoning = true;
    } else if (type == "tool_use") {
      const auto* input = b->if_contains("input");
      const std::string args = input != nullptr ? json::to_json(*input) : std::string("{}");
      if (string_at(*b, "name") == anthropic_json_tool) {
        text += args;
        has_text = true;
      } else {
        r.tool_calls.push_back(
            {std::string(string_at(*b, "id")), std::string(string_at(*b, "name")), args});
      }
    }
    // redacted_thinking and server-side tool blocks have nothing OpenAI can show.
  }
  if (has_text || r.tool_calls.empty()) {
    r.content = std::move(text);
  }
  if (has_reasoning) {
    r.reasoning_content = std::move(reasoning);
  }
  r.finish_reason = anthropic_finish_reason(string_at(obj, "stop_reason"), !r.tool_calls.empty());
  usage_counters counters;
  if (const auto* u = object_at(obj, "usage")) {
    counters.read(*u);
  }
  r.usage = counters.to_usage();

  translated_response out;
  out.body = write_chat_completion(r, t);
  out.summary.usage = r.usage;
  out.summary.response_model = r.model;
  out.summary.finish_reason = r.finish_reason;
  return out;
}

result<translated_response> complete_response(const boost::json::object& obj, const target& t) {
  const auto* completion = obj.if_contains("completion");
  if (completion == nullptr || !completion->is_string()) {
    return error::bad_gateway(transformation_prefix(route_type::llm_v1_completions) +
                              "'completion' not in anthropic://llm/v1/completions response");
  }
  text_result r;
  r.id = string_at(obj, "id");
  r.model = string_at(obj, "model");
  r.text = std::string(completion->get_string());
  r.finish_reason = anthropic_finish_reason(string_at(obj, "stop_reason"), false);
  translated_response out;
  out.body = write_text_completion(r, t);
  out.summary.response_model = r.model;
  out.summary.finish_reason = r.finish_reason;
  return out;  // the legacy API reports no usage
}

// ---------------------------------------------------------------- streams

// Parses one SSE event's data; `type` is the data's "type", else the SSE event name.
struct parsed_event {
  boost::json::value value;
  const boost::json::object* obj = nullptr;
  std::string_view type;
};

result<bool> parse_event(const stream::event& ev, arena& a, parsed_event& p) {
  const auto first = ev.data.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return result<bool>(boost::system::in_place_value, false);  // nothing to read
  }
  boost::system::error_code ec;
  p.value = boost::json::parse(ev.data, ec, a.storage());
  if (ec || !p.value.is_object()) {
    return error::bad_gateway("anthropic sent a stream event that is not a JSON object");
  }
  p.obj = &p.value.get_object();
  p.type = string_at(*p.obj, "type");
  if (p.type.empty()) {
    p.type = ev.name;
  }
  return result<bool>(boost::system::in_place_value, true);
}

class messages_stream final : public stream_translator {
 public:
  explicit messages_stream(const target& t) : w_(t), collect_text_(t.conf.logging.log_payloads) {}

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (done_) {
      return {};
    }
    arena a;
    parsed_event p;
    auto ok = parse_event(ev, a, p);
    if (!ok) {
      return ok.error();
    }
    if (!*ok) {
      return {};
    }
    const auto& obj = *p.obj;
    if (p.type == "message_start") {
      if (const auto* m = object_at(obj, "message")) {
        if (const auto id = string_at(*m, "id"); !id.empty()) {
          w_.set_id(std::string(id));
        }
        if (const auto model = string_at(*m, "model"); !model.empty()) {
          w_.set_model(std::string(model));
          summary_.response_model = std::string(model);
        }
        if (const auto* u = object_at(*m, "usage")) {
          counters_.read(*u);
          summary_.usage = counters_.to_usage();
        }
      }
    } else if (p.type == "content_block_start") {
      return block_start(obj, out);
    } else if (p.type == "content_block_delta") {
      return block_delta(obj, out);
    } else if (p.type == "message_delta") {
      if (const auto* d = object_at(obj, "delta")) {
        if (const auto reason = string_at(*d, "stop_reason"); !reason.empty()) {
          stop_reason_ = std::string(reason);
        }
      }
      if (const auto* u = object_at(obj, "usage")) {
        counters_.read(*u);
        summary_.usage = counters_.to_usage();
      }
    } else if (p.type == "message_stop") {
      done_ = true;
      summary_.finish_reason = std::string(anthropic_finish_reason(stop_reason_, tools_ > 0));
      w_.finish(out, summary_.finish_reason, summary_.usage);
    } else if (p.type == "error") {
      const auto* err = anthropic_error_of(obj);
      return stream_error_from(err != nullptr ? *err : obj);
    }
    // ping, content_block_stop and unknown events carry nothing for the client.
    return {};
  }

  result<void> finish(std::string&) override {
    if (!done_) {
      return incomplete_stream("anthropic");
    }
    return {};
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  enum class kind { other, text, thinking, tool, json };
  struct block {
    kind k = kind::other;
    int tool_index = -1;
  };
  static constexpr std::size_t max_blocks = 4096;

  result<block*> block_at(const boost::json::object& obj) {
    const auto* i = obj.if_contains("index");
    if (i == nullptr || !i->is_number()) {
      return error::bad_gateway("anthropic sent a content block event without an index");
    }
    const auto idx = i->to_number<double>();
    if (idx < 0 || idx >= static_cast<double>(max_blocks)) {
      return error::bad_gateway("anthropic sent a content block index out of range");
    }
    const auto n = static_cast<std::size_t>(idx);
    if (blocks_.size() <= n) {
      blocks_.resize(n + 1);
    }
    return &blocks_[n];
  }

  void emit_text(std::string& out, std::string_view s) {
    if (s.empty()) {
      return;
    }
    w_.content(out, s);
    if (collect_text_) {
      text_.append(s);
    }
  }

  result<void> block_start(const boost::json::object& obj, std::string& out) {
    auto b = block_at(obj);
    if (!b) {
      return b.error();
    }
    const auto* cb = object_at(obj, "content_block");
    if (cb == nullptr) {
      return {};
    }
    const auto type = string_at(*cb, "type");
    block& blk = **b;
    if (type == "text") {
      blk.k = kind::text;
      emit_text(out, string_at(*cb, "text"));
    } else if (type == "thinking") {
      blk.k = kind::thinking;
      if (const auto s = string_at(*cb, "thinking"); !s.empty()) {
        w_.reasoning(out, s);
      }
    } else if (type == "tool_use") {
      const auto name = string_at(*cb, "name");
      const auto* input = cb->if_contains("input");
      const bool has_input = input != nullptr && input->is_object() && !input->get_object().empty();
      if (name == anthropic_json_tool) {
        blk.k = kind::json;
        if (has_input) {
          emit_text(out, json::to_json(*input));
        }
      } else {
        blk.k = kind::tool;
        blk.tool_index = tools_++;
        w_.tool_call_start(out, blk.tool_index, string_at(*cb, "id"), name);
        if (has_input) {
          w_.tool_call_arguments(out, blk.tool_index, json::to_json(*input));
        }
      }
    }
    return {};
  }

  result<void> block_delta(const boost::json::object& obj, std::string& out) {
    auto b = block_at(obj);
    if (!b) {
      return b.error();
    }
    const auto* d = object_at(obj, "delta");
    if (d == nullptr) {
      return {};
    }
    const auto type = string_at(*d, "type");
    const block& blk = **b;
    if (type == "text_delta") {
      emit_text(out, string_at(*d, "text"));
    } else if (type == "thinking_delta") {
      if (const auto s = string_at(*d, "thinking"); !s.empty()) {
        w_.reasoning(out, s);
      }
    } else if (type == "input_json_delta") {
      const auto part = string_at(*d, "partial_json");
      if (part.empty()) {
        return {};
      }
      if (blk.k == kind::json) {
        emit_text(out, part);
      } else if (blk.k == kind::tool) {
        w_.tool_call_arguments(out, blk.tool_index, part);
      }
    }
    // signature_delta and citations_delta have no OpenAI counterpart.
    return {};
  }

  chunk_writer w_;
  bool collect_text_;
  bool done_ = false;
  int tools_ = 0;
  std::vector<block> blocks_;
  std::string stop_reason_;
  usage_counters counters_;
  response_summary summary_;
  std::string text_;
};

// Legacy /v1/complete stream: `completion` events carry text deltas; the one whose
// stop_reason is set ends the answer.
class complete_stream final : public stream_translator {
 public:
  explicit complete_stream(const target& t) : w_(t), collect_text_(t.conf.logging.log_payloads) {}

  result<void> on_event(const stream::event& ev, std::string& out) override {
    if (done_) {
      return {};
    }
    arena a;
    parsed_event p;
    auto ok = parse_event(ev, a, p);
    if (!ok) {
      return ok.error();
    }
    if (!*ok) {
      return {};
    }
    const auto& obj = *p.obj;
    if (p.type == "completion") {
      if (const auto model = string_at(obj, "model");
          !model.empty() && summary_.response_model.empty()) {
        summary_.response_model = std::string(model);
        w_.set_model(summary_.response_model);
      }
      if (const auto text = string_at(obj, "completion"); !text.empty()) {
        w_.content(out, text);
        if (collect_text_) {
          text_.append(text);
        }
      }
      if (const auto reason = string_at(obj, "stop_reason"); !reason.empty()) {
        done_ = true;
        summary_.finish_reason = std::string(anthropic_finish_reason(reason, false));
        w_.finish(out, summary_.finish_reason, summary_.usage);
      }
    } else if (p.type == "error") {
      const auto* err = anthropic_error_of(obj);
      return stream_error_from(err != nullptr ? *err : obj);
    }
    return {};
  }

  result<void> finish(std::string&) override {
    if (!done_) {
      return incomplete_stream("anthropic");
    }
    return {};
  }

  const response_summary& summary() const override { return summary_; }
  std::string_view text() const override { return text_; }

 private:
  chunk_writer w_;
  bool collect_text_;
  bool done_ = false;
  response_summary summary_;
  std::string text_;
};

// ---------------------------------------------------------------- the provider

class anthropic final : public provider {
 public:
  result<upstream_request> to_upstream(const client_request& req, const target& t) const override {
    const auto rt = t.conf.route_type;
    if (rt == route_type::llm_v1_embeddings) {
      return error::bad_request("anthropic has no embeddings API");
    }
    endpoint ep;
    ep.host = "api.anthropic.com";
    ep.path = rt == route_type::llm_v1_chat ? "/v1/messages" : "/v1/complete";
    if (!t.options.upstream_url.empty()) {
      if (auto r = apply_upstream_url(ep, t.options.upstream_url); !r) {
        return r.error();
      }
    }
    if (auto r = ep.query.add_client_query(req.query); !r) {
      return r.error();
    }

    upstream_request out;
    out.headers.reserve(req.headers.size() + 5);
    forward_client_headers(req.headers, out.headers);
    out.headers.set("Content-Type", "application/json");
    out.headers.set("Accept-Encoding", "identity");
    out.headers.set("anthropic-version", t.options.anthropic_version.empty()
                                             ? anthropic_default_version
                                             : std::string_view(t.options.anthropic_version));
    const auto body_auth = apply_auth(t.conf.auth, out.headers, ep.query, req.body);

    arena a;
    boost::json::object body(a.storage());
    auto built = rt == route_type::llm_v1_chat ? build_messages_body(req.body, t, body)
                                               : build_complete_body(req.body, t, body);
    if (!built) {
      return built.error();
    }
    if (body_auth) {
      body[body_auth->name] = body_auth->value;
    }
    out.body.reserve(1024);
    json::write_value(out.body, body);

    out.method = "POST";
    out.scheme = ep.scheme;
    out.host = std::move(ep.host);
    out.port = ep.port;
    out.target = ep.target();
    out.framing = t.stream ? stream::framing::sse : stream::framing::none;
    return out;
  }

  result<translated_response> from_upstream(std::string_view body, const target& t) const override {
    const auto rt = t.conf.route_type;
    arena a;
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec, a.storage());
    const auto* obj = ec ? nullptr : v.if_object();
    if (obj == nullptr) {
      return error::bad_gateway(transformation_prefix(rt) +
                                "upstream response is not a JSON object");
    }
    if (const auto* err = anthropic_error_of(*obj)) {
      return error::bad_gateway(transformation_prefix(rt) + "anthropic answered with an error: " +
                                std::string(string_at(*err, "message")));
    }
    if (rt == route_type::llm_v1_completions) {
      return complete_response(*obj, t);
    }
    return messages_response(*obj, t);
  }

  std::unique_ptr<stream_translator> make_stream_translator(const target& t) const override {
    if (t.conf.route_type == route_type::llm_v1_completions) {
      return std::make_unique<complete_stream>(t);
    }
    return std::make_unique<messages_stream>(t);
  }

  std::optional<std::string> openai_error(int status, std::string_view body) const override {
    arena a;
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec, a.storage());
    const auto* obj = ec ? nullptr : v.if_object();
    const auto* err = obj != nullptr ? anthropic_error_of(*obj) : nullptr;
    if (err == nullptr) {
      return std::nullopt;
    }
    const auto type = string_at(*err, "type");
    return write_openai_error(string_at(*err, "message"),
                              anthropic_error_type_to_openai(type, status), type);
  }
};

}  // namespace

std::string_view anthropic_finish_reason(std::string_view stop_reason, bool client_tool_calls) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") {
    return client_tool_calls ? "tool_calls" : "stop";
  }
  if (stop_reason == "refusal") {
    return "content_filter";
  }
  return "stop";  // end_turn, stop_sequence, pause_turn, or none reported
}

std::string_view anthropic_error_type_to_openai(std::string_view type, int status) {
  static constexpr std::array<std::string_view, 5> kept = {
      "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
      "rate_limit_error"};
  for (const auto k : kept) {
    if (type == k) {
      return k;
    }
  }
  if (type == "api_error" || type == "overloaded_error" || type == "timeout_error") {
    return "server_error";
  }
  if (type == "request_too_large") {
    return "invalid_request_error";
  }
  return openai_error_type_for(status);
}

const provider& anthropic_provider() {
  static const anthropic instance;
  return instance;
}

}  // namespace aiproxy::providers
