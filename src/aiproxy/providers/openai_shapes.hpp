#pragma once
// What every translating provider shares: reading the OpenAI request (tuning values under the
// precedence rule, message text, image data URLs, tool_choice) and writing OpenAI responses and
// stream chunks (chat.completion, text_completion, embeddings, chat.completion.chunk with role,
// content, tool-call deltas, the finish chunk, the usage chunk and [DONE]).
// Pure: no I/O, no clock; ids and timestamps come from the target.

#include "aiproxy/core/headers.hpp"
#include "aiproxy/json/usage.hpp"
#include "aiproxy/providers/provider.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::providers {

// ---------------------------------------------------------------- reading the request

/// Copies the client's headers that go upstream into `out`: all but hop-by-hop and framing
/// headers, Host, Accept-Encoding, Expect and Content-Type (the gateway sets those itself).
/// Client credentials are dealt with by apply_auth.
void forward_client_headers(const header_list& in, header_list& out);

/// The same, also leaving out the client credentials apply_auth would remove for `auth`
/// (auth_replaces_client_header), so that they are neither copied nor erased again.
void forward_client_headers(const header_list& in, header_list& out,
                            const config::auth_config& auth);

/// The value to send for a tuning field (`temperature`, `top_p`, `max_tokens`, …): the client's
/// when it set one and the precedence is `request`, else the configured one, else the client's.
std::optional<double> tuning_number(const boost::json::object& body, std::string_view key,
                                    std::optional<double> configured,
                                    config::options_precedence precedence);
std::optional<std::int64_t> tuning_integer(const boost::json::object& body, std::string_view key,
                                           std::optional<std::int64_t> configured,
                                           config::options_precedence precedence);

/// `max_completion_tokens`, else `max_tokens`, from the client, merged with the configured
/// `max_tokens` under the precedence rule.
std::optional<std::int64_t> max_output_tokens(const boost::json::object& body, const target& t);

/// `stop` as a list (a string becomes one entry; absent or null becomes empty).
std::vector<std::string> stop_sequences(const boost::json::object& body);

/// The sampling fields every generation API has some name for. The first four follow the
/// precedence rule (client or configured value); `stop` and the penalties are the client's
/// (a penalty only when it is a number).
struct sampling {
  std::optional<std::int64_t> max_tokens;  // max_output_tokens
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::vector<std::string> stop;  // stop_sequences
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
};
sampling read_sampling(const boost::json::object& body, const target& t);

/// The provider's names for max_tokens, temperature, top_p, top_k and stop; an empty name is
/// not written.
struct sampling_keys {
  std::string_view max_tokens, temperature, top_p, top_k, stop;
};
/// Adds the set fields of `s` to `out` under `keys`, in that order (penalties are left to the
/// caller).
void write_sampling(const sampling& s, const sampling_keys& keys, boost::json::object& out);

/// `strings` as a JSON array of strings.
boost::json::array string_array(const std::vector<std::string>& strings);

/// The text of a message's `content`: a string as is, an array's text parts joined with
/// `separator`.
std::string content_text(const boost::json::value* content, char separator = '\n');

/// A parsed `data:` URL (`data:image/png;base64,AAAA`). nullopt when `url` is not a base64 data
/// URL.
struct data_url {
  std::string mime_type;
  std::string_view base64;  // into the URL
};
std::optional<data_url> parse_data_url(std::string_view url);

/// OpenAI `tool_choice`, normalized.
struct tool_choice {
  enum class mode { unset, auto_, none, required, function } kind = mode::unset;
  std::string function_name;  // for `function`
};
result<tool_choice> read_tool_choice(const boost::json::object& body);

/// The `response_format` the client asked for.
struct response_format {
  enum class mode { text, json_object, json_schema } kind = mode::text;
  const boost::json::object* schema = nullptr;  // json_schema.schema
  std::string name;                             // json_schema.name
  bool strict = false;
};
result<response_format> read_response_format(const boost::json::object& body);

// ---------------------------------------------------------------- writing responses

struct tool_call_out {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text
};

struct chat_result {
  std::string id;                      // empty: t.id
  std::string model;                   // empty: t.model
  std::optional<std::string> content;  // nullopt: "content":null
  std::optional<std::string> reasoning_content;
  std::vector<tool_call_out> tool_calls;
  std::string finish_reason;  // OpenAI's: stop, length, tool_calls, content_filter
  json::usage usage;          // written when usage.known
};

/// A whole `chat.completion` body.
std::string write_chat_completion(const chat_result& r, const target& t);

struct text_result {
  std::string id;
  std::string model;
  std::string text;
  std::string finish_reason;
  json::usage usage;
};

/// A whole `text_completion` body.
std::string write_text_completion(const text_result& r, const target& t);

/// A whole embeddings `list` body; each vector is written as floats, or as base64 float32 when
/// the client asked for `encoding_format: base64`.
std::string write_embeddings(const std::vector<std::vector<double>>& vectors,
                             std::string_view model, const json::usage& usage,
                             const boost::json::object& client_body);

/// Rewrites an OpenAI embeddings body written with float arrays so that every `embedding` is
/// base64 float32, for clients that asked for `encoding_format: base64` (the OpenAI SDKs' default)
/// while the provider answered floats. nullopt when `body` is not such a list.
std::optional<std::string> embeddings_to_base64(std::string_view body);

/// `"usage":{...}` with prompt/completion/total and the cached/reasoning details when non-zero.
void write_usage_field(std::string& out, const json::usage& u);

/// OpenAI's error body `{"error":{"message","type","param","code"}}`.
std::string write_openai_error(std::string_view message, std::string_view type,
                               std::string_view code = {}, std::string_view param = {});

/// The OpenAI error `type` for an HTTP status (invalid_request_error, authentication_error,
/// permission_error, not_found_error, rate_limit_error, server_error, …).
std::string_view openai_error_type_for(int status);

// ---------------------------------------------------------------- writing streams

/// Writes the client side of one translated stream in OpenAI's order: a role chunk first, then
/// content and tool-call deltas, then exactly one finish chunk, the usage chunk when the client
/// asked for it, and `data: [DONE]`. Chat routes get `chat.completion.chunk` events;
/// completions routes get `text_completion` events with `text`.
class chunk_writer {
 public:
  explicit chunk_writer(const target& t);

  void set_id(std::string id) { id_ = std::move(id); }
  void set_model(std::string model) { model_ = std::move(model); }
  const std::string& model() const { return model_; }

  /// Content text (chat: delta.content; completions: text). Writes the role chunk first if it
  /// has not been written.
  void content(std::string& out, std::string_view text);
  /// Reasoning text (delta.reasoning_content), for providers that stream thinking.
  void reasoning(std::string& out, std::string_view text);
  /// Starts tool call `index` (0-based, counting tool calls only) with its id and name.
  void tool_call_start(std::string& out, int index, std::string_view id, std::string_view name);
  /// Appends a fragment of tool call `index`'s arguments.
  void tool_call_arguments(std::string& out, int index, std::string_view fragment);
  /// The finish chunk, the usage chunk (when the client asked), then [DONE]. Once only.
  void finish(std::string& out, std::string_view finish_reason, const json::usage& usage);
  bool finished() const { return finished_; }

 private:
  void head(std::string& out);
  void role(std::string& out);
  /// A chat chunk whose delta is `{"<field>": text}`.
  void delta_text(std::string& out, std::string_view field, std::string_view text);

  const target& t_;
  std::string id_;
  std::string model_;
  bool chat_;
  bool role_sent_ = false;
  bool finished_ = false;
};

}  // namespace aiproxy::providers
