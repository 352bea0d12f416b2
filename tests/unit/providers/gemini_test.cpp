// Gemini / Vertex translator: Kong parity, request mapping details and their 400s, endpoints and
// upstream_url action switching, the finish-reason table, usage, response shapes, the stream
// translator fed one event at a time and byte-split, and Google's error shape.
#include "golden_support.hpp"

#include "aiproxy/providers/gemini.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/stream/decoder.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using config::route_type;
using testing::parse_json;

const std::filesystem::path fixtures =
    testing::source_dir() / "tests/fixtures/kong/spec/fixtures/ai-proxy";
const std::filesystem::path golden = testing::source_dir() / "tests/golden/gemini";

config::ai_proxy_config make_conf(std::string model = "gemini-2.0-flash",
                                  route_type rt = route_type::llm_v1_chat) {
  config::ai_proxy_config c;
  c.model.provider = config::provider_kind::gemini;
  c.route_type = rt;
  c.model.name = std::move(model);
  c.auth.header_name = "x-goog-api-key";
  c.auth.header_value = "AIza-test";
  return c;
}

void set_vertex(config::ai_proxy_config& c) {
  c.model.options.gemini.api_endpoint = "europe-west4-aiplatform.googleapis.com";
  c.model.options.gemini.project_id = "proj";
  c.model.options.gemini.location_id = "europe-west4";
}

struct harness {
  config::ai_proxy_config conf = make_conf();
  bool stream = false;
  bool wants_usage = false;
  std::string id = "chatcmpl-abc";
  header_list headers;
  std::string query;

  target make_target() const {
    return target{conf, conf.model.options, conf.model.name, stream, wants_usage, 1700000000, id};
  }
  result<upstream_request> up(std::string_view body_json) {
    body_ = parse_json(body_json);
    const auto t = make_target();
    return gemini_provider().to_upstream(client_request{body_.as_object(), headers, query}, t);
  }
  boost::json::object up_body(std::string_view body_json) {
    auto r = up(body_json);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? parse_json(r->body).as_object() : boost::json::object();
  }
  error up_error(std::string_view body_json) {
    auto r = up(body_json);
    EXPECT_FALSE(r.has_value());
    return r ? error{} : r.error();
  }
  result<translated_response> down(std::string_view body) {
    const auto t = make_target();
    return gemini_provider().from_upstream(body, t);
  }
  boost::json::object down_json(std::string_view body) {
    auto r = down(body);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r && r->body ? parse_json(*r->body).as_object() : boost::json::object();
  }

 private:
  boost::json::value body_;
};

constexpr std::string_view hello = R"({"messages":[{"role":"user","content":"Hi"}]})";

// ---------------------------------------------------------------- Kong parity

TEST(gemini_kong_parity, chat_request_matches_kongs_expected_request) {
  harness h;
  h.conf = make_conf("gemini-pro");
  h.conf.precedence = config::options_precedence::config;
  h.conf.model.options.max_tokens = 8192;
  h.conf.model.options.temperature = 0.8;
  h.conf.model.options.top_p = 0.6;
  h.conf.model.options.top_k = 1;
  const auto body = h.up_body(testing::read_file(fixtures / "unit/requests/llm-v1-chat.json"));
  const auto expected =
      parse_json(testing::read_file(fixtures / "unit/expected-requests/gemini/llm-v1-chat.json"));
  EXPECT_TRUE(testing::same_json(body, expected)) << json::to_json(body);
}

TEST(gemini_kong_parity, chat_response_message_matches_kongs_expected_response) {
  harness h;
  h.conf = make_conf("gemini-pro");
  auto out =
      h.down_json(testing::read_file(fixtures / "unit/real-responses/gemini/llm-v1-chat.json"));
  const auto expected =
      parse_json(testing::read_file(fixtures / "unit/expected-responses/gemini/llm-v1-chat.json"));
  const auto& exp_choice = expected.at("choices").at(0);
  EXPECT_TRUE(testing::same_json(out["choices"].at(0).at("message"), exp_choice.at("message")));
  EXPECT_EQ(out["choices"].at(0).at("finish_reason"), exp_choice.at("finish_reason"));
  EXPECT_EQ(out["model"], expected.at("model"));
}

