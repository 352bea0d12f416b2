// Tests of make_decoder(): one decoder type per framing, none for framing::none.
#include "aiproxy/stream/decoder.hpp"

#include "aiproxy/stream/aws_eventstream.hpp"
#include "aiproxy/stream/json_array_decoder.hpp"
#include "aiproxy/stream/ndjson_decoder.hpp"
#include "aiproxy/stream/sse_decoder.hpp"

#include <gtest/gtest.h>

namespace aiproxy::stream {
namespace {

TEST(MakeDecoder, OneDecoderPerFraming) {
  EXPECT_EQ(make_decoder(framing::none), nullptr);
  EXPECT_NE(dynamic_cast<sse_decoder*>(make_decoder(framing::sse).get()), nullptr);
  EXPECT_NE(dynamic_cast<ndjson_decoder*>(make_decoder(framing::ndjson).get()), nullptr);
  EXPECT_NE(dynamic_cast<json_array_decoder*>(make_decoder(framing::json_array).get()), nullptr);
  EXPECT_NE(dynamic_cast<aws_eventstream_decoder*>(make_decoder(framing::aws_eventstream).get()),
            nullptr);
}

TEST(MakeDecoder, SameBytesDifferentFramings) {
  // "[1]\n" is one NDJSON line and one JSON array element, but no SSE event.
  for (auto [f, expected] :
       {std::pair{framing::sse, std::size_t{0}}, std::pair{framing::ndjson, std::size_t{1}},
        std::pair{framing::json_array, std::size_t{1}}}) {
    auto dec = make_decoder(f);
    std::vector<event> out;
    ASSERT_TRUE(dec->feed("[1]\n", out));
    ASSERT_TRUE(dec->finish(out));
    EXPECT_EQ(out.size(), expected);
  }
}

}  // namespace
}  // namespace aiproxy::stream
