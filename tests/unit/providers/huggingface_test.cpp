// Hugging Face translator: endpoints and model-id escaping, the chat body rewrite, the
// text-generation and feature-extraction bodies, finish reasons, response shapes, the router
// chat stream and the TGI token stream fed one event at a time, and error normalization.
#include "golden_support.hpp"

#include "aiproxy/providers/huggingface.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using config::route_type;
using testing::parse_json;

struct fixture {
  config::ai_proxy_config conf;
  header_list headers;
  boost::json::value body;
  bool stream = false;
  bool wants_usage = false;

  explicit fixture(route_type rt, std::string_view client_body,
                   std::string model = "meta-llama/Llama-3.1-8B-Instruct") {
    conf.model.provider = config::provider_kind::huggingface;
    conf.route_type = rt;
    conf.model.name = std::move(model);
    body = parse_json(client_body);
  }
  target tgt() const {
    return target{conf,        conf.model.options, conf.model.name, stream,
                  wants_usage, 1700000000,         "chatcmpl-test"};
  }
  result<upstream_request> up() {
    const auto t = tgt();
    return huggingface_provider().to_upstream(client_request{body.as_object(), headers, ""}, t);
  }
};

std::string url(const upstream_request& u) {
  return u.scheme + "://" + u.host + ":" + std::to_string(u.port) + u.target;
}

TEST(huggingface, finish_reason_table) {
  EXPECT_EQ(tgi_finish_reason("eos_token"), "stop");
  EXPECT_EQ(tgi_finish_reason("stop_sequence"), "stop");
  EXPECT_EQ(tgi_finish_reason("length"), "length");
  EXPECT_EQ(tgi_finish_reason("something_new"), "stop");
}

TEST(huggingface, chat_body_renames_max_completion_tokens_and_applies_config) {
  fixture f(route_type::llm_v1_chat,
            R"({"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":9,
                "temperature":0.1,"stream_options":{"include_usage":true}})");
  f.conf.model.options.top_p = 0.5;
  f.conf.model.options.temperature = 0.9;
  auto u = f.up();
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(url(*u), "https://router.huggingface.co:443/v1/chat/completions");
  const auto b = parse_json(u->body).as_object();
  EXPECT_EQ(b.at("max_tokens").as_int64(), 9);
  EXPECT_FALSE(b.contains("max_completion_tokens"));
  EXPECT_FALSE(b.contains("stream_options"));       // not streaming
  EXPECT_EQ(b.at("temperature").as_double(), 0.1);  // precedence request: the client wins
  EXPECT_EQ(b.at("top_p").as_double(), 0.5);
  EXPECT_EQ(b.at("model").as_string(), "meta-llama/Llama-3.1-8B-Instruct");

  f.conf.precedence = config::options_precedence::config;
  auto c = f.up();
  ASSERT_TRUE(c);
  EXPECT_EQ(parse_json(c->body).at("temperature").as_double(), 0.9);
}

TEST(huggingface, configured_top_k_is_refused_for_chat_but_sent_for_completions) {
  fixture chat(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  chat.conf.model.options.top_k = 5;
  auto u = chat.up();
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().status, 400);
  EXPECT_NE(u.error().message.find("model.options.top_k"), std::string::npos);

  fixture comp(route_type::llm_v1_completions, R"({"prompt":"hi"})");
  comp.conf.model.options.top_k = 5;
  auto c = comp.up();
  ASSERT_TRUE(c);
  EXPECT_EQ(parse_json(c->body).at("parameters").at("top_k").as_int64(), 5);
}

TEST(huggingface, model_ids_keep_their_slash_and_escape_the_rest) {
  fixture f(route_type::llm_v1_completions, R"({"prompt":"hi"})", "org/model name?x");
  auto u = f.up();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target, "/hf-inference/models/org/model%20name%3Fx");
}

TEST(huggingface, upstream_url_without_path_keeps_the_task_path) {
  fixture f(route_type::llm_v1_embeddings, R"({"input":"hi"})", "BAAI/bge-small-en-v1.5");
  f.conf.model.options.upstream_url = "http://hf-proxy.internal:8080";
  auto u = f.up();
  ASSERT_TRUE(u);
  EXPECT_EQ(url(*u),
            "http://hf-proxy.internal:8080/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/"
            "feature-extraction");
}

TEST(huggingface, completions_refuse_what_text_generation_cannot_express) {
  for (const char* body :
       {R"({"prompt":["a","b"]})", R"({"prompt":"a","echo":true})", R"({"prompt":"a","n":2})",
        R"({"prompt":"a","suffix":"z"})", R"({"prompt":"a","logprobs":3})",
        R"({"prompt":"a","presence_penalty":1})"}) {
    fixture f(route_type::llm_v1_completions, body);
    auto u = f.up();
    ASSERT_FALSE(u) << body;
    EXPECT_EQ(u.error().status, 400) << body;
  }
}

TEST(huggingface, body_auth_reaches_the_rebuilt_body) {
  fixture f(route_type::llm_v1_completions, R"({"prompt":"hi"})");
  f.conf.auth.param_name = "token";
  f.conf.auth.param_value = "s3cret";
  f.conf.auth.param_location = config::param_location::body;
  auto u = f.up();
  ASSERT_TRUE(u);
  EXPECT_EQ(parse_json(u->body).at("token").as_string(), "s3cret");
}

TEST(huggingface, embeddings_dimensions_are_refused) {
  fixture f(route_type::llm_v1_embeddings, R"({"input":"hi","dimensions":8})");
  auto u = f.up();
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("dimensions"), std::string::npos);
}

