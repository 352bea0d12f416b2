// Tests of core/headers: iequals, and header_list's ordered fields with case-insensitive get,
// set, add and erase. Pure.

#include "aiproxy/core/headers.hpp"

#include <gtest/gtest.h>

namespace aiproxy {
namespace {

std::vector<header_list::field> fields_of(const header_list& h) {
  return h.fields();
}

TEST(headers, iequals_is_ascii_case_insensitive) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_TRUE(iequals("X-API-KEY", "x-api-key"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("content-type", "content-typo"));
  EXPECT_FALSE(iequals("te", "tE "));
  EXPECT_FALSE(iequals("a", "A\x80"));
  // Only letters fold: '@' (0x40) and '`' (0x60) differ by the same bit as 'A' and 'a'.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9"));  // no folding outside ASCII
}

TEST(headers, add_keeps_order_and_duplicates) {
  header_list h;
  h.add("A", "1");
  h.add("b", "a value longer than fifteen bytes");
  h.add("a", "2");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(fields_of(h)[1], header_list::field("b", "a value longer than fifteen bytes"));
  EXPECT_EQ(h.get("a"), "1");  // the first of its name
  EXPECT_EQ(h.get("B"), "a value longer than fifteen bytes");
  EXPECT_FALSE(h.get("c"));
}

TEST(headers, set_replaces_every_field_of_the_name_at_the_end) {
  header_list h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("a", "3");
  h.set("a", "4");
  std::vector<header_list::field> want = {{"B", "2"}, {"a", "4"}};
  EXPECT_EQ(fields_of(h), want);
  h.set("C", "5");  // a new name is appended
  want.emplace_back("C", "5");
  EXPECT_EQ(fields_of(h), want);
}

TEST(headers, erase_removes_every_field_of_the_name_keeping_the_others_in_order) {
  header_list h;
  for (const char* n : {"x", "A", "y", "a", "z", "A"}) {
    h.add(n, n);
  }
  h.erase("nothing");
  EXPECT_EQ(h.size(), 6u);
  h.erase("a");
  std::vector<header_list::field> want = {{"x", "x"}, {"y", "y"}, {"z", "z"}};
  EXPECT_EQ(fields_of(h), want);
  h.erase("Z");
  want.pop_back();
  EXPECT_EQ(fields_of(h), want);
}

}  // namespace
}  // namespace aiproxy
