// The deterministic mock provider (see mock.hpp). Pure: no I/O, no clock, no randomness.
#include "aiproxy/providers/mock.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/stream/sse_writer.hpp"

#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>
#include <cstring>

namespace aiproxy::providers {

namespace {

using config::route_type;

constexpr std::size_t max_quoted_chars = 200;
constexpr std::int64_t default_dimensions = 8;
constexpr std::int64_t max_dimensions = 8192;
constexpr int max_schema_depth = 8;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::int64_t count_words(std::string_view s) noexcept {
  std::int64_t n = 0;
  bool in_word = false;
  for (const char c : s) {
    if (is_space(c)) {
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      ++n;
    }
  }
  return n;
}

// The first `n` code points of UTF-8 text `s` (Boost.JSON already checked it is valid UTF-8).
std::string_view utf8_prefix(std::string_view s, std::size_t n) noexcept {
  std::size_t i = 0;
  std::size_t count = 0;
  while (i < s.size() && count < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++count;
  }
  return s.substr(0, std::min(i, s.size()));
}

// ---------------------------------------------------------------- tool calls

void write_schema_value(std::string& out, const boost::json::value* schema, int depth);

void write_schema_object(std::string& out, const boost::json::object* schema, int depth) {
  out.push_back('{');
  if (schema != nullptr && depth < max_schema_depth) {
    const auto* props_v = schema->if_contains("properties");
    const auto* props = props_v != nullptr ? props_v->if_object() : nullptr;
    const auto* req_v = schema->if_contains("required");
    bool first = true;
    if (const auto* required = req_v != nullptr ? req_v->if_array() : nullptr) {
      for (const auto& name : *required) {
        if (!name.is_string()) {
          continue;
        }
        if (!first) {
          out.push_back(',');
        }
        first = false;
        json::write_string(out, name.get_string());
        out.push_back(':');
        write_schema_value(out, props != nullptr ? props->if_contains(name.get_string()) : nullptr,
                           depth + 1);
      }
    }
  }
  out.push_back('}');
}

// A deterministic value for a JSON schema: its first enum value, else one per type.
void write_schema_value(std::string& out, const boost::json::value* schema, int depth) {
  const auto* s = schema != nullptr ? schema->if_object() : nullptr;
  if (s == nullptr) {
    out.append("\"mock\"");
    return;
  }
  if (const auto* e = s->if_contains("enum");
      e != nullptr && e->is_array() && !e->get_array().empty()) {
    json::write_value(out, e->get_array().front());
    return;
  }
  std::string_view type;
  if (const auto* t = s->if_contains("type")) {
    if (t->is_string()) {
      type = t->get_string();
    } else if (t->is_array()) {
      for (const auto& alt : t->get_array()) {
        if (alt.is_string() && alt.get_string() != "null") {
          type = alt.get_string();
          break;
        }
      }
    }
  }
  if (type == "integer") {
    out.append("1");
  } else if (type == "number") {
    out.append("1.5");
  } else if (type == "boolean") {
    out.append("true");
  } else if (type == "array") {
    out.append("[]");
  } else if (type == "object") {
    write_schema_object(out, s, depth);
  } else if (type == "null") {
    out.append("null");
  } else {
    out.append("\"mock\"");
  }
}

struct tool_call {
  std::string name;
  std::string arguments;  // JSON text
};

// The tool call the request asks for, if any.
std::optional<tool_call> pick_tool_call(const boost::json::object& body,
                                        const boost::json::array& messages) {
  const auto* tools_v = body.if_contains("tools");
  const auto* tools = tools_v != nullptr ? tools_v->if_array() : nullptr;
  if (tools == nullptr || tools->empty() || messages.empty()) {
    return std::nullopt;
  }
  const auto* last = messages.back().if_object();
  if (last == nullptr || string_at(*last, "role") != "user") {
    return std::nullopt;
  }
  std::string_view wanted;
  if (const auto* choice = body.if_contains("tool_choice")) {
    if (choice->is_string() && choice->get_string() == "none") {
      return std::nullopt;
    }
    if (const auto* co = choice->if_object()) {
      if (const auto* f = co->if_contains("function"); f != nullptr && f->is_object()) {
        wanted = string_at(f->get_object(), "name");
      }
    }
  }
  const boost::json::object* chosen = nullptr;
  for (const auto& tool : *tools) {
    const auto* to = tool.if_object();
    const auto* f = to != nullptr ? to->if_contains("function") : nullptr;
    const auto* fo = f != nullptr ? f->if_object() : nullptr;
    if (fo == nullptr) {
      continue;
    }
    if (wanted.empty() || string_at(*fo, "name") == wanted) {
      chosen = fo;
      break;
    }
  }
  tool_call call;
  if (chosen != nullptr) {
    call.name = string_at(*chosen, "name");
    const auto* params = chosen->if_contains("parameters");
    write_schema_object(call.arguments, params != nullptr ? params->if_object() : nullptr, 0);
  } else if (!wanted.empty()) {
    call.name = wanted;
    call.arguments = "{}";
  } else {
    return std::nullopt;
  }
  return call;
}

// ---------------------------------------------------------------- embeddings

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<float> unit_vector(std::string_view seed_text, std::int64_t dims) {
  std::uint64_t state = fnv1a(seed_text);
  std::vector<float> v(static_cast<std::size_t>(dims));
  double norm = 0.0;
  for (auto& x : v) {
    const double u = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;  // [0, 1)
    x = static_cast<float>(u * 2.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  for (auto& x : v) {
    x = norm > 0 ? static_cast<float>(x / norm) : 0.0f;
  }
  return v;
}

void write_float(std::string& out, float f) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, f);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

void write_base64_floats(std::string& out, const std::vector<float>& v) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * 4, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v[i], 4);
    for (int b = 0; b < 4; ++b) {  // little-endian, as numpy/Float32Array read it
      bytes[i * 4 + static_cast<std::size_t>(b)] = static_cast<char>((bits >> (8 * b)) & 0xFF);
    }
  }
  out.push_back('"');
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) {
      n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    }
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  out.push_back('"');
}

