// Cohere translator: request mapping (v2 chat, v1 chat, generate, embed) and its 400s, response
// mapping and finish reasons, usage sources, every stream fed one event at a time, error bodies.
#include "golden_support.hpp"

#include "aiproxy/providers/cohere.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/stream/decoder.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using config::route_type;
using testing::parse_json;

config::ai_proxy_config make_conf(route_type rt = route_type::llm_v1_chat,
                                  std::string upstream_url = {}) {
  config::ai_proxy_config c;
  c.model.provider = config::provider_kind::cohere;
  c.route_type = rt;
  c.model.name = "command-r";
  c.model.options.upstream_url = std::move(upstream_url);
  c.auth.header_name = "Authorization";
  c.auth.header_value = "Bearer co-key";
  return c;
}

struct fixture {
  config::ai_proxy_config conf = make_conf();
  bool stream = false;
  bool wants_usage = false;
  header_list headers;

  target tgt() const {
    return target{conf,        conf.model.options, conf.model.name, stream,
                  wants_usage, 1700000000,         "chatcmpl-test"};
  }
  result<upstream_request> to_upstream(std::string_view client_body) {
    const auto body = parse_json(client_body);
    const auto t = tgt();
    return cohere_provider().to_upstream({body.as_object(), headers, {}}, t);
  }
  boost::json::object upstream_body(std::string_view client_body) {
    auto up = to_upstream(client_body);
    EXPECT_TRUE(up.has_value()) << (up ? "" : up.error().message);
    return up ? parse_json(up->body).as_object() : boost::json::object();
  }
  std::string bad_request(std::string_view client_body) {
    auto up = to_upstream(client_body);
    EXPECT_FALSE(up.has_value());
    if (up) {
      return {};
    }
    EXPECT_EQ(up.error().status, 400);
    return up.error().message;
  }
  result<translated_response> from_upstream(std::string_view body) {
    const auto t = tgt();
    return cohere_provider().from_upstream(body, t);
  }
};

// ---------------------------------------------------------------- finish reasons

TEST(cohere_finish_reason, table) {
  EXPECT_EQ(cohere_finish_reason("COMPLETE"), "stop");
  EXPECT_EQ(cohere_finish_reason("STOP_SEQUENCE"), "stop");
  EXPECT_EQ(cohere_finish_reason("USER_CANCEL"), "stop");
  EXPECT_EQ(cohere_finish_reason("MAX_TOKENS"), "length");
  EXPECT_EQ(cohere_finish_reason("ERROR_LIMIT"), "length");
  EXPECT_EQ(cohere_finish_reason("TIMEOUT"), "length");
  EXPECT_EQ(cohere_finish_reason("TOOL_CALL"), "tool_calls");
  EXPECT_EQ(cohere_finish_reason("ERROR_TOXIC"), "content_filter");
  EXPECT_EQ(cohere_finish_reason(""), "stop");
  EXPECT_EQ(cohere_finish_reason("SOMETHING_NEW"), "stop");
}

// ---------------------------------------------------------------- v2 chat request

TEST(cohere_request, v2_endpoint_headers_and_stream_flag) {
  fixture f;
  f.stream = true;
  f.headers.add("Accept-Encoding", "gzip");
  f.headers.add("X-Client-Name", "tests");
  auto up = f.to_upstream(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(up.has_value()) << up.error().message;
  EXPECT_EQ(up->host, "api.cohere.com");
  EXPECT_EQ(up->port, 443);
  EXPECT_EQ(up->target, "/v2/chat");
  EXPECT_EQ(up->framing, stream::framing::sse);
  EXPECT_EQ(up->headers.get("Authorization").value_or(""), "Bearer co-key");
  EXPECT_EQ(up->headers.get("Accept-Encoding").value_or(""), "identity");
  EXPECT_EQ(up->headers.get("X-Client-Name").value_or(""), "tests");
  const auto body = parse_json(up->body).as_object();
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("model"), "command-r");
}

