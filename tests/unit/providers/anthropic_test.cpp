// Anthropic translator: request mapping details and the 400s for what Anthropic cannot
// express, response mapping, the finish-reason and error-type tables, error normalization, and
// the stream translators fed event by event and byte by byte. Test-only.
#include "golden_support.hpp"

#include "aiproxy/providers/anthropic.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/stream/decoder.hpp"

#include <gtest/gtest.h>

namespace aiproxy::providers {
namespace {

using config::provider_kind;
using config::route_type;
using testing::parse_json;

config::ai_proxy_config make_conf(route_type rt = route_type::llm_v1_chat) {
  config::ai_proxy_config c;
  c.model.provider = provider_kind::anthropic;
  c.route_type = rt;
  c.model.name = "claude-sonnet-4-20250514";
  c.model.options.anthropic_version = "2023-06-01";
  c.auth.header_name = "x-api-key";
  c.auth.header_value = "sk-ant";
  return c;
}

struct run_result {
  result<upstream_request> up;
  boost::json::value body;  // the upstream body, parsed (null on error)
};

run_result translate(const config::ai_proxy_config& conf, std::string_view client_body,
                     bool stream = false) {
  const auto parsed = parse_json(client_body);
  header_list headers;
  const target t{conf,  conf.model.options, conf.model.name, stream,
                 false, 1700000000,         "chatcmpl-x"};
  const client_request req{parsed.as_object(), headers, {}};
  run_result r{anthropic_provider().to_upstream(req, t), {}};
  if (r.up) {
    r.body = parse_json(r.up->body);
  }
  return r;
}

std::string error_of(const config::ai_proxy_config& conf, std::string_view client_body) {
  auto r = translate(conf, client_body);
  EXPECT_FALSE(r.up) << "expected a 400 for " << client_body;
  if (r.up) {
    return {};
  }
  EXPECT_EQ(r.up.error().status, 400);
  return r.up.error().message;
}

const boost::json::value& at(const boost::json::value& v, std::string_view key) {
  return v.as_object().at(key);
}

// ---------------------------------------------------------------- requests

TEST(anthropic_request, endpoint_headers_and_default_max_tokens) {
  auto conf = make_conf();
  conf.model.options.anthropic_version.clear();
  auto r = translate(conf, R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r.up);
  EXPECT_EQ(r.up->host, "api.anthropic.com");
  EXPECT_EQ(r.up->target, "/v1/messages");
  EXPECT_EQ(r.up->headers.get("anthropic-version").value_or(""), "2023-06-01");
  EXPECT_EQ(r.up->headers.get("x-api-key").value_or(""), "sk-ant");
  EXPECT_EQ(r.up->headers.get("Accept-Encoding").value_or(""), "identity");
  EXPECT_EQ(at(r.body, "max_tokens").as_int64(), anthropic_default_max_tokens);
  EXPECT_EQ(at(r.body, "messages").as_array().at(0).as_object().at("content").as_string(), "hi");
  EXPECT_FALSE(r.body.as_object().contains("tool_choice"));
}

TEST(anthropic_request, configured_version_and_max_tokens_precedence) {
  auto conf = make_conf();
  conf.model.options.anthropic_version = "2024-10-22";
  conf.model.options.max_tokens = 100;
  auto r = translate(conf, R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":7})");
  ASSERT_TRUE(r.up);
  EXPECT_EQ(r.up->headers.get("anthropic-version").value_or(""), "2024-10-22");
  EXPECT_EQ(at(r.body, "max_tokens").as_int64(), 7);  // precedence request: the client's
  conf.precedence = config::options_precedence::config;
  r = translate(conf, R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":7})");
  ASSERT_TRUE(r.up);
  EXPECT_EQ(at(r.body, "max_tokens").as_int64(), 100);
}

TEST(anthropic_request, system_messages_all_kept_in_order) {
  auto r = translate(make_conf(), R"({"messages":[
    {"role":"system","content":"one"},{"role":"user","content":"hi"},
    {"role":"developer","content":[{"type":"text","text":"two"}]},{"role":"system","content":""}]})");
  ASSERT_TRUE(r.up);
  const auto& sys = at(r.body, "system").as_array();
  ASSERT_EQ(sys.size(), 2u);
  EXPECT_EQ(sys[0].as_object().at("text").as_string(), "one");
  EXPECT_EQ(sys[1].as_object().at("text").as_string(), "two");
}

