// request_validation: every 400 message (Kong's exact texts and ours) and model resolution.
#include "aiproxy/providers/request_validation.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace aiproxy::providers {
namespace {

using config::route_type;

constexpr auto chat = route_type::llm_v1_chat;
constexpr auto completions = route_type::llm_v1_completions;
constexpr auto embeddings = route_type::llm_v1_embeddings;

result<request_info> validate(route_type t, std::string_view body) {
  return validate_request(t, boost::json::parse(body));
}

std::string message_of(route_type t, std::string_view body) {
  auto r = validate(t, body);
  EXPECT_FALSE(r.has_value()) << body;
  if (r.has_value()) {
    return {};
  }
  EXPECT_EQ(r.error().status, 400);
  return r.error().message;
}

constexpr std::string_view no_prompts = "request body doesn't contain valid prompts";

TEST(validate_request, accepts_chat_and_reads_model_and_stream) {
  auto r = validate(chat, R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],
      "stream":true,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->model, "gpt-4o");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
}

TEST(validate_request, defaults_when_fields_are_absent_or_null) {
  auto r = validate(chat, R"({"model":null,"messages":[{"role":"user","content":"hi"}],
      "stream":null,"stream_options":null})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->model, "");
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(r->include_usage);
}

TEST(validate_request, accepts_completions_string_and_array_prompts) {
  EXPECT_TRUE(validate(completions, R"({"prompt":"What are you?"})").has_value());
  EXPECT_TRUE(validate(completions, R"({"prompt":""})").has_value());
  EXPECT_TRUE(validate(completions, R"({"prompt":["a","b"]})").has_value());
  EXPECT_TRUE(validate(completions, R"({"prompt":[1,2,3]})").has_value());
  EXPECT_TRUE(validate(completions, R"({"prompt":[[1,2],[3]]})").has_value());
}

TEST(validate_request, accepts_every_embeddings_input_shape) {
  EXPECT_TRUE(validate(embeddings, R"({"input":"text"})").has_value());
  EXPECT_TRUE(validate(embeddings, R"({"input":["a","b"]})").has_value());
  EXPECT_TRUE(validate(embeddings, R"({"input":[1,2,3]})").has_value());
  EXPECT_TRUE(validate(embeddings, R"({"input":[[1,2],[3,4]]})").has_value());
}

TEST(validate_request, non_object_or_empty_bodies_have_no_valid_prompts) {
  EXPECT_EQ(message_of(chat, "[]"), no_prompts);
  EXPECT_EQ(message_of(chat, R"("text")"), no_prompts);
  EXPECT_EQ(message_of(chat, "null"), no_prompts);
  EXPECT_EQ(message_of(chat, "{}"), no_prompts);
  EXPECT_EQ(message_of(chat, R"({"messages":[]})"), no_prompts);
  EXPECT_EQ(message_of(chat, R"({"messages":"hi"})"), no_prompts);
  EXPECT_EQ(message_of(chat, R"({"segassem":[{"role":"user","content":"x"}]})"), no_prompts);
  EXPECT_EQ(message_of(completions, R"({"prompt":{"name":"python-chat"}})"), no_prompts);
  EXPECT_EQ(message_of(completions, R"({"prompt":42})"), no_prompts);
  EXPECT_EQ(message_of(embeddings, R"({"input":""})"), no_prompts);
  EXPECT_EQ(message_of(embeddings, R"({"input":[]})"), no_prompts);
  EXPECT_EQ(message_of(embeddings, R"({"input":[1,"a"]})"), no_prompts);
  EXPECT_EQ(message_of(embeddings, R"({"input":[[1],["a"]]})"), no_prompts);
  EXPECT_EQ(message_of(embeddings, R"({"input":[1.5]})"), no_prompts);
  EXPECT_EQ(message_of(embeddings, R"({"input":{"text":"a"}})"), no_prompts);
}