TEST(cohere_request, v2_every_system_message_kept_in_place) {
  fixture f;
  const auto body = f.upstream_body(R"({"messages":[
    {"role":"system","content":"one"},{"role":"user","content":"q"},
    {"role":"developer","content":[{"type":"text","text":"two"},{"type":"text","text":"three"}]}]})");
  const auto& msgs = body.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].at("role"), "system");
  EXPECT_EQ(msgs[0].at("content"), "one");
  EXPECT_EQ(msgs[2].at("role"), "system");
  EXPECT_EQ(msgs[2].at("content"), "two\nthree");
}

TEST(cohere_request, v2_sampling_fields) {
  fixture f;
  const auto body = f.upstream_body(R"({"messages":[{"role":"user","content":"q"}],
    "max_tokens":10,"max_completion_tokens":20,"temperature":0.2,"top_p":0.5,"top_k":7,
    "stop":"END","seed":3,"frequency_penalty":0.1,"presence_penalty":0.3})");
  EXPECT_EQ(body.at("max_tokens"), 20);  // max_completion_tokens wins
  EXPECT_DOUBLE_EQ(body.at("temperature").to_number<double>(), 0.2);
  EXPECT_DOUBLE_EQ(body.at("p").to_number<double>(), 0.5);
  EXPECT_EQ(body.at("k"), 7);
  EXPECT_EQ(body.at("stop_sequences"), boost::json::array{"END"});
  EXPECT_EQ(body.at("seed"), 3);
  EXPECT_FALSE(body.contains("top_p"));
  EXPECT_FALSE(body.contains("stop"));
}

TEST(cohere_request, configured_options_follow_precedence) {
  fixture f;
  f.conf.model.options.temperature = 0.9;
  f.conf.model.options.max_tokens = 100;
  f.conf.precedence = config::options_precedence::request;
  auto body = f.upstream_body(R"({"messages":[{"role":"user","content":"q"}],"temperature":0.1})");
  EXPECT_DOUBLE_EQ(body.at("temperature").to_number<double>(), 0.1);
  EXPECT_EQ(body.at("max_tokens"), 100);
  f.conf.precedence = config::options_precedence::config;
  body = f.upstream_body(R"({"messages":[{"role":"user","content":"q"}],"temperature":0.1})");
  EXPECT_DOUBLE_EQ(body.at("temperature").to_number<double>(), 0.9);
}

TEST(cohere_request, v2_tool_choice) {
  fixture f;
  const std::string tools =
      R"("messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f"}}])";
  auto body = f.upstream_body("{" + tools + R"(,"tool_choice":"required"})");
  EXPECT_EQ(body.at("tool_choice"), "REQUIRED");
  // A function without parameters still gets the object schema Cohere requires.
  EXPECT_EQ(body.at("tools").at(0).at("function").at("parameters").at("type"), "object");
  EXPECT_FALSE(body.contains("strict_tools"));
  // strict_tools covers every tool in Cohere, so it is set only when every function asks.
  body = f.upstream_body(R"({"messages":[{"role":"user","content":"q"}],"tools":[
    {"type":"function","function":{"name":"a","strict":true}},
    {"type":"function","function":{"name":"b"}}]})");
  EXPECT_FALSE(body.contains("strict_tools"));
  body = f.upstream_body(R"({"messages":[{"role":"user","content":"q"}],"tools":[
    {"type":"function","function":{"name":"a","strict":true}}]})");
  EXPECT_EQ(body.at("strict_tools"), true);
  body = f.upstream_body("{" + tools + R"(,"tool_choice":"none"})");
  EXPECT_EQ(body.at("tool_choice"), "NONE");
  body = f.upstream_body("{" + tools + R"(,"tool_choice":"auto"})");
  EXPECT_FALSE(body.contains("tool_choice"));
  const auto msg =
      f.bad_request("{" + tools + R"(,"tool_choice":{"type":"function","function":{"name":"f"}}})");
  EXPECT_NE(msg.find("tool_choice"), std::string::npos);
  EXPECT_NE(msg.find("cohere"), std::string::npos);
  EXPECT_NE(f.bad_request("{" + tools + R"(,"parallel_tool_calls":false})").find("parallel"),
            std::string::npos);
  EXPECT_NE(
      f.bad_request(R"({"messages":[{"role":"user","content":"q"}],"tool_choice":"required"})")
          .find("needs tools"),
      std::string::npos);
}