// One embeddings input: the text to hash and the number of prompt "words" it counts for.
struct embedding_input {
  std::string seed;
  std::int64_t words = 0;
};

embedding_input token_input(const boost::json::array& tokens) {
  embedding_input in;
  in.seed = "tokens:";
  in.words = static_cast<std::int64_t>(tokens.size());
  for (const auto& t : tokens) {
    in.seed += json::to_json(t);
    in.seed.push_back(',');
  }
  return in;
}

std::vector<embedding_input> embedding_inputs(const boost::json::value* input) {
  std::vector<embedding_input> out;
  if (input == nullptr) {
    return out;
  }
  if (const auto* s = input->if_string()) {
    out.push_back({std::string(*s), count_words(*s)});
    return out;
  }
  const auto* arr = input->if_array();
  if (arr == nullptr || arr->empty()) {
    return out;
  }
  if (arr->front().is_int64() || arr->front().is_uint64()) {
    out.push_back(token_input(*arr));
    return out;
  }
  for (const auto& e : *arr) {
    if (const auto* s = e.if_string()) {
      out.push_back({std::string(*s), count_words(*s)});
    } else if (const auto* tokens = e.if_array()) {
      out.push_back(token_input(*tokens));
    }
  }
  return out;
}

std::int64_t embedding_dimensions(const boost::json::object& body, const target& t) {
  const auto& configured = t.options.embeddings_dimensions;
  const auto valid = [](std::int64_t d) { return d > 0 && d <= max_dimensions; };
  if (configured && valid(*configured) && t.conf.precedence == config::options_precedence::config) {
    return *configured;
  }
  if (const auto* d = body.if_contains("dimensions");
      d != nullptr && d->is_int64() && valid(d->get_int64())) {
    return d->get_int64();
  }
  if (configured && valid(*configured)) {
    return *configured;
  }
  return default_dimensions;
}

// ---------------------------------------------------------------- response writing

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

void write_usage(std::string& out, const json::usage& u, bool with_completion) {
  out.append("\"usage\":{\"prompt_tokens\":");
  json::write_int(out, u.prompt_tokens);
  if (with_completion) {
    out.append(",\"completion_tokens\":");
    json::write_int(out, u.completion_tokens);
  }
  out.append(",\"total_tokens\":");
  json::write_int(out, u.total_tokens);
  out.push_back('}');
}

void write_tool_call(std::string& out, const tool_call& call, std::string_view call_id,
                     bool with_index) {
  out.push_back('{');
  if (with_index) {
    out.append("\"index\":0,");
  }
  out.append("\"id\":");
  json::write_string(out, call_id);
  out.append(",\"type\":\"function\",\"function\":{\"name\":");
  json::write_string(out, call.name);
  out.append(",\"arguments\":");
  json::write_string(out, call.arguments);
  out.append("}}");
}

// Pieces of `text` that concatenate back to it: each word with the whitespace before it.
std::vector<std::string_view> word_pieces(std::string_view text) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    while (i < text.size() && !is_space(text[i])) {
      ++i;
    }
    pieces.push_back(text.substr(start, i - start));
    start = i;
  }
  return pieces;
}

