// Fuzz target for scan_openai_response (providers/openai_response_scan.hpp): on any input, for
// both payload fields, the hand-written scan must agree with the Boost.JSON SAX reference
// (tests/unit/providers/openai_response_scan_reference.hpp) on validity and on everything it
// reads. Input layout: the document bytes.
#include "../tests/unit/providers/openai_response_scan_reference.hpp"

#include "aiproxy/providers/openai_response_scan.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

bool same(const std::optional<aiproxy::providers::openai_response_scan>& a,
          const std::optional<aiproxy::providers::openai_response_scan>& b) {
  if (a.has_value() != b.has_value()) {
    return false;
  }
  if (!a) {
    return true;
  }
  const auto& x = a->summary;
  const auto& y = b->summary;
  return a->is_object == b->is_object && a->has_payload == b->has_payload &&
         x.response_model == y.response_model && x.finish_reason == y.finish_reason &&
         x.usage.known == y.usage.known && x.usage.prompt_tokens == y.usage.prompt_tokens &&
         x.usage.completion_tokens == y.usage.completion_tokens &&
         x.usage.total_tokens == y.usage.total_tokens &&
         x.usage.cached_tokens == y.usage.cached_tokens &&
         x.usage.reasoning_tokens == y.usage.reasoning_tokens;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A heap copy of exactly `size` bytes, so that a read past the end is caught by ASan.
  const auto copy = std::make_unique<char[]>(size == 0 ? 1 : size);
  if (size != 0) {
    std::memcpy(copy.get(), data, size);
  }
  const std::string_view bytes(copy.get(), size);
  for (const std::string_view field : {"choices", "data"}) {
    if (!same(aiproxy::providers::scan_openai_response(bytes, field),
              aiproxy::providers::reference::scan_openai_response(bytes, field))) {
      std::abort();
    }
  }
  return 0;
}
