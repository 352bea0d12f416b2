// Ollama translator: endpoints (mistral default host, llama2's required upstream_url, paths
// kept or replaced), message mapping (tool calls and results, images, roles), options and
// format, refusals, responses, the NDJSON stream fed one line at a time, errors.
#include "golden_support.hpp"

#include "aiproxy/providers/ollama.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using config::provider_kind;
using config::route_type;
using testing::parse_json;

struct fixture {
  config::ai_proxy_config conf;
  header_list headers;
  boost::json::value body;
  bool stream = false;
  bool wants_usage = false;

  fixture(route_type rt, std::string_view client_body, provider_kind p = provider_kind::llama2) {
    conf.model.provider = p;
    conf.route_type = rt;
    conf.model.name = "llama3.2";
    conf.model.options.llama2_format = "ollama";
    conf.model.options.mistral_format = "ollama";
    if (p == provider_kind::llama2) {
      conf.model.options.upstream_url = "http://localhost:11434";
    }
    body = parse_json(client_body);
  }
  target tgt() const {
    return target{conf,        conf.model.options, conf.model.name, stream,
                  wants_usage, 1700000000,         "chatcmpl-abc"};
  }
  result<upstream_request> up() {
    const auto t = tgt();
    return ollama_provider().to_upstream(client_request{body.as_object(), headers, ""}, t);
  }
  boost::json::object up_body() {
    auto u = up();
    EXPECT_TRUE(u) << (u ? "" : u.error().message);
    return u ? parse_json(u->body).as_object() : boost::json::object();
  }
};

std::string url(const upstream_request& u) {
  return u.scheme + "://" + u.host + ":" + std::to_string(u.port) + u.target;
}

TEST(ollama, endpoints) {
  fixture mistral(route_type::llm_v1_embeddings, R"({"input":"hi"})", provider_kind::mistral);
  auto m = mistral.up();
  ASSERT_TRUE(m);
  EXPECT_EQ(url(*m), "https://api.mistral.ai:443/api/embed");

  fixture no_url(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  no_url.conf.model.options.upstream_url.clear();
  auto e = no_url.up();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().status, 500);
  EXPECT_NE(e.error().message.find("upstream_url"), std::string::npos);

  fixture comp(route_type::llm_v1_completions, R"({"prompt":"hi"})");
  auto c = comp.up();
  ASSERT_TRUE(c);
  EXPECT_EQ(url(*c), "http://localhost:11434/api/generate");
  EXPECT_EQ(c->framing, stream::framing::none);
  comp.stream = true;
  EXPECT_EQ(comp.up()->framing, stream::framing::ndjson);
}

TEST(ollama, options_only_when_set_and_stream_always_explicit) {
  fixture f(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  auto b = f.up_body();
  EXPECT_FALSE(b.contains("options"));
  EXPECT_EQ(b.at("stream").as_bool(), false);

  fixture g(route_type::llm_v1_chat,
            R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":5,
                "max_completion_tokens":7,"frequency_penalty":0.25})");
  g.conf.model.options.top_k = 3;
  const auto o = g.up_body().at("options").as_object();
  EXPECT_EQ(o.at("num_predict").as_int64(), 7);  // max_completion_tokens wins over max_tokens
  EXPECT_EQ(o.at("top_k").as_int64(), 3);
  EXPECT_EQ(o.at("frequency_penalty").as_double(), 0.25);
}

TEST(ollama, tool_results_find_their_function_name) {
  fixture f(route_type::llm_v1_chat, R"({"messages":[
      {"role":"user","content":"q"},
      {"role":"assistant","tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"lookup","arguments":""}}]},
      {"role":"tool","tool_call_id":"c1","content":"r"},
      {"role":"tool","tool_call_id":"unknown","content":"r2"}]})");
  const auto msgs = f.up_body().at("messages").as_array();
  ASSERT_EQ(msgs.size(), 4u);
  EXPECT_EQ(msgs[1].at("content").as_string(), "");
  EXPECT_TRUE(msgs[1].at("tool_calls").at(0).at("function").at("arguments").as_object().empty());
  EXPECT_EQ(msgs[2].at("tool_name").as_string(), "lookup");
  EXPECT_FALSE(msgs[3].as_object().contains("tool_name"));
}

TEST(ollama, refusals_name_the_field) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f",
          "arguments":"[1]"}}]},{"role":"user","content":"x"}]})",
       "messages[0].tool_calls[0].function.arguments"},
      {R"({"messages":[{"role":"system","content":[{"type":"image_url",
          "image_url":{"url":"data:image/png;base64,AA=="}}]}]})",
       "only allowed in user messages"},
      {R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})",
       "content part type 'input_audio'"},
      {R"({"messages":[{"role":"function","content":"x"}]})", "role 'function'"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":2})", "n other than 1"},
      {R"({"messages":[{"role":"user","content":"x"}],"logprobs":true})", "logprobs"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function",
          "function":{"name":"f"}}],"parallel_tool_calls":false})",
       "parallel_tool_calls"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function",
          "function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}}})",
       "tool_choice"},
  };
  for (const auto& [body, needle] : cases) {
    fixture f(route_type::llm_v1_chat, body);
    auto u = f.up();
    ASSERT_FALSE(u) << body;
    EXPECT_EQ(u.error().status, 400) << body;
    EXPECT_NE(u.error().message.find(needle), std::string::npos) << u.error().message;
  }
  fixture emb(route_type::llm_v1_embeddings, R"({"input":[[1,2]]})");
  EXPECT_FALSE(emb.up());
}

