// Tests of the streamed JSON array decoder: element cutting, structure errors, the caps, and
// Gemini arrays decoded identically under every split.
#include "aiproxy/stream/json_array_decoder.hpp"

#include "stream_test_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

namespace aiproxy::stream {
namespace {

using testing::expect_split_invariant;
using strings = std::vector<std::string>;

const testing::decoder_factory json_array = [] { return std::make_unique<json_array_decoder>(); };

strings datas(std::string_view bytes) {
  auto d = expect_split_invariant(json_array, bytes);
  EXPECT_FALSE(d.error) << d.error.value_or("");
  strings out;
  for (const auto& e : d.events) {
    out.push_back(e.data);
  }
  return out;
}

std::string error_of(std::string_view bytes) {
  auto d = expect_split_invariant(json_array, bytes);
  EXPECT_TRUE(d.error) << "no error for: " << bytes;
  EXPECT_EQ(d.status, 502);
  return d.error.value_or("");
}

TEST(JsonArrayDecoder, ElementsOfEveryKind) {
  EXPECT_EQ(
      datas(" \r\n[ 1 , \"a]\" ,{\"x\":[1,{\"y\":\"}\"}]}, null,true ,-2.5e3,[[]] ]\n"),
      (strings{"1", "\"a]\"", "{\"x\":[1,{\"y\":\"}\"}]}", "null", "true", "-2.5e3", "[[]]"}));
}

TEST(JsonArrayDecoder, EscapesInStrings) {
  EXPECT_EQ(datas(R"(["a\"],", "\\", "\\\"]", {"k\"}":"v\\"}])"),
            (strings{R"("a\"],")", R"("\\")", R"("\\\"]")", R"({"k\"}":"v\\"})"}));
}

TEST(JsonArrayDecoder, EmptyArray) {
  EXPECT_TRUE(datas("[]").empty());
  EXPECT_TRUE(datas("  [ \n ]  ").empty());
}

TEST(JsonArrayDecoder, ElementsAreEmittedAsSoonAsComplete) {
  json_array_decoder dec;
  std::vector<event> out;
  ASSERT_TRUE(dec.feed("[{\"a\":1}", out));
  EXPECT_TRUE(out.empty());  // the element could still go on ("{...}  " before ',' or ']')
  ASSERT_TRUE(dec.feed(",", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "{\"a\":1}");
  ASSERT_TRUE(dec.feed("{\"b\":2}]", out));
  EXPECT_EQ(out.size(), 2u);
  EXPECT_TRUE(dec.finish(out));
}

TEST(JsonArrayDecoder, StructureErrors) {
  EXPECT_NE(error_of(R"({"error":{"code":400}})").find("does not start with '['"),
            std::string::npos);
  EXPECT_NE(error_of("data: {}\n\n").find("does not start with '['"), std::string::npos);
  EXPECT_NE(error_of("[1,]").find("empty array element"), std::string::npos);
  EXPECT_NE(error_of("[,1]").find("empty array element"), std::string::npos);
  EXPECT_NE(error_of("[1,,2]").find("empty array element"), std::string::npos);
  EXPECT_NE(error_of("[{]}]").find("mismatched"), std::string::npos);
  EXPECT_NE(error_of("[1}]").find("unbalanced"), std::string::npos);
  EXPECT_NE(error_of("[1] x").find("after the closing"), std::string::npos);
  EXPECT_NE(error_of("[1][2]").find("after the closing"), std::string::npos);
}

TEST(JsonArrayDecoder, TruncatedStreamFailsAtFinish) {
  EXPECT_NE(error_of("").find("before the array began"), std::string::npos);
  EXPECT_NE(error_of("  ").find("before the array began"), std::string::npos);
  EXPECT_NE(error_of("[1, {\"a\":").find("ended inside the array"), std::string::npos);
  EXPECT_NE(error_of("[1, ").find("ended inside the array"), std::string::npos);
  // The complete elements before the cut were still delivered.
  auto d = expect_split_invariant(json_array, "[1, 2, {\"a\"");
  EXPECT_EQ(d.events.size(), 2u);
}

TEST(JsonArrayDecoder, NestingCap) {
  std::string deep = "[" + std::string(json_array_decoder::max_depth, '[') +
                     std::string(json_array_decoder::max_depth, ']') + "]";
  EXPECT_EQ(datas(deep).size(), 1u);
  std::string deeper = "[" + std::string(json_array_decoder::max_depth + 1, '[');
  auto d = testing::decode_whole(json_array, deeper);
  ASSERT_TRUE(d.error);
  EXPECT_NE(d.error->find("nests deeper"), std::string::npos);
}

TEST(JsonArrayDecoder, ElementSizeCap) {
  const testing::decoder_factory small = [] { return std::make_unique<json_array_decoder>(8); };
  auto d = expect_split_invariant(small, "[1, \"0123456789\", 2]");
  ASSERT_TRUE(d.error);
  EXPECT_NE(d.error->find("exceeds 8 bytes"), std::string::npos);
  EXPECT_EQ(d.events.size(), 1u);
  d = expect_split_invariant(small, "[\"012345\"]");  // exactly 8 bytes
  EXPECT_FALSE(d.error);
}

void check_gemini_array(const std::string& bytes, std::size_t expected) {
  auto d = expect_split_invariant(json_array, bytes);
  ASSERT_FALSE(d.error) << *d.error;
  ASSERT_EQ(d.events.size(), expected);
  for (const auto& e : d.events) {
    boost::system::error_code ec;
    auto v = boost::json::parse(e.data, ec);
    ASSERT_FALSE(ec) << "not JSON: " << e.data;
    EXPECT_TRUE(v.as_object().contains("candidates"));
  }
}

TEST(JsonArrayDecoderStreams, GeminiArrayBuiltFromKongResponses) {
  // Gemini's streamed array carries one generateContent response per element.
  const std::string a = testing::read_repo_file(testing::kong_fixtures +
                                                "unit/real-responses/gemini/llm-v1-chat.json");
  const std::string b =
      testing::read_repo_file(testing::kong_fixtures + "gemini/llm-v1-chat/responses/good.json");
  const std::string c = testing::read_repo_file(testing::kong_fixtures +
                                                "gemini/llm-v1-chat/responses/fails_safety.json");
  const std::string bytes = "[" + a + ",\r\n" + b + "\n,\n" + c + "\n]";
  check_gemini_array(bytes, 3);
  // Each element is the fixture's JSON text, unchanged but for outer whitespace.
  auto d = testing::decode_whole(json_array, bytes);
  EXPECT_EQ(boost::json::parse(d.events[1].data), boost::json::parse(b));
}

TEST(JsonArrayDecoderStreams, GeminiStream) {
  const std::string bytes = testing::read_repo_file(testing::stream_data + "gemini_stream.json");
  check_gemini_array(bytes, 3);
  auto d = testing::decode_whole(json_array, bytes);
  auto last = boost::json::parse(d.events[2].data);
  EXPECT_EQ(last.at("candidates").at(0).at("finishReason"), "STOP");
  EXPECT_EQ(last.at("candidates").at(0).at("content").at("parts").at(0).at("text"),
            " \\\"escaped\\\" ] } , done");
}

}  // namespace
}  // namespace aiproxy::stream
