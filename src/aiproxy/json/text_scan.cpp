// Key scans over JSON text (see text_scan.hpp). Pure: no I/O.
#include "aiproxy/json/text_scan.hpp"

namespace aiproxy::json {

namespace {

bool json_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// Calls `on_key(value_offset)` for each place `key` is written as an object key (the offset is
/// the first byte after the colon); stops when it returns false.
template <class F>
void for_each_key(std::string_view text, std::string_view key, F on_key) {
  std::size_t from = 0;
  for (;;) {
    const auto at = text.find(key, from);
    if (at == std::string_view::npos) {
      return;
    }
    from = at + 1;
    const std::size_t end = at + key.size();
    if (at == 0 || text[at - 1] != '"' || end >= text.size() || text[end] != '"') {
      continue;
    }
    std::size_t i = end + 1;
    while (i < text.size() && json_space(text[i])) {
      ++i;
    }
    if (i < text.size() && text[i] == ':' && !on_key(i + 1)) {
      return;
    }
  }
}

}  // namespace

int key_occurrences(std::string_view text, std::string_view key, int limit) {
  int n = 0;
  for_each_key(text, key, [&](std::size_t) { return ++n < limit; });
  return n;
}

bool key_values_all_null(std::string_view text, std::string_view key) {
  bool all_null = true;
  for_each_key(text, key, [&](std::size_t value) {
    while (value < text.size() && json_space(text[value])) {
      ++value;
    }
    all_null = text.substr(value, 4) == "null";
    return all_null;
  });
  return all_null;
}

}  // namespace aiproxy::json