class chunk_writer {
 public:
  chunk_writer(std::vector<std::string>& chunks, std::string_view id, std::string_view object,
               std::int64_t created, std::string_view model)
      : chunks_(chunks), id_(id), object_(object), created_(created), model_(model) {}

  // Emits one chunk whose `choices` array holds `choice_json` (may be empty), plus `extra`
  // members (",\"usage\":{...}") after it.
  void emit(std::string_view choice_json, std::string_view extra = {}) {
    std::string payload;
    payload.reserve(160 + choice_json.size() + extra.size());
    write_head(payload, id_, object_, created_, model_);
    payload.append(",\"choices\":[");
    payload.append(choice_json);
    payload.push_back(']');
    payload.append(extra);
    payload.push_back('}');
    std::string event;
    stream::write_sse_data(event, payload);
    chunks_.push_back(std::move(event));
  }

  // Ends the stream as OpenAI does: the usage-only chunk when the client asked for it, then
  // `data: [DONE]`.
  void finish(bool with_usage, const json::usage& usage) {
    if (with_usage) {
      std::string extra = ",";
      write_usage(extra, usage, true);
      emit({}, extra);
    }
    std::string done;
    stream::write_sse_done(done);
    chunks_.push_back(std::move(done));
  }

 private:
  std::vector<std::string>& chunks_;
  std::string_view id_;
  std::string_view object_;
  std::int64_t created_;
  std::string_view model_;
};

// ---------------------------------------------------------------- the three route types

