// llama2 raw translator: the Llama 2 prompt for each conversation shape, the answer after an
// echoed prompt, the three response shapes, usage only when the body has it, refusals, and the
// upstream URL used as configured.
#include "golden_support.hpp"

#include "aiproxy/providers/llama2_raw.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using config::route_type;
using testing::parse_json;

result<std::string> prompt_of(std::string_view messages) {
  const auto v = parse_json(messages);
  return llama2_chat_prompt(v.as_array());
}

TEST(llama2_raw, prompt_single_turn_with_system) {
  auto p = prompt_of(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}])");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]");
}

TEST(llama2_raw, prompt_without_system_and_with_history) {
  auto p = prompt_of(R"([{"role":"user","content":"A"},{"role":"assistant","content":"B"},
                         {"role":"user","content":"C"},{"role":"user","content":"D"}])");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "<s>[INST] A [/INST] B </s><s>[INST] C\nD [/INST]");
}

TEST(llama2_raw, prompt_joins_every_system_message) {
  auto p = prompt_of(R"([{"role":"developer","content":"one"},{"role":"user","content":"q"},
                         {"role":"system","content":"two"}])");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "<s>[INST] <<SYS>>\none\ntwo\n<</SYS>>\n\nq [/INST]");
}

TEST(llama2_raw, prompt_refusals) {
  for (const char* m : {R"([{"role":"assistant","content":"x"},{"role":"user","content":"y"}])",
                        R"([{"role":"system","content":"x"}])",
                        R"([{"role":"user","content":"x"},{"role":"tool","content":"y"}])",
                        R"([{"role":"user","content":"x"},{"role":"assistant","content":null,
            "tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},
            {"role":"user","content":"z"}])"}) {
    auto p = prompt_of(m);
    ASSERT_FALSE(p) << m;
    EXPECT_EQ(p.error().status, 400) << m;
  }
}

TEST(llama2_raw, answer_after_an_echoed_prompt_only) {
  EXPECT_EQ(llama2_answer("[INST]\nWhat?\n[/INST]\n\nThis. "), "This.");
  EXPECT_EQ(llama2_answer("<s>[INST] a [/INST] b </s><s>[INST] c [/INST] d"), "d");
  // A model that talks about [/INST] without echoing keeps its text.
  EXPECT_EQ(llama2_answer(" Use [/INST] to close."), " Use [/INST] to close.");
}

struct fixture {
  config::ai_proxy_config conf;
  header_list headers;
  boost::json::value body;

  fixture(route_type rt, std::string_view client_body) {
    conf.model.provider = config::provider_kind::llama2;
    conf.model.options.llama2_format = "raw";
    conf.model.options.upstream_url = "http://tgi.internal:8080";
    conf.route_type = rt;
    conf.model.name = "llama-2";
    body = parse_json(client_body);
  }
  target tgt() const {
    return target{conf, conf.model.options, conf.model.name, false, false, 1700000000, "cmpl-1"};
  }
};

TEST(llama2_raw, upstream_url_is_used_as_is_and_required) {
  fixture f(route_type::llm_v1_completions, R"({"prompt":["only one"]})");
  const auto t = f.tgt();
  auto u = llama2_raw_provider().to_upstream(client_request{f.body.as_object(), f.headers, ""}, t);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "tgi.internal");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(parse_json(u->body).at("inputs").as_string(), "<s>[INST] only one [/INST]");

  f.conf.model.options.upstream_url.clear();
  const auto t2 = f.tgt();
  auto e = llama2_raw_provider().to_upstream(client_request{f.body.as_object(), f.headers, ""}, t2);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("upstream_url"), std::string::npos);
}

TEST(llama2_raw, embeddings_are_refused) {
  fixture f(route_type::llm_v1_embeddings, R"({"input":"x"})");
  const auto t = f.tgt();
  auto u = llama2_raw_provider().to_upstream(client_request{f.body.as_object(), f.headers, ""}, t);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().status, 400);
}

TEST(llama2_raw, response_shapes) {
  fixture f(route_type::llm_v1_completions, R"({"prompt":"x"})");
  const auto t = f.tgt();
  for (const char* body : {R"([{"generated_text":"ok"}])", R"({"data":[{"generated_text":"ok"}]})",
                           R"({"generated_text":"ok"})"}) {
    auto r = llama2_raw_provider().from_upstream(body, t);
    ASSERT_TRUE(r) << body;
    const auto out = parse_json(*r->body);
    EXPECT_EQ(out.at("choices").at(0).at("text").as_string(), "ok") << body;
    EXPECT_EQ(out.at("object").as_string(), "text_completion");
    EXPECT_FALSE(r->summary.usage.known);
    EXPECT_FALSE(out.as_object().contains("usage"));
  }
  auto length = llama2_raw_provider().from_upstream(
      R"([{"generated_text":"ok","details":{"finish_reason":"length"}}])", t);
  ASSERT_TRUE(length);
  EXPECT_EQ(length->summary.finish_reason, "length");
  auto empty = llama2_raw_provider().from_upstream("[]", t);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().status, 502);
}

}  // namespace
}  // namespace aiproxy::providers
