// The mock provider: determinism, stream/plain agreement, ids on every chunk, tool calls,
// embeddings geometry and usage counting.
#include "golden_support.hpp"

#include "aiproxy/providers/mock.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace aiproxy::providers {
namespace {

using config::route_type;

struct mock_call {
  config::ai_proxy_config conf;
  boost::json::value body;
  header_list headers;

  mock_call(route_type rt, std::string_view json_body) : body(boost::json::parse(json_body)) {
    conf.route_type = rt;
    conf.model.provider = config::provider_kind::mock;
  }
  mock_reply run(bool stream, bool usage = false, std::string_view id = "id-1",
                 std::int64_t created = 42) {
    const target t{conf, conf.model.options, "mock-model", stream, usage, 0, {}};
    return make_mock_reply(client_request{body.as_object(), headers, {}}, t, id, created);
  }
};

std::vector<boost::json::value> payloads(const mock_reply& r) {
  std::vector<boost::json::value> out;
  for (const auto& c : r.chunks) {
    EXPECT_EQ(c.substr(0, 6), "data: ");
    EXPECT_EQ(c.substr(c.size() - 2), "\n\n");
    const auto p = std::string_view(c).substr(6, c.size() - 8);
    if (p != "[DONE]") {
      out.push_back(testing::parse_json(p));
    }
  }
  return out;
}

constexpr std::string_view hello = R"({"messages":[{"role":"system","content":"Be brief."},
    {"role":"user","content":"Hello there, mock"}]})";

TEST(mock, same_request_same_answer_and_no_hidden_inputs) {
  mock_call c(route_type::llm_v1_chat, hello);
  EXPECT_EQ(c.run(false).body, c.run(false).body);
  const auto a = testing::parse_json(c.run(false, false, "id-A", 1).body);
  EXPECT_EQ(a.at("id"), "id-A");
  EXPECT_EQ(a.at("created"), 1);
  EXPECT_EQ(a.at("object"), "chat.completion");
  EXPECT_EQ(a.at("model"), "mock-model");
  EXPECT_EQ(a.at("choices").at(0).at("message").at("content"), "Mock reply to: Hello there, mock");
}

TEST(mock, different_prompts_differ) {
  mock_call a(route_type::llm_v1_chat, hello);
  mock_call b(route_type::llm_v1_chat, R"({"messages":[{"role":"user","content":"Other"}]})");
  EXPECT_NE(a.run(false).body, b.run(false).body);
}

TEST(mock, usage_counts_words) {
  mock_call c(route_type::llm_v1_chat, hello);
  const auto r = c.run(false);
  EXPECT_TRUE(r.summary.usage.known);
  EXPECT_EQ(r.summary.usage.prompt_tokens, 5);      // "Be brief." + "Hello there, mock"
  EXPECT_EQ(r.summary.usage.completion_tokens, 6);  // "Mock reply to: Hello there, mock"
  EXPECT_EQ(r.summary.usage.total_tokens, 11);
  EXPECT_EQ(r.summary.finish_reason, "stop");
  EXPECT_EQ(r.summary.response_model, "mock-model");
}