TEST(anthropic_request, same_role_turns_merge) {
  auto r = translate(make_conf(), R"({"messages":[
    {"role":"user","content":"a"},{"role":"user","content":"b"},
    {"role":"assistant","content":"c"},{"role":"assistant","content":"d"}]})");
  ASSERT_TRUE(r.up);
  const auto& msgs = at(r.body, "messages").as_array();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(at(msgs[0], "content").as_array().size(), 2u);
  EXPECT_EQ(at(msgs[1], "role").as_string(), "assistant");
  EXPECT_EQ(at(msgs[1], "content").as_array().size(), 2u);
}

TEST(anthropic_request, images_and_documents) {
  auto r = translate(make_conf(), R"({"messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/webp;base64,UklGRg=="}},
    {"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}},
    {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}}]}]})");
  ASSERT_TRUE(r.up);
  const auto& blocks = at(at(r.body, "messages").as_array()[0], "content").as_array();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(parse_json(R"({"type":"image","source":{"type":"base64","media_type":"image/webp",
            "data":"UklGRg=="}})"),
            blocks[0]);
  EXPECT_EQ(
      parse_json(R"({"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"}})"),
      blocks[1]);
  EXPECT_EQ(at(at(blocks[2], "source"), "media_type").as_string(), "application/pdf");
  EXPECT_EQ(at(blocks[2], "title").as_string(), "a.pdf");
}

TEST(anthropic_request, tool_calls_and_results) {
  auto r = translate(make_conf(), R"({"messages":[
    {"role":"user","content":"q"},
    {"role":"assistant","content":"let me see","tool_calls":[
      {"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
    {"role":"tool","tool_call_id":"t1","content":"42"},
    {"role":"user","content":"thanks"}]})");
  ASSERT_TRUE(r.up);
  const auto& msgs = at(r.body, "messages").as_array();
  ASSERT_EQ(msgs.size(), 3u);
  const auto& assistant = at(msgs[1], "content").as_array();
  ASSERT_EQ(assistant.size(), 2u);
  EXPECT_EQ(at(assistant[0], "text").as_string(), "let me see");
  EXPECT_EQ(parse_json(R"({"type":"tool_use","id":"t1","name":"f","input":{"a":1}})"),
            assistant[1]);
  const auto& user = at(msgs[2], "content").as_array();
  ASSERT_EQ(user.size(), 2u);  // the tool result and the next user text share one turn
  EXPECT_EQ(parse_json(R"({"type":"tool_result","tool_use_id":"t1","content":"42"})"), user[0]);
  EXPECT_EQ(at(user[1], "text").as_string(), "thanks");
}

TEST(anthropic_request, tool_choice_table) {
  const auto choice_for = [](std::string_view extra) {
    std::string body = R"({"messages":[{"role":"user","content":"q"}],
      "tools":[{"type":"function","function":{"name":"f"}}])";
    body += extra;
    body += "}";
    auto r = translate(make_conf(), body);
    EXPECT_TRUE(r.up) << body;
    const auto* tc = r.up ? r.body.as_object().if_contains("tool_choice") : nullptr;
    return tc != nullptr ? json::to_json(*tc) : std::string("absent");
  };
  EXPECT_EQ(choice_for(""), "absent");
  EXPECT_EQ(choice_for(R"(,"tool_choice":"auto")"), R"({"type":"auto"})");
  EXPECT_EQ(choice_for(R"(,"tool_choice":"none")"), R"({"type":"none"})");
  EXPECT_EQ(choice_for(R"(,"tool_choice":"required")"), R"({"type":"any"})");
  EXPECT_EQ(choice_for(R"(,"tool_choice":{"type":"function","function":{"name":"f"}})"),
            R"({"type":"tool","name":"f"})");
  EXPECT_EQ(choice_for(R"(,"parallel_tool_calls":false)"),
            R"({"type":"auto","disable_parallel_tool_use":true})");
  EXPECT_EQ(choice_for(R"(,"parallel_tool_calls":true)"), "absent");
  EXPECT_EQ(choice_for(R"(,"tool_choice":"none","parallel_tool_calls":false)"),
            R"({"type":"none"})");
  // JSON mode next to client tools: the answer must come through some tool.
  EXPECT_EQ(choice_for(R"(,"response_format":{"type":"json_object"})"), R"({"type":"any"})");
  EXPECT_EQ(choice_for(R"(,"response_format":{"type":"json_object"},"tool_choice":"none")"),
            R"({"type":"tool","name":"aiproxy_json_response"})");
}

