// Bedrock translator: request mapping details and 400s, finish-reason table, usage, the stream
// translator fed one event at a time (Kong's recorded eventstream split at every byte too),
// errors. Whole request/response pairs live in tests/golden/bedrock/.
#include "golden_support.hpp"

#include "aiproxy/providers/bedrock.hpp"
#include "aiproxy/stream/aws_eventstream.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <boost/json/parse.hpp>

namespace aiproxy::providers {
namespace {

using config::route_type;
using testing::parse_json;

config::ai_proxy_config make_conf(route_type rt = route_type::llm_v1_chat,
                                  std::string model = "anthropic.claude-3-haiku-20240307-v1:0") {
  config::ai_proxy_config c;
  c.model.provider = config::provider_kind::bedrock;
  c.route_type = rt;
  c.model.name = std::move(model);
  c.model.options.bedrock.aws_region = "us-east-1";
  return c;
}

struct fixture {
  config::ai_proxy_config conf = make_conf();
  header_list headers;
  bool stream = false;
  bool wants_usage = false;

  target make_target() const {
    return target{conf,        conf.model.options, conf.model.name, stream,
                  wants_usage, 1700000000,         "chatcmpl-test"};
  }
  result<upstream_request> up(std::string_view body_json) {
    const auto body = parse_json(body_json);
    const auto t = make_target();
    return bedrock_provider().to_upstream({body.as_object(), headers, ""}, t);
  }
  boost::json::object up_body(std::string_view body_json) {
    auto r = up(body_json);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? parse_json(r->body).as_object() : boost::json::object();
  }
  std::string bad_request(std::string_view body_json) {
    auto r = up(body_json);
    EXPECT_FALSE(r);
    if (r) {
      return {};
    }
    EXPECT_EQ(r.error().status, 400) << r.error().message;
    return r.error().message;
  }
  boost::json::object response(std::string_view upstream) {
    const auto t = make_target();
    auto r = bedrock_provider().from_upstream(upstream, t);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r && r->body ? parse_json(*r->body).as_object() : boost::json::object();
  }
};

bool has(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// ---------------------------------------------------------------- request

TEST(bedrock_request, url_region_framing_and_signing_scope) {
  fixture f;
  f.conf.model.name = "arn:aws:bedrock:us-east-1:1:inference-profile/us.x";
  auto r = f.up(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(r->target,
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse");
  EXPECT_EQ(r->framing, stream::framing::none);
  ASSERT_TRUE(r->aws_sigv4);
  EXPECT_EQ(r->aws_sigv4->region, "us-east-1");
  EXPECT_EQ(r->aws_sigv4->service, "bedrock");
  EXPECT_EQ(r->headers.get("accept-encoding"), "identity");
  EXPECT_FALSE(r->headers.contains("authorization"));

  f.stream = true;
  r = f.up(R"({"messages":[{"role":"user","content":"hi"}],"stream":true})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->target.ends_with("/converse-stream"));
  EXPECT_EQ(r->framing, stream::framing::aws_eventstream);
}

TEST(bedrock_request, missing_or_bad_region_is_a_500_naming_the_option) {
  fixture f;
  f.conf.model.options.bedrock.aws_region.clear();
  auto r = f.up(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
  EXPECT_TRUE(has(r.error().message, "model.options.bedrock.aws_region"));
  f.conf.model.options.bedrock.aws_region = "us-east-1.evil.com/";
  r = f.up(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
}

TEST(bedrock_request, upstream_url_path_switches_action_both_ways) {
  fixture f;
  f.conf.model.options.upstream_url = "https://proxy.local/bedrock/converse-stream";
  auto r = f.up(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->host, "proxy.local");
  EXPECT_EQ(r->target, "/bedrock/converse");
  f.stream = true;
  r = f.up(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->target, "/bedrock/converse-stream");
}

TEST(bedrock_request, all_system_messages_and_merged_turns) {
  fixture f;
  const auto b = f.up_body(R"({"messages":[
    {"role":"system","content":"A"},{"role":"user","content":"u1"},{"role":"system","content":"B"},
    {"role":"user","content":[{"type":"text","text":"u2"}]},{"role":"assistant","content":"a1"},
    {"role":"assistant","content":"a2"},{"role":"user","content":"u3"}]})");
  EXPECT_EQ(json::to_json(b.at("system")), R"([{"text":"A"},{"text":"B"}])");
  EXPECT_EQ(json::to_json(b.at("messages")),
            R"([{"role":"user","content":[{"text":"u1"},{"text":"u2"}]},)"
            R"({"role":"assistant","content":[{"text":"a1"},{"text":"a2"}]},)"
            R"({"role":"user","content":[{"text":"u3"}]}])");
}

TEST(bedrock_request, no_system_prompt_models_get_kongs_400) {
  for (const char* model :
       {"amazon.titan-text-express-v1", "cohere.command-text-v14", "cohere.command-light-text-v14",
        "mistral.mistral-7b-instruct-v0:2", "mistral.mixtral-8x7b-instruct-v0:1"}) {
    fixture f;
    f.conf.model.name = model;
    const auto msg = f.bad_request(
        R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]})");
    EXPECT_TRUE(has(msg, "system prompts are unsupported for model")) << model << ": " << msg;
  }
  fixture ok;
  ok.conf.model.name = "cohere.command-r-plus-v1:0";
  EXPECT_TRUE(
      ok.up(R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]})"));
}

TEST(bedrock_request, every_tool_call_and_its_text_survive) {
  fixture f;
  const auto b = f.up_body(R"({"messages":[{"role":"user","content":"q"},
    {"role":"assistant","content":"thinking","tool_calls":[
      {"id":"t1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},
      {"id":"t2","type":"function","function":{"name":"b","arguments":""}}]},
    {"role":"tool","tool_call_id":"t1","content":"{\"ok\":true}"},
    {"role":"tool","tool_call_id":"t2","content":"[1,2]"}],
    "tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}]})");
  const auto& msgs = b.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(json::to_json(msgs[1]), R"({"role":"assistant","content":[{"text":"thinking"},)"
                                    R"({"toolUse":{"toolUseId":"t1","name":"a","input":{"x":1}}},)"
                                    R"({"toolUse":{"toolUseId":"t2","name":"b","input":{}}}]})");
  EXPECT_EQ(
      json::to_json(msgs[2]),
      R"({"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"json":{"ok":true}}]}},)"
      R"({"toolResult":{"toolUseId":"t2","content":[{"text":"[1,2]"}]}}]})");
}