TEST(cohere_request, v2_assistant_text_with_tool_calls_is_the_tool_plan) {
  fixture f;
  const auto body = f.upstream_body(R"({"messages":[{"role":"user","content":"q"},
    {"role":"assistant","content":"Let me look.","tool_calls":[
      {"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"42"}]})");
  const auto& a = body.at("messages").at(1).as_object();
  EXPECT_EQ(a.at("tool_plan"), "Let me look.");
  EXPECT_FALSE(a.contains("content"));
  EXPECT_EQ(a.at("tool_calls").at(0).at("function").at("arguments"), "{\"a\":1}");
  const auto& tool = body.at("messages").at(2).as_object();
  EXPECT_EQ(tool.at("tool_call_id"), "c1");
  EXPECT_EQ(tool.at("content"), "42");
}

TEST(cohere_request, v2_rejections_name_the_field) {
  fixture f;
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"user","content":"q"}],"n":2})").find("n "),
            std::string::npos);
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"user","content":"q"}],"logprobs":true})")
                .find("logprobs"),
            std::string::npos);
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"function","name":"f","content":"x"}]})")
                .find("messages[0]"),
            std::string::npos);
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"tool","content":"x"}]})").find("tool_call_id"),
            std::string::npos);
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"system","content":[
      {"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]})")
                .find("messages[0].content[0]"),
            std::string::npos);
  // Meaningless upstream, so accepted: n=1, logprobs=false, stream_options.
  (void)f.upstream_body(
      R"({"messages":[{"role":"user","content":"q"}],"n":1,"logprobs":false,"stream_options":{}})");
}

TEST(cohere_request, body_auth_reaches_the_rebuilt_body) {
  fixture f;
  f.conf.auth = {};
  f.conf.auth.param_name = "api_key";
  f.conf.auth.param_value = "secret";
  f.conf.auth.param_location = config::param_location::body;
  const auto body = f.upstream_body(R"({"messages":[{"role":"user","content":"q"}]})");
  EXPECT_EQ(body.at("api_key"), "secret");
}

// ---------------------------------------------------------------- v1 chat request

TEST(cohere_request, v1_when_upstream_url_ends_in_v1_chat) {
  fixture f;
  f.conf = make_conf(route_type::llm_v1_chat, "https://api.cohere.com/v1/chat/");
  f.stream = true;
  auto up = f.to_upstream(R"({"messages":[{"role":"system","content":"Be brief."},
    {"role":"user","content":"a"},{"role":"assistant","content":"b"},
    {"role":"system","content":"Be kind."},{"role":"user","content":"c"}],"top_k":3})");
  ASSERT_TRUE(up.has_value()) << up.error().message;
  EXPECT_EQ(up->framing, stream::framing::ndjson);
  const auto body = parse_json(up->body).as_object();
  EXPECT_EQ(body.at("preamble"), "Be brief.\nBe kind.");
  EXPECT_EQ(body.at("message"), "c");
  EXPECT_EQ(body.at("k"), 3);
  const auto& h = body.at("chat_history").as_array();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].at("role"), "USER");
  EXPECT_EQ(h[1].at("role"), "CHATBOT");
  EXPECT_EQ(h[1].at("message"), "b");
}

TEST(cohere_request, v1_rejects_what_it_cannot_say) {
  fixture f;
  f.conf = make_conf(route_type::llm_v1_chat, "https://api.cohere.com/v1/chat");
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"user","content":"a"},
    {"role":"assistant","content":"b"}]})")
                .find("last non-system message"),
            std::string::npos);
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"user","content":"a"},7]})").find("last"),
            std::string::npos);
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]})")
                .find("v2"),
            std::string::npos);
  EXPECT_NE(f.bad_request(R"({"messages":[{"role":"user","content":"a"}],
    "tools":[{"type":"function","function":{"name":"f"}}]})")
                .find("tools"),
            std::string::npos);
}