// ---------------------------------------------------------------- endpoints

TEST(gemini_endpoint, public_stream_uses_alt_sse_and_accepts_json_arrays) {
  harness h;
  h.stream = true;
  auto r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->host, "generativelanguage.googleapis.com");
  EXPECT_EQ(r->target, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(r->framing, stream::framing::sse);
  EXPECT_TRUE(r->json_array_stream_ok);
}

TEST(gemini_endpoint, model_ids_are_escaped_and_prefixes_kept) {
  harness h;
  h.conf = make_conf("tunedModels/my model");
  auto r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/v1beta/tunedModels/my%20model:generateContent");
  h.conf = make_conf("../../v1/secret");
  r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/v1beta/models/..%2F..%2Fv1%2Fsecret:generateContent");
}

TEST(gemini_endpoint, vertex_path_publisher_and_model_garden_endpoint) {
  harness h;
  h.conf = make_conf("publishers/meta/models/llama-3.3@1");
  set_vertex(h.conf);
  auto r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->host, "europe-west4-aiplatform.googleapis.com");
  EXPECT_EQ(r->target,
            "/v1/projects/proj/locations/europe-west4/publishers/meta/models/llama-3.3@1:"
            "generateContent");
  h.conf.model.options.gemini.endpoint_id = "1234";
  r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/v1/projects/proj/locations/europe-west4/endpoints/1234:generateContent");
}

TEST(gemini_endpoint, vertex_api_endpoint_must_be_a_host) {
  harness h;
  set_vertex(h.conf);
  h.conf.model.options.gemini.api_endpoint = "evil.example/path?x=";
  const auto e = h.up_error(hello);
  EXPECT_EQ(e.status, 500);
  EXPECT_NE(e.message.find("api_endpoint"), std::string::npos);
}

TEST(gemini_endpoint, configured_url_switches_action_both_ways) {
  harness h;
  h.conf.model.options.upstream_url =
      "https://gw.example/v1/projects/p/locations/l/publishers/google/models/m:generateContent";
  h.stream = true;
  auto r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->host, "gw.example");
  EXPECT_EQ(r->target,
            "/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent?alt=sse");
  h.stream = false;
  h.conf.model.options.upstream_url = "https://gw.example/x/m:streamGenerateContent";
  r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/x/m:generateContent");
}

TEST(gemini_endpoint, configured_url_without_an_action_is_kept) {
  harness h;
  h.conf.model.options.upstream_url = "https://gw.example/gemini/chat";
  h.stream = true;
  auto r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/gemini/chat?alt=sse");
}

TEST(gemini_endpoint, query_auth_replaces_the_clients_key) {
  harness h;
  h.conf.auth = {};
  h.conf.auth.param_name = "key";
  h.conf.auth.param_value = "AIza-gw";
  h.conf.auth.param_location = config::param_location::query;
  h.query = "key=client&foo=bar";
  auto r = h.up(hello);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/v1beta/models/gemini-2.0-flash:generateContent?key=AIza-gw&foo=bar");
  EXPECT_EQ(r->headers.get("Accept-Encoding"), "identity");
}

// ---------------------------------------------------------------- request mapping