TEST(bedrock_request, bad_tool_arguments_are_400) {
  fixture f;
  const auto msg = f.bad_request(R"({"messages":[{"role":"user","content":"q"},
    {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"a","arguments":"not json"}}]}]})");
  EXPECT_TRUE(has(msg, "must be a JSON object")) << msg;
}

TEST(bedrock_request, tool_choice_mapping) {
  fixture f;
  const std::string base =
      R"({"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])";
  auto b = f.up_body(base + R"(,"tool_choice":"auto"})");
  EXPECT_EQ(
      json::to_json(b.at("toolConfig")),
      R"({"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"auto":{}}})");
  b = f.up_body(base + R"(,"tool_choice":"required"})");
  EXPECT_EQ(json::to_json(b.at("toolConfig").at("toolChoice")), R"({"any":{}})");
  b = f.up_body(base + R"(,"tool_choice":{"type":"function","function":{"name":"f"}}})");
  EXPECT_EQ(json::to_json(b.at("toolConfig").at("toolChoice")), R"({"tool":{"name":"f"}})");
  b = f.up_body(base + R"(})");
  EXPECT_FALSE(b.at("toolConfig").as_object().contains("toolChoice"));
  b = f.up_body(base + R"(,"tool_choice":"none"})");
  EXPECT_FALSE(b.contains("toolConfig"));
}

TEST(bedrock_request, tool_choice_none_with_tool_history_is_400) {
  fixture f;
  const auto msg = f.bad_request(R"({"messages":[{"role":"user","content":"q"},
    {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"t1","content":"done"}],
    "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"})");
  EXPECT_TRUE(has(msg, "tool_choice 'none'")) << msg;
}