// ---------------------------------------------------------------- generate and embed requests

TEST(cohere_request, generate_and_embed) {
  fixture f;
  f.conf = make_conf(route_type::llm_v1_completions);
  auto up = f.to_upstream(R"({"prompt":["Say hi"],"top_p":0.4,"stream":false})");
  ASSERT_TRUE(up.has_value()) << up.error().message;
  EXPECT_EQ(up->target, "/v1/generate");
  auto body = parse_json(up->body).as_object();
  EXPECT_EQ(body.at("prompt"), "Say hi");
  EXPECT_DOUBLE_EQ(body.at("p").to_number<double>(), 0.4);
  EXPECT_NE(f.bad_request(R"({"prompt":["a","b"]})").find("one prompt"), std::string::npos);
  EXPECT_NE(f.bad_request(R"({"prompt":"a","echo":true})").find("echo"), std::string::npos);

  f.conf = make_conf(route_type::llm_v1_embeddings);
  f.conf.model.options.cohere.embedding_input_type = "search_query";
  up = f.to_upstream(R"({"input":"hello","dimensions":512})");
  ASSERT_TRUE(up.has_value()) << up.error().message;
  EXPECT_EQ(up->target, "/v2/embed");
  body = parse_json(up->body).as_object();
  EXPECT_EQ(body.at("texts"), boost::json::array{"hello"});
  EXPECT_EQ(body.at("input_type"), "search_query");
  EXPECT_EQ(body.at("embedding_types"), boost::json::array{"float"});
  EXPECT_EQ(body.at("output_dimension"), 512);
}

// ---------------------------------------------------------------- responses

