// sse_decoder: the WHATWG event-stream parser, incremental over arbitrary splits.
// Touches only its own buffers; no I/O.
#include "aiproxy/stream/sse_decoder.hpp"

#include <cstring>

namespace aiproxy::stream {

namespace {
constexpr char utf8_bom[] = "\xEF\xBB\xBF";
}  // namespace

sse_decoder::sse_decoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

error sse_decoder::fail(std::string message) {
  failure_ = error::bad_gateway("upstream event stream: " + std::move(message), "bad_stream");
  return *failure_;
}

result<void> sse_decoder::feed(std::string_view bytes, std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  if (!bom_checked_) {
    // One BOM may open the stream; its bytes may arrive across several feeds.
    while (!bytes.empty() && bom_matched_ < 3 && bytes.front() == utf8_bom[bom_matched_]) {
      ++bom_matched_;
      bytes.remove_prefix(1);
    }
    if (bom_matched_ == 3) {
      bom_checked_ = true;
    } else if (bytes.empty()) {
      return {};  // still undecided
    } else {
      bom_checked_ = true;
      if (bom_matched_ > 0) {  // a BOM prefix that was not a BOM: ordinary bytes after all
        auto r = feed_lines(std::string_view(utf8_bom, bom_matched_), out);
        if (!r) {
          return r;
        }
      }
    }
  }
  return feed_lines(bytes, out);
}

result<void> sse_decoder::feed_lines(std::string_view bytes, std::vector<event>& out) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  if (skip_lf_ && p != end) {
    if (*p == '\n') {
      ++p;
    }
    skip_lf_ = false;
  }
  // The next LF is searched once and reused while lines end in CR before it.
  const char* next_lf = nullptr;
  bool lf_known = false;
  while (p != end) {
    if (!lf_known || (next_lf != nullptr && next_lf < p)) {
      next_lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      lf_known = true;
    }
    const char* limit = next_lf != nullptr ? next_lf : end;
    const char* cr =
        static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(limit - p)));
    const char* eol = cr != nullptr ? cr : next_lf;
    if (eol == nullptr) {  // no line end yet: carry the partial line to the next feed
      if (line_.size() + static_cast<std::size_t>(end - p) > max_frame_bytes_) {
        return fail("a line exceeds " + std::to_string(max_frame_bytes_) + " bytes");
      }
      line_.append(p, end);
      break;
    }
    std::string_view line(p, static_cast<std::size_t>(eol - p));
    if (line_.size() + line.size() > max_frame_bytes_) {
      return fail("a line exceeds " + std::to_string(max_frame_bytes_) + " bytes");
    }
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    auto r = on_line(line, out);
    line_.clear();
    if (!r) {
      return r;
    }
    p = eol + 1;
    if (*eol == '\r') {
      if (p == end) {
        skip_lf_ = true;
      } else if (*p == '\n') {
        ++p;
      }
    }
  }
  return {};
}

result<void> sse_decoder::on_line(std::string_view line, std::vector<event>& out) {
  if (line.empty()) {
    dispatch(out);
    return {};
  }
  if (line.front() == ':') {
    return {};  // comment
  }
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_frame_bytes_) {
      return fail("an event's data exceeds " + std::to_string(max_frame_bytes_) + " bytes");
    }
    if (has_data_) {
      data_.push_back('\n');
    }
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      last_event_id_.assign(value);
    }
  }
  // "retry" only steers a browser's reconnection; it and unknown fields are ignored.
  return {};
}

void sse_decoder::dispatch(std::vector<event>& out) {
  if (has_data_) {
    event& e = out.emplace_back();
    e.name = event_type_;
    e.data = data_;  // a copy keeps data_'s capacity for the next event
    e.id = last_event_id_;
  }
  data_.clear();
  event_type_.clear();
  has_data_ = false;
}

result<void> sse_decoder::finish(std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  // The spec discards a final event that no blank line completed, and an unterminated line.
  line_.clear();
  data_.clear();
  event_type_.clear();
  has_data_ = false;
  skip_lf_ = false;
  return {};
}

}  // namespace aiproxy::stream