TEST(bedrock_request, inference_config_and_top_k_follow_precedence) {
  fixture f;
  f.conf.model.options.max_tokens = 256;
  f.conf.model.options.temperature = 0.1;
  f.conf.model.options.top_k = 5;
  const std::string body =
      R"({"messages":[{"role":"user","content":"q"}],"max_tokens":10,"temperature":0.9,"top_p":0.5,"top_k":50,"stop":"X"})";
  auto b = f.up_body(body);
  EXPECT_EQ(json::to_json(b.at("inferenceConfig")),
            R"({"maxTokens":10,"temperature":0.9,"topP":0.5,"stopSequences":["X"]})");
  EXPECT_EQ(json::to_json(b.at("additionalModelRequestFields")), R"({"top_k":50})");
  f.conf.precedence = config::options_precedence::config;
  b = f.up_body(body);
  EXPECT_EQ(json::to_json(b.at("inferenceConfig")),
            R"({"maxTokens":256,"temperature":0.1,"topP":0.5,"stopSequences":["X"]})");
  EXPECT_EQ(json::to_json(b.at("additionalModelRequestFields")), R"({"top_k":5})");
}

TEST(bedrock_request, additional_fields_are_an_object_not_an_array) {
  fixture f;
  auto b = f.up_body(
      R"({"messages":[{"role":"user","content":"q"}],"bedrock":{"additionalModelRequestFields":{"a":1}}})");
  EXPECT_EQ(json::to_json(b.at("additionalModelRequestFields")), R"({"a":1})");
  EXPECT_FALSE(b.contains("anthropic_version"));
}

TEST(bedrock_request, unsupported_fields_are_400) {
  fixture f;
  const std::string m = R"({"messages":[{"role":"user","content":"q"}],)";
  EXPECT_TRUE(has(f.bad_request(m + R"("seed":1})"), "seed"));
  EXPECT_TRUE(has(f.bad_request(m + R"("n":2})"), "n must be 1"));
  EXPECT_TRUE(has(f.bad_request(m + R"("logprobs":true})"), "logprobs"));
  EXPECT_TRUE(has(f.bad_request(m + R"("presence_penalty":0.5})"), "presence_penalty"));
  EXPECT_TRUE(has(f.bad_request(m + R"("logit_bias":{"1":2}})"), "logit_bias"));
  EXPECT_TRUE(has(f.bad_request(m + R"("response_format":{"type":"json_object"},)"
                                    R"("tools":[{"type":"function","function":{"name":"f"}}]})"),
                  "json_object"));
  EXPECT_TRUE(has(f.bad_request(m + R"("tools":[{"type":"function","function":{"name":")" +
                                std::string(bedrock_json_tool_name) + R"("}}]})"),
                  "reserved"));
  // Meaningless upstream: accepted.
  EXPECT_TRUE(f.up(m + R"("n":1,"logprobs":false,"presence_penalty":0,"stream_options":null})"));
}

TEST(bedrock_request, images_need_base64_of_a_known_type) {
  fixture f;
  const auto img = [](std::string url) {
    return R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":")" +
           url + R"("}}]}]})";
  };
  auto b = f.up_body(img("data:image/jpeg;base64,QUJD"));
  EXPECT_EQ(json::to_json(b.at("messages").at(0).at("content").at(0)),
            R"({"image":{"format":"jpeg","source":{"bytes":"QUJD"}}})");
  EXPECT_TRUE(has(f.bad_request(img("https://example.com/a.png")), "base64 data URL"));
  EXPECT_TRUE(has(f.bad_request(img("data:image/tiff;base64,QUJD")), "image/tiff"));
  EXPECT_TRUE(has(
      f.bad_request(
          R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})"),
      "input_audio"));
}

TEST(bedrock_request, body_auth_reaches_the_rebuilt_body) {
  fixture f;
  f.conf.auth.param_name = "key";
  f.conf.auth.param_value = "secret";
  f.conf.auth.param_location = config::param_location::body;
  const auto b = f.up_body(R"({"messages":[{"role":"user","content":"q"}]})");
  EXPECT_EQ(b.at("key"), "secret");
}