TEST(cohere_response, v2_joins_text_and_keeps_plan_and_thinking_as_reasoning) {
  fixture f;
  auto r = f.from_upstream(R"({"id":"x1","finish_reason":"TOOL_CALL","message":{"role":"assistant",
    "tool_plan":"I will call f.","content":[{"type":"thinking","thinking":"Hmm."},
      {"type":"text","text":"A"},{"type":"text","text":"B"}],
    "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
    "usage":{"billed_units":{"input_tokens":1,"output_tokens":2},"cached_tokens":5}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto body = parse_json(*r->body).as_object();
  EXPECT_EQ(body.at("id"), "x1");
  EXPECT_EQ(body.at("created"), 1700000000);
  const auto& msg = body.at("choices").at(0).at("message").as_object();
  EXPECT_EQ(msg.at("content"), "AB");
  EXPECT_EQ(msg.at("reasoning_content"), "Hmm.\nI will call f.");
  EXPECT_EQ(msg.at("tool_calls").at(0).at("id"), "c1");
  EXPECT_EQ(body.at("choices").at(0).at("finish_reason"), "tool_calls");
  // billed_units are the fallback when `tokens` is missing; cached tokens are reported.
  EXPECT_TRUE(r->summary.usage.known);
  EXPECT_EQ(r->summary.usage.prompt_tokens, 1);
  EXPECT_EQ(r->summary.usage.completion_tokens, 2);
  EXPECT_EQ(r->summary.usage.cached_tokens, 5);
  EXPECT_EQ(body.at("usage").at("prompt_tokens_details").at("cached_tokens"), 5);
}

TEST(cohere_response, only_tool_calls_means_null_content) {
  fixture f;
  auto r = f.from_upstream(R"({"id":"x","finish_reason":"TOOL_CALL","message":{"role":"assistant",
    "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}})");
  ASSERT_TRUE(r.has_value());
  const auto body = parse_json(*r->body);
  EXPECT_TRUE(body.at("choices").at(0).at("message").at("content").is_null());
  EXPECT_FALSE(r->summary.usage.known);
}

TEST(cohere_response, error_finish_and_wrong_shapes_are_bad_gateway) {
  fixture f;
  auto r = f.from_upstream(R"({"id":"x","finish_reason":"ERROR","message":{"role":"assistant"}})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 502);
  r = f.from_upstream(R"({"foo":1})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("cohere://llm/v1/chat"), std::string::npos);
  r = f.from_upstream("not json");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().status, 502);
  f.conf = make_conf(route_type::llm_v1_completions);
  r = f.from_upstream(R"({"id":"x","generations":[]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("generations"), std::string::npos);
}

TEST(cohere_response, v1_usage_prefers_real_tokens) {
  fixture f;
  auto r = f.from_upstream(R"({"text":"hi","generation_id":"g","finish_reason":"MAX_TOKENS",
    "meta":{"billed_units":{"input_tokens":3,"output_tokens":4},
            "tokens":{"input_tokens":30,"output_tokens":4}}})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->summary.usage.prompt_tokens, 30);
  EXPECT_EQ(r->summary.finish_reason, "length");
  EXPECT_EQ(parse_json(*r->body).at("id"), "g");
}

// ---------------------------------------------------------------- streams

struct stream_run {
  std::string out;
  std::optional<error> err;
  response_summary summary;
  std::string text;
};

stream_run run_stream(fixture& f, const std::vector<stream::event>& events, bool finish = true) {
  const auto t = f.tgt();
  auto tr = cohere_provider().make_stream_translator(t);
  stream_run run;
  for (const auto& ev : events) {
    if (auto r = tr->on_event(ev, run.out); !r) {
      run.err = r.error();
      break;
    }
  }
  if (!run.err && finish) {
    if (auto r = tr->finish(run.out); !r) {
      run.err = r.error();
    }
  }
  run.summary = tr->summary();
  run.text = std::string(tr->text());
  return run;
}

stream::event sse_event(std::string name, std::string data) {
  return stream::event{std::move(name), std::move(data), {}};
}

std::vector<boost::json::value> chunks(const std::string& out) {
  std::vector<boost::json::value> v;
  std::size_t pos = 0;
  while ((pos = out.find("data: ", pos)) != std::string::npos) {
    const auto end = out.find("\n\n", pos);
    const auto payload = out.substr(pos + 6, end - pos - 6);
    v.push_back(payload == "[DONE]" ? boost::json::value("[DONE]") : parse_json(payload));
    pos = end;
  }
  return v;
}

TEST(cohere_stream, v2_text_tool_calls_and_one_finish) {
  fixture f;
  f.stream = true;
  f.wants_usage = true;
  const std::vector<stream::event> events = {
      sse_event("message-start",
                R"({"type":"message-start","id":"m1","delta":{"message":{"role":"assistant"}}})"),
      sse_event("tool-plan-delta",
                R"({"type":"tool-plan-delta","delta":{"message":{"tool_plan":"Plan."}}})"),
      sse_event("tool-call-start", R"({"type":"tool-call-start","index":3,"delta":{"message":
        {"tool_calls":{"id":"a","type":"function","function":{"name":"fa","arguments":""}}}}})"),
      sse_event("tool-call-start", R"({"type":"tool-call-start","index":4,"delta":{"message":
        {"tool_calls":{"id":"b","type":"function","function":{"name":"fb","arguments":"{"}}}}})"),
      sse_event("tool-call-delta", R"({"type":"tool-call-delta","index":3,"delta":{"message":
        {"tool_calls":{"function":{"arguments":"{}"}}}}})"),
      sse_event("tool-call-delta", R"({"type":"tool-call-delta","index":4,"delta":{"message":
        {"tool_calls":{"function":{"arguments":"}"}}}}})"),
      sse_event("tool-call-end", R"({"type":"tool-call-end","index":4})"),
      sse_event("message-end", R"({"type":"message-end","delta":{"finish_reason":"TOOL_CALL",
        "usage":{"tokens":{"input_tokens":10,"output_tokens":5}}}})"),
      sse_event("message-end", R"({"type":"message-end","delta":{"finish_reason":"COMPLETE"}})"),
      sse_event("", "[DONE]"),
  };
  const auto run = run_stream(f, events);
  ASSERT_FALSE(run.err) << run.err->message;
  const auto c = chunks(run.out);
  // role, reasoning, start a, start b, b args "{", a args, b args, finish, usage, [DONE]
  ASSERT_EQ(c.size(), 10u) << run.out;
  EXPECT_EQ(c[0].at("id"), "m1");
  EXPECT_EQ(c[1].at("choices").at(0).at("delta").at("reasoning_content"), "Plan.");
  const auto& ta = c[2].at("choices").at(0).at("delta").at("tool_calls").at(0);
  EXPECT_EQ(ta.at("index"), 0);
  EXPECT_EQ(ta.at("id"), "a");
  EXPECT_EQ(ta.at("type"), "function");
  EXPECT_EQ(c[3].at("choices").at(0).at("delta").at("tool_calls").at(0).at("index"), 1);
  EXPECT_EQ(c[5].at("choices").at(0).at("delta").at("tool_calls").at(0).at("index"), 0);
  EXPECT_EQ(c[6].at("choices").at(0).at("delta").at("tool_calls").at(0).at("index"), 1);
  EXPECT_EQ(c[7].at("choices").at(0).at("finish_reason"), "tool_calls");
  EXPECT_EQ(c[8].at("usage").at("total_tokens"), 15);
  EXPECT_EQ(c[9], "[DONE]");
  EXPECT_EQ(run.summary.usage.prompt_tokens, 10);  // read once, the second message-end ignored
  EXPECT_EQ(run.summary.finish_reason, "tool_calls");
}

