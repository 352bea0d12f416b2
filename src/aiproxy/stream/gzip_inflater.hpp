#pragma once
// Incremental gzip/deflate inflation (zlib) for upstream bodies sent with Content-Encoding.
// Bytes in, bytes out, split anywhere. No I/O.

#include "aiproxy/core/error.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace aiproxy::stream {

class gzip_inflater {
 public:
  enum class format { gzip, deflate };
  explicit gzip_inflater(format f = format::gzip, std::size_t max_output = 64 * 1024 * 1024);
  ~gzip_inflater();
  gzip_inflater(gzip_inflater&&) noexcept;
  gzip_inflater& operator=(gzip_inflater&&) noexcept;

  /// Inflates `in` and appends the output to `out`. Fails on corrupt input or when the total
  /// output would pass max_output (a decompression bomb).
  result<void> feed(std::string_view in, std::string& out);
  /// True once the compressed stream's end marker was seen.
  bool finished() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aiproxy::stream
