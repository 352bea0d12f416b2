// scan_openai_response: the SAX pass over whole OpenAI-shaped responses must read exactly what
// the DOM reader (read_openai_summary) reads, on every recorded response and on edge cases.
#include "golden_support.hpp"

#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/openai_response_scan.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace aiproxy::providers {
namespace {

void expect_same_as_dom(std::string_view body, std::string_view field = "choices") {
  const auto scan = scan_openai_response(body, field);
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  ASSERT_EQ(scan.has_value(), !ec) << body;
  if (ec) {
    return;
  }
  ASSERT_EQ(scan->is_object, v.is_object()) << body;
  if (!v.is_object()) {
    return;
  }
  const auto* payload = v.as_object().if_contains(field);
  EXPECT_EQ(scan->has_payload, payload != nullptr && payload->is_array()) << body;
  response_summary dom;
  read_openai_summary(v.as_object(), dom);
  const auto& s = scan->summary;
  EXPECT_EQ(s.response_model, dom.response_model) << body;
  EXPECT_EQ(s.finish_reason, dom.finish_reason) << body;
  EXPECT_EQ(s.usage.known, dom.usage.known) << body;
  EXPECT_EQ(s.usage.prompt_tokens, dom.usage.prompt_tokens) << body;
  EXPECT_EQ(s.usage.completion_tokens, dom.usage.completion_tokens) << body;
  EXPECT_EQ(s.usage.total_tokens, dom.usage.total_tokens) << body;
  EXPECT_EQ(s.usage.cached_tokens, dom.usage.cached_tokens) << body;
  EXPECT_EQ(s.usage.reasoning_tokens, dom.usage.reasoning_tokens) << body;
}

TEST(openai_response_scan, reads_model_finish_reason_and_usage) {
  const auto scan = scan_openai_response(
      R"({"id":"x","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":
      "assistant","content":"hi","finish_reason":"nested"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":14,
      "prompt_tokens_details":{"cached_tokens":4},
      "completion_tokens_details":{"reasoning_tokens":2}}})",
      "choices");
  ASSERT_TRUE(scan);
  EXPECT_TRUE(scan->has_payload);
  EXPECT_EQ(scan->summary.response_model, "gpt-4o-2024-08-06");
  EXPECT_EQ(scan->summary.finish_reason, "stop");
  EXPECT_TRUE(scan->summary.usage.known);
  EXPECT_EQ(scan->summary.usage.total_tokens, 14);
  EXPECT_EQ(scan->summary.usage.cached_tokens, 4);
  EXPECT_EQ(scan->summary.usage.reasoning_tokens, 2);
}

TEST(openai_response_scan, agrees_with_the_dom_reader_on_edge_cases) {
  for (const char* body : {
           R"({"choices":[]})",
           R"({"choices":{}})",
           R"({"data":[{"embedding":[0.1]}],"usage":{"prompt_tokens":2,"total_tokens":2}})",
           R"({"choices":[{"finish_reason":null},{"finish_reason":"length"}]})",
           R"({"choices":[{"finish_reason":1},{"finish_reason":"stop"}],"model":""})",
           R"({"usage":{"prompt_tokens":-1,"completion_tokens":2.5,"total_tokens":1e3}})",
           R"({"usage":{"prompt_tokens":18446744073709551615}})",
           R"({"usage":[1,2],"model":["m"],"choices":[["stop"]]})",
           R"({"x":{"usage":{"prompt_tokens":5},"model":"inner"},"choices":[]})",
           R"({"usage":{"prompt_tokens_details":{"cached_tokens":3}}})",
           R"({"model":"a\u00e9\"b","choices":[{"finish_reason":"st\nop"}]})",
           R"([1,2])",
           R"("just a string")",
           R"({"choices":[]} trailing)",
           R"({"choices":[)",
           R"()",
           R"({"choices":[]}   )",
       }) {
    expect_same_as_dom(body);
    expect_same_as_dom(body, "data");
  }
}

TEST(openai_response_scan, agrees_with_the_dom_reader_on_every_recorded_response) {
  namespace fs = std::filesystem;
  std::size_t files = 0;
  for (const auto* dir : {"tests/golden", "tests/fixtures/kong/spec/fixtures/ai-proxy"}) {
    const auto root = testing::source_dir() / dir;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file() || e.path().extension() != ".json") {
        continue;
      }
      const auto text = testing::read_file(e.path());
      expect_same_as_dom(text);
      expect_same_as_dom(text, "data");
      ++files;
    }
  }
  EXPECT_GT(files, 500u);
}

}  // namespace
}  // namespace aiproxy::providers
