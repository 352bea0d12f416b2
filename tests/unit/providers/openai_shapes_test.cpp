// openai_shapes: the shared OpenAI readers and writers every translating provider uses.
#include "golden_support.hpp"

#include "aiproxy/providers/openai_shapes.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using testing::parse_json;

config::ai_proxy_config chat_conf() {
  config::ai_proxy_config c;
  c.model.provider = config::provider_kind::anthropic;
  return c;
}

TEST(openai_shapes, tuning_values_follow_the_precedence_rule) {
  const auto body = parse_json(R"({"temperature":0.2,"max_completion_tokens":7})");
  const auto& o = body.as_object();
  using config::options_precedence;
  EXPECT_EQ(tuning_number(o, "temperature", 0.9, options_precedence::request), 0.2);
  EXPECT_EQ(tuning_number(o, "temperature", 0.9, options_precedence::config), 0.9);
  EXPECT_EQ(tuning_number(o, "top_p", 0.5, options_precedence::request), 0.5);
  EXPECT_FALSE(tuning_number(o, "top_p", std::nullopt, options_precedence::request));
  auto conf = chat_conf();
  conf.model.options.max_tokens = 100;
  const target t{conf, conf.model.options, "m", false, false, 1, "id-1"};
  EXPECT_EQ(max_output_tokens(o, t), 7);
}

TEST(openai_shapes, data_urls_and_stop_sequences) {
  auto d = parse_data_url("data:image/png;base64,iVBORw0KGgo=");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->mime_type, "image/png");
  EXPECT_EQ(d->base64, "iVBORw0KGgo=");
  EXPECT_FALSE(parse_data_url("https://example.com/cat.png"));
  EXPECT_FALSE(parse_data_url("data:text/plain,hello"));
  EXPECT_EQ(stop_sequences(parse_json(R"({"stop":"END"})").as_object()),
            std::vector<std::string>{"END"});
  EXPECT_EQ(stop_sequences(parse_json(R"({"stop":["a","b"]})").as_object()).size(), 2u);
}

TEST(openai_shapes, tool_choice_and_response_format) {
  auto named = read_tool_choice(
      parse_json(R"({"tool_choice":{"type":"function","function":{"name":"f"}}})").as_object());
  ASSERT_TRUE(named);
  EXPECT_EQ(named->kind, tool_choice::mode::function);
  EXPECT_EQ(named->function_name, "f");
  EXPECT_FALSE(read_tool_choice(parse_json(R"({"tool_choice":"sometimes"})").as_object()));
  const auto body =
      parse_json(R"({"response_format":{"type":"json_schema","json_schema":{"name":"x",
                   "schema":{"type":"object"}}}})");
  auto rf = read_response_format(body.as_object());
  ASSERT_TRUE(rf);
  EXPECT_EQ(rf->kind, response_format::mode::json_schema);
  ASSERT_NE(rf->schema, nullptr);
  EXPECT_FALSE(
      read_response_format(parse_json(R"({"response_format":{"type":"xml"}})").as_object()));
}

TEST(openai_shapes, chat_completion_carries_id_created_model_tools_and_usage) {
  const auto conf = chat_conf();
  const target t{conf, conf.model.options, "claude", false, false, 1700000000, "chatcmpl-x"};
  chat_result r;
  r.tool_calls.push_back({"call_1", "get_weather", R"({"city":"Paris"})"});
  r.finish_reason = "tool_calls";
  r.usage = {10, 5, 0, 3, 0, true};
  const auto v = parse_json(write_chat_completion(r, t));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("id").as_string(), "chatcmpl-x");
  EXPECT_EQ(o.at("created").as_int64(), 1700000000);
  EXPECT_EQ(o.at("model").as_string(), "claude");
  const auto& msg = o.at("choices").at(0).at("message");
  EXPECT_TRUE(msg.at("content").is_null());
  EXPECT_EQ(msg.at("tool_calls").at(0).at("function").at("name").as_string(), "get_weather");
  EXPECT_EQ(o.at("usage").at("total_tokens").as_int64(), 15);
  EXPECT_EQ(o.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64(), 3);
}

TEST(openai_shapes, chunk_writer_orders_role_deltas_finish_usage_done) {
  const auto conf = chat_conf();
  const target t{conf, conf.model.options, "m", true, true, 5, "chatcmpl-s"};
  chunk_writer w(t);
  std::string out;
  w.content(out, "Hi");
  w.tool_call_start(out, 0, "call_1", "f");
  w.tool_call_arguments(out, 0, "{\"a\":");
  w.finish(out, "tool_calls", json::usage{3, 4, 7, 0, 0, true});
  w.finish(out, "stop", {});  // once only
  const auto events = testing::split_events(out);
  ASSERT_EQ(events.size(), 7u);
  EXPECT_NE(events[0].find("\"role\":\"assistant\""), std::string::npos);
  EXPECT_NE(events[1].find("\"content\":\"Hi\""), std::string::npos);
  EXPECT_NE(events[2].find("\"id\":\"call_1\""), std::string::npos);
  EXPECT_NE(events[4].find("\"finish_reason\":\"tool_calls\""), std::string::npos);
  EXPECT_NE(events[5].find("\"choices\":[],\"usage\""), std::string::npos);
  EXPECT_EQ(events[6], "data: [DONE]");
}

TEST(openai_shapes, embeddings_as_floats_or_base64) {
  const std::vector<std::vector<double>> v{{1.0, -0.5}};
  auto floats =
      parse_json(write_embeddings(v, "m", {3, 0, 3, 0, 0, true}, parse_json("{}").as_object()));
  EXPECT_EQ(floats.at("data").at(0).at("embedding").at(1).to_number<double>(), -0.5);
  auto b64 = parse_json(
      write_embeddings(v, "m", {}, parse_json(R"({"encoding_format":"base64"})").as_object()));
  EXPECT_EQ(b64.at("data").at(0).at("embedding").as_string(), "AACAPwAAAL8=");
}

TEST(openai_shapes, float_embeddings_become_base64_for_clients_that_ask) {
  const auto body = write_embeddings({{1.0, -0.5}, {0.25}}, "m", {}, parse_json("{}").as_object());
  const auto b64 = embeddings_to_base64(body);
  ASSERT_TRUE(b64);
  const auto v = parse_json(*b64);
  EXPECT_EQ(v.at("data").at(0).at("embedding").as_string(), "AACAPwAAAL8=");
  EXPECT_EQ(v.at("data").at(1).at("embedding").as_string(), "AACAPg==");
  EXPECT_EQ(v.at("model").as_string(), "m");
  EXPECT_FALSE(embeddings_to_base64(R"({"choices":[]})"));
  EXPECT_FALSE(embeddings_to_base64("not json"));
}

TEST(openai_shapes, openai_error_body) {
  const auto v = parse_json(write_openai_error("Overloaded", "server_error", "overloaded"));
  EXPECT_EQ(v.at("error").at("message").as_string(), "Overloaded");
  EXPECT_TRUE(v.at("error").at("param").is_null());
  EXPECT_EQ(openai_error_type_for(429), "rate_limit_error");
}

}  // namespace
}  // namespace aiproxy::providers
