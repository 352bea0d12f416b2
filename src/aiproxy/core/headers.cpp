// header_list and the ASCII case-insensitive comparison its lookups use. Pure, no Asio.

#include "aiproxy/core/headers.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>

namespace aiproxy {

namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

/// Eight bytes with each of 'A'..'Z' turned into its lower case letter and every other byte
/// (0x80 and up included) left as it is: `lower` on each byte, exactly.
std::uint64_t lower8(std::uint64_t x) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101u;
  constexpr std::uint64_t highs = 0x8080808080808080u;
  const std::uint64_t low7 = x & ~highs;
  // The high bit of each byte of `ge_a` is set when its low seven bits are >= 'A', of `gt_z`
  // when they are > 'Z'; no byte carries into the next (the sums stay below 0x100).
  const std::uint64_t ge_a = low7 + ones * (0x80 - 'A');
  const std::uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1);
  const std::uint64_t upper = ge_a & ~gt_z & ~x & highs;  // ASCII 'A'..'Z' only
  return x | (upper >> 2);                                // 0x80 >> 2 == 0x20
}

std::uint64_t load8(const char* p) noexcept {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

}  // namespace

bool iequals_same_size(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n < 8) {
    // Equal bytes need no case folding; most names differ at once or match byte for byte.
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i] && lower(a[i]) != lower(b[i])) {
        return false;
      }
    }
    return true;
  }
  // Eight bytes at a time; the last word overlaps the one before when n is not a multiple of 8.
  for (std::size_t i = 0;; i += 8) {
    if (i > n - 8) {
      i = n - 8;
    }
    const std::uint64_t x = load8(a.data() + i);
    const std::uint64_t y = load8(b.data() + i);
    if (x != y && lower8(x) != lower8(y)) {
      return false;
    }
    if (i == n - 8) {
      return true;
    }
  }
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