TEST(anthropic_request, tool_without_parameters_gets_an_empty_object_schema) {
  auto r = translate(make_conf(), R"({"messages":[{"role":"user","content":"q"}],
    "tools":[{"type":"function","function":{"name":"f","description":"d"}}]})");
  ASSERT_TRUE(r.up);
  EXPECT_EQ(parse_json(R"([{"name":"f","description":"d",
            "input_schema":{"type":"object","properties":{}}}])"),
            at(r.body, "tools"));
}

TEST(anthropic_request, json_mode_forces_the_json_tool) {
  auto r = translate(make_conf(), R"({"messages":[{"role":"user","content":"q"}],
    "response_format":{"type":"json_object"}})");
  ASSERT_TRUE(r.up);
  const auto& tools = at(r.body, "tools").as_array();
  ASSERT_EQ(tools.size(), 1u);
  EXPECT_EQ(at(tools[0], "name").as_string(), anthropic_json_tool);
  EXPECT_EQ(parse_json(R"({"type":"object"})"), at(tools[0], "input_schema"));
  EXPECT_EQ(parse_json(R"({"type":"tool","name":"aiproxy_json_response"})"),
            at(r.body, "tool_choice"));
}

TEST(anthropic_request, sampling_stop_user) {
  auto conf = make_conf();
  conf.model.options.top_k = 5;
  auto r = translate(conf, R"({"messages":[{"role":"user","content":"q"}],"temperature":0.3,
    "top_p":0.5,"stop":"END","user":"u1","max_completion_tokens":9,"n":1,"logprobs":false,
    "presence_penalty":0,"stream_options":{"include_usage":true}})",
                     true);
  ASSERT_TRUE(r.up);
  EXPECT_EQ(at(r.body, "temperature").as_double(), 0.3);
  EXPECT_EQ(at(r.body, "top_p").as_double(), 0.5);
  EXPECT_EQ(at(r.body, "top_k").as_int64(), 5);
  EXPECT_EQ(parse_json(R"(["END"])"), at(r.body, "stop_sequences"));
  EXPECT_EQ(parse_json(R"({"user_id":"u1"})"), at(r.body, "metadata"));
  EXPECT_EQ(at(r.body, "max_tokens").as_int64(), 9);
  EXPECT_TRUE(at(r.body, "stream").as_bool());
  EXPECT_EQ(r.up->framing, stream::framing::sse);
  EXPECT_FALSE(r.body.as_object().contains("n"));
}