TEST(cohere_stream, v2_content_and_truncation) {
  fixture f;
  f.stream = true;
  const std::vector<stream::event> events = {
      sse_event("content-start", R"({"type":"content-start","index":0,"delta":{"message":
        {"content":{"type":"text","text":""}}}})"),
      sse_event("content-delta", R"({"type":"content-delta","index":0,"delta":{"message":
        {"content":{"text":"Hel"}}}})"),
      sse_event("content-delta", R"({"delta":{"message":{"content":{"text":"lo"}}}})"),
  };
  const auto run = run_stream(f, events);
  ASSERT_TRUE(run.err);
  EXPECT_EQ(run.err->code, "incomplete_stream");
  EXPECT_EQ(run.err->status, 502);
  EXPECT_EQ(run.text, "Hello");  // the event name stands in for a missing `type`
  EXPECT_EQ(run.out.find("[DONE]"), std::string::npos);
  EXPECT_NE(run.out.find("\"Hel\""), std::string::npos);  // what was written stays written
}

TEST(cohere_stream, v2_error_finish_carries_the_message) {
  fixture f;
  f.stream = true;
  const auto run = run_stream(f, {sse_event("message-end", R"({"type":"message-end",
    "delta":{"finish_reason":"ERROR","error":"model overloaded"}})")});
  ASSERT_TRUE(run.err);
  EXPECT_NE(run.err->message.find("model overloaded"), std::string::npos);
  EXPECT_EQ(run.err->code, "upstream_generation_error");
}

TEST(cohere_stream, v1_ndjson_and_generate) {
  fixture f;
  f.conf = make_conf(route_type::llm_v1_chat, "https://api.cohere.com/v1/chat");
  f.stream = true;
  auto run = run_stream(
      f, {{"", R"({"event_type":"stream-start","generation_id":"g1"})", ""},
          {"", R"({"is_finished":false,"event_type":"text-generation","text":"the answer"})", ""},
          {"", R"({"event_type":"stream-end","finish_reason":"ERROR_TOXIC","response":
            {"meta":{"billed_units":{"input_tokens":2,"output_tokens":3}}}})",
           ""}});
  ASSERT_FALSE(run.err) << run.err->message;
  auto c = chunks(run.out);
  ASSERT_EQ(c.size(), 4u) << run.out;  // role, text, finish, [DONE]
  EXPECT_EQ(c[1].at("id"), "g1");
  EXPECT_EQ(c[2].at("choices").at(0).at("finish_reason"), "content_filter");
  EXPECT_EQ(run.summary.usage.completion_tokens, 3);

  f.conf = make_conf(route_type::llm_v1_completions);
  run =
      run_stream(f, {{"", R"({"event_type":"text-generation","text":"x","is_finished":false})", ""},
                     {"", R"({"event_type":"stream-error","is_finished":true,"err":"boom"})", ""}});
  ASSERT_TRUE(run.err);
  EXPECT_NE(run.err->message.find("boom"), std::string::npos);
  run = run_stream(f, {{"", "not json", ""}});
  ASSERT_TRUE(run.err);
  EXPECT_EQ(run.err->status, 502);
}