TEST(gemini_request, roles_and_parts) {
  harness h;
  const auto body = h.up_body(R"({"messages":[
    {"role":"developer","content":"Rule one."},
    {"role":"user","content":null},
    {"role":"assistant","content":""},
    {"role":"user","content":[
      {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"WAV"}},
      {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}},
      {"type":"image_url","image_url":{"url":"gs://bucket/cat.webp"}},
      {"type":"image_url","image_url":{"url":"https://generativelanguage.googleapis.com/v1beta/files/abc123"}}]},
    {"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
    {"role":"function","name":"legacy","content":"{\"ok\":1}"}]})");
  EXPECT_EQ(body.at("systemInstruction").at("parts").at(0).at("text"), "Rule one.");
  const auto& contents = body.at("contents").as_array();
  ASSERT_EQ(contents.size(), 4u);  // the empty assistant message is dropped
  EXPECT_EQ(contents[0].at("parts").at(0).at("text"), "");
  const auto& parts = contents[1].at("parts").as_array();
  EXPECT_EQ(parts[0].at("inlineData").at("mimeType"), "audio/wav");
  EXPECT_EQ(parts[1].at("inlineData").at("mimeType"), "application/pdf");
  EXPECT_EQ(parts[1].at("inlineData").at("data"), "JVBERi0=");
  EXPECT_EQ(parts[2].at("fileData").at("mimeType"), "image/webp");
  EXPECT_EQ(parts[2].at("fileData").at("fileUri"), "gs://bucket/cat.webp");
  EXPECT_FALSE(parts[3].at("fileData").as_object().contains("mimeType"));
  EXPECT_EQ(contents[2].at("role"), "model");
  EXPECT_EQ(contents[2].at("parts").at(0).at("text"), "a\nb");
  EXPECT_EQ(contents[3].at("role"), "user");
  EXPECT_EQ(contents[3].at("parts").at(0).at("functionResponse").at("name"), "legacy");
  EXPECT_EQ(contents[3].at("parts").at(0).at("functionResponse").at("response").at("ok"), 1);
}

TEST(gemini_request, function_names_come_from_the_conversation_never_a_constant) {
  harness h;
  const auto body = h.up_body(R"({"messages":[
    {"role":"user","content":"q"},
    {"role":"assistant","tool_calls":[
      {"id":"x1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
    {"role":"tool","tool_call_id":"x1","content":"[1,2]"},
    {"role":"assistant","tool_calls":[
      {"id":"x2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"x2","content":"noon"}]})");
  const auto& c = body.at("contents").as_array();
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[1].at("parts").at(0).at("functionCall").at("args").at("city"), "Paris");
  EXPECT_EQ(c[2].at("parts").at(0).at("functionResponse").at("name"), "get_weather");
  EXPECT_EQ(c[2].at("parts").at(0).at("functionResponse").at("response").at("content"), "[1,2]");
  EXPECT_EQ(c[4].at("parts").at(0).at("functionResponse").at("name"), "get_time");
}

TEST(gemini_request, unsupported_things_are_400s_naming_the_field) {
  harness h;
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"messages":[{"role":"critic","content":"x"}]})", "role 'critic'"},
      {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search"}]})",
       "tool type 'web_search'"},
      {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"1":2}})", "logit_bias"},
      {R"({"messages":[{"role":"user","content":"x"}],"modalities":["text","audio"]})", "modality"},
      {R"({"messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]})", "tools"},
      {R"({"messages":[{"role":"user","content":"x"}],"reasoning_effort":"max"})",
       "reasoning_effort 'max'"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://a/b.png"}}]}]})",
       "https URL"},
      {R"({"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]})",
       "file_data"},
      {R"({"messages":[{"role":"system","content":"only a system prompt"}]})", "no user"},
  };
  for (const auto& [body, needle] : cases) {
    const auto e = h.up_error(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_NE(e.message.find(needle), std::string::npos) << e.message;
  }
}

TEST(gemini_request, n_above_one_cannot_stream) {
  harness h;
  h.stream = true;
  const auto e = h.up_error(R"({"messages":[{"role":"user","content":"x"}],"n":3})");
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.message.find("n > 1"), std::string::npos);
}

TEST(gemini_request, reasoning_effort_is_a_level_on_gemini_3_and_a_budget_before) {
  harness h;
  h.conf = make_conf("gemini-3-pro-preview");
  auto body =
      h.up_body(R"({"messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"})");
  EXPECT_EQ(body.at("generationConfig").at("thinkingConfig").at("thinkingLevel"), "high");
  h.conf = make_conf("gemini-2.5-flash");
  body = h.up_body(R"({"messages":[{"role":"user","content":"x"}],"reasoning_effort":"none"})");
  const auto& tc = body.at("generationConfig").at("thinkingConfig").as_object();
  EXPECT_EQ(tc.at("thinkingBudget"), 0);
  EXPECT_FALSE(tc.contains("includeThoughts"));
}

