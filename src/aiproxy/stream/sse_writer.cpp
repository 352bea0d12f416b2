// sse_writer: text/event-stream frame formatting into a std::string. No I/O.
#include "aiproxy/stream/sse_writer.hpp"

namespace aiproxy::stream {

namespace {
std::string_view first_line(std::string_view s) {
  return s.substr(0, s.find_first_of("\r\n"));
}
}  // namespace

void write_sse_data(std::string& out, std::string_view data) {
  out.reserve(out.size() + data.size() + 8);
  for (;;) {
    const std::size_t eol = data.find_first_of("\r\n");
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