TEST(huggingface, embeddings_flat_vector_is_one_embedding) {
  fixture f(route_type::llm_v1_embeddings, R"({"input":"hi"})", "m");
  const auto t = f.tgt();
  auto r = huggingface_provider().from_upstream("[0.5,-0.25]", t);
  ASSERT_TRUE(r);
  const auto out = parse_json(*r->body);
  ASSERT_EQ(out.at("data").as_array().size(), 1u);
  EXPECT_EQ(out.at("data").at(0).at("embedding").at(1).to_number<double>(), -0.25);
  EXPECT_FALSE(r->summary.usage.known);
}

TEST(huggingface, chat_response_without_choices_is_a_bad_gateway) {
  fixture f(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  const auto t = f.tgt();
  auto r = huggingface_provider().from_upstream(R"({"object":"chat.completion"})", t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  auto bad = huggingface_provider().from_upstream("not json", t);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 502);
}

TEST(huggingface, chat_response_gets_role_id_and_mapped_finish_reason) {
  fixture f(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  const auto t = f.tgt();
  auto r = huggingface_provider().from_upstream(
      R"({"choices":[{"index":0,"message":{"content":"x"},"finish_reason":"stop_sequence"}]})", t);
  ASSERT_TRUE(r);
  const auto out = parse_json(*r->body);
  EXPECT_EQ(out.at("id").as_string(), "chatcmpl-test");
  EXPECT_EQ(out.at("created").as_int64(), 1700000000);
  EXPECT_EQ(out.at("model").as_string(), "meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_EQ(out.at("choices").at(0).at("message").at("role").as_string(), "assistant");
  EXPECT_EQ(out.at("choices").at(0).at("finish_reason").as_string(), "stop");
  EXPECT_EQ(r->summary.finish_reason, "stop");
}

stream::event data(std::string d) {
  return stream::event{"", std::move(d), ""};
}

TEST(huggingface, chat_stream_without_done_after_finish_still_ends_cleanly) {
  fixture f(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  const auto t = f.tgt();
  auto tr = huggingface_provider().make_stream_translator(t);
  std::string out;
  ASSERT_TRUE(tr->on_event(
      data(R"({"id":"","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]})"),
      out));
  ASSERT_TRUE(tr->on_event(
      data(R"({"id":"","choices":[{"index":0,"delta":{},"finish_reason":"eos_token"}]})"), out));
  ASSERT_TRUE(tr->finish(out));
  const auto events = testing::split_events(out);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back(), "data: [DONE]");
  EXPECT_NE(events[1].find("\"finish_reason\":\"stop\""), std::string::npos);
  EXPECT_EQ(tr->summary().finish_reason, "stop");
}

TEST(huggingface, tgi_stream_skips_special_tokens_and_reads_usage_once) {
  fixture f(route_type::llm_v1_completions, R"({"prompt":"hi"})");
  f.stream = true;
  f.wants_usage = true;
  const auto t = f.tgt();
  auto tr = make_tgi_stream_translator(t, "tgi");
  std::string out;
  ASSERT_TRUE(tr->on_event(data(R"({"token":{"text":"<s>","special":true},
                                    "generated_text":null,"details":null})"),
                           out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(tr->on_event(data(R"({"token":{"text":"Hi","special":false},
                                    "generated_text":null,"details":null})"),
                           out));
  ASSERT_TRUE(tr->on_event(data(R"({"token":{"text":"</s>","special":true},
      "generated_text":"Hi","details":{"finish_reason":"length","generated_tokens":2,
      "input_length":3}})"),
                           out));
  // Anything after the terminal event is ignored, usage is not counted twice.
  ASSERT_TRUE(tr->on_event(data(R"({"token":{"text":"x"},"generated_text":"x",
      "details":{"finish_reason":"eos_token","generated_tokens":9,"input_length":9}})"),
                           out));
  ASSERT_TRUE(tr->finish(out));
  EXPECT_EQ(tr->summary().usage.prompt_tokens, 3);
  EXPECT_EQ(tr->summary().usage.completion_tokens, 2);
  EXPECT_EQ(tr->summary().finish_reason, "length");
  EXPECT_EQ(tr->text(), "Hi");
  const auto events = testing::split_events(out);
  ASSERT_EQ(events.size(), 4u);  // text, finish, usage, [DONE]
  EXPECT_EQ(events.back(), "data: [DONE]");
}

TEST(huggingface, tgi_stream_error_carries_the_error_type) {
  fixture f(route_type::llm_v1_completions, R"({"prompt":"hi"})");
  const auto t = f.tgt();
  auto tr = make_tgi_stream_translator(t, "tgi");
  std::string out;
  auto r = tr->on_event(data(R"({"error":"overloaded","error_type":"overloaded"})"), out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "overloaded");
  EXPECT_EQ(r.error().code, "overloaded");
  auto f2 = tr->finish(out);
  ASSERT_FALSE(f2);
  EXPECT_EQ(f2.error().code, "incomplete_stream");
}

TEST(huggingface, openai_error_shapes) {
  const auto& p = huggingface_provider();
  EXPECT_FALSE(p.openai_error(500, "upstream exploded"));
  EXPECT_FALSE(p.openai_error(400, R"({"error":{"message":"m","type":"t"}})"));
  auto e = p.openai_error(400, R"({"message":"bad field"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(parse_json(*e).at("error").at("message").as_string(), "bad field");
  EXPECT_EQ(parse_json(*e).at("error").at("type").as_string(), "invalid_request_error");
}

}  // namespace
}  // namespace aiproxy::providers