TEST(anthropic_request, inexpressible_fields_are_400s) {
  const auto conf = make_conf();
  const std::string base = R"({"messages":[{"role":"user","content":"q"}],)";
  EXPECT_NE(error_of(conf, base + R"("seed":1})").find("seed"), std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("n":3})").find("n other than 1"), std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("logprobs":true})").find("logprobs"), std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("top_logprobs":2})").find("top_logprobs"), std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("logit_bias":{"1":2}})").find("logit_bias"),
            std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("frequency_penalty":0.5})").find("frequency_penalty"),
            std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("modalities":["text","audio"]})").find("modalities"),
            std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("reasoning_effort":"high"})").find("reasoning_effort"),
            std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("functions":[{"name":"f"}]})").find("use tools"),
            std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("tools":[{"type":"web_search"}]})").find("tools[0].type"),
            std::string::npos);
  EXPECT_NE(error_of(conf, base + R"("response_format":{"type":"json_schema","json_schema":
    {"name":"x","schema":{"type":"array"}}}})")
                .find("must describe an object"),
            std::string::npos);
}

TEST(anthropic_request, malformed_messages_are_400s) {
  const auto conf = make_conf();
  EXPECT_NE(error_of(conf, R"({"messages":[{"role":"function","name":"f","content":"x"}]})")
                .find("messages[0].role 'function'"),
            std::string::npos);
  EXPECT_NE(error_of(conf, R"({"messages":[{"role":"tool","content":"x"}]})")
                .find("messages[0].tool_call_id"),
            std::string::npos);
  EXPECT_NE(error_of(conf, R"({"messages":[{"role":"assistant","content":null,"tool_calls":[
    {"id":"t","type":"function","function":{"name":"f","arguments":"[1]"}}]}]})")
                .find("messages[0].tool_calls[0].function.arguments"),
            std::string::npos);
  EXPECT_NE(error_of(conf, R"({"messages":[{"role":"user","content":[
    {"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]})")
                .find("audio input is not supported by anthropic"),
            std::string::npos);
  EXPECT_NE(error_of(conf, R"({"messages":[{"role":"system","content":[
    {"type":"image_url","image_url":{"url":"https://x/y.png"}}]},{"role":"user","content":"q"}]})")
                .find("only text in system"),
            std::string::npos);
}

TEST(anthropic_request, completions_prompt_and_limits) {
  const auto conf = make_conf(route_type::llm_v1_completions);
  auto r = translate(conf, R"({"prompt":"Why?","max_tokens":20,"stop":["x"]})");
  ASSERT_TRUE(r.up);
  EXPECT_EQ(r.up->target, "/v1/complete");
  EXPECT_EQ(at(r.body, "prompt").as_string(), "\n\nHuman: Why?\n\nAssistant:");
  EXPECT_EQ(at(r.body, "max_tokens_to_sample").as_int64(), 20);
  EXPECT_EQ(parse_json(R"(["x"])"), at(r.body, "stop_sequences"));
  r = translate(conf, R"({"prompt":["\n\nHuman: Hi\n\nAssistant:"]})");
  ASSERT_TRUE(r.up);
  EXPECT_EQ(at(r.body, "prompt").as_string(), "\n\nHuman: Hi\n\nAssistant:");
  EXPECT_EQ(at(r.body, "max_tokens_to_sample").as_int64(), anthropic_default_max_tokens);
  EXPECT_NE(error_of(conf, R"({"prompt":["a","b"]})").find("prompt must be one string"),
            std::string::npos);
  EXPECT_NE(error_of(conf, R"({"prompt":"a","echo":true})").find("echo"), std::string::npos);
}

TEST(anthropic_request, embeddings_have_no_api) {
  EXPECT_EQ(error_of(make_conf(route_type::llm_v1_embeddings), R"({"input":"x"})"),
            "anthropic has no embeddings API");
}

// ---------------------------------------------------------------- responses

result<translated_response> respond(std::string_view body,
                                    route_type rt = route_type::llm_v1_chat) {
  static config::ai_proxy_config conf;
  conf = make_conf(rt);
  const target t{conf, conf.model.options, conf.model.name, false, false, 1700000000, "gw-id"};
  return anthropic_provider().from_upstream(body, t);
}