TEST(gemini_request, config_precedence_overrides_the_client) {
  harness h;
  h.conf.precedence = config::options_precedence::config;
  h.conf.model.options.max_tokens = 64;
  h.conf.model.options.temperature = 0.1;
  const auto body = h.up_body(
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1000,"temperature":1.5,"stop":["a","b"]})");
  const auto& gc = body.at("generationConfig");
  EXPECT_EQ(gc.at("maxOutputTokens"), 64);
  EXPECT_EQ(gc.at("temperature"), 0.1);
  EXPECT_EQ(gc.at("stopSequences").as_array().size(), 2u);
}

TEST(gemini_request, embeddings_public_and_vertex_shapes) {
  harness h;
  h.conf = make_conf("models/gemini-embedding-001", route_type::llm_v1_embeddings);
  auto r = h.up(R"({"input":"hello","dimensions":8})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
  auto body = parse_json(r->body);
  EXPECT_EQ(body.at("requests").at(0).at("model"), "models/gemini-embedding-001");
  EXPECT_EQ(body.at("requests").at(0).at("outputDimensionality"), 8);
  // A configured :predict URL gets Vertex's shape.
  h.conf.model.options.upstream_url = "https://gw.example/v1/x/models/e:predict";
  r = h.up(R"({"input":["a","b"]})");
  ASSERT_TRUE(r.has_value());
  body = parse_json(r->body);
  EXPECT_EQ(body.at("instances").as_array().size(), 2u);
  EXPECT_EQ(body.at("instances").at(1).at("content"), "b");
  const auto e = h.up_error(R"({"input":[[1,2,3]]})");
  EXPECT_EQ(e.status, 400);
}

// ---------------------------------------------------------------- responses

TEST(gemini_finish, table) {
  EXPECT_EQ(gemini_finish_reason("STOP", false), "stop");
  EXPECT_EQ(gemini_finish_reason("STOP", true), "tool_calls");
  EXPECT_EQ(gemini_finish_reason("MAX_TOKENS", true), "length");
  for (const auto r : {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                       "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}) {
    EXPECT_EQ(gemini_finish_reason(r, false), "content_filter") << r;
  }
  EXPECT_EQ(gemini_finish_reason("OTHER", false), "stop");
  EXPECT_EQ(gemini_finish_reason("MALFORMED_FUNCTION_CALL", false), "stop");
  EXPECT_EQ(gemini_finish_reason("", false), "");
}

TEST(gemini_usage, counts_thoughts_as_completion_and_tool_prompts_as_prompt) {
  const auto u = gemini_usage(parse_json(R"({"promptTokenCount":10,"toolUsePromptTokenCount":5,
      "candidatesTokenCount":7,"thoughtsTokenCount":3,"cachedContentTokenCount":4})")
                                  .as_object());
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.prompt_tokens, 15);
  EXPECT_EQ(u.completion_tokens, 10);
  EXPECT_EQ(u.reasoning_tokens, 3);
  EXPECT_EQ(u.cached_tokens, 4);
  EXPECT_EQ(u.total_tokens, 25);  // no totalTokenCount: the sum
  EXPECT_FALSE(gemini_usage(boost::json::object()).known);
}

