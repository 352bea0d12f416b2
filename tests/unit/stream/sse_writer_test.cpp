// Tests of the SSE writer: exact output bytes, and round trips through the SSE decoder.
#include "aiproxy/stream/sse_writer.hpp"

#include "aiproxy/stream/sse_decoder.hpp"
#include "stream_test_util.hpp"

#include <gtest/gtest.h>

namespace aiproxy::stream {
namespace {

std::vector<event> round_trip(const std::string& bytes) {
  auto d = testing::expect_split_invariant([] { return std::make_unique<sse_decoder>(); }, bytes);
  EXPECT_FALSE(d.error);
  return d.events;
}

TEST(SseWriter, DataFrame) {
  std::string out = "prefix|";
  write_sse_data(out, R"({"a":1})");
  EXPECT_EQ(out, "prefix|data: {\"a\":1}\n\n");
}

TEST(SseWriter, MultiLineDataBecomesSeveralDataLines) {
  std::string out;
  write_sse_data(out, "a\nb\r\nc\rd\n");
  EXPECT_EQ(out, "data: a\ndata: b\ndata: c\ndata: d\ndata: \n\n");
}

TEST(SseWriter, TheFirstLineBreakWinsWhicheverKindComesFirst) {
  std::string out;
  write_sse_data(out, "a\rb\nc\n\rd");
  EXPECT_EQ(out, "data: a\ndata: b\ndata: c\ndata: \ndata: d\n\n");
}

TEST(SseWriter, EmptyData) {
  std::string out;
  write_sse_data(out, "");
  EXPECT_EQ(out, "data: \n\n");
}

TEST(SseWriter, NamedEvent) {
  std::string out;
  write_sse_event(out, "message_start", "x\ny");
  EXPECT_EQ(out, "event: message_start\ndata: x\ndata: y\n\n");
}

TEST(SseWriter, NameIsCutAtLineEnd) {
  std::string out;
  write_sse_event(out, "bad\ndata: injected", "x");
  EXPECT_EQ(out, "event: bad\ndata: x\n\n");
}

TEST(SseWriter, DoneAndComment) {
  std::string out;
  write_sse_comment(out, "keep-alive\nmore");
  write_sse_done(out);
  EXPECT_EQ(out, ": keep-alive\n\ndata: [DONE]\n\n");
}

TEST(SseWriter, RoundTripsThroughTheDecoder) {
  std::string out;
  write_sse_comment(out, "ping");
  write_sse_data(out, R"({"choices":[{"delta":{"content":"hi"}}]})");
  write_sse_event(out, "content_block_delta", "line one\nline two");
  write_sse_data(out, "");
  write_sse_data(out, " leading space\n\ntrailing\n");
  write_sse_event(out, "", "unnamed");
  write_sse_done(out);
  const std::vector<event> expected{
      {"", R"({"choices":[{"delta":{"content":"hi"}}]})", ""},
      {"content_block_delta", "line one\nline two", ""},
      {"", "", ""},
      {"", " leading space\n\ntrailing\n", ""},
      {"", "unnamed", ""},
      {"", "[DONE]", ""},
  };
  EXPECT_EQ(round_trip(out), expected);
}

TEST(SseWriter, CrLineEndsInDataRoundTripAsLf) {
  std::string out;
  write_sse_data(out, "a\r\nb\rc");
  EXPECT_EQ(round_trip(out), (std::vector<event>{{"", "a\nb\nc", ""}}));
}

}  // namespace
}  // namespace aiproxy::stream
