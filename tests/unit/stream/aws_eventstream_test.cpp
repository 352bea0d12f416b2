// Tests of the AWS eventstream decoder and encoder: recorded Bedrock ConverseStream frames under
// every split, every header value type, message kinds, CRC and length errors, truncation.
#include "aiproxy/stream/aws_eventstream.hpp"

#include "stream_test_util.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace aiproxy::stream {
namespace {

using testing::expect_split_invariant;

const testing::decoder_factory eventstream = [] {
  return std::make_unique<aws_eventstream_decoder>();
};

std::string bedrock_capture() {
  std::string bytes;
  for (const char* name : {"chunk-1.txt", "chunk-2.txt", "chunk-3.txt"}) {
    bytes += testing::base64_decode(
        testing::read_repo_file(testing::kong_fixtures + "bedrock/chunks/" + name));
  }
  return bytes;
}

std::string header(std::string_view name, aws_header_type type, std::string_view value) {
  std::string h;
  h.push_back(static_cast<char>(name.size()));
  h.append(name);
  h.push_back(static_cast<char>(type));
  if (type == aws_header_type::string || type == aws_header_type::byte_array) {
    h.push_back(static_cast<char>(value.size() >> 8));
    h.push_back(static_cast<char>(value.size()));
  }
  h.append(value);
  return h;
}

TEST(AwsEventstream, BedrockConverseStreamCapture) {
  const std::string bytes = bedrock_capture();
  ASSERT_EQ(bytes.size(), 594u + 405u + 929u);
  auto d = expect_split_invariant(eventstream, bytes);
  ASSERT_FALSE(d.error) << *d.error;
  std::vector<std::string> names;
  for (const auto& e : d.events) {
    names.push_back(e.name);
    EXPECT_TRUE(e.id.empty());
    boost::system::error_code ec;
    boost::json::parse(e.data, ec);
    EXPECT_FALSE(ec) << "payload is not JSON: " << e.data;
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "messageStart", "contentBlockStart", "contentBlockDelta",
                       "contentBlockDelta", "contentBlockDelta", "contentBlockDelta",
                       "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}));
  EXPECT_EQ(d.events[0].data, R"({"p":"abcdefghijkl","role":"assistant"})");
  EXPECT_NE(d.events.back().data.find("\"outputTokens\":44"), std::string::npos);
}

TEST(AwsEventstream, EachCapturedChunkDecodesAlone) {
  std::size_t total = 0;
  for (const char* name : {"chunk-1.txt", "chunk-2.txt", "chunk-3.txt"}) {
    auto d =
        testing::decode_whole(eventstream, testing::base64_decode(testing::read_repo_file(
                                               testing::kong_fixtures + "bedrock/chunks/" + name)));
    EXPECT_FALSE(d.error);
    total += d.events.size();
  }
  EXPECT_EQ(total, 10u);
}

TEST(AwsEventstream, EncoderRoundTrip) {
  std::string bytes;
  append_aws_eventstream_event(bytes, "contentBlockDelta", R"({"delta":{"text":"hi"}})");
  append_aws_eventstream_event(bytes, "messageStop", "");
  auto d = expect_split_invariant(eventstream, bytes);
  ASSERT_FALSE(d.error);
  EXPECT_EQ(d.events, (std::vector<event>{{"contentBlockDelta", R"({"delta":{"text":"hi"}})", ""},
                                          {"messageStop", "", ""}}));
}

TEST(AwsEventstream, EncoderMatchesKnownBytes) {
  // The first message of the Bedrock capture, re-encoded from its headers and payload.
  std::string bytes;
  append_aws_eventstream_event(bytes, "messageStart", R"({"p":"abcdefghijkl","role":"assistant"})");
  EXPECT_EQ(bytes, bedrock_capture().substr(0, 137));
}

TEST(AwsEventstream, EveryHeaderValueType) {
  std::string headers;
  headers += header("flag-on", aws_header_type::bool_true, "");
  headers += header("flag-off", aws_header_type::bool_false, "");
  headers += header("b", aws_header_type::byte, "\x7f");
  headers += header("s", aws_header_type::int16, std::string("\x01\x02", 2));
  headers += header("i", aws_header_type::int32, std::string("\x00\x00\x00\x2a", 4));
  headers += header("l", aws_header_type::int64, std::string(8, '\x01'));
  headers += header("bytes", aws_header_type::byte_array, std::string("\x00\xff:\x07", 4));
  headers += header(":event-type", aws_header_type::string, "chunk");
  headers += header("t", aws_header_type::timestamp, std::string(8, '\x00'));
  headers += header("u", aws_header_type::uuid, std::string(16, '\xab'));
  headers += header(":message-type", aws_header_type::string, "event");
  std::string bytes;
  append_aws_eventstream_message(bytes, headers, R"({"bytes":"eyJ0eXBlIjoibWVzc2FnZV9zdGFydCJ9"})");
  auto d = expect_split_invariant(eventstream, bytes);
  ASSERT_FALSE(d.error) << *d.error;
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].name, "chunk");
  EXPECT_EQ(d.events[0].data, R"({"bytes":"eyJ0eXBlIjoibWVzc2FnZV9zdGFydCJ9"})");
}

TEST(AwsEventstream, NonStringEventTypeHeaderIsNotAName) {
  std::string bytes;
  append_aws_eventstream_message(bytes, header(":event-type", aws_header_type::int32, "abcd"), "x");
  auto d = testing::decode_whole(eventstream, bytes);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_TRUE(d.events[0].name.empty());
}