TEST(bedrock_request, embeddings_bodies) {
  fixture f;
  f.conf = make_conf(route_type::llm_v1_embeddings, "amazon.titan-embed-text-v1");
  auto r = f.up(R"({"input":"hello"})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->target.ends_with("/invoke"));
  EXPECT_EQ(r->body, R"({"inputText":"hello"})");  // v1 takes neither dimensions nor normalize
  r = f.up(R"({"input":["only one"]})");
  ASSERT_TRUE(r);
  EXPECT_TRUE(has(f.bad_request(R"({"input":["a","b"]})"), "one input"));
  EXPECT_TRUE(has(f.bad_request(R"({"input":[[1,2]]})"), "token arrays"));
  f.conf = make_conf(route_type::llm_v1_embeddings, "cohere.embed-multilingual-v3");
  EXPECT_EQ(f.up_body(R"({"input":["a","b"]})"),
            parse_json(R"({"texts":["a","b"],"input_type":"search_document"})"));
  f.conf = make_conf(route_type::llm_v1_embeddings, "amazon.nova-lite-v1:0");
  EXPECT_TRUE(has(f.bad_request(R"({"input":"a"})"), "titan-embed"));
}

// ---------------------------------------------------------------- response

TEST(bedrock_response, finish_reason_table) {
  const std::pair<const char*, const char*> table[] = {
      {"end_turn", "stop"},
      {"stop_sequence", "stop"},
      {"max_tokens", "length"},
      {"tool_use", "tool_calls"},
      {"guardrail_intervened", "content_filter"},
      {"content_filtered", "content_filter"},
  };
  for (const auto& [in, out] : table) {
    fixture f;
    const auto b = f.response(
        std::string(
            R"({"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":")") +
        in + R"("})");
    EXPECT_EQ(b.at("choices").at(0).at("finish_reason"), out) << in;
  }
}

TEST(bedrock_response, all_text_blocks_joined_and_null_content_for_tool_only) {
  fixture f;
  auto b = f.response(
      R"({"output":{"message":{"content":[{"text":"a"},{"toolUse":{"toolUseId":"t","name":"n"}},{"text":"b"}]}},"stopReason":"tool_use"})");
  const auto& msg = b.at("choices").at(0).at("message");
  EXPECT_EQ(msg.at("content"), "ab");
  EXPECT_EQ(msg.at("tool_calls").at(0).at("function").at("arguments"), "{}");
  b = f.response(
      R"({"output":{"message":{"content":[{"toolUse":{"toolUseId":"t","name":"n","input":{"q":1}}}]}},"stopReason":"tool_use"})");
  EXPECT_TRUE(b.at("choices").at(0).at("message").at("content").is_null());
  EXPECT_EQ(b.at("id"), "chatcmpl-test");
  EXPECT_EQ(b.at("created"), 1700000000);
  EXPECT_EQ(b.at("model"), "anthropic.claude-3-haiku-20240307-v1:0");
}

TEST(bedrock_response, usage_with_cache_reads) {
  fixture f;
  const auto t = f.make_target();
  auto r = bedrock_provider().from_upstream(
      R"({"output":{"message":{"content":[{"text":"x"}]}},"stopReason":"end_turn",
          "usage":{"inputTokens":10,"outputTokens":5,"totalTokens":115,"cacheReadInputTokens":100}})",
      t);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->summary.usage.known);
  EXPECT_EQ(r->summary.usage.prompt_tokens, 110);
  EXPECT_EQ(r->summary.usage.completion_tokens, 5);
  EXPECT_EQ(r->summary.usage.total_tokens, 115);
  EXPECT_EQ(r->summary.usage.cached_tokens, 100);
  EXPECT_EQ(r->summary.finish_reason, "stop");
  const auto b = parse_json(*r->body);
  EXPECT_EQ(b.at("usage").at("prompt_tokens_details").at("cached_tokens"), 100);
}

