// The word-at-a-time header checks agree with their byte-by-byte definitions for every byte
// value at every position of strings of every length up to 24.
#include "aiproxy/core/header_chars.hpp"

#include <gtest/gtest.h>

#include <string>

namespace aiproxy {
namespace {

bool slow_has_line_break_or_nul(std::string_view s) {
  for (const char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return true;
    }
  }
  return false;
}

bool slow_is_header_token(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == ':' || c == 0x7f) {
      return false;
    }
  }
  return true;
}

TEST(header_chars, every_byte_at_every_position_agrees_with_the_definition) {
  int line_breaks = 0;
  int bad_names = 0;
  for (std::size_t len = 1; len <= 24; ++len) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (const char fill : {'a', '\xff', '\x80', '~'}) {
        std::string s(len, fill);
        for (int b = 0; b < 256; ++b) {
          s[pos] = static_cast<char>(b);
          ASSERT_EQ(has_line_break_or_nul(s), slow_has_line_break_or_nul(s))
              << "len " << len << " pos " << pos << " byte " << b;
          ASSERT_EQ(is_header_token(s), slow_is_header_token(s))
              << "len " << len << " pos " << pos << " byte " << b;
          line_breaks += has_line_break_or_nul(s);
          bad_names += !is_header_token(s);
        }
      }
    }
  }
  EXPECT_GT(line_breaks, 0);
  EXPECT_GT(bad_names, 0);
}

TEST(header_chars, named_cases) {
  EXPECT_FALSE(is_header_token(""));
  EXPECT_TRUE(is_header_token("X-Request-Id"));
  EXPECT_FALSE(is_header_token("X-Request Id"));
  EXPECT_FALSE(is_header_token("Authorization:"));
  EXPECT_TRUE(is_header_token("\xc3\xa9t\xc3\xa9-field-name-longer"));
  EXPECT_FALSE(has_line_break_or_nul("Bearer sk-0123456789abcdef"));
  EXPECT_TRUE(has_line_break_or_nul("Bearer sk-0123456789abcdef\r\nX-Evil: 1"));
  EXPECT_TRUE(has_line_break_or_nul(std::string_view("a\0b", 3)));
  EXPECT_FALSE(has_line_break_or_nul(""));
}

}  // namespace
}  // namespace aiproxy