TEST(anthropic_response, joins_text_and_maps_tools_and_reasoning) {
  auto r = respond(R"({"id":"msg_1","type":"message","model":"claude-x","content":[
    {"type":"thinking","thinking":"hmm","signature":"s"},
    {"type":"text","text":"a"},{"type":"text","text":"b"},
    {"type":"tool_use","id":"tu","name":"f","input":{"x":[1,2]}}],
    "stop_reason":"tool_use","usage":{"input_tokens":3,"cache_creation_input_tokens":4,
    "cache_read_input_tokens":5,"output_tokens":6}})");
  ASSERT_TRUE(r);
  const auto body = parse_json(*r->body);
  EXPECT_EQ(at(body, "id").as_string(), "msg_1");
  EXPECT_EQ(at(body, "created").as_int64(), 1700000000);
  const auto& choice = at(body, "choices").as_array()[0];
  EXPECT_EQ(at(choice, "finish_reason").as_string(), "tool_calls");
  const auto& msg = at(choice, "message");
  EXPECT_EQ(at(msg, "content").as_string(), "ab");
  EXPECT_EQ(at(msg, "reasoning_content").as_string(), "hmm");
  EXPECT_EQ(at(at(at(msg, "tool_calls").as_array()[0], "function"), "arguments").as_string(),
            R"({"x":[1,2]})");
  EXPECT_EQ(parse_json(R"({"prompt_tokens":12,"completion_tokens":6,"total_tokens":18,
            "prompt_tokens_details":{"cached_tokens":5}})"),
            at(body, "usage"));
  EXPECT_TRUE(r->summary.usage.known);
  EXPECT_EQ(r->summary.usage.cached_tokens, 5);
  EXPECT_EQ(r->summary.finish_reason, "tool_calls");
  EXPECT_EQ(r->summary.response_model, "claude-x");
}

TEST(anthropic_response, only_tool_calls_means_null_content) {
  auto r = respond(R"({"id":"m","model":"c","content":[
    {"type":"tool_use","id":"tu","name":"f","input":{}}],"stop_reason":"tool_use"})");
  ASSERT_TRUE(r);
  const auto body = parse_json(*r->body);
  EXPECT_TRUE(at(at(at(body, "choices").as_array()[0], "message"), "content").is_null());
  EXPECT_FALSE(r->summary.usage.known);
}