TEST(bedrock_response, wrong_shape_is_502) {
  fixture f;
  const auto t = f.make_target();
  auto r = bedrock_provider().from_upstream(R"({"choices":[]})", t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  r = bedrock_provider().from_upstream("not json", t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
}

TEST(bedrock_response, openai_error_shape) {
  const auto& p = bedrock_provider();
  auto e = p.openai_error(
      403, R"({"message":"The security token included in the request is invalid."})");
  ASSERT_TRUE(e);
  EXPECT_EQ(
      parse_json(*e),
      parse_json(R"({"error":{"message":"The security token included in the request is invalid.",)"
                 R"("type":"permission_error","param":null,"code":null}})"));
  e = p.openai_error(500, R"({"Message":"boom"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(parse_json(*e).at("error").at("type"), "server_error");
  EXPECT_FALSE(p.openai_error(400, "<html>"));
  EXPECT_FALSE(p.openai_error(400, R"({"error":{"message":"already openai"}})"));
}

// ---------------------------------------------------------------- stream

struct stream_run {
  fixture f;
  std::unique_ptr<stream_translator> tr;
  std::string out;
  target t;

  explicit stream_run(bool wants_usage = false) : f(make_fixture(wants_usage)), t(f.make_target()) {
    tr = bedrock_provider().make_stream_translator(t);
  }
  static fixture make_fixture(bool wants_usage) {
    fixture f;
    f.stream = true;
    f.wants_usage = wants_usage;
    return f;
  }
  result<void> ev(std::string name, std::string payload) {
    return tr->on_event(stream::event{std::move(name), std::move(payload), {}}, out);
  }
  // The data lines of `out`, each parsed (or "[DONE]").
  std::vector<boost::json::value> chunks() const {
    std::vector<boost::json::value> v;
    std::size_t pos = 0;
    while ((pos = out.find("data: ", pos)) != std::string::npos) {
      const auto end = out.find("\n\n", pos);
      const auto data = out.substr(pos + 6, end - pos - 6);
      v.push_back(data == "[DONE]" ? boost::json::value("[DONE]") : parse_json(data));
      pos = end;
    }
    return v;
  }
};

TEST(bedrock_stream, tool_index_counts_tool_blocks_only_and_chunks_have_type) {
  stream_run s;
  ASSERT_TRUE(s.ev("messageStart", R"({"role":"assistant"})"));
  ASSERT_TRUE(s.ev("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})"));
  ASSERT_TRUE(s.ev("contentBlockStart",
                   R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"f"}}})"));
  ASSERT_TRUE(s.ev("contentBlockDelta",
                   R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\":1}"}}})"));
  ASSERT_TRUE(s.ev("contentBlockStop", R"({"contentBlockIndex":1})"));
  ASSERT_TRUE(s.ev("messageStop", R"({"stopReason":"tool_use"})"));
  ASSERT_TRUE(s.ev("metadata", R"({"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7}})"));
  const auto c = s.chunks();
  ASSERT_EQ(c.size(), 6u);  // role, text, tool start, tool args, finish, [DONE]
  const auto& start = c[2].at("choices").at(0).at("delta").at("tool_calls").at(0);
  EXPECT_EQ(start.at("index"), 0);
  EXPECT_EQ(start.at("id"), "t1");
  EXPECT_EQ(start.at("type"), "function");
  EXPECT_EQ(start.at("function").at("name"), "f");
  EXPECT_EQ(
      c[3].at("choices").at(0).at("delta").at("tool_calls").at(0).at("function").at("arguments"),
      "{\"a\":1}");
  EXPECT_EQ(c[4].at("choices").at(0).at("finish_reason"), "tool_calls");
  EXPECT_EQ(c[5], "[DONE]");
  EXPECT_TRUE(s.tr->finish(s.out));
  EXPECT_EQ(s.chunks().size(), 6u);  // finish() after the end adds nothing
  EXPECT_EQ(s.tr->summary().usage.total_tokens, 7);
  EXPECT_EQ(s.tr->text(), "Hi");
}

TEST(bedrock_stream, usage_chunk_once_when_asked) {
  stream_run s(true);
  ASSERT_TRUE(s.ev("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"x"}})"));
  ASSERT_TRUE(s.ev("messageStop", R"({"stopReason":"end_turn"})"));
  ASSERT_TRUE(s.ev("metadata", R"({"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7}})"));
  ASSERT_TRUE(
      s.ev("metadata", R"({"usage":{"inputTokens":30,"outputTokens":40,"totalTokens":70}})"));
  ASSERT_TRUE(s.tr->finish(s.out));
  const auto c = s.chunks();
  ASSERT_EQ(c.size(), 5u);  // role, text, finish, usage, [DONE]
  EXPECT_EQ(c[3].at("usage").at("total_tokens"), 7);
  EXPECT_EQ(s.tr->summary().usage.prompt_tokens, 3);
}