void answer_chat(mock_reply& r, const boost::json::object& body, const target& t,
                 std::string_view id, std::int64_t created) {
  static const boost::json::array no_messages;
  const auto* mv = body.if_contains("messages");
  const auto& messages = mv != nullptr && mv->is_array() ? mv->get_array() : no_messages;

  std::int64_t prompt_words = 0;
  std::string last_user;
  std::string last_tool;
  std::string_view last_role;
  for (const auto& m : messages) {
    const auto* mo = m.if_object();
    if (mo == nullptr) {
      continue;
    }
    std::string text = content_text(mo->if_contains("content"), ' ');  // words joined by spaces
    prompt_words += count_words(text);
    last_role = string_at(*mo, "role");
    if (last_role == "user") {
      last_user = std::move(text);
    } else if (last_role == "tool") {
      last_tool = std::move(text);
    }
  }

  const auto call = pick_tool_call(body, messages);
  std::string text;
  if (!call) {
    if (!t.options.mock.reply.empty()) {
      text = t.options.mock.reply;
    } else if (last_role == "tool") {
      text = "Tool result: ";
      text += utf8_prefix(last_tool, max_quoted_chars);
    } else {
      text = "Mock reply to: ";
      text += utf8_prefix(last_user, max_quoted_chars);
    }
  }
  const std::string call_id = call ? "call_" + std::string(id) : std::string();
  const std::string_view finish = call ? "tool_calls" : "stop";

  auto& s = r.summary;
  s.response_model = t.model;
  s.finish_reason = finish;
  s.usage.known = true;
  s.usage.prompt_tokens = prompt_words;
  s.usage.completion_tokens =
      call ? count_words(call->name) + count_words(call->arguments) : count_words(text);
  s.usage.total_tokens = s.usage.prompt_tokens + s.usage.completion_tokens;

  if (!t.stream) {
    auto& out = r.body;
    write_head(out, id, "chat.completion", created, t.model);
    out.append(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    if (call) {
      out.append("null,\"tool_calls\":[");
      write_tool_call(out, *call, call_id, false);
      out.push_back(']');
    } else {
      json::write_string(out, text);
    }
    out.append("},\"logprobs\":null,\"finish_reason\":");
    json::write_string(out, finish);
    out.append("}],");
    write_usage(out, s.usage, true);
    out.push_back('}');
    return;
  }

  chunk_writer w(r.chunks, id, "chat.completion.chunk", created, t.model);
  const auto delta_choice = [](std::string_view delta_json, std::string_view finish_reason) {
    std::string c = "{\"index\":0,\"delta\":";
    c += delta_json;
    c += ",\"logprobs\":null,\"finish_reason\":";
    if (finish_reason.empty()) {
      c += "null";
    } else {
      json::write_string(c, finish_reason);
    }
    c += '}';
    return c;
  };
  w.emit(delta_choice(
      call ? R"({"role":"assistant","content":null})" : R"({"role":"assistant","content":""})",
      {}));
  if (call) {
    std::string delta = "{\"tool_calls\":[";
    write_tool_call(delta, *call, call_id, true);
    delta += "]}";
    w.emit(delta_choice(delta, {}));
  } else {
    for (const auto piece : word_pieces(text)) {
      std::string delta = "{\"content\":";
      json::write_string(delta, piece);
      delta += '}';
      w.emit(delta_choice(delta, {}));
    }
  }
  w.emit(delta_choice("{}", finish));
  w.finish(t.client_wants_usage, s.usage);
}

std::string prompt_text(const boost::json::value* prompt, std::int64_t& words) {
  std::string out;
  if (prompt == nullptr) {
    return out;
  }
  if (const auto* s = prompt->if_string()) {
    words = count_words(*s);
    out.assign(s->data(), s->size());
    return out;
  }
  if (const auto* arr = prompt->if_array()) {
    for (const auto& e : *arr) {
      if (const auto* s = e.if_string()) {
        words += count_words(*s);
        if (!out.empty()) {
          out.push_back(' ');
        }
        out.append(s->data(), s->size());
      } else if (const auto* tokens = e.if_array()) {
        words += static_cast<std::int64_t>(tokens->size());
      } else {
        words += 1;  // one pre-tokenised prompt token
      }
    }
  }
  return out;
}

void answer_completions(mock_reply& r, const boost::json::object& body, const target& t,
                        std::string_view id, std::int64_t created) {
  std::int64_t prompt_words = 0;
  const std::string prompt = prompt_text(body.if_contains("prompt"), prompt_words);
  std::string text = t.options.mock.reply;
  if (text.empty()) {
    text = "Mock reply to: ";
    text += utf8_prefix(prompt, max_quoted_chars);
  }
  auto& s = r.summary;
  s.response_model = t.model;
  s.finish_reason = "stop";
  s.usage.known = true;
  s.usage.prompt_tokens = prompt_words;
  s.usage.completion_tokens = count_words(text);
  s.usage.total_tokens = s.usage.prompt_tokens + s.usage.completion_tokens;

  const auto choice = [](std::string_view piece, bool last) {
    std::string c = "{\"index\":0,\"text\":";
    json::write_string(c, piece);
    c += ",\"logprobs\":null,\"finish_reason\":";
    c += last ? "\"stop\"}" : "null}";
    return c;
  };
  if (!t.stream) {
    auto& out = r.body;
    write_head(out, id, "text_completion", created, t.model);
    out.append(",\"choices\":[");
    out.append(choice(text, true));
    out.append("],");
    write_usage(out, s.usage, true);
    out.push_back('}');
    return;
  }
  chunk_writer w(r.chunks, id, "text_completion", created, t.model);
  for (const auto piece : word_pieces(text)) {
    w.emit(choice(piece, false));
  }
  w.emit(choice("", true));
  w.finish(t.client_wants_usage, s.usage);
}

void answer_embeddings(mock_reply& r, const boost::json::object& body, const target& t,
                       std::string_view id, std::int64_t created) {
  const auto inputs = embedding_inputs(body.if_contains("input"));
  const std::int64_t dims = embedding_dimensions(body, t);
  const bool base64 = string_at(body, "encoding_format") == "base64";
  auto& s = r.summary;
  s.response_model = t.model;
  s.usage.known = true;
  for (const auto& in : inputs) {
    s.usage.prompt_tokens += in.words;
  }
  s.usage.total_tokens = s.usage.prompt_tokens;

  auto& out = r.body;
  out.reserve(128 + inputs.size() * static_cast<std::size_t>(dims) * 12);
  write_head(out, id, "list", created, t.model);
  out.append(",\"data\":[");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.append("{\"object\":\"embedding\",\"index\":");
    json::write_int(out, static_cast<std::int64_t>(i));
    out.append(",\"embedding\":");
    const auto v = unit_vector(inputs[i].seed, dims);
    if (base64) {
      write_base64_floats(out, v);
    } else {
      out.push_back('[');
      for (std::size_t k = 0; k < v.size(); ++k) {
        if (k > 0) {
          out.push_back(',');
        }
        write_float(out, v[k]);
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  out.append("],");
  write_usage(out, s.usage, false);
  out.push_back('}');
}

}  // namespace

mock_reply make_mock_reply(const client_request& req, const target& t, std::string_view id,
                           std::int64_t created) {
  mock_reply r;
  switch (t.conf.route_type) {
    case route_type::llm_v1_chat:
      answer_chat(r, req.body, t, id, created);
      break;
    case route_type::llm_v1_completions:
      answer_completions(r, req.body, t, id, created);
      break;
    case route_type::llm_v1_embeddings:
      answer_embeddings(r, req.body, t, id, created);
      break;
    default:  // other route types never reach the translators
      break;
  }
  return r;
}

}  // namespace aiproxy::providers