TEST(anthropic_response, not_anthropic_shape_is_502) {
  auto r = respond(R"({"choices":[]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  EXPECT_NE(r.error().message.find("'content' not in"), std::string::npos);
  r = respond("not json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
  r = respond(R"({"type":"error","error":{"type":"api_error","message":"boom"}})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("boom"), std::string::npos);
  r = respond(R"({"stop_reason":"x"})", route_type::llm_v1_completions);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'completion' not in"), std::string::npos);
}

TEST(anthropic_response, finish_reason_table) {
  EXPECT_EQ(anthropic_finish_reason("end_turn", false), "stop");
  EXPECT_EQ(anthropic_finish_reason("stop_sequence", false), "stop");
  EXPECT_EQ(anthropic_finish_reason("pause_turn", false), "stop");
  EXPECT_EQ(anthropic_finish_reason("max_tokens", false), "length");
  EXPECT_EQ(anthropic_finish_reason("model_context_window_exceeded", false), "length");
  EXPECT_EQ(anthropic_finish_reason("tool_use", true), "tool_calls");
  EXPECT_EQ(anthropic_finish_reason("tool_use", false), "stop");  // JSON-mode tool only
  EXPECT_EQ(anthropic_finish_reason("refusal", false), "content_filter");
  EXPECT_EQ(anthropic_finish_reason("", false), "stop");
}

TEST(anthropic_errors, type_table_and_normalization) {
  EXPECT_EQ(anthropic_error_type_to_openai("invalid_request_error", 400), "invalid_request_error");
  EXPECT_EQ(anthropic_error_type_to_openai("authentication_error", 401), "authentication_error");
  EXPECT_EQ(anthropic_error_type_to_openai("permission_error", 403), "permission_error");
  EXPECT_EQ(anthropic_error_type_to_openai("not_found_error", 404), "not_found_error");
  EXPECT_EQ(anthropic_error_type_to_openai("rate_limit_error", 429), "rate_limit_error");
  EXPECT_EQ(anthropic_error_type_to_openai("api_error", 500), "server_error");
  EXPECT_EQ(anthropic_error_type_to_openai("overloaded_error", 529), "server_error");
  EXPECT_EQ(anthropic_error_type_to_openai("request_too_large", 413), "invalid_request_error");
  EXPECT_EQ(anthropic_error_type_to_openai("billing_error", 402), "invalid_request_error");

  const auto& p = anthropic_provider();
  auto e = p.openai_error(
      529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(parse_json(*e), parse_json(R"({"error":{"message":"Overloaded","type":"server_error",
            "param":null,"code":"overloaded_error"}})"));
  EXPECT_FALSE(p.openai_error(500, "<html>oops</html>"));
  EXPECT_FALSE(p.openai_error(500, R"({"detail":"x"})"));
}

// ---------------------------------------------------------------- streams

struct stream_run {
  std::string out;
  std::optional<error> err;
  response_summary summary;
  std::string text;
};

std::vector<stream::event> decode_sse(std::string_view bytes, std::size_t split = 0) {
  auto d = stream::make_decoder(stream::framing::sse);
  std::vector<stream::event> events;
  if (split == 0) {
    EXPECT_TRUE(d->feed(bytes, events));
  } else {
    EXPECT_TRUE(d->feed(bytes.substr(0, split), events));
    EXPECT_TRUE(d->feed(bytes.substr(split), events));
  }
  EXPECT_TRUE(d->finish(events));
  return events;
}

stream_run run_stream(const std::vector<stream::event>& events,
                      route_type rt = route_type::llm_v1_chat, bool wants_usage = true) {
  static config::ai_proxy_config conf;
  conf = make_conf(rt);
  conf.logging.log_payloads = true;
  const target t{conf, conf.model.options, conf.model.name, true, wants_usage, 1700000000, "gw"};
  auto tr = anthropic_provider().make_stream_translator(t);
  stream_run r;
  for (const auto& ev : events) {
    if (auto x = tr->on_event(ev, r.out); !x) {
      r.err = x.error();
      break;
    }
  }
  if (!r.err) {
    if (auto f = tr->finish(r.out); !f) {
      r.err = f.error();
    }
  }
  r.summary = tr->summary();
  r.text = std::string(tr->text());
  return r;
}

stream::event sse(std::string name, std::string data) {
  return stream::event{std::move(name), std::move(data), {}};
}

std::vector<stream::event> tool_events() {
  return {
      sse("message_start", R"({"type":"message_start","message":{"id":"msg_9","model":"claude-m",
        "usage":{"input_tokens":10,"output_tokens":1}}})"),
      sse("content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"),
      sse("content_block_start", R"({"type":"content_block_start","index":1,
        "content_block":{"type":"tool_use","id":"tu_1","name":"f","input":{}}})"),
      sse("content_block_delta", R"({"type":"content_block_delta","index":1,
        "delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})"),
      sse("content_block_delta", R"({"type":"content_block_delta","index":1,
        "delta":{"type":"input_json_delta","partial_json":"1}"}})"),
      sse("content_block_start", R"({"type":"content_block_start","index":2,
        "content_block":{"type":"tool_use","id":"tu_2","name":"g","input":{}}})"),
      sse("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},
        "usage":{"output_tokens":30}})"),
      sse("message_stop", R"({"type":"message_stop"})"),
  };
}

std::vector<boost::json::value> chunks_of(std::string_view sse_text) {
  std::vector<boost::json::value> out;
  for (const auto& ev : decode_sse(sse_text)) {
    if (ev.data != "[DONE]") {
      out.push_back(parse_json(ev.data));
    }
  }
  return out;
}

