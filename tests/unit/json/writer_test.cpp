// json/writer and json/rewrite: compact output, readable doubles, escaping, top-level edits.
#include "aiproxy/json/writer.hpp"
#include "aiproxy/json/rewrite.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <limits>

namespace aiproxy::json {
namespace {

std::string write(std::string_view json_text) {
  return to_json(boost::json::parse(json_text));
}

TEST(writer, writes_doubles_in_shortest_readable_form) {
  EXPECT_EQ(write(R"({"a":0.7,"b":1.0,"c":1e300,"d":-0.0,"e":0.1,"f":2.5e-7})"),
            R"({"a":0.7,"b":1.0,"c":1e+300,"d":-0.0,"e":0.1,"f":2.5e-07})");
}

TEST(writer, writes_integers_exactly) {
  EXPECT_EQ(write(R"([0,-1,9223372036854775807,18446744073709551615])"),
            "[0,-1,9223372036854775807,18446744073709551615]");
}

TEST(writer, non_finite_doubles_stay_valid_json) {
  std::string out;
  write_double(out, std::numeric_limits<double>::infinity());
  out.push_back(',');
  write_double(out, -std::numeric_limits<double>::infinity());
  out.push_back(',');
  write_double(out, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(out, "1e999,-1e999,null");
  boost::system::error_code ec;
  boost::json::parse("[" + out + "]", ec);
  EXPECT_FALSE(ec);
}

TEST(writer, escapes_strings) {
  const std::string input = "q\" b\\ n\n r\r t\t \x01 \x1f é 😀";
  std::string out;
  write_string(out, input);
  EXPECT_EQ(out, R"("q\" b\\ n\n r\r t\t \u0001 \u001f é 😀")");
  EXPECT_EQ(boost::json::parse(out).as_string(), input);
}

TEST(writer, escapes_nul) {
  std::string out;
  write_string(out, std::string_view("a\0b", 3));
  EXPECT_EQ(out, R"("a\u0000b")");
}

TEST(writer, round_trips_nested_values) {
  const auto v = boost::json::parse(
      R"({"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"n":null,"t":true,"f":false,"x":{}})");
  EXPECT_EQ(boost::json::parse(to_json(v)), v);
}

TEST(rewrite, replaces_in_place_removes_and_appends) {
  const auto body =
      boost::json::parse(R"({"model":"client","stream":true,"top_k":5,"messages":[]})");
  const std::array edits = {field_edit::set("model", R"("gpt-4o")"), field_edit::erase("top_k"),
                            field_edit::set("temperature", "0.5")};
  std::string out;
  write_object_with_edits(out, body.as_object(), edits);
  EXPECT_EQ(out, R"({"model":"gpt-4o","stream":true,"messages":[],"temperature":0.5})");
}

TEST(rewrite, last_edit_for_a_key_wins) {
  const auto body = boost::json::parse(R"({"top_k":5})");
  const std::array edits = {field_edit::set("top_k", "7"), field_edit::erase("top_k"),
                            field_edit::set("a", "1"), field_edit::set("a", "2")};
  std::string out;
  write_object_with_edits(out, body.as_object(), edits);
  EXPECT_EQ(out, R"({"a":2})");
}

TEST(rewrite, removing_an_absent_key_is_a_no_op) {
  const auto body = boost::json::parse(R"({"x":1})");
  const std::array edits = {field_edit::erase("stream_options")};
  std::string out;
  write_object_with_edits(out, body.as_object(), edits);
  EXPECT_EQ(out, R"({"x":1})");
}

TEST(rewrite, empty_object_gets_only_new_keys) {
  const auto body = boost::json::parse("{}");
  const std::array edits = {field_edit::set("model", R"("m")"), field_edit::set("stream", "false")};
  std::string out;
  write_object_with_edits(out, body.as_object(), edits);
  EXPECT_EQ(out, R"({"model":"m","stream":false})");
}

TEST(rewrite, escapes_keys) {
  const auto body = boost::json::parse(R"({"we\"ird":1})");
  std::string out;
  write_object_with_edits(out, body.as_object(), {});
  EXPECT_EQ(out, R"({"we\"ird":1})");
}

/// write_edited_object on `raw` (parsed here) with `edits`.
std::string edited(std::string_view raw, std::span<const field_edit> edits) {
  const auto body = boost::json::parse(raw);
  std::string out;
  write_edited_object(out, raw, body.as_object(), edits);
  return out;
}

TEST(rewrite_raw, keeps_the_clients_bytes_when_nothing_changes) {
  const std::string_view raw = "{ \"model\" : \"gpt-4o\",\n \"messages\": [] }\n";
  const std::array edits = {field_edit::set("model", R"("gpt-4o")"),
                            field_edit::erase("stream_options")};
  EXPECT_EQ(edited(raw, edits), raw);
}

TEST(rewrite_raw, appends_new_keys_before_the_closing_brace) {
  const std::array edits = {field_edit::set("model", R"("m")"), field_edit::set("stream", "false"),
                            field_edit::erase("absent")};
  EXPECT_EQ(edited("{\"model\":\"m\", \"n\": 1 } ", edits),
            "{\"model\":\"m\", \"n\": 1 ,\"stream\":false} ");
  const std::array only_new = {field_edit::set("a", "1"), field_edit::set("b", "2")};
  EXPECT_EQ(edited("{ }", only_new), R"({ "a":1,"b":2})");
}

TEST(rewrite_raw, a_changed_or_removed_key_rewrites_the_object) {
  const std::array change = {field_edit::set("model", R"("other")")};
  EXPECT_EQ(edited("{ \"model\" : \"gpt-4o\" }", change), R"({"model":"other"})");
  const std::array remove = {field_edit::erase("stream_options")};
  EXPECT_EQ(edited(R"({"a":1, "stream_options":{}})", remove), R"({"a":1})");
  // Objects and arrays are never compared: a set on one rewrites.
  const std::array obj = {field_edit::set("o", "{}")};
  EXPECT_EQ(edited(R"({"o": {}})", obj), R"({"o":{}})");
}

TEST(rewrite_raw, a_duplicated_or_escaped_key_rewrites_the_object) {
  // The parse keeps the last "model"; the upstream must not see the first one.
  const std::array edits = {field_edit::set("model", R"("gpt-4o")")};
  EXPECT_EQ(edited(R"({"model":"cheap", "model":"gpt-4o"})", edits), R"({"model":"gpt-4o"})");
  // A key written with an escape is not found in the raw text: rewritten, never guessed.
  EXPECT_EQ(edited(R"({"mod\u0065l":"gpt-4o"})", edits), R"({"model":"gpt-4o"})");
  // The same key nested elsewhere counts too (it cannot be told from a duplicate cheaply).
  EXPECT_EQ(edited(R"({"model":"gpt-4o","t":{"model":1}})", edits),
            R"({"model":"gpt-4o","t":{"model":1}})");
  // A value equal to the key's name is not a key.
  EXPECT_EQ(edited(R"({"model":"gpt-4o","role":"model"})", edits),
            R"({"model":"gpt-4o","role":"model"})");
}

TEST(rewrite_raw, empty_raw_falls_back_to_a_full_write) {
  const auto body = boost::json::parse(R"({"a": 1})");
  std::string out;
  const std::array edits = {field_edit::set("b", "2")};
  write_edited_object(out, {}, body.as_object(), edits);
  EXPECT_EQ(out, R"({"a":1,"b":2})");
}

}  // namespace
}  // namespace aiproxy::json
