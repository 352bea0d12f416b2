// json/usage_reader: OpenAI usage objects, provider totals, details, and unreadable usage.
#include "aiproxy/json/usage_reader.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace aiproxy::json {
namespace {

usage read(std::string_view text) {
  return read_openai_usage(boost::json::parse(text));
}

TEST(usage_reader, reads_counts_and_details) {
  const auto u = read(R"({"prompt_tokens":25,"completion_tokens":300,"total_tokens":325,
      "prompt_tokens_details":{"cached_tokens":20},
      "completion_tokens_details":{"reasoning_tokens":288}})");
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.prompt_tokens, 25);
  EXPECT_EQ(u.completion_tokens, 300);
  EXPECT_EQ(u.total_tokens, 325);
  EXPECT_EQ(u.cached_tokens, 20);
  EXPECT_EQ(u.reasoning_tokens, 288);
}

TEST(usage_reader, keeps_the_providers_total_even_when_it_is_not_the_sum) {
  const auto u = read(R"({"prompt_tokens":3,"completion_tokens":7,"total_tokens":298})");
  EXPECT_EQ(u.total_tokens, 298);  // Kong issue #14816: never recompute a given total
}

TEST(usage_reader, sums_when_no_total_is_given) {
  const auto u = read(R"({"prompt_tokens":3,"completion_tokens":7})");
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.total_tokens, 10);
}

TEST(usage_reader, a_sum_past_int64_wraps_like_the_response_scan) {
  // Two int64-max counts: the sum is defined (UBSan checks this) and matches
  // scan_openai_response's, so a streamed and a whole response report the same total.
  const auto u =
      read(R"({"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807})");
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.total_tokens, -2);
}

TEST(usage_reader, embeddings_usage_has_no_completion) {
  const auto u = read(R"({"prompt_tokens":4,"total_tokens":4})");
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.prompt_tokens, 4);
  EXPECT_EQ(u.completion_tokens, 0);
  EXPECT_EQ(u.total_tokens, 4);
}

TEST(usage_reader, integral_doubles_count) {
  const auto u = read(R"({"prompt_tokens":4.0,"completion_tokens":2})");
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.prompt_tokens, 4);
}

TEST(usage_reader, unreadable_usage_is_unknown_not_an_error) {
  EXPECT_FALSE(read("null").known);
  EXPECT_FALSE(read(R"("n/a")").known);
  EXPECT_FALSE(read("{}").known);
  EXPECT_FALSE(read(R"({"prompt_tokens":"25","completion_tokens":-1,"total_tokens":1.5})").known);
  EXPECT_FALSE(read(R"({"input_tokens":5})").known);
}

TEST(usage_reader, bad_details_are_ignored) {
  const auto u = read(R"({"prompt_tokens":1,"prompt_tokens_details":null,
      "completion_tokens_details":{"reasoning_tokens":"x"}})");
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.cached_tokens, 0);
  EXPECT_EQ(u.reasoning_tokens, 0);
}

}  // namespace
}  // namespace aiproxy::json
