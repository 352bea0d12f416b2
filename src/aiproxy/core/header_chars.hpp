#pragma once
// The two byte-level checks every header written to a peer must pass: a field name is a token,
// a field value holds no line break or NUL (either would end the field or the head early).
// Eight bytes at a time: each word is tested with the exact "some byte is zero / is below n"
// tricks, so no byte is judged wrongly. Pure, no I/O.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace aiproxy {

namespace header_chars_detail {

constexpr std::uint64_t ones = 0x0101010101010101u;
constexpr std::uint64_t highs = 0x8080808080808080u;

/// True when some byte of `x` is zero.
constexpr bool has_zero(std::uint64_t x) noexcept {
  return ((x - ones) & ~x & highs) != 0;
}

/// True when some byte of `x` is below `n` (n <= 128).
constexpr bool has_below(std::uint64_t x, unsigned char n) noexcept {
  return ((x - ones * n) & ~x & highs) != 0;
}

inline bool bad_value_byte(unsigned char c) noexcept {
  return c == '\r' || c == '\n' || c == '\0';
}

inline bool bad_name_byte(unsigned char c) noexcept {
  return c <= ' ' || c == ':' || c == 0x7f;
}

}  // namespace header_chars_detail

/// True when `s` holds a CR, LF or NUL byte.
inline bool has_line_break_or_nul(std::string_view s) noexcept {
  using namespace header_chars_detail;
  const auto bad = [](const char* at) noexcept {
    std::uint64_t x;
    std::memcpy(&x, at, 8);
    return has_zero(x) || has_zero(x ^ (ones * '\r')) || has_zero(x ^ (ones * '\n'));
  };
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      if (bad_value_byte(static_cast<unsigned char>(p[i]))) {
        return true;
      }
    }
    return false;
  }
  // Whole words, then the last eight bytes (overlapping the words already tested).
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    if (bad(p + i)) {
      return true;
    }
  }
  return n % 8 != 0 && bad(p + n - 8);
}

/// True when `s` is a non-empty field name or method: no byte at or below space, no ':' and no
/// DEL (bytes from 0x80 up pass, as they always have here).
inline bool is_header_token(std::string_view s) noexcept {
  using namespace header_chars_detail;
  if (s.empty()) {
    return false;
  }
  // A byte from 0x80 up is not below 0x21 here: has_below only looks at bytes under 0x80.
  const auto bad = [](const char* at) noexcept {
    std::uint64_t x;
    std::memcpy(&x, at, 8);
    return has_below(x, 0x21) || has_zero(x ^ (ones * ':')) || has_zero(x ^ (ones * 0x7f));
  };
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      if (bad_name_byte(static_cast<unsigned char>(p[i]))) {
        return false;
      }
    }
    return true;
  }
  // Whole words, then the last eight bytes (overlapping the words already tested).
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    if (bad(p + i)) {
      return false;
    }
  }
  return n % 8 == 0 || !bad(p + n - 8);
}

}  // namespace aiproxy