TEST(mock, stream_concatenates_to_the_plain_answer) {
  mock_call c(route_type::llm_v1_chat, hello);
  const auto plain = testing::parse_json(c.run(false).body);
  const auto streamed = c.run(true, true, "id-S", 7);
  ASSERT_EQ(streamed.chunks.back(), "data: [DONE]\n\n");
  const auto chunks = payloads(streamed);
  std::string text;
  int finishes = 0;
  for (const auto& p : chunks) {
    EXPECT_EQ(p.at("id"), "id-S");
    EXPECT_EQ(p.at("created"), 7);
    EXPECT_EQ(p.at("object"), "chat.completion.chunk");
    EXPECT_EQ(p.at("model"), "mock-model");
    const auto& choices = p.at("choices").as_array();
    if (choices.empty()) {
      continue;
    }
    if (const auto* content = choices[0].at("delta").as_object().if_contains("content");
        content != nullptr && content->is_string()) {
      text += content->as_string();
    }
    finishes += choices[0].at("finish_reason").is_string() ? 1 : 0;
  }
  EXPECT_EQ(text, plain.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(finishes, 1);
  EXPECT_TRUE(chunks.back().at("choices").as_array().empty());
  EXPECT_EQ(chunks.back().at("usage"), plain.at("usage"));
}

TEST(mock, no_usage_chunk_unless_asked) {
  mock_call c(route_type::llm_v1_chat, hello);
  for (const auto& p : payloads(c.run(true, false))) {
    EXPECT_FALSE(p.as_object().contains("usage"));
    EXPECT_EQ(p.at("choices").as_array().size(), 1u);
  }
}

TEST(mock, fixed_reply) {
  mock_call c(route_type::llm_v1_chat, hello);
  c.conf.model.options.mock.reply = "Fixed mock reply.";
  const auto r = testing::parse_json(c.run(false).body);
  EXPECT_EQ(r.at("choices").at(0).at("message").at("content"), "Fixed mock reply.");
}

TEST(mock, tool_call_only_when_the_user_spoke_last_and_tools_allowed) {
  constexpr std::string_view tools =
      R"("tools":[{"type":"function","function":{"name":"first","parameters":{"type":"object",
      "properties":{"n":{"type":"integer"}},"required":["n"]}}},
      {"type":"function","function":{"name":"second"}}])";
  const auto body = [&](std::string_view msgs, std::string_view extra) {
    return "{\"messages\":" + std::string(msgs) + "," + std::string(tools) + std::string(extra) +
           "}";
  };
  const std::string user = R"([{"role":"user","content":"go"}])";
  {
    mock_call c(route_type::llm_v1_chat, body(user, ""));
    const auto r = c.run(false);
    const auto j = testing::parse_json(r.body);
    const auto& call = j.at("choices").at(0).at("message").at("tool_calls").at(0);
    EXPECT_EQ(call.at("function").at("name"), "first");
    EXPECT_EQ(call.at("function").at("arguments"), R"({"n":1})");
    EXPECT_EQ(r.summary.finish_reason, "tool_calls");
  }
  {
    mock_call c(route_type::llm_v1_chat,
                body(user, R"(,"tool_choice":{"type":"function","function":{"name":"second"}})"));
    const auto j = testing::parse_json(c.run(false).body);
    EXPECT_EQ(j.at("choices").at(0).at("message").at("tool_calls").at(0).at("function").at("name"),
              "second");
  }
  {
    mock_call c(route_type::llm_v1_chat, body(user, R"(,"tool_choice":"none")"));
    EXPECT_EQ(c.run(false).summary.finish_reason, "stop");
  }
  {
    mock_call c(route_type::llm_v1_chat,
                body(R"([{"role":"user","content":"go"},{"role":"tool","tool_call_id":"c",
                    "content":"42 degrees"}])",
                     ""));
    const auto j = testing::parse_json(c.run(false).body);
    EXPECT_EQ(j.at("choices").at(0).at("message").at("content"), "Tool result: 42 degrees");
  }
}

TEST(mock, completions_answer_in_text) {
  mock_call c(route_type::llm_v1_completions, R"({"prompt":"Say hi"})");
  const auto j = testing::parse_json(c.run(false).body);
  EXPECT_EQ(j.at("object"), "text_completion");
  EXPECT_EQ(j.at("choices").at(0).at("text"), "Mock reply to: Say hi");
}

TEST(mock, embeddings_are_deterministic_unit_vectors) {
  mock_call c(route_type::llm_v1_embeddings, R"({"input":["alpha","beta","alpha"]})");
  const auto j = testing::parse_json(c.run(false).body);
  const auto& data = j.at("data").as_array();
  ASSERT_EQ(data.size(), 3u);
  for (const auto& d : data) {
    const auto& v = d.at("embedding").as_array();
    ASSERT_EQ(v.size(), 8u);
    double norm = 0;
    for (const auto& x : v) {
      norm += x.to_number<double>() * x.to_number<double>();
    }
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5);
  }
  EXPECT_EQ(data[0].at("embedding"), data[2].at("embedding"));
  EXPECT_NE(data[0].at("embedding"), data[1].at("embedding"));
  EXPECT_EQ(data[1].at("index"), 1);
  EXPECT_EQ(j.at("usage").at("prompt_tokens"), 3);
}

TEST(mock, embeddings_dimensions_from_request_or_config) {
  mock_call c(route_type::llm_v1_embeddings, R"({"input":"x","dimensions":16})");
  EXPECT_EQ(
      testing::parse_json(c.run(false).body).at("data").at(0).at("embedding").as_array().size(),
      16u);
  mock_call d(route_type::llm_v1_embeddings, R"({"input":"x"})");
  d.conf.model.options.embeddings_dimensions = 3;
  EXPECT_EQ(
      testing::parse_json(d.run(false).body).at("data").at(0).at("embedding").as_array().size(),
      3u);
  mock_call huge(route_type::llm_v1_embeddings, R"({"input":"x","dimensions":100000000})");
  EXPECT_EQ(
      testing::parse_json(huge.run(false).body).at("data").at(0).at("embedding").as_array().size(),
      8u);
}

TEST(mock, embeddings_base64_is_float32_little_endian) {
  mock_call f(route_type::llm_v1_embeddings, R"({"input":"x","dimensions":3})");
  mock_call b(route_type::llm_v1_embeddings,
              R"({"input":"x","dimensions":3,"encoding_format":"base64"})");
  const auto floats = testing::parse_json(f.run(false).body).at("data").at(0).at("embedding");
  const auto b64 = testing::parse_json(b.run(false).body).at("data").at(0).at("embedding");
  ASSERT_TRUE(b64.is_string());
  EXPECT_EQ(b64.as_string().size(), 16u);  // 12 bytes -> 16 base64 chars
  EXPECT_EQ(floats.as_array().size(), 3u);
}

}  // namespace
}  // namespace aiproxy::providers