// The recorded streams of the golden cases, decoded with the reads split at every byte: the
// client sees exactly what one read gives.
std::string translate_split(fixture& f, std::string_view bytes, stream::framing framing,
                            std::size_t step) {
  auto dec = stream::make_decoder(framing);
  const auto t = f.tgt();
  auto tr = cohere_provider().make_stream_translator(t);
  std::string out;
  std::vector<stream::event> events;
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    EXPECT_TRUE(dec->feed(bytes.substr(i, step), events).has_value());
    for (const auto& ev : events) {
      EXPECT_TRUE(tr->on_event(ev, out).has_value());
    }
    events.clear();
  }
  EXPECT_TRUE(dec->finish(events).has_value());
  for (const auto& ev : events) {
    EXPECT_TRUE(tr->on_event(ev, out).has_value());
  }
  EXPECT_TRUE(tr->finish(out).has_value());
  return out;
}

TEST(cohere_stream, recorded_streams_split_at_every_byte) {
  const auto dir = testing::source_dir() / "tests/golden/cohere";
  fixture f;
  f.stream = true;
  f.wants_usage = true;
  const auto sse = testing::read_file(dir / "stream_parallel_tools/upstream_stream.sse");
  const auto whole = translate_split(f, sse, stream::framing::sse, sse.size());
  EXPECT_NE(whole.find("\"finish_reason\":\"tool_calls\""), std::string::npos);
  EXPECT_EQ(translate_split(f, sse, stream::framing::sse, 1), whole);
  EXPECT_EQ(translate_split(f, sse, stream::framing::sse, 7), whole);

  f.conf = make_conf(route_type::llm_v1_chat, "https://api.cohere.com/v1/chat");
  const auto nd = testing::read_file(dir / "stream_v1/upstream_stream.ndjson");
  const auto whole_nd = translate_split(f, nd, stream::framing::ndjson, nd.size());
  EXPECT_NE(whole_nd.find("Hello"), std::string::npos);
  EXPECT_EQ(translate_split(f, nd, stream::framing::ndjson, 1), whole_nd);
}

// ---------------------------------------------------------------- errors

TEST(cohere_error, message_bodies_become_openai_errors) {
  const auto& p = cohere_provider();
  auto e = p.openai_error(401, R"({"message":"invalid api token"})");
  ASSERT_TRUE(e);
  auto v = parse_json(*e);
  EXPECT_EQ(v.at("error").at("message"), "invalid api token");
  EXPECT_EQ(v.at("error").at("type"), "authentication_error");
  e = p.openai_error(429, R"({"id":"abc","message":"too many requests"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(parse_json(*e).at("error").at("type"), "rate_limit_error");
  e = p.openai_error(400, R"({"error":{"type":"invalid_request_error","message":"Invalid"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(parse_json(*e).at("error").at("message"), "Invalid");
  EXPECT_FALSE(p.openai_error(500, "<html>oops</html>"));
  EXPECT_FALSE(p.openai_error(500, R"({"detail":"x"})"));
}

}  // namespace
}  // namespace aiproxy::providers
