// openai_shapes: the shared OpenAI readers and writers every translating provider uses.
#include "golden_support.hpp"

#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"

#include <boost/json/serialize.hpp>

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

TEST(openai_shapes, read_sampling_merges_configured_values_and_keeps_client_only_fields) {
  const auto body = parse_json(
      R"({"max_tokens":50,"temperature":0.2,"top_p":null,"top_k":4,"stop":["x","y"],
          "presence_penalty":0.5,"frequency_penalty":"high"})");
  auto conf = chat_conf();
  conf.model.options.temperature = 0.9;
  conf.model.options.top_p = 0.8;
  const target t{conf, conf.model.options, "m", false, false, 1, "id-1"};
  const auto s = read_sampling(body.as_object(), t);
  EXPECT_EQ(s.max_tokens, 50);
  EXPECT_EQ(s.temperature, 0.2);  // precedence request: the client's wins
  EXPECT_EQ(s.top_p, 0.8);        // client sent null: the configured one
  EXPECT_EQ(s.top_k, 4);
  EXPECT_EQ(s.stop, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(s.presence_penalty, 0.5);
  EXPECT_FALSE(s.frequency_penalty);  // not a number

  conf.precedence = config::options_precedence::config;
  const target tc{conf, conf.model.options, "m", false, false, 1, "id-1"};
  EXPECT_EQ(read_sampling(body.as_object(), tc).temperature, 0.9);
  const auto empty = read_sampling(parse_json("{}").as_object(), tc);
  EXPECT_FALSE(empty.max_tokens);
  EXPECT_FALSE(empty.top_k);
  EXPECT_TRUE(empty.stop.empty());
  EXPECT_EQ(boost::json::serialize(string_array({"a", "b"})), R"(["a","b"])");
  EXPECT_TRUE(string_array({}).empty());

  boost::json::object out;
  write_sampling(s, {"max", "temp", "", "k", "stops"}, out);  // top_p named "": left out
  EXPECT_EQ(boost::json::serialize(out), R"({"max":50,"temp":2E-1,"k":4,"stops":["x","y"]})");
}

TEST(openai_shapes, content_text_joins_text_parts_with_the_separator) {
  const auto parts =
      parse_json(R"([{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}])");
  EXPECT_EQ(content_text(&parts), "a\nb");
  EXPECT_EQ(content_text(&parts, ' '), "a b");
  const auto str = parse_json(R"("plain")");
  EXPECT_EQ(content_text(&str, ' '), "plain");
  EXPECT_EQ(content_text(nullptr), "");
}

TEST(openai_shapes, chunk_writer_reasoning_is_chat_only) {
  auto conf = chat_conf();
  const target chat{conf, conf.model.options, "m", true, false, 5, "chatcmpl-r"};
  chunk_writer w(chat);
  std::string out;
  w.reasoning(out, "think");
  auto events = testing::split_events(out);
  ASSERT_EQ(events.size(), 2u);  // role, then the reasoning delta
  EXPECT_NE(events[1].find("\"delta\":{\"reasoning_content\":\"think\"},\"logprobs\":null"),
            std::string::npos);

  conf.route_type = config::route_type::llm_v1_completions;
  const target completions{conf, conf.model.options, "m", true, false, 5, "cmpl-r"};
  chunk_writer c(completions);
  out.clear();
  c.reasoning(out, "think");
  EXPECT_EQ(out, "");
  c.content(out, "Hi");
  events = testing::split_events(out);
  ASSERT_EQ(events.size(), 1u);  // no role chunk for text_completion
  EXPECT_NE(events[0].find("\"choices\":[{\"index\":0,\"text\":\"Hi\",\"logprobs\":null"),
            std::string::npos);
}

TEST(json_access, getters_trim_and_errors) {
  const auto v = parse_json(R"({"s":"x","n":null,"o":{"k":1},"i":3})");
  const auto& o = v.as_object();
  EXPECT_NE(present(o, "s"), nullptr);
  EXPECT_EQ(present(o, "n"), nullptr);
  EXPECT_EQ(present(o, "missing"), nullptr);
  EXPECT_EQ(string_at(o, "s"), "x");
  EXPECT_EQ(string_at(o, "i"), "");
  ASSERT_NE(object_at(o, "o"), nullptr);
  EXPECT_TRUE(object_at(o, "o")->contains("k"));
  EXPECT_EQ(object_at(o, "s"), nullptr);
  EXPECT_EQ(trim(" \t\r\nab c\n "), "ab c");
  EXPECT_EQ(trim(" \n"), "");

  EXPECT_EQ(plain_error_message(parse_json(R"({"error":"boom"})").as_object()), "boom");
  EXPECT_EQ(plain_error_message(parse_json(R"({"error":{"message":"m"}})").as_object()), "m");
  // An error object without a message does not fall back to a top-level message.
  EXPECT_EQ(plain_error_message(parse_json(R"({"error":{},"message":"top"})").as_object()), "");
  EXPECT_EQ(plain_error_message(parse_json(R"({"message":"top"})").as_object()), "top");
  EXPECT_EQ(plain_error_message(parse_json(R"({"detail":"x"})").as_object()), "");

  const auto e = incomplete_stream("ollama");
  EXPECT_EQ(e.message, "ollama stream ended before its final event");
  EXPECT_EQ(e.status, 502);
  EXPECT_EQ(e.code, "incomplete_stream");
}

}  // namespace
}  // namespace aiproxy::providers
