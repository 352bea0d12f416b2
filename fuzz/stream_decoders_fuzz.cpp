// Fuzz target for the NDJSON, JSON array and AWS eventstream decoders: the input decoded whole
// must give the same events and error as the input split at an offset taken from the input, and
// as the input fed in 3-byte pieces.
// Input layout: 1 byte decoder choice (value % 3: ndjson, json_array, aws_eventstream), 2 bytes
// split seed (little endian), then the stream bytes.
#include "aiproxy/stream/aws_eventstream.hpp"
#include "aiproxy/stream/json_array_decoder.hpp"
#include "aiproxy/stream/ndjson_decoder.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using aiproxy::stream::event;

struct outcome {
  std::vector<event> events;
  std::optional<std::string> error;
};

bool same(const outcome& a, const outcome& b) {
  if (a.error != b.error || a.events.size() != b.events.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const event& x = a.events[i];
    const event& y = b.events[i];
    if (x.name != y.name || x.data != y.data || x.id != y.id) {
      return false;
    }
  }
  return true;
}

std::unique_ptr<aiproxy::stream::decoder> make(std::uint8_t choice) {
  switch (choice % 3) {
    case 0:
      return std::make_unique<aiproxy::stream::ndjson_decoder>();
    case 1:
      return std::make_unique<aiproxy::stream::json_array_decoder>();
    default:
      return std::make_unique<aiproxy::stream::aws_eventstream_decoder>();
  }
}

outcome run(std::uint8_t choice, const std::vector<std::string_view>& pieces) {
  auto dec = make(choice);
  outcome o;
  for (auto piece : pieces) {
    if (auto r = dec->feed(piece, o.events); !r) {
      o.error = r.error().message;
      return o;
    }
  }
  if (auto r = dec->finish(o.events); !r) {
    o.error = r.error().message;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) {
    return 0;
  }
  const std::uint8_t choice = data[0];
  const std::size_t seed = data[1] | (std::size_t{data[2]} << 8);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 3, size - 3);
  const std::size_t cut = seed % (bytes.size() + 1);

  const outcome whole = run(choice, {bytes});
  if (!same(whole, run(choice, {bytes.substr(0, cut), bytes.substr(cut)}))) {
    std::abort();
  }
  std::vector<std::string_view> drip;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    drip.push_back(bytes.substr(i, 3));
  }
  if (!same(whole, run(choice, drip))) {
    std::abort();
  }
  return 0;
}