TEST(ollama, response_ids_usage_and_errors) {
  fixture f(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  const auto t = f.tgt();
  auto r = ollama_provider().from_upstream(
      R"({"model":"llama3.2","message":{"role":"assistant","content":"",
          "tool_calls":[{"id":"call_x","function":{"name":"f","arguments":{"a":1}}},
                        {"function":{"name":"g","arguments":{}}}]},
          "done":true,"done_reason":"stop"})",
      t);
  ASSERT_TRUE(r);
  const auto out = parse_json(*r->body);
  const auto& msg = out.at("choices").at(0).at("message");
  EXPECT_TRUE(msg.at("content").is_null());
  EXPECT_EQ(msg.at("tool_calls").at(0).at("id").as_string(), "call_x");
  EXPECT_EQ(msg.at("tool_calls").at(1).at("id").as_string(), "call_abc_1");
  EXPECT_EQ(msg.at("tool_calls").at(0).at("function").at("arguments").as_string(), R"({"a":1})");
  EXPECT_EQ(out.at("choices").at(0).at("finish_reason").as_string(), "tool_calls");
  EXPECT_EQ(out.at("created").as_int64(), 1700000000);  // not Ollama's ISO string
  EXPECT_FALSE(r->summary.usage.known);                 // no counts in this body
  EXPECT_FALSE(out.as_object().contains("usage"));

  auto bad = ollama_provider().from_upstream(R"({"model":"x","response":"text"})", t);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 502);
  EXPECT_NE(bad.error().message.find("'message'"), std::string::npos);
}

stream::event line(std::string d) {
  return stream::event{"", std::move(d), ""};
}

TEST(ollama, stream_thinking_and_tool_calls_across_chunks) {
  fixture f(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"hi"}]})");
  f.stream = true;
  const auto t = f.tgt();
  auto tr = ollama_provider().make_stream_translator(t);
  std::string out;
  ASSERT_TRUE(tr->on_event(
      line(R"({"model":"qwen3","message":{"role":"assistant","content":"","thinking":"hmm"},
               "done":false})"),
      out));
  ASSERT_TRUE(tr->on_event(line(R"({"model":"qwen3","message":{"role":"assistant",
      "content":"","tool_calls":[{"function":{"name":"a","arguments":{"x":1}}}]},"done":false})"),
                           out));
  ASSERT_TRUE(tr->on_event(line(R"({"model":"qwen3","message":{"role":"assistant",
      "content":"","tool_calls":[{"function":{"name":"b","arguments":{}}}]},"done":false})"),
                           out));
  ASSERT_TRUE(tr->on_event(line(R"({"model":"qwen3","message":{"role":"assistant","content":""},
      "done":true,"done_reason":"stop","prompt_eval_count":4,"eval_count":6})"),
                           out));
  ASSERT_TRUE(tr->on_event(line(R"({"model":"qwen3","done":true,"eval_count":100})"), out));
  ASSERT_TRUE(tr->finish(out));
  EXPECT_NE(out.find(R"("reasoning_content":"hmm")"), std::string::npos);
  EXPECT_NE(out.find(R"("tool_calls":[{"index":1,"id":"call_abc_1","type":"function")"),
            std::string::npos);
  EXPECT_NE(out.find(R"("model":"qwen3")"), std::string::npos);
  EXPECT_EQ(tr->summary().finish_reason, "tool_calls");
  EXPECT_EQ(tr->summary().usage.completion_tokens, 6);  // the late line is not counted
  EXPECT_EQ(tr->summary().usage.total_tokens, 10);
  EXPECT_EQ(testing::split_events(out).back(), "data: [DONE]");
}

TEST(ollama, stream_garbage_line_is_an_error) {
  fixture f(route_type::llm_v1_completions, R"({"prompt":"hi"})");
  const auto t = f.tgt();
  auto tr = ollama_provider().make_stream_translator(t);
  std::string out;
  auto r = tr->on_event(line("not json"), out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
}

TEST(ollama, openai_error_shapes) {
  const auto& p = ollama_provider();
  auto e = p.openai_error(404, R"({"error":"model 'x' not found"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(parse_json(*e).at("error").at("type").as_string(), "invalid_request_error");
  auto mistral = p.openai_error(
      429, R"({"object":"error","message":"Rate limit","type":"rate_limited","code":"1300"})");
  ASSERT_TRUE(mistral);
  EXPECT_EQ(parse_json(*mistral).at("error").at("type").as_string(), "rate_limited");
  EXPECT_EQ(parse_json(*mistral).at("error").at("code").as_string(), "1300");
  EXPECT_FALSE(p.openai_error(502, "<html>Bad Gateway</html>"));
}

}  // namespace
}  // namespace aiproxy::providers
