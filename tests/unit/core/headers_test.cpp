// Tests of core/headers: iequals, header_name_set, and header_list's ordered fields with
// case-insensitive get, set, add and erase. Pure.

#include "aiproxy/core/headers.hpp"

#include "testlib/header_fields.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aiproxy {
namespace {

using testlib::owned_field;

std::vector<owned_field> fields_of(const header_list& h) {
  return testlib::owned_fields(h);
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

/// iequals by its definition: byte by byte, only 'A'..'Z' folded.
bool slow_iequals(std::string_view a, std::string_view b) {
  const auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

TEST(headers, iequals_agrees_with_its_definition_for_every_byte_at_every_position) {
  // Lengths around the eight-byte words the comparison works in, every byte value at every
  // position against the byte itself, its other case bit, its neighbours and a letter.
  int equal = 0;
  int different = 0;
  for (std::size_t len = 1; len <= 19; ++len) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      std::string a(len, 'k');
      std::string b(len, 'K');
      for (int x = 0; x < 256; ++x) {
        a[pos] = static_cast<char>(x);
        for (const int y : {x, x ^ 0x20, (x + 1) & 0xff, (x + 255) & 0xff, int{'q'}, int{'Q'}}) {
          b[pos] = static_cast<char>(y);
          const bool want = slow_iequals(a, b);
          ASSERT_EQ(iequals(a, b), want) << "len " << len << " pos " << pos << " " << x << "/" << y;
          ASSERT_EQ(iequals(b, a), want) << "len " << len << " pos " << pos << " " << x << "/" << y;
          (want ? equal : different) += 1;
        }
      }
    }
  }
  EXPECT_GT(equal, 0);
  EXPECT_GT(different, 0);
}

TEST(headers, add_keeps_order_and_duplicates) {
  header_list h;
  h.add("A", "1");
  h.add("b", "a value longer than fifteen bytes");
  h.add("a", "2");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(fields_of(h)[1], owned_field("b", "a value longer than fifteen bytes"));
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
  std::vector<owned_field> want = {{"B", "2"}, {"a", "4"}};
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
  std::vector<owned_field> want = {{"x", "x"}, {"y", "y"}, {"z", "z"}};
  EXPECT_EQ(fields_of(h), want);
  h.erase("Z");
  want.pop_back();
  EXPECT_EQ(fields_of(h), want);
}

TEST(headers, fields_survive_the_block_growing_many_times) {
  header_list h;
  std::vector<owned_field> want;
  for (int i = 0; i < 300; ++i) {  // far past the first block's 512 bytes
    want.emplace_back("x-field-" + std::to_string(i),
                      std::string(static_cast<std::size_t>(i % 40), 'v'));
    h.add(want.back().first, want.back().second);
  }
  EXPECT_EQ(fields_of(h), want);
  EXPECT_EQ(h.get("X-FIELD-299"), want.back().second);
  EXPECT_EQ(h.get("x-field-0"), "");  // an empty value is a value
}

TEST(headers, add_may_copy_from_a_field_of_the_same_list_even_when_the_block_grows) {
  header_list h;
  h.add("origin", std::string(200, 'o'));
  // Seven fields of 222 bytes outgrow the first 512-byte block twice; each copy's source view
  // points into the block being replaced.
  for (int i = 0; i < 6; ++i) {
    const auto [name, value] = h.at(0);
    h.add(name, value);
  }
  h.set("last", h.get("origin").value_or("missing"));
  ASSERT_EQ(h.size(), 8u);  // the original, six copies and "last"
  for (std::size_t i = 0; i + 1 < h.size(); ++i) {
    EXPECT_EQ(h.at(i), header_list::field("origin", std::string(200, 'o')));
  }
  EXPECT_EQ(h.get("last"), std::string(200, 'o'));
}

TEST(headers, copies_and_moves_keep_the_fields_and_leave_the_source_as_promised) {
  header_list h;
  for (const char* n : {"a", "b", "c", "d"}) {
    h.add(n, std::string(n) + "-value");
  }
  h.erase("b");  // its bytes stay in the block: the copy must still read the others right
  const std::vector<owned_field> want = {{"a", "a-value"}, {"c", "c-value"}, {"d", "d-value"}};

  header_list copy(h);
  EXPECT_EQ(fields_of(copy), want);
  EXPECT_EQ(fields_of(h), want);
  EXPECT_TRUE(copy.fields() == h.fields());
  copy.add("e", "e");  // the copy has its own block
  EXPECT_EQ(h.size(), 3u);
  EXPECT_FALSE(copy.fields() == h.fields());

  header_list assigned;
  assigned.add("old", "gone");
  assigned = copy;
  EXPECT_EQ(fields_of(assigned), fields_of(copy));

  header_list moved(std::move(copy));
  EXPECT_EQ(moved.size(), 4u);
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  copy.add("reused", "yes");  // and usable
  EXPECT_EQ(copy.get("reused"), "yes");

  moved = std::move(assigned);
  std::vector<owned_field> with_e = want;
  with_e.emplace_back("e", "e");
  EXPECT_EQ(fields_of(moved), with_e);

  const header_list empty;
  header_list from_empty(empty);
  EXPECT_TRUE(from_empty.empty());
  from_empty.add("x", "1");
  EXPECT_EQ(from_empty.get("x"), "1");
}

TEST(headers, reserve_makes_room_without_changing_the_fields) {
  header_list h;
  h.add("a", "1");
  h.reserve(40, 4000);
  EXPECT_EQ(fields_of(h), (std::vector<owned_field>{{"a", "1"}}));
  for (int i = 0; i < 40; ++i) {
    h.add("n", std::string(90, 'z'));
  }
  EXPECT_EQ(h.size(), 41u);
  EXPECT_EQ(h.get("A"), "1");
}

TEST(headers, header_name_set_finds_members_in_any_case_and_nothing_else) {
  static constexpr header_name_set set({"te", "host", "content-length", "x-goog-api-key"});
  for (std::string_view n : {"te", "TE", "Host", "hOST", "Content-Length", "X-Goog-Api-Key"}) {
    EXPECT_TRUE(set.contains(n)) << n;
  }
  // Same lengths as members, other names; other lengths; empty.
  for (std::string_view n : {"tf", "hose", "content-lengtH2", "content-type", "x-goog-api-kez", "t",
                             "hosts", "", "authorization"}) {
    EXPECT_FALSE(set.contains(n)) << n;
  }
}

TEST(headers, header_name_set_compares_only_within_a_length_but_finds_every_member) {
  // Members given in no order of length, several of one length, one of length 64 and up.
  static constexpr std::string_view long_member =
      "x-a-very-long-header-name-that-goes-past-the-sixty-four-byte-length-mask";
  static constexpr std::string_view members[] = {"transfer-encoding", "te",         "host",
                                                 "keep-alive",        "connection", long_member,
                                                 "upgrade",           "trailer",    "a"};
  static constexpr header_name_set set(members);
  for (std::string_view m : members) {
    EXPECT_TRUE(set.contains(m)) << m;
    std::string upper(m);
    for (auto& c : upper) {
      c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    EXPECT_TRUE(set.contains(upper)) << upper;
    std::string other(m);
    other.back() = other.back() == 'z' ? 'y' : 'z';
    EXPECT_FALSE(set.contains(other)) << other;
  }
  EXPECT_FALSE(set.contains("keep-alivf"));  // a length with two members, neither this one
  EXPECT_FALSE(set.contains("trailes"));     // likewise ("upgrade", "trailer")
  EXPECT_FALSE(set.contains(""));
}

TEST(headers, header_name_set_handles_names_of_64_bytes_and_more) {
  const std::string long_name(70, 'x');
  static constexpr std::string_view long_member =
      "x-a-very-long-header-name-that-goes-past-the-sixty-four-byte-length-mask";
  static constexpr header_name_set set({"a", long_member});
  EXPECT_TRUE(set.contains("A"));
  EXPECT_TRUE(
      set.contains("X-A-VERY-LONG-HEADER-NAME-THAT-GOES-PAST-THE-SIXTY-FOUR-BYTE-LENGTH-MASK"));
  EXPECT_FALSE(set.contains(long_name));
  EXPECT_FALSE(set.contains(std::string(64, 'a')));
  static constexpr header_name_set short_only({"a", "bb"});
  EXPECT_FALSE(short_only.contains(std::string(64, 'a')));
  EXPECT_FALSE(short_only.contains(std::string(65, 'a')));
}

}  // namespace
}  // namespace aiproxy
