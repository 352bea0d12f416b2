// sse_writer: text/event-stream frame formatting into a std::string. No I/O.
#include "aiproxy/stream/sse_writer.hpp"

#include <cstring>

namespace aiproxy::stream {

namespace {
// Index of the first CR or LF, or npos. Two memchr passes (vectorised) beat a loop over every
// byte, and event data rarely holds either.
std::size_t line_end(std::string_view s) noexcept {
  if (s.empty()) {
    return std::string_view::npos;
  }
  const void* lf = std::memchr(s.data(), '\n', s.size());
  const std::size_t n =
      lf != nullptr ? static_cast<std::size_t>(static_cast<const char*>(lf) - s.data()) : s.size();
  const void* cr = std::memchr(s.data(), '\r', n);
  if (cr != nullptr) {
    return static_cast<std::size_t>(static_cast<const char*>(cr) - s.data());
  }
  return lf != nullptr ? n : std::string_view::npos;
}

std::string_view first_line(std::string_view s) {
  return s.substr(0, line_end(s));
}
}  // namespace

void write_sse_data(std::string& out, std::string_view data) {
  // No exact reserve here: callers append many events to one buffer, and growing it by exactly
  // one event each time would copy the whole buffer per event.
  for (;;) {
    const std::size_t eol = line_end(data);
    out.append("data: ");
    out.append(data.substr(0, eol));
    out.push_back('\n');
    if (eol == std::string_view::npos) {
      break;
    }
    const bool crlf = data[eol] == '\r' && eol + 1 < data.size() && data[eol + 1] == '\n';
    data.remove_prefix(eol + (crlf ? 2 : 1));
  }
  out.push_back('\n');
}

void write_sse_event(std::string& out, std::string_view name, std::string_view data) {
  out.append("event: ");
  out.append(first_line(name));
  out.push_back('\n');
  write_sse_data(out, data);
}

void write_sse_done(std::string& out) {
  out.append("data: [DONE]\n\n");
}

void write_sse_comment(std::string& out, std::string_view text) {
  out.append(": ");
  out.append(first_line(text));
  out.append("\n\n");
}

}  // namespace aiproxy::stream
