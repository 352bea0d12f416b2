// header_list and the ASCII case-insensitive comparison its lookups use. Pure, no Asio.

#include "aiproxy/core/headers.hpp"

#include <algorithm>
#include <tuple>

namespace aiproxy {

namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

}  // namespace

bool iequals_same_size(std::string_view a, std::string_view b) noexcept {
  // Equal bytes need no case folding; most names differ at once or match byte for byte.
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::optional<std::string_view> header_list::get(std::string_view name) const noexcept {
  for (const auto& [k, v] : fields_) {
    if (iequals(k, name)) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

void header_list::set(std::string_view name, std::string_view value) {
  erase(name);
  add(name, value);
}

void header_list::add(std::string_view name, std::string_view value) {
  // Built in place: no temporary strings to move from and destroy.
  fields_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                       std::forward_as_tuple(value));
}

void header_list::erase(std::string_view name) {
  const auto named = [&](const field& f) { return iequals(f.first, name); };
  const auto first = std::find_if(fields_.begin(), fields_.end(), named);
  if (first != fields_.end()) {  // the usual answer is "none": nothing to shift
    fields_.erase(std::remove_if(first, fields_.end(), named), fields_.end());
  }
}

}  // namespace aiproxy
