// Fuzz target for the SSE decoder: the input decoded whole must give the same events and error
// as the input split at an offset taken from the input, and as the input fed in 3-byte pieces;
// every decoded event re-encoded with the SSE writer must decode back to itself.
// Input layout: 2 bytes split seed (little endian), then the stream bytes.
#include "aiproxy/stream/sse_decoder.hpp"
#include "aiproxy/stream/sse_writer.hpp"

#include <cstdint>
#include <cstdlib>
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

outcome run(const std::vector<std::string_view>& pieces) {
  aiproxy::stream::sse_decoder dec;
  outcome o;
  for (auto piece : pieces) {
    if (auto r = dec.feed(piece, o.events); !r) {
      o.error = r.error().message;
      return o;
    }
  }
  if (auto r = dec.finish(o.events); !r) {
    o.error = r.error().message;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::size_t seed = data[0] | (std::size_t{data[1]} << 8);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t cut = seed % (bytes.size() + 1);

  const outcome whole = run({bytes});
  if (!same(whole, run({bytes.substr(0, cut), bytes.substr(cut)}))) {
    std::abort();
  }
  std::vector<std::string_view> drip;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    drip.push_back(bytes.substr(i, 3));
  }
  if (!same(whole, run(drip))) {
    std::abort();
  }

  // Writer round trip: decoded names hold no line end and decoded data only LF, so the writer
  // reproduces them exactly.
  std::string written;
  for (const auto& e : whole.events) {
    if (e.name.empty()) {
      aiproxy::stream::write_sse_data(written, e.data);
    } else {
      aiproxy::stream::write_sse_event(written, e.name, e.data);
    }
  }
  const outcome again = run({written});
  if (again.error || again.events.size() != whole.events.size()) {
    std::abort();
  }
  for (std::size_t i = 0; i < again.events.size(); ++i) {
    if (again.events[i].name != whole.events[i].name ||
        again.events[i].data != whole.events[i].data) {
      std::abort();
    }
  }
  return 0;
}