TEST(bedrock_stream, reasoning_deltas) {
  stream_run s;
  ASSERT_TRUE(s.ev("contentBlockDelta",
                   R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}})"));
  ASSERT_TRUE(s.ev("contentBlockDelta",
                   R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"s"}}})"));
  const auto c = s.chunks();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].at("choices").at(0).at("delta").at("reasoning_content"), "hmm");
}

TEST(bedrock_stream, message_stop_without_metadata_ends_cleanly) {
  stream_run s;
  ASSERT_TRUE(s.ev("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"x"}})"));
  ASSERT_TRUE(s.ev("messageStop", R"({"stopReason":"max_tokens"})"));
  ASSERT_TRUE(s.tr->finish(s.out));
  const auto c = s.chunks();
  EXPECT_EQ(c.back(), "[DONE]");
  EXPECT_EQ(s.tr->summary().finish_reason, "length");
  EXPECT_FALSE(s.tr->summary().usage.known);
}

TEST(bedrock_stream, ended_early_is_incomplete_stream) {
  stream_run s;
  ASSERT_TRUE(s.ev("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"x"}})"));
  const auto before = s.out;
  auto r = s.tr->finish(s.out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "incomplete_stream");
  EXPECT_EQ(r.error().status, 502);
  EXPECT_EQ(s.out, before);
}

TEST(bedrock_stream, exception_message_becomes_typed_error) {
  stream_run s;
  auto r = s.tr->on_event(
      stream::event{"modelStreamErrorException",
                    R"({"message":"model failed","originalStatusCode":500})", "exception"},
      s.out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "model failed");
  EXPECT_EQ(r.error().type, "modelStreamErrorException");
  EXPECT_EQ(r.error().code, "modelStreamErrorException");
  r = s.tr->on_event(stream::event{"InternalFailure", "internal error", "error"}, s.out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "internal error");
}

TEST(bedrock_stream, tool_delta_without_start_is_502) {
  stream_run s;
  auto r =
      s.ev("contentBlockDelta", R"({"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
}

// Kong's recorded stream (three base64 chunks) decoded at every split point gives one output.
TEST(bedrock_stream, kong_recording_split_at_every_byte) {
  std::string raw;
  for (int i = 1; i <= 3; ++i) {
    const auto b64 =
        testing::read_file(testing::source_dir() /
                           ("tests/fixtures/kong/spec/fixtures/ai-proxy/bedrock/chunks/chunk-" +
                            std::to_string(i) + ".txt"));
    std::string bin;
    bin.resize(b64.size());
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bin.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.find_last_not_of("\r\n") + 1));
    ASSERT_GT(n, 0);
    std::size_t pad = 0;
    for (auto it = b64.rbegin(); it != b64.rend() && (*it == '=' || *it == '\n' || *it == '\r');
         ++it) {
      pad += *it == '=' ? 1 : 0;
    }
    bin.resize(static_cast<std::size_t>(n) - pad);
    raw += bin;
  }
  const auto run = [&](std::size_t split) {
    stream::aws_eventstream_decoder d;
    std::vector<stream::event> events;
    EXPECT_TRUE(d.feed(std::string_view(raw).substr(0, split), events));
    EXPECT_TRUE(d.feed(std::string_view(raw).substr(split), events));
    EXPECT_TRUE(d.finish(events));
    stream_run s;
    for (const auto& e : events) {
      EXPECT_TRUE(s.tr->on_event(e, s.out));
    }
    EXPECT_TRUE(s.tr->finish(s.out));
    EXPECT_EQ(s.tr->summary().usage.prompt_tokens, 478);
    EXPECT_EQ(s.tr->summary().usage.completion_tokens, 44);
    return s.out;
  };
  const std::string whole = run(raw.size());
  EXPECT_TRUE(has(whole, R"("name":"add")")) << whole;
  EXPECT_TRUE(has(whole, R"("finish_reason":"tool_calls")")) << whole;
  for (std::size_t split = 0; split < raw.size(); split += 1) {
    ASSERT_EQ(run(split), whole) << "split at " << split;
  }
}

}  // namespace
}  // namespace aiproxy::providers
