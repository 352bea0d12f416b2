// The top-level index: members, escaped keys and strings, duplicates, sizes, probes, scalars
// written as the parsed value would be, and the splice that declines any change to a client key.
#include "aiproxy/json/top_level_index.hpp"
#include "aiproxy/json/rewrite.hpp"

#include <gtest/gtest.h>

#include <array>

namespace aiproxy::json {
namespace {

const index_probes probes{"messages", "role", "stream_options", "include_usage"};

top_level_index must_index(std::string_view text) {
  auto idx = index_top_level(text, probes, 64);
  EXPECT_TRUE(idx.has_value()) << text;
  return idx ? std::move(*idx) : top_level_index{};
}

TEST(top_level_index, keeps_members_in_order_with_their_values) {
  const std::string text =
      R"({"model":"gpt-4o","n":2,"big":18446744073709551615,"t":0.5,"s":true,"z":null,)"
      R"("o":{"a":1,"b":[2]},"a":[1,2,3]})";
  const auto idx = must_index(text);
  ASSERT_EQ(idx.members().size(), 8u);
  EXPECT_TRUE(idx.is_object());
  EXPECT_FALSE(idx.has_duplicate_keys());
  const auto* model = idx.find("model");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->kind, member_kind::string);
  EXPECT_EQ(model->text, "gpt-4o");
  EXPECT_GE(model->text.data(), text.data());  // a view into the text, not a copy
  EXPECT_EQ(idx.find("o")->size, 2u);
  EXPECT_EQ(idx.find("a")->size, 3u);
  EXPECT_EQ(idx.find("a")->kind, member_kind::array);
  std::string out;
  for (const auto* k : {"n", "big", "t", "s", "z"}) {
    top_level_index::write_scalar(out, *idx.find(k));
    out.push_back(' ');
  }
  EXPECT_EQ(out, "2 18446744073709551615 0.5 true null ");
  EXPECT_EQ(idx.find("missing"), nullptr);
}

TEST(top_level_index, unescapes_keys_and_strings) {
  const auto idx = must_index(R"({"mod\u0065l":"a\"b\u00e9","x":1})");
  const auto* model = idx.find("model");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->text, "a\"b\xc3\xa9");
  std::string out;
  top_level_index::write_scalar(out, *model);
  EXPECT_EQ(out, "\"a\\\"b\xc3\xa9\"");
}

TEST(top_level_index, notes_a_key_written_twice) {
  EXPECT_TRUE(must_index(R"({"a":1,"b":2,"a":3})").has_duplicate_keys());
  EXPECT_TRUE(must_index(R"({"a":1,"\u0061":3})").has_duplicate_keys());
  EXPECT_FALSE(must_index(R"({"a":{"a":1},"b":{"a":2}})").has_duplicate_keys());
}

TEST(top_level_index, many_members_are_not_checked_for_duplicates_one_by_one) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) {
    text += (i == 0 ? "\"k" : ",\"k") + std::to_string(i) + "\":1";
  }
  text += "}";
  const auto idx = must_index(text);
  EXPECT_EQ(idx.members().size(), 200000u);
  EXPECT_TRUE(idx.has_duplicate_keys());  // unknown: callers parse instead
  std::string few = "{";
  for (std::size_t i = 0; i < top_level_index::max_checked_members; ++i) {
    few += (i == 0 ? "\"k" : ",\"k") + std::to_string(i) + "\":1";
  }
  few += "}";
  EXPECT_FALSE(must_index(few).has_duplicate_keys());
}

TEST(top_level_index, probes_elements_and_members) {
  auto idx = must_index(R"({"messages":[{"role":"user"},{"role":"x","role":2},3]})");
  EXPECT_EQ(idx.first_element_without_string_key(), 1u);
  idx = must_index(R"({"messages":[{"role":"user"},[{"role":"user"}],{"x":{"role":1}}]})");
  EXPECT_EQ(idx.first_element_without_string_key(), 1u);
  idx = must_index(R"({"messages":[{"role":"user"},{"role":"assistant","x":{"role":1}}]})");
  EXPECT_FALSE(idx.first_element_without_string_key().has_value());
  idx = must_index(R"({"stream_options":{"include_usage":1,"include_usage":true}})");
  EXPECT_EQ(idx.probed_member_kind(), member_kind::boolean);
  EXPECT_TRUE(idx.probed_member_bool());
  idx = must_index(R"({"stream_options":{"other":{"include_usage":true}}})");
  EXPECT_FALSE(idx.probed_member_kind().has_value());
}

TEST(top_level_index, refuses_what_boost_json_parse_refuses) {
  for (const std::string_view bad :
       {"", "{", R"({"a":1,})", R"({"a":1} x)", R"({"a":01})", "{\"a\":\"\x01\"}",
        "{\"a\":\"\xff\"}", R"({"a":1}{})", "{/*c*/}"}) {
    EXPECT_FALSE(index_top_level(bad, probes, 64).has_value()) << bad;
  }
  EXPECT_FALSE(index_top_level(std::string(3, '[') + std::string(3, ']'), probes, 2));
  EXPECT_TRUE(index_top_level(std::string(2, '[') + std::string(2, ']'), probes, 2));
  EXPECT_FALSE(must_index("[1]").is_object());
}

TEST(write_edited_index, appends_new_keys_and_keeps_the_client_bytes) {
  const std::string raw = R"({ "model" : "gpt-4o", "messages":[] })";
  const auto idx = must_index(raw);
  const std::array edits = {field_edit::set("model", R"("gpt-4o")"),
                            field_edit::set("stream", "false"),
                            field_edit::erase("stream_options")};
  std::string out;
  ASSERT_TRUE(write_edited_index(out, raw, idx, edits));
  EXPECT_EQ(out, R"({ "model" : "gpt-4o", "messages":[] ,"stream":false})");
}

TEST(write_edited_index, declines_a_change_to_a_client_key) {
  const std::string raw = R"({"model":"gpt-4o","top_k":3,"o":{}})";
  const auto idx = must_index(raw);
  std::string out;
  const std::array other_model = {field_edit::set("model", R"("gpt-4")")};
  EXPECT_FALSE(write_edited_index(out, raw, idx, other_model));
  const std::array remove = {field_edit::erase("top_k")};
  EXPECT_FALSE(write_edited_index(out, raw, idx, remove));
  const std::array object = {field_edit::set("o", "{}")};
  EXPECT_FALSE(write_edited_index(out, raw, idx, object));
  EXPECT_TRUE(out.empty());
  const std::array superseded = {field_edit::set("top_k", "4"), field_edit::set("top_k", "3")};
  EXPECT_TRUE(write_edited_index(out, raw, idx, superseded));
  EXPECT_EQ(out, raw);
}

}  // namespace
}  // namespace aiproxy::json
