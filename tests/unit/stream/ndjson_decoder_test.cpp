// Tests of the NDJSON decoder: line rules, the size cap, and recorded Cohere/Ollama streams
// decoded identically under every split.
#include "aiproxy/stream/ndjson_decoder.hpp"

#include "stream_test_util.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace aiproxy::stream {
namespace {

using testing::expect_split_invariant;

const testing::decoder_factory ndjson = [] { return std::make_unique<ndjson_decoder>(); };

std::vector<std::string> datas(std::string_view bytes) {
  auto d = expect_split_invariant(ndjson, bytes);
  EXPECT_FALSE(d.error);
  std::vector<std::string> out;
  for (const auto& e : d.events) {
    EXPECT_TRUE(e.name.empty());
    EXPECT_TRUE(e.id.empty());
    out.push_back(e.data);
  }
  return out;
}

using strings = std::vector<std::string>;

TEST(NdjsonDecoder, OneEventPerLine) {
  EXPECT_EQ(datas("{\"a\":1}\n{\"b\":2}\n"), (strings{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(NdjsonDecoder, CrLfTolerated) {
  EXPECT_EQ(datas("{\"a\":1}\r\n{\"b\":2}\r\n"), (strings{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(NdjsonDecoder, BlankAndWhitespaceLinesSkipped) {
  EXPECT_EQ(datas("\n\n  {\"a\":1}  \n \t \r\n\r\n{\"b\":2}\n\n"),
            (strings{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(NdjsonDecoder, LastLineWithoutNewlineEmittedAtFinish) {
  ndjson_decoder dec;
  std::vector<event> out;
  ASSERT_TRUE(dec.feed("{\"a\":1}\n{\"b\"", out));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(dec.feed(":2}", out));
  EXPECT_EQ(out.size(), 1u);
  ASSERT_TRUE(dec.finish(out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, "{\"b\":2}");
  EXPECT_EQ(datas("{\"a\":1}\n{\"b\":2}\r"), (strings{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(NdjsonDecoder, EmptyStream) {
  EXPECT_TRUE(datas("").empty());
  EXPECT_TRUE(datas("\n\r\n").empty());
}

TEST(NdjsonDecoder, LineOverCapFails) {
  const testing::decoder_factory small = [] { return std::make_unique<ndjson_decoder>(8); };
  auto d = expect_split_invariant(small, "{\"a\":1}\n{\"b\":123456}\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.status, 502);
  EXPECT_NE(d.error->find("exceeds 8 bytes"), std::string::npos);
  EXPECT_EQ(d.events.size(), 1u);
  // Unterminated: the partial line alone trips the cap.
  d = expect_split_invariant(small, "{\"b\":123456}");
  EXPECT_TRUE(d.error);
}

void check_json_lines(const std::string& bytes, std::size_t expected) {
  for (std::string_view eol : {"\n", "\r\n"}) {
    auto d = expect_split_invariant(ndjson, testing::with_line_ends(bytes, eol));
    ASSERT_FALSE(d.error);
    ASSERT_EQ(d.events.size(), expected);
    for (const auto& e : d.events) {
      boost::system::error_code ec;
      boost::json::parse(e.data, ec);
      EXPECT_FALSE(ec) << "not JSON: " << e.data;
    }
  }
}

TEST(NdjsonDecoderStreams, KongCohereFrames) {
  for (const char* name : {"cohere/llm-v1-chat.txt", "cohere/llm-v1-completions.txt"}) {
    SCOPED_TRACE(name);
    const std::string frame =
        testing::read_repo_file(testing::kong_fixtures + "unit/real-stream-frames/" + name);
    ASSERT_FALSE(frame.empty());
    check_json_lines(frame, 1);
    check_json_lines(frame + frame + frame, 3);
  }
}

TEST(NdjsonDecoderStreams, CohereChatStream) {
  const std::string bytes =
      testing::read_repo_file(testing::stream_data + "cohere_chat_stream.ndjson");
  check_json_lines(bytes, 7);
  auto d = datas(bytes);
  ASSERT_EQ(d.size(), 7u);
  EXPECT_NE(d.front().find("stream-start"), std::string::npos);
  EXPECT_NE(d.back().find("stream-end"), std::string::npos);
}

TEST(NdjsonDecoderStreams, OllamaChatStreamWithoutFinalNewline) {
  const std::string bytes =
      testing::read_repo_file(testing::stream_data + "ollama_chat_stream.ndjson");
  ASSERT_NE(bytes.back(), '\n');
  check_json_lines(bytes, 5);
  EXPECT_NE(datas(bytes).back().find("\"done\": true"), std::string::npos);
}

}  // namespace
}  // namespace aiproxy::stream
