// write_edited_index's shortcuts against what they stand for: a client string compared with an
// edit without writing it out (every byte value, escaped or not), an appended key written
// without write_string when it needs no escape, and superseded edits found in one pass. Each
// case is checked against the same edits applied to the parsed object (write_object_with_edits).
#include "aiproxy/json/rewrite.hpp"
#include "aiproxy/json/top_level_index.hpp"
#include "aiproxy/json/writer.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace aiproxy::json {
namespace {

const index_probes probes{"messages", "role", "stream_options", "include_usage"};

/// write_edited_index's answer, and that when it takes the edits its bytes parse to the object
/// the parsed path writes.
std::optional<std::string> spliced(std::string_view raw, std::span<const field_edit> edits) {
  auto idx = index_top_level(raw, probes, 64);
  EXPECT_TRUE(idx.has_value()) << raw;
  if (!idx) {
    return std::nullopt;
  }
  std::string out;
  if (!write_edited_index(out, raw, *idx, edits)) {
    EXPECT_TRUE(out.empty());
    return std::nullopt;
  }
  std::string parsed_path;
  write_object_with_edits(parsed_path, boost::json::parse(raw).as_object(), edits);
  EXPECT_EQ(boost::json::parse(out), boost::json::parse(parsed_path)) << out;
  return out;
}

TEST(rewrite, a_string_edit_matches_the_client_value_exactly_for_every_byte) {
  // The client's model holds one byte (escaped in the raw text when JSON needs it); the edit
  // sets the same text or another one. Same text: taken; otherwise declined.
  int taken = 0;
  for (int b = 1; b < 0x80; ++b) {  // ASCII: the bytes write_string may escape
    const std::string text = std::string("m") + static_cast<char>(b) + "x";
    std::string json_text;
    write_string(json_text, text);
    const std::string raw = R"({"model":)" + json_text + "}";
    const std::array same = {field_edit::set("model", json_text)};
    const auto out = spliced(raw, same);
    ASSERT_TRUE(out.has_value()) << b;
    EXPECT_EQ(*out, raw);
    ++taken;
    // The unescaped byte in quotes has the length of the plain text plus two: equal only when
    // write_string would not escape it.
    const std::string bare = "\"" + text + "\"";
    const std::array bare_edit = {field_edit::set("model", bare)};
    auto idx = index_top_level(raw, probes, 64);
    ASSERT_TRUE(idx.has_value());
    std::string ignored;
    EXPECT_EQ(write_edited_index(ignored, raw, *idx, bare_edit), bare == json_text) << b;
    const std::array other = {field_edit::set("model", R"("mqqx")")};
    EXPECT_FALSE(spliced(raw, other).has_value()) << b;
  }
  EXPECT_EQ(taken, 0x7f);
  // Escaped forms that decode to the same text are the same value.
  const std::array edit = {field_edit::set("model", R"("a\"b")")};
  EXPECT_TRUE(spliced(R"({"model":"a\u0022b"})", edit).has_value());
  // Not a string: compared as written.
  const std::array number = {field_edit::set("n", "1")};
  EXPECT_TRUE(spliced(R"({"n":1})", number).has_value());
  EXPECT_FALSE(spliced(R"({"n":2})", number).has_value());
  EXPECT_FALSE(spliced(R"({"n":"1"})", number).has_value());
  const std::array quoted = {field_edit::set("s", R"("1")")};
  EXPECT_FALSE(spliced(R"({"s":1})", quoted).has_value());
  EXPECT_TRUE(spliced(R"({"s":"1"})", quoted).has_value());
  const std::array empty = {field_edit::set("s", R"("")")};
  EXPECT_TRUE(spliced(R"({"s":""})", empty).has_value());
  EXPECT_FALSE(spliced(R"({"s":"x"})", empty).has_value());
}

TEST(rewrite, appended_keys_are_written_as_write_string_writes_them) {
  const std::array edits = {field_edit::set("plain", "1"), field_edit::set("quo\"te", "2"),
                            field_edit::set("new\nline", "3"), field_edit::set("", "4"),
                            field_edit::set("\xc3\xa9t\xc3\xa9", "5")};
  const auto out = spliced(R"({"a":0})", edits);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(
      *out,
      "{\"a\":0,\"plain\":1,\"quo\\\"te\":2,\"new\\nline\":3,\"\":4,\"\xc3\xa9t\xc3\xa9\":5}");
  const auto into_empty = spliced("{ }", edits);
  ASSERT_TRUE(into_empty.has_value());
  EXPECT_EQ(into_empty->substr(0, 11), "{ \"plain\":1");
}

TEST(rewrite, the_last_edit_of_a_key_wins_and_earlier_ones_are_dropped) {
  const std::array edits = {field_edit::set("stream", "true"), field_edit::set("x", "1"),
                            field_edit::erase("x"), field_edit::set("stream", "false"),
                            field_edit::set("model", R"("m")")};
  const auto out = spliced(R"({"model":"m"})", edits);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, R"({"model":"m","stream":false})");
  // A superseded edit that would change a client key does not count; the last one does.
  const std::array last_changes = {field_edit::set("model", R"("m")"),
                                   field_edit::set("model", R"("n")")};
  EXPECT_FALSE(spliced(R"({"model":"m"})", last_changes).has_value());
  const std::array last_keeps = {field_edit::set("model", R"("n")"),
                                 field_edit::set("model", R"("m")")};
  EXPECT_TRUE(spliced(R"({"model":"m"})", last_keeps).has_value());
}

TEST(rewrite, more_than_sixty_four_edits_still_let_the_last_one_win) {
  std::vector<field_edit> edits;
  for (int i = 0; i < 70; ++i) {
    edits.push_back(field_edit::set("k", std::to_string(i)));
  }
  edits.push_back(field_edit::set("j", "1"));
  const auto out = spliced(R"({})", edits);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, R"({"k":69,"j":1})");
}

}  // namespace
}  // namespace aiproxy::json
