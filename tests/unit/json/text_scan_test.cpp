// json/text_scan: keys found in JSON text without parsing it, and the all-null test used to
// forward stream chunks without parsing them.
#include "aiproxy/json/text_scan.hpp"

#include <gtest/gtest.h>

namespace aiproxy::json {
namespace {

TEST(text_scan, counts_keys_at_any_depth_but_not_values_or_escaped_keys) {
  EXPECT_EQ(key_occurrences(R"({"model":"a"})", "model"), 1);
  EXPECT_EQ(key_occurrences(R"({"model" :"a","t":{"model":1}})", "model"), 2);
  EXPECT_EQ(key_occurrences(R"({"role":"model","x":"\"model\": 1"})", "model"), 0);
  EXPECT_EQ(key_occurrences(R"({"mod\u0065l":"a"})", "model"), 0);
  EXPECT_EQ(key_occurrences(R"({"my_model":1,"models":2})", "model"), 0);
  EXPECT_EQ(key_occurrences(R"({"a":1,"a":2,"a":3})", "a", 5), 3);
}

TEST(text_scan, all_null_only_when_every_value_of_the_key_is_null) {
  EXPECT_TRUE(key_values_all_null(R"({"usage":null})", "usage"));
  EXPECT_TRUE(key_values_all_null("{\"usage\" :\n null,\"x\":1}", "usage"));
  EXPECT_TRUE(key_values_all_null(R"({"x":1})", "usage"));  // absent
  EXPECT_FALSE(key_values_all_null(R"({"usage":{"total_tokens":3}})", "usage"));
  EXPECT_FALSE(key_values_all_null(R"({"usage":null,"t":{"usage":0}})", "usage"));
  EXPECT_FALSE(key_values_all_null(R"({"finish_reason":"stop"})", "finish_reason"));
  EXPECT_FALSE(key_values_all_null(R"({"usage":nul)", "usage"));  // cut short: not null
  // A value that merely mentions the key is not a key.
  EXPECT_TRUE(key_values_all_null(R"({"content":"\"usage\": 5","usage":null})", "usage"));
}

}  // namespace
}  // namespace aiproxy::json
