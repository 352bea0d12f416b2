// make_decoder: the one place that maps a framing to its decoder. No I/O.
#include "aiproxy/stream/decoder.hpp"

#include "aiproxy/stream/aws_eventstream.hpp"
#include "aiproxy/stream/json_array_decoder.hpp"
#include "aiproxy/stream/ndjson_decoder.hpp"
#include "aiproxy/stream/sse_decoder.hpp"

namespace aiproxy::stream {

std::unique_ptr<decoder> make_decoder(framing f) {
  switch (f) {
    case framing::none:
      return nullptr;
    case framing::sse:
      return std::make_unique<sse_decoder>();
    case framing::ndjson:
      return std::make_unique<ndjson_decoder>();
    case framing::json_array:
      return std::make_unique<json_array_decoder>();
    case framing::aws_eventstream:
      return std::make_unique<aws_eventstream_decoder>();
  }
  return nullptr;
}

}  // namespace aiproxy::stream
