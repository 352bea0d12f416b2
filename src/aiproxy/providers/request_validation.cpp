// Request format checks and model resolution (see request_validation.hpp). Pure: no I/O.
#include "aiproxy/providers/request_validation.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace aiproxy::providers {

namespace {

constexpr std::string_view no_valid_prompts = "request body doesn't contain valid prompts";

bool is_integer(const boost::json::value& v) noexcept {
  return v.is_int64() || v.is_uint64();
}

bool is_integer_array(const boost::json::value& v) noexcept {
  const auto* arr = v.if_array();
  if (arr == nullptr || arr->empty()) {
    return false;
  }
  for (const auto& e : *arr) {
    if (!is_integer(e)) {
      return false;
    }
  }
  return true;
}

// OpenAI's text input shapes: a string, or a non-empty array of strings, of integers (one
// pre-tokenised text) or of integer arrays (several pre-tokenised texts).
bool is_text_input(const boost::json::value& v, bool allow_empty_string) noexcept {
  if (const auto* s = v.if_string()) {
    return allow_empty_string || !s->empty();
  }
  const auto* arr = v.if_array();
  if (arr == nullptr || arr->empty()) {
    return false;
  }
  const auto& first = arr->front();
  if (first.is_string()) {
    for (const auto& e : *arr) {
      if (!e.is_string()) {
        return false;
      }
    }
    return true;
  }
  if (is_integer(first)) {
    return is_integer_array(v);
  }
  for (const auto& e : *arr) {
    if (!is_integer_array(e)) {
      return false;
    }
  }
  return true;
}

std::string not_compatible(config::route_type body_format, config::route_type route) {
  std::string msg = "[";
  msg += config::to_string(body_format);
  msg += "] message format is not compatible with [";
  msg += config::to_string(route);
  msg += "] route type";
  return msg;
}

result<void> check_messages(const boost::json::array& messages) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto* msg = messages[i].if_object();
    const boost::json::value* role = msg != nullptr ? msg->if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string()) {
      return error::bad_request("'messages[" + std::to_string(i) +
                                "]' must be an object with a string 'role'");
    }
  }
  return {};
}

}  // namespace

result<request_info> validate_request(config::route_type t, const boost::json::value& body) {
  const auto* obj = body.if_object();
  if (obj == nullptr) {
    return error::bad_request(std::string(no_valid_prompts));
  }

  // Which formats does the body look like? (Kong's identify_request, plus embeddings.)
  const auto* messages = obj->if_contains("messages");
  const auto* prompt = obj->if_contains("prompt");
  const auto* input = obj->if_contains("input");
  const bool is_chat =
      messages != nullptr && messages->is_array() && !messages->get_array().empty();
  const bool is_completions = prompt != nullptr && is_text_input(*prompt, true);
  const bool is_embeddings = input != nullptr && is_text_input(*input, false);
  const int matches = int{is_chat} + int{is_completions} + int{is_embeddings};
  if (matches == 0) {
    return error::bad_request(std::string(no_valid_prompts));
  }
  if (matches > 1) {
    return error::bad_request("request matches multiple LLM request formats");
  }
  const auto format = is_chat          ? config::route_type::llm_v1_chat
                      : is_completions ? config::route_type::llm_v1_completions
                                       : config::route_type::llm_v1_embeddings;
  if (format != t) {
    return error::bad_request(not_compatible(format, t));
  }
  if (is_chat) {
    if (auto r = check_messages(messages->get_array()); !r) {
      return r.error();
    }
  }

  request_info info;
  if (const auto* model = obj->if_contains("model"); model != nullptr && !model->is_null()) {
    if (!model->is_string()) {
      return error::bad_request("'model' must be a string");
    }
    info.model = model->get_string();
  }
  if (const auto* stream = obj->if_contains("stream"); stream != nullptr && !stream->is_null()) {
    if (!stream->is_bool()) {
      return error::bad_request("'stream' must be a boolean");
    }
    info.stream = stream->get_bool();
  }
  if (const auto* so = obj->if_contains("stream_options"); so != nullptr && !so->is_null()) {
    if (!so->is_object()) {
      return error::bad_request("'stream_options' must be an object");
    }
    const auto* iu = so->get_object().if_contains("include_usage");
    if (iu != nullptr && !iu->is_null()) {
      if (!iu->is_bool()) {
        return error::bad_request("'stream_options.include_usage' must be a boolean");
      }
      info.include_usage = iu->get_bool();
    }
  }
  if (t == config::route_type::llm_v1_embeddings && info.stream) {
    return error::bad_request("'stream' is not supported on the llm/v1/embeddings route type");
  }
  return info;
}

json::index_probes request_probes() noexcept {
  json::index_probes p;
  p.elements_of = "messages";
  p.element_key = "role";
  p.members_of = "stream_options";
  p.member_key = "include_usage";
  return p;
}

std::optional<result<request_info>> validate_indexed_request(config::route_type t,
                                                             const json::top_level_index& body) {
  using json::member_kind;
  if (!body.is_object()) {
    return result<request_info>(error::bad_request(std::string(no_valid_prompts)));
  }
  if (t != config::route_type::llm_v1_chat || body.has_duplicate_keys() ||
      body.contains("prompt") || body.contains("input")) {
    return std::nullopt;
  }
  // Without `prompt` and `input` the body can only be chat, or nothing.
  const auto* messages = body.find("messages");
  if (messages == nullptr || messages->kind != member_kind::array || messages->size == 0) {
    return result<request_info>(error::bad_request(std::string(no_valid_prompts)));
  }
  if (const auto bad = body.first_element_without_string_key()) {
    return result<request_info>(error::bad_request("'messages[" + std::to_string(*bad) +
                                                   "]' must be an object with a string 'role'"));
  }

  request_info info;
  if (const auto* model = body.find("model");
      model != nullptr && model->kind != member_kind::null) {
    if (model->kind != member_kind::string) {
      return result<request_info>(error::bad_request("'model' must be a string"));
    }
    info.model = model->text;
  }
  if (const auto* stream = body.find("stream");
      stream != nullptr && stream->kind != member_kind::null) {
    if (stream->kind != member_kind::boolean) {
      return result<request_info>(error::bad_request("'stream' must be a boolean"));
    }
    info.stream = stream->scalar.get_bool();
  }
  if (const auto* so = body.find("stream_options");
      so != nullptr && so->kind != member_kind::null) {
    if (so->kind != member_kind::object) {
      return result<request_info>(error::bad_request("'stream_options' must be an object"));
    }
    const auto iu = body.probed_member_kind();
    if (iu && *iu != member_kind::null) {
      if (*iu != member_kind::boolean) {
        return result<request_info>(
            error::bad_request("'stream_options.include_usage' must be a boolean"));
      }
      info.include_usage = body.probed_member_bool();
    }
  }
  return result<request_info>(std::move(info));
}

result<std::string> resolve_model_name(std::string_view configured, std::string_view client) {
  if (!configured.empty()) {
    if (!client.empty() && client != configured) {
      return error::bad_request("cannot use own model - must be: " + std::string(configured));
    }
    return std::string(configured);
  }
  if (!client.empty()) {
    return std::string(client);
  }
  return error::bad_request("model parameter not found in request, nor in gateway configuration");
}

}  // namespace aiproxy::providers
