#pragma once
// Incremental stream frame decoders: bytes in (split anywhere), events out. No I/O.
// One implementation per framing; each carries partial frames across feed() calls, so any
// split of the same bytes yields the same events.

#include "aiproxy/core/error.hpp"
#include "aiproxy/stream/event.hpp"

#include <memory>
#include <string_view>
#include <vector>

namespace aiproxy::stream {

class decoder {
 public:
  virtual ~decoder() = default;
  /// Decodes as many complete events as `bytes` (appended to what came before) holds.
  /// Errors are framing errors (e.g. a buffered partial frame over the size cap).
  virtual result<void> feed(std::string_view bytes, std::vector<event>& out) = 0;
  /// The stream ended. Emits what a well-formed end yields; a dangling partial frame that the
  /// framing says must be discarded is discarded.
  virtual result<void> finish(std::vector<event>& out) = 0;
};

/// Largest partial frame a decoder buffers before it fails (bounds memory per stream).
inline constexpr std::size_t max_buffered_frame_bytes = 8 * 1024 * 1024;

/// A decoder for `f`; nullptr for framing::none.
std::unique_ptr<decoder> make_decoder(framing f);

}  // namespace aiproxy::stream