TEST(gemini_response, tool_call_ids_are_deterministic_and_gemini_ids_win) {
  EXPECT_EQ(gemini_tool_call_id("chatcmpl-abc", 2), "call_abc_2");
  EXPECT_EQ(gemini_tool_call_id("", 0), "call_0");
  harness h;
  auto out = h.down_json(R"({"candidates":[{"content":{"parts":[
      {"functionCall":{"name":"a","args":{"x":[1,{"y":null}]}}},
      {"functionCall":{"id":"g-7","name":"b"}}]},"finishReason":"STOP"}]})");
  const auto& msg = out["choices"].at(0).at("message");
  EXPECT_TRUE(msg.at("content").is_null());
  EXPECT_EQ(msg.at("tool_calls").at(0).at("id"), "call_abc_0");
  EXPECT_EQ(msg.at("tool_calls").at(0).at("function").at("arguments"), R"({"x":[1,{"y":null}]})");
  EXPECT_EQ(msg.at("tool_calls").at(1).at("id"), "g-7");
  EXPECT_EQ(msg.at("tool_calls").at(1).at("function").at("arguments"), "{}");
  EXPECT_EQ(out["choices"].at(0).at("finish_reason"), "tool_calls");
  EXPECT_EQ(out["id"], "chatcmpl-abc");
  EXPECT_EQ(out["model"], "gemini-2.0-flash");
}

TEST(gemini_response, bodies_that_are_not_gemini_are_502) {
  harness h;
  for (const auto body : {"not json", "[1]", R"({"choices":[]})"}) {
    auto r = h.down(body);
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().status, 502);
  }
  h.conf = make_conf("e", route_type::llm_v1_embeddings);
  auto r = h.down(R"({"embeddings":[{"values":["x"]}]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("'embeddings'"), std::string::npos);
}

// ---------------------------------------------------------------- streams

struct stream_run {
  std::string out;
  std::optional<error> err;
  response_summary summary;
};

stream_run run_events(const harness& h, const std::vector<std::string>& events) {
  const auto t = h.make_target();
  auto tr = gemini_provider().make_stream_translator(t);
  stream_run run;
  for (const auto& e : events) {
    if (auto r = tr->on_event(stream::event{{}, e, {}}, run.out); !r) {
      run.err = r.error();
      run.summary = tr->summary();
      return run;
    }
  }
  if (auto r = tr->finish(run.out); !r) {
    run.err = r.error();
  }
  run.summary = tr->summary();
  return run;
}

stream_run run_bytes(const harness& h, stream::framing f, std::string_view bytes,
                     std::size_t split) {
  auto dec = stream::make_decoder(f);
  std::vector<stream::event> events;
  EXPECT_TRUE(dec->feed(bytes.substr(0, split), events).has_value());
  EXPECT_TRUE(dec->feed(bytes.substr(split), events).has_value());
  EXPECT_TRUE(dec->finish(events).has_value());
  std::vector<std::string> data;
  for (auto& e : events) {
    data.push_back(std::move(e.data));
  }
  return run_events(h, data);
}

TEST(gemini_stream, every_byte_split_gives_the_same_output_for_sse_and_json_array) {
  harness h;
  h.wants_usage = true;
  const auto sse = testing::read_file(golden / "stream_sse/upstream_stream.sse");
  const auto whole = run_bytes(h, stream::framing::sse, sse, sse.size());
  ASSERT_FALSE(whole.err);
  EXPECT_NE(whole.out.find("[DONE]"), std::string::npos);
  for (std::size_t i = 0; i <= sse.size(); ++i) {
    EXPECT_EQ(run_bytes(h, stream::framing::sse, sse, i).out, whole.out) << "split at " << i;
  }
  const auto arr = testing::read_file(golden / "stream_json_array/upstream_stream.json");
  const auto arr_whole = run_bytes(h, stream::framing::json_array, arr, arr.size());
  ASSERT_FALSE(arr_whole.err);
  for (std::size_t i = 0; i <= arr.size(); ++i) {
    EXPECT_EQ(run_bytes(h, stream::framing::json_array, arr, i).out, arr_whole.out)
        << "split at " << i;
  }
}

TEST(gemini_stream, usage_is_set_never_added) {
  harness h;
  h.wants_usage = true;
  const auto run = run_events(
      h,
      {R"({"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6}})",
       R"({"candidates":[{"content":{"parts":[{"text":"b"}]}}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7}})",
       R"({"candidates":[{"content":{"parts":[{"text":"c"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8}})"});
  ASSERT_FALSE(run.err);
  EXPECT_EQ(run.summary.usage.prompt_tokens, 5);
  EXPECT_EQ(run.summary.usage.completion_tokens, 3);
  EXPECT_EQ(run.summary.usage.total_tokens, 8);
  EXPECT_NE(run.out.find(R"("usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8})"),
            std::string::npos);
  EXPECT_EQ(run.summary.finish_reason, "stop");
}

