// json_array_decoder: a bracket/brace/string-aware scanner that cuts one streamed JSON array
// into its top-level elements. No I/O, no JSON parsing beyond the structure.
#include "aiproxy/stream/json_array_decoder.hpp"

namespace aiproxy::stream {

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
}  // namespace

json_array_decoder::json_array_decoder(std::size_t max_frame_bytes)
    : max_frame_bytes_(max_frame_bytes) {}

error json_array_decoder::fail(std::string message) {
  failure_ = error::bad_gateway("upstream JSON array stream: " + std::move(message), "bad_stream");
  return *failure_;
}

result<void> json_array_decoder::end_element(std::string_view tail, std::vector<event>& out) {
  std::string_view text = tail;
  if (!element_.empty()) {
    element_.append(tail);
    text = element_;
  }
  if (text.size() > max_frame_bytes_) {  // measured untrimmed, like a partial element
    return fail("an element exceeds " + std::to_string(max_frame_bytes_) + " bytes");
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    return fail("empty array element");
  }
  out.emplace_back().data.assign(text);
  element_.clear();
  return {};
}

result<void> json_array_decoder::feed(std::string_view bytes, std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  std::size_t start = 0;  // where the current element begins in `bytes`
  while (i < n) {
    const char c = bytes[i];
    switch (state_) {
      case state::before_array:
        if (c == '[') {
          state_ = state::before_element;
        } else if (!is_space(c)) {
          return fail("the stream does not start with '['");
        }
        ++i;
        break;
      case state::before_element:
        if (is_space(c)) {
          ++i;
        } else if (c == ']' && !after_comma_) {
          state_ = state::done;
          ++i;
        } else if (c == ']' || c == ',') {
          return fail("empty array element");
        } else {
          state_ = state::in_element;
          start = i;  // not consumed: in_element scans it
        }
        break;
      case state::in_element: {
        // The hot loop: stays inside the element until it ends or the bytes run out.
        for (; i < n; ++i) {
          const char d = bytes[i];
          if (in_string_) {
            if (escape_) {
              escape_ = false;
            } else if (d == '\\') {
              escape_ = true;
            } else if (d == '"') {
              in_string_ = false;
            }
            continue;
          }
          if (d == '"') {
            in_string_ = true;
          } else if (d == '[' || d == '{') {
            if (nesting_.size() == max_depth) {
              return fail("an element nests deeper than " + std::to_string(max_depth));
            }
            nesting_.push_back(d);
          } else if (d == ']' || d == '}') {
            if (nesting_.empty()) {
              if (d == '}') {
                return fail("unbalanced '}'");
              }
              break;  // the array's closing bracket ends the element
            }
            if ((d == ']') != (nesting_.back() == '[')) {
              return fail("mismatched brackets");
            }
            nesting_.pop_back();
          } else if (d == ',' && nesting_.empty()) {
            break;
          }
        }
        if (i == n) {  // the element continues in a later feed
          if (element_.size() + (n - start) > max_frame_bytes_) {
            return fail("an element exceeds " + std::to_string(max_frame_bytes_) + " bytes");
          }
          element_.append(bytes.substr(start, n - start));
          break;
        }
        auto r = end_element(bytes.substr(start, i - start), out);
        if (!r) {
          return r;
        }
        after_comma_ = bytes[i] == ',';
        state_ = after_comma_ ? state::before_element : state::done;
        ++i;
        break;
      }
      case state::done:
        if (!is_space(c)) {
          return fail("data after the closing ']'");
        }
        ++i;
        break;
    }
  }
  return {};
}

result<void> json_array_decoder::finish(std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  if (state_ != state::done) {
    return fail(state_ == state::before_array ? "the stream ended before the array began"
                                              : "the stream ended inside the array");
  }
  return {};
}

}  // namespace aiproxy::stream