TEST(anthropic_stream, tool_indexes_count_tool_blocks_only) {
  const auto r = run_stream(tool_events());
  ASSERT_FALSE(r.err) << r.err->message;
  std::vector<std::string> starts;
  std::string args;
  for (const auto& c : chunks_of(r.out)) {
    const auto& choices = at(c, "choices").as_array();
    if (choices.empty()) {
      continue;
    }
    const auto& delta = at(choices[0], "delta").as_object();
    if (const auto* tc = delta.if_contains("tool_calls")) {
      const auto& call = tc->as_array()[0].as_object();
      const auto index = call.at("index").as_int64();
      if (call.contains("id")) {
        starts.push_back(std::to_string(index) + ":" + std::string(call.at("id").as_string()));
      } else {
        EXPECT_EQ(index, 0);
        args += call.at("function").as_object().at("arguments").as_string();
      }
    }
  }
  EXPECT_EQ(starts, (std::vector<std::string>{"0:tu_1", "1:tu_2"}));
  EXPECT_EQ(args, R"({"a":1})");
  EXPECT_EQ(r.summary.finish_reason, "tool_calls");
  EXPECT_EQ(r.text, "Hi");
  EXPECT_EQ(r.out.substr(r.out.size() - 14), "data: [DONE]\n\n");
}

TEST(anthropic_stream, cumulative_usage_is_set_not_added) {
  const auto r = run_stream(tool_events());
  ASSERT_FALSE(r.err);
  EXPECT_TRUE(r.summary.usage.known);
  EXPECT_EQ(r.summary.usage.prompt_tokens, 10);
  EXPECT_EQ(r.summary.usage.completion_tokens, 30);  // not 31
  const auto chunks = chunks_of(r.out);
  ASSERT_FALSE(chunks.empty());
  const auto& last = chunks.back();
  EXPECT_TRUE(at(last, "choices").as_array().empty());
  EXPECT_EQ(at(at(last, "usage"), "total_tokens").as_int64(), 40);
  EXPECT_EQ(at(last, "id").as_string(), "msg_9");
  EXPECT_EQ(at(last, "model").as_string(), "claude-m");
}

TEST(anthropic_stream, message_delta_may_restate_input_usage) {
  auto events = tool_events();
  events[7] = sse("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},
    "usage":{"input_tokens":12,"cache_read_input_tokens":3,"output_tokens":30}})");
  const auto r = run_stream(events);
  ASSERT_FALSE(r.err);
  EXPECT_EQ(r.summary.usage.prompt_tokens, 15);
  EXPECT_EQ(r.summary.usage.cached_tokens, 3);
}

TEST(anthropic_stream, one_finish_chunk_then_nothing_after_message_stop) {
  auto events = tool_events();
  events.push_back(sse("message_stop", R"({"type":"message_stop"})"));
  events.push_back(sse("content_block_delta", R"({"type":"content_block_delta","index":0,
    "delta":{"type":"text_delta","text":"late"}})"));
  const auto r = run_stream(events, route_type::llm_v1_chat, false);
  ASSERT_FALSE(r.err);
  int finishes = 0;
  for (const auto& c : chunks_of(r.out)) {
    const auto& choices = at(c, "choices").as_array();
    ASSERT_FALSE(choices.empty());  // no usage chunk: the client did not ask
    if (!at(choices[0], "finish_reason").is_null()) {
      ++finishes;
    }
  }
  EXPECT_EQ(finishes, 1);
  EXPECT_EQ(r.out.find("late"), std::string::npos);
}

TEST(anthropic_stream, truncated_stream_is_incomplete) {
  auto events = tool_events();
  events.resize(4);
  const auto r = run_stream(events);
  ASSERT_TRUE(r.err);
  EXPECT_EQ(r.err->status, 502);
  EXPECT_EQ(r.err->code, "incomplete_stream");
  EXPECT_EQ(r.err->message, "anthropic stream ended before its final event");
  EXPECT_NE(r.out.find("\"Hi\""), std::string::npos);  // what was written stays
  EXPECT_EQ(r.out.find("[DONE]"), std::string::npos);
}