TEST(gemini_stream, exactly_one_finish_chunk_and_done) {
  harness h;
  const auto run = run_events(
      h, {R"({"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]})",
          R"({"candidates":[{"content":{"parts":[]},"finishReason":"STOP"}]})"});
  ASSERT_FALSE(run.err);
  const auto count = [&](std::string_view needle) {
    std::size_t n = 0;
    for (auto p = run.out.find(needle); p != std::string::npos; p = run.out.find(needle, p + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count(R"("finish_reason":"stop")"), 1u);
  EXPECT_EQ(count("data: [DONE]"), 1u);
  EXPECT_EQ(count(R"("usage")"), 0u);  // the client did not ask for it
}

TEST(gemini_stream, no_finish_reason_is_an_incomplete_stream) {
  harness h;
  const auto run = run_events(h, {R"({"candidates":[{"content":{"parts":[{"text":"a"}]}}]})"});
  ASSERT_TRUE(run.err);
  EXPECT_EQ(run.err->status, 502);
  EXPECT_EQ(run.err->code, "incomplete_stream");
  EXPECT_NE(run.out.find(R"("content":"a")"), std::string::npos);  // what came is kept
  EXPECT_EQ(run.out.find("[DONE]"), std::string::npos);
}

TEST(gemini_stream, provider_error_event_carries_message_type_and_code) {
  harness h;
  const auto run = run_events(
      h, {R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})"});
  ASSERT_TRUE(run.err);
  EXPECT_EQ(run.err->message, "Quota exceeded");
  EXPECT_EQ(run.err->type, "rate_limit_error");
  EXPECT_EQ(run.err->code, "RESOURCE_EXHAUSTED");
  // Vertex's JSON-array streams wrap it in an array.
  const auto wrapped =
      run_events(h, {R"([{"error":{"code":500,"message":"boom","status":"INTERNAL"}}])"});
  ASSERT_TRUE(wrapped.err);
  EXPECT_EQ(wrapped.err->type, "server_error");
  const auto garbage = run_events(h, {"{oops"});
  ASSERT_TRUE(garbage.err);
  EXPECT_EQ(garbage.err->status, 502);
}

TEST(gemini_stream, completions_route_writes_text_completion_chunks) {
  harness h;
  h.conf = make_conf("gemini-2.0-flash", route_type::llm_v1_completions);
  const auto run = run_events(
      h, {R"({"candidates":[{"content":{"parts":[{"text":"xy"}]},"finishReason":"MAX_TOKENS"}]})"});
  ASSERT_FALSE(run.err);
  EXPECT_NE(run.out.find(R"("object":"text_completion")"), std::string::npos);
  EXPECT_NE(run.out.find(R"("text":"xy")"), std::string::npos);
  EXPECT_NE(run.out.find(R"("finish_reason":"length")"), std::string::npos);
}

// ---------------------------------------------------------------- errors

TEST(gemini_errors, google_errors_become_openai_errors) {
  const auto& p = gemini_provider();
  auto e = p.openai_error(
      404, R"({"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}})");
  ASSERT_TRUE(e);
  const auto v = parse_json(*e);
  EXPECT_EQ(v.at("error").at("message"), "models/x is not found");
  EXPECT_EQ(v.at("error").at("type"), "invalid_request_error");
  EXPECT_EQ(v.at("error").at("code"), "NOT_FOUND");
  e = p.openai_error(403,
                     R"([{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}])");
  ASSERT_TRUE(e);
  EXPECT_EQ(parse_json(*e).at("error").at("type"), "permission_error");
  EXPECT_FALSE(p.openai_error(500, "upstream connect error"));
  EXPECT_FALSE(p.openai_error(400, R"({"error":{"message":"m","type":"invalid_request_error"}})"));
}

}  // namespace
}  // namespace aiproxy::providers