TEST(AwsEventstream, ExceptionMessage) {
  std::string headers;
  append_aws_string_header(headers, ":exception-type", "throttlingException");
  append_aws_string_header(headers, ":content-type", "application/json");
  append_aws_string_header(headers, ":message-type", "exception");
  std::string bytes;
  append_aws_eventstream_message(bytes, headers, R"({"message":"Too many requests"})");
  auto d = expect_split_invariant(eventstream, bytes);
  ASSERT_FALSE(d.error);
  EXPECT_EQ(d.events, (std::vector<event>{{"throttlingException",
                                           R"({"message":"Too many requests"})", "exception"}}));
}

TEST(AwsEventstream, ErrorMessage) {
  std::string headers;
  append_aws_string_header(headers, ":error-code", "InternalFailure");
  append_aws_string_header(headers, ":error-message", "Something broke");
  append_aws_string_header(headers, ":message-type", "error");
  std::string bytes;
  append_aws_eventstream_message(bytes, headers, "");
  auto d = testing::decode_whole(eventstream, bytes);
  ASSERT_FALSE(d.error);
  EXPECT_EQ(d.events, (std::vector<event>{{"InternalFailure", "Something broke", "error"}}));
}

TEST(AwsEventstream, EmptyStream) {
  auto d = expect_split_invariant(eventstream, "");
  EXPECT_FALSE(d.error);
  EXPECT_TRUE(d.events.empty());
}

std::string error_of(std::string_view bytes, std::size_t cap = max_buffered_frame_bytes) {
  auto d = expect_split_invariant([cap] { return std::make_unique<aws_eventstream_decoder>(cap); },
                                  bytes);
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.status, 502);
  return d.error.value_or("");
}

TEST(AwsEventstream, MessageCrcMismatch) {
  std::string bytes = bedrock_capture().substr(0, 137 + 254);
  bytes[137 + 100] ^= 0x20;  // a payload byte of the second message
  EXPECT_NE(error_of(bytes).find("message CRC mismatch"), std::string::npos);
  auto d = testing::decode_whole(eventstream, bytes);
  EXPECT_EQ(d.events.size(), 1u);  // the intact first message still came out
  bytes = bedrock_capture().substr(0, 137);
  bytes.back() ^= 0x01;  // the CRC itself
  EXPECT_NE(error_of(bytes).find("message CRC mismatch"), std::string::npos);
}

TEST(AwsEventstream, PreludeCrcMismatch) {
  std::string bytes = bedrock_capture();
  bytes[3] ^= 0x01;  // total length
  EXPECT_NE(error_of(bytes).find("prelude CRC mismatch"), std::string::npos);
  bytes = bedrock_capture();
  bytes[9] ^= 0x01;  // the prelude CRC
  EXPECT_NE(error_of(bytes).find("prelude CRC mismatch"), std::string::npos);
}

TEST(AwsEventstream, AbsurdLengths) {
  // A prelude whose CRC is right but whose lengths are impossible: built by hand.
  auto with_lengths = [](std::uint32_t total, std::uint32_t headers) {
    std::string out;
    auto be32 = [&out](std::uint32_t v) {
      out.push_back(static_cast<char>(v >> 24));
      out.push_back(static_cast<char>(v >> 16));
      out.push_back(static_cast<char>(v >> 8));
      out.push_back(static_cast<char>(v));
    };
    be32(total);
    be32(headers);
    be32(static_cast<std::uint32_t>(testing::crc32_of(out)));
    out.append(64, '\0');
    return out;
  };
  EXPECT_NE(error_of(with_lengths(15, 0)).find("below the 16-byte minimum"), std::string::npos);
  EXPECT_NE(error_of(with_lengths(0xffffffffu, 0)).find("exceeds"), std::string::npos);
  EXPECT_NE(error_of(with_lengths(40, 30)).find("does not fit"), std::string::npos);
  EXPECT_NE(error_of(with_lengths(64, 0), 32).find("exceeds 32 bytes"), std::string::npos);
}

TEST(AwsEventstream, MalformedHeaders) {
  std::string bytes;
  append_aws_eventstream_message(bytes, header("x", static_cast<aws_header_type>(10), ""), "p");
  EXPECT_NE(error_of(bytes).find("unknown header value type 10"), std::string::npos);
  bytes.clear();
  // A string header whose length runs past the headers section.
  std::string bad = header(":event-type", aws_header_type::string, "abc");
  bad[bad.size() - 4] = 0x7f;
  append_aws_eventstream_message(bytes, bad, "payload");
  EXPECT_NE(error_of(bytes).find("truncated header"), std::string::npos);
  bytes.clear();
  append_aws_eventstream_message(bytes, header("u", aws_header_type::uuid, "short"), "");
  EXPECT_NE(error_of(bytes).find("truncated header"), std::string::npos);
}

TEST(AwsEventstream, TruncatedStreamFailsAtFinish) {
  const std::string full = bedrock_capture();
  for (std::size_t cut : {std::size_t{5}, std::size_t{12}, std::size_t{136}, full.size() - 1}) {
    auto d = testing::decode_whole(eventstream, std::string_view(full).substr(0, cut));
    ASSERT_TRUE(d.error) << "cut at " << cut;
    EXPECT_NE(d.error->find("ended inside a message"), std::string::npos);
  }
}

TEST(AwsEventstream, ErrorIsSticky) {
  std::string bytes = bedrock_capture();
  bytes[3] ^= 1;
  aws_eventstream_decoder dec;
  std::vector<event> out;
  EXPECT_FALSE(dec.feed(bytes, out));
  EXPECT_FALSE(dec.feed(bedrock_capture(), out));
  EXPECT_FALSE(dec.finish(out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace aiproxy::stream
