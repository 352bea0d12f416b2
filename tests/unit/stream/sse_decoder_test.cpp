// Tests of the SSE decoder: WHATWG parsing rules, size caps, and recorded provider streams
// decoded identically under every split.
#include "aiproxy/stream/sse_decoder.hpp"

#include "stream_test_util.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace aiproxy::stream {
namespace {

using testing::decode_pieces;
using testing::expect_split_invariant;

const testing::decoder_factory sse = [] { return std::make_unique<sse_decoder>(); };

std::vector<event> decode(std::string_view bytes) {
  auto d = expect_split_invariant(sse, bytes);
  EXPECT_FALSE(d.error) << *d.error;
  return d.events;
}

event ev(std::string data, std::string name = {}, std::string id = {}) {
  return event{std::move(name), std::move(data), std::move(id)};
}

TEST(SseDecoder, LfFramedEvents) {
  EXPECT_EQ(decode("data: a\n\ndata: b\n\n"), (std::vector<event>{ev("a"), ev("b")}));
}

TEST(SseDecoder, CrOnlyLineEnds) {
  EXPECT_EQ(decode("event: x\rdata: a\rdata: b\r\rdata: c\r\r"),
            (std::vector<event>{ev("a\nb", "x"), ev("c")}));
}

TEST(SseDecoder, CrLfLineEnds) {
  EXPECT_EQ(decode("event: x\r\ndata: a\r\n\r\ndata: b\r\n\r\n"),
            (std::vector<event>{ev("a", "x"), ev("b")}));
}

TEST(SseDecoder, MixedLineEnds) {
  EXPECT_EQ(decode("data: a\rdata: b\ndata: c\r\n\n"), (std::vector<event>{ev("a\nb\nc")}));
}

TEST(SseDecoder, CrLfSplitAcrossFeedsIsOneLineBreak) {
  // Were the LF a second line end, "a" would be dispatched alone.
  auto d = decode_pieces(sse, {"data: a\r", "\ndata: b\r\n\r\n"});
  EXPECT_EQ(d.events, (std::vector<event>{ev("a\nb")}));
  d = decode_pieces(sse, {"data: a\r", "\n", "\r", "\n"});
  EXPECT_EQ(d.events, (std::vector<event>{ev("a")}));
}

TEST(SseDecoder, CrAtEndOfFeedThenCrIsABlankLine) {
  auto d = decode_pieces(sse, {"data: a\r", "\rdata: b\r\r"});
  EXPECT_EQ(d.events, (std::vector<event>{ev("a"), ev("b")}));
}

TEST(SseDecoder, EmptyFeedBetweenCrAndLfKeepsThePair) {
  auto d = decode_pieces(sse, {"data: a\r", "", "\n", "data: b\r\n\r\n"});
  EXPECT_EQ(d.events, (std::vector<event>{ev("a\nb")}));
}

TEST(SseDecoder, CommentsAreIgnored) {
  EXPECT_EQ(decode(": keep-alive\n\n:\ndata: a\n: between\ndata: b\n\n"),
            (std::vector<event>{ev("a\nb")}));
}

TEST(SseDecoder, MultiLineDataJoinedWithLf) {
  EXPECT_EQ(decode("data: a\ndata:\ndata: b\n\n"), (std::vector<event>{ev("a\n\nb")}));
}

TEST(SseDecoder, OneLeadingSpaceRemoved) {
  EXPECT_EQ(decode("data:  a\n\ndata:b\n\ndata: a:b: c\n\n"),
            (std::vector<event>{ev(" a"), ev("b"), ev("a:b: c")}));
}

TEST(SseDecoder, FieldWithoutColonHasEmptyValue) {
  EXPECT_EQ(decode("data\n\nevent\ndata: a\n\n"), (std::vector<event>{ev(""), ev("a")}));
}

TEST(SseDecoder, EventWithoutDataIsNotDispatched) {
  EXPECT_TRUE(decode("event: x\n\nid: 1\n\n\n\n").empty());
}

TEST(SseDecoder, EmptyDataLineIsDispatched) {
  EXPECT_EQ(decode("data:\n\n"), (std::vector<event>{ev("")}));
}

TEST(SseDecoder, EventTypeResetsAfterEachDispatchEvenWithoutData) {
  EXPECT_EQ(decode("event: x\ndata: a\n\ndata: b\n\nevent: y\n\ndata: c\n\n"),
            (std::vector<event>{ev("a", "x"), ev("b"), ev("c")}));
}

TEST(SseDecoder, IdPersistsAcrossEvents) {
  EXPECT_EQ(decode("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"),
            (std::vector<event>{ev("a", "", "7"), ev("b", "", "7"), ev("c")}));
}

TEST(SseDecoder, IdWithNulIsIgnored) {
  using namespace std::string_view_literals;
  EXPECT_EQ(decode("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"sv),
            (std::vector<event>{ev("a", "", "1"), ev("b", "", "1")}));
}

TEST(SseDecoder, RetryAndUnknownFieldsAreIgnored) {
  EXPECT_EQ(decode("retry: 1000\nfoo: bar\nDATA: no\ndata: a\n\n"), (std::vector<event>{ev("a")}));
}

TEST(SseDecoder, LeadingBomIsStripped) {
  EXPECT_EQ(decode("\xEF\xBB\xBF"
                   "data: a\n\n"),
            (std::vector<event>{ev("a")}));
}

TEST(SseDecoder, OnlyOneBomIsStripped) {
  // The second BOM becomes part of the field name "\uFEFFdata", which is not a known field.
  EXPECT_EQ(decode("\xEF\xBB\xBF\xEF\xBB\xBF"
                   "data: a\n\ndata: b\n\n"),
            (std::vector<event>{ev("b")}));
}

TEST(SseDecoder, BomPrefixThatIsNotABomIsKept) {
  EXPECT_EQ(decode("\xEF\xBB"
                   "data: a\n\ndata: b\n\n"),
            (std::vector<event>{ev("b")}));
  EXPECT_EQ(decode("\xEF"
                   ": x\ndata: a\n\n"),
            (std::vector<event>{ev("a")}));
}

TEST(SseDecoder, IncompleteEventAtEndIsDiscarded) {
  EXPECT_EQ(decode("data: a\n\ndata: b\n"), (std::vector<event>{ev("a")}));
  EXPECT_EQ(decode("data: a\n\ndata: b"), (std::vector<event>{ev("a")}));
  EXPECT_TRUE(decode("data: b\r").empty());
}

TEST(SseDecoder, EmptyStream) {
  EXPECT_TRUE(decode("").empty());
}

TEST(SseDecoder, LineOverCapFails) {
  const testing::decoder_factory small = [] { return std::make_unique<sse_decoder>(16); };
  auto d = expect_split_invariant(small, "data: 0123456789abcdef\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.status, 502);
  EXPECT_NE(d.error->find("exceeds 16 bytes"), std::string::npos) << *d.error;
  // A partial line alone, never terminated, also hits the cap.
  d = decode_pieces(small, {"data: 0123", "456789abcdef"});
  EXPECT_TRUE(d.error);
}

TEST(SseDecoder, EventDataOverCapFails) {
  const testing::decoder_factory small = [] { return std::make_unique<sse_decoder>(16); };
  auto d = expect_split_invariant(small, "data: 0123456\ndata: 0123456\ndata: 0\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_NE(d.error->find("data exceeds"), std::string::npos) << *d.error;
  EXPECT_TRUE(d.events.empty());
}

TEST(SseDecoder, ErrorIsSticky) {
  sse_decoder dec(8);
  std::vector<event> out;
  EXPECT_FALSE(dec.feed("data: 0123456789\n\n", out));
  auto again = dec.feed("data: a\n\n", out);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().status, 502);
  EXPECT_FALSE(dec.finish(out));
  EXPECT_TRUE(out.empty());
}

TEST(SseDecoder, EventsBeforeAnErrorAreKept) {
  const testing::decoder_factory small = [] { return std::make_unique<sse_decoder>(16); };
  auto d = expect_split_invariant(small, "data: a\n\ndata: 0123456789abcdefgh\n\n");
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.events, (std::vector<event>{ev("a")}));
}

// --- recorded and realistic provider streams -----------------------------------------------

struct stream_case {
  std::string file;
  std::size_t events;
};

void check_stream(const std::string& bytes, std::size_t expected_events) {
  for (std::string_view eol : {"\n", "\r\n", "\r"}) {
    SCOPED_TRACE("line end " + std::string(eol == "\n" ? "LF" : eol == "\r" ? "CR" : "CRLF"));
    auto d = expect_split_invariant(sse, testing::with_line_ends(bytes, eol));
    ASSERT_FALSE(d.error) << *d.error;
    ASSERT_EQ(d.events.size(), expected_events);
    for (const auto& e : d.events) {
      if (e.data != "[DONE]") {
        boost::system::error_code ec;
        boost::json::parse(e.data, ec);
        EXPECT_FALSE(ec) << "not JSON: " << e.data;
      }
    }
  }
}

TEST(SseDecoderStreams, KongRealStreamFrames) {
  for (const char* name : {"openai/llm-v1-chat.txt", "openai/llm-v1-completions.txt"}) {
    SCOPED_TRACE(name);
    const std::string frame =
        testing::read_repo_file(testing::kong_fixtures + "unit/real-stream-frames/" + name);
    ASSERT_FALSE(frame.empty());
    // The frame ends in one LF: without the blank line the event is incomplete and discarded.
    auto alone = expect_split_invariant(sse, frame);
    EXPECT_TRUE(alone.events.empty());
    check_stream(frame + "\n", 1);
    check_stream(frame + "\n" + frame + "\n", 2);
  }
}

TEST(SseDecoderStreams, OpenAiChatStream) {
  const std::string bytes =
      testing::read_repo_file(testing::stream_data + "openai_chat_stream.sse");
  check_stream(bytes, 16);
  auto d = decode(bytes);
  ASSERT_EQ(d.size(), 16u);
  EXPECT_EQ(d.back().data, "[DONE]");
  EXPECT_NE(d[1].data.find("\"content\":\"The\""), std::string::npos);
  for (const auto& e : d) {
    EXPECT_TRUE(e.name.empty());
  }
}

TEST(SseDecoderStreams, AnthropicMessagesStream) {
  const std::string bytes =
      testing::read_repo_file(testing::stream_data + "anthropic_messages_stream.sse");
  check_stream(bytes, 16);
  auto d = decode(bytes);
  ASSERT_EQ(d.size(), 16u);
  EXPECT_EQ(d.front().name, "message_start");
  EXPECT_EQ(d[2].name, "ping");
  EXPECT_EQ(d.back().name, "message_stop");
  EXPECT_EQ(d.back().data, R"({"type":"message_stop"})");
}

TEST(SseDecoderStreams, StreamWithBomCommentsAndIds) {
  std::string bytes = "\xEF\xBB\xBF: hello\n\nretry: 3000\n";
  bytes += testing::read_repo_file(testing::stream_data + "openai_chat_stream.sse");
  bytes.insert(bytes.find("data: [DONE]"), "id: last\n: ping\n");
  auto d = expect_split_invariant(sse, bytes);
  ASSERT_EQ(d.events.size(), 16u);
  EXPECT_EQ(d.events.back().id, "last");
  EXPECT_TRUE(d.events.front().id.empty());
}

}  // namespace
}  // namespace aiproxy::stream
