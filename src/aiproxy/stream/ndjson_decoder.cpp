// ndjson_decoder: splits a byte stream into lines, one JSON value per line. No I/O.
#include "aiproxy/stream/ndjson_decoder.hpp"

#include <cstring>

namespace aiproxy::stream {

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}
}  // namespace

ndjson_decoder::ndjson_decoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

error ndjson_decoder::fail(std::string message) {
  failure_ = error::bad_gateway("upstream NDJSON stream: " + std::move(message), "bad_stream");
  return *failure_;
}

void ndjson_decoder::emit(std::string_view line, std::vector<event>& out) {
  line = trim(line);
  if (!line.empty()) {
    out.emplace_back().data.assign(line);
  }
}

result<void> ndjson_decoder::feed(std::string_view bytes, std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p != end) {
    const auto* lf =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (lf == nullptr) {
      if (line_.size() + static_cast<std::size_t>(end - p) > max_frame_bytes_) {
        return fail("a line exceeds " + std::to_string(max_frame_bytes_) + " bytes");
      }
      line_.append(p, end);
      break;
    }
    std::string_view line(p, static_cast<std::size_t>(lf - p));
    if (line_.size() + line.size() > max_frame_bytes_) {
      return fail("a line exceeds " + std::to_string(max_frame_bytes_) + " bytes");
    }
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    emit(line, out);
    line_.clear();
    p = lf + 1;
  }
  return {};
}

result<void> ndjson_decoder::finish(std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  emit(line_, out);
  line_.clear();
  return {};
}

}  // namespace aiproxy::stream