TEST(anthropic_stream, error_event_carries_anthropic_type) {
  auto events = tool_events();
  events.resize(3);
  events.push_back(sse("error", R"({"type":"error","error":{"type":"overloaded_error",
    "message":"Overloaded"}})"));
  const auto r = run_stream(events);
  ASSERT_TRUE(r.err);
  EXPECT_EQ(r.err->message, "Overloaded");
  EXPECT_EQ(r.err->code, "overloaded_error");
  EXPECT_EQ(r.err->type, "server_error");
}

TEST(anthropic_stream, garbage_event_is_502) {
  const auto r = run_stream({sse("message_start", "{not json")});
  ASSERT_TRUE(r.err);
  EXPECT_EQ(r.err->status, 502);
}

TEST(anthropic_stream, every_byte_split_gives_the_same_output) {
  std::string bytes;
  for (const auto& ev : tool_events()) {
    bytes += "event: " + ev.name + "\ndata: ";
    for (const char c : ev.data) {
      bytes.push_back(c == '\n' ? ' ' : c);
    }
    bytes += "\n\n";
  }
  const auto whole = run_stream(decode_sse(bytes));
  ASSERT_FALSE(whole.err);
  for (std::size_t i = 1; i < bytes.size(); ++i) {
    const auto split = run_stream(decode_sse(bytes, i));
    ASSERT_FALSE(split.err) << "split at " << i;
    ASSERT_EQ(split.out, whole.out) << "split at " << i;
  }
}

TEST(anthropic_stream, json_mode_tool_becomes_content) {
  const std::vector<stream::event> events = {
      sse("message_start", R"({"type":"message_start","message":{"id":"m","model":"c",
        "usage":{"input_tokens":1,"output_tokens":1}}})"),
      sse("content_block_start", R"({"type":"content_block_start","index":0,
        "content_block":{"type":"tool_use","id":"t","name":"aiproxy_json_response","input":{}}})"),
      sse("content_block_delta", R"({"type":"content_block_delta","index":0,
        "delta":{"type":"input_json_delta","partial_json":"{\"ok\":true}"}})"),
      sse("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},
        "usage":{"output_tokens":5}})"),
      sse("message_stop", R"({"type":"message_stop"})"),
  };
  const auto r = run_stream(events);
  ASSERT_FALSE(r.err);
  EXPECT_EQ(r.text, R"({"ok":true})");
  EXPECT_EQ(r.summary.finish_reason, "stop");
  EXPECT_EQ(r.out.find("tool_calls"), std::string::npos);
}

TEST(anthropic_stream, legacy_completion_stream) {
  const std::vector<stream::event> events = {
      sse("completion",
          R"({"type":"completion","completion":" Hi","stop_reason":null,"model":"claude-2.0"})"),
      sse("ping", R"({"type":"ping"})"),
      sse("completion",
          R"({"type":"completion","completion":"","stop_reason":"max_tokens","model":"claude-2.0"})"),
  };
  const auto r = run_stream(events, route_type::llm_v1_completions, false);
  ASSERT_FALSE(r.err);
  EXPECT_EQ(r.text, " Hi");
  EXPECT_EQ(r.summary.finish_reason, "length");
  const auto chunks = chunks_of(r.out);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(at(chunks[0], "object").as_string(), "text_completion");
  EXPECT_EQ(at(at(chunks[0], "choices").as_array()[0], "text").as_string(), " Hi");

  const auto cut = run_stream({events[0]}, route_type::llm_v1_completions);
  ASSERT_TRUE(cut.err);
  EXPECT_EQ(cut.err->code, "incomplete_stream");
}

}  // namespace
}  // namespace aiproxy::providers