TEST(validate_request, several_formats_at_once) {
  const std::string_view msg = "request matches multiple LLM request formats";
  EXPECT_EQ(message_of(chat, R"({"messages":[{"role":"user"}],"prompt":"x"})"), msg);
  EXPECT_EQ(message_of(completions, R"({"messages":[{"role":"user"}],"prompt":"x"})"), msg);
  EXPECT_EQ(message_of(embeddings, R"({"input":"x","prompt":"x"})"), msg);
  EXPECT_EQ(message_of(chat, R"({"input":"x","messages":[{"role":"user"}]})"), msg);
}

TEST(validate_request, format_not_compatible_with_route) {
  EXPECT_EQ(message_of(completions, R"({"messages":[{"role":"user","content":"x"}]})"),
            "[llm/v1/chat] message format is not compatible with [llm/v1/completions] route type");
  EXPECT_EQ(message_of(chat, R"({"prompt":"x"})"),
            "[llm/v1/completions] message format is not compatible with [llm/v1/chat] route type");
  EXPECT_EQ(message_of(embeddings, R"({"messages":[{"role":"user","content":"x"}]})"),
            "[llm/v1/chat] message format is not compatible with [llm/v1/embeddings] route type");
  EXPECT_EQ(message_of(embeddings, R"({"prompt":"x"})"),
            "[llm/v1/completions] message format is not compatible with [llm/v1/embeddings] "
            "route type");
  EXPECT_EQ(message_of(chat, R"({"input":"x"})"),
            "[llm/v1/embeddings] message format is not compatible with [llm/v1/chat] route type");
  EXPECT_EQ(message_of(completions, R"({"input":["x"]})"),
            "[llm/v1/embeddings] message format is not compatible with [llm/v1/completions] "
            "route type");
}

TEST(validate_request, messages_must_be_objects_with_a_string_role) {
  EXPECT_EQ(message_of(chat, R"({"messages":["hi"]})"),
            "'messages[0]' must be an object with a string 'role'");
  EXPECT_EQ(message_of(chat, R"({"messages":[{"role":"user"},{"content":"x"}]})"),
            "'messages[1]' must be an object with a string 'role'");
  EXPECT_EQ(message_of(chat, R"({"messages":[{"role":7}]})"),
            "'messages[0]' must be an object with a string 'role'");
}

TEST(validate_request, typed_fields) {
  constexpr std::string_view m = R"("messages":[{"role":"user","content":"x"}])";
  const auto body = [&](std::string_view extra) {
    return "{" + std::string(m) + "," + std::string(extra) + "}";
  };
  EXPECT_EQ(message_of(chat, body(R"("stream":"true")")), "'stream' must be a boolean");
  EXPECT_EQ(message_of(chat, body(R"("stream":1)")), "'stream' must be a boolean");
  EXPECT_EQ(message_of(chat, body(R"("model":5)")), "'model' must be a string");
  EXPECT_EQ(message_of(chat, body(R"("stream_options":true)")),
            "'stream_options' must be an object");
  EXPECT_EQ(message_of(chat, body(R"("stream_options":{"include_usage":"yes"})")),
            "'stream_options.include_usage' must be a boolean");
  EXPECT_EQ(message_of(embeddings, R"({"input":"x","stream":true})"),
            "'stream' is not supported on the llm/v1/embeddings route type");
}

TEST(resolve_model_name, configured_wins_and_may_be_repeated) {
  EXPECT_EQ(resolve_model_name("gpt-4o", "").value(), "gpt-4o");
  EXPECT_EQ(resolve_model_name("gpt-4o", "gpt-4o").value(), "gpt-4o");
}

TEST(resolve_model_name, client_model_when_none_configured) {
  EXPECT_EQ(resolve_model_name("", "my-model").value(), "my-model");
}

TEST(resolve_model_name, client_cannot_override) {
  auto r = resolve_model_name("gpt-3.5-turbo", "try-to-override-the-model");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().message, "cannot use own model - must be: gpt-3.5-turbo");
}

TEST(resolve_model_name, no_model_anywhere) {
  auto r = resolve_model_name("", "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_EQ(r.error().message,
            "model parameter not found in request, nor in gateway configuration");
}

}  // namespace
}  // namespace aiproxy::providers
