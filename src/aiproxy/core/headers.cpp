// header_list and the ASCII case-insensitive comparison its lookups use. Pure, no Asio.

#include "aiproxy/core/headers.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

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

header_list::header_list(const header_list& other) {
  if (other.count_ > 0) {
    const std::size_t text = other.bytes_ - other.text_at_;
    reserve(other.count_, text);
    std::memcpy(block_, other.block_, other.count_ * sizeof(slot));
    std::memcpy(reinterpret_cast<char*>(block_) + bytes_ - text,
                reinterpret_cast<const char*>(other.block_) + other.text_at_, text);
    count_ = other.count_;
    text_at_ = static_cast<std::uint32_t>(bytes_ - text);
  }
}

header_list& header_list::operator=(const header_list& other) {
  if (this != &other) {
    header_list copy(other);
    *this = std::move(copy);
  }
  return *this;
}

header_list& header_list::operator=(header_list&& other) noexcept {
  if (this != &other) {
    delete[] block_;
    block_ = std::exchange(other.block_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    count_ = std::exchange(other.count_, 0);
    text_at_ = std::exchange(other.text_at_, 0);
  }
  return *this;
}

void header_list::reserve(std::size_t n, std::size_t text) {
  const std::size_t want = n * sizeof(slot) + text;
  if (want > bytes_) {
    const std::size_t used = count_ * sizeof(slot) + (bytes_ - text_at_);
    delete[] grow(want > used ? want - used : 0);
  }
}

header_list::slot* header_list::grow(std::size_t more) {
  const std::size_t used = count_ * sizeof(slot) + (bytes_ - text_at_);
  std::size_t bytes = std::max<std::size_t>({used + more, std::size_t{2} * bytes_, 512});
  bytes = (bytes + sizeof(slot) - 1) / sizeof(slot) * sizeof(slot);
  if (bytes > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("header_list: fields over 4 GiB");
  }
  slot* block = new slot[bytes / sizeof(slot)];
  const std::size_t text = bytes_ - text_at_;
  if (count_ > 0) {
    std::memcpy(block, block_, count_ * sizeof(slot));
  }
  if (text > 0) {
    std::memcpy(reinterpret_cast<char*>(block) + bytes - text,
                reinterpret_cast<const char*>(block_) + text_at_, text);
  }
  slot* old = std::exchange(block_, block);
  bytes_ = static_cast<std::uint32_t>(bytes);
  text_at_ = static_cast<std::uint32_t>(bytes - text);
  return old;
}

std::optional<std::string_view> header_list::get(std::string_view name) const noexcept {
  const char* end = reinterpret_cast<const char*>(block_) + bytes_;
  for (const slot* s = block_; s != block_ + count_; ++s) {
    if (s->name_size == name.size() &&
        iequals_same_size(std::string_view(end - s->name_from_end, s->name_size), name)) {
      return std::string_view(end - s->value_from_end, s->value_size);
    }
  }
  return std::nullopt;
}

void header_list::set(std::string_view name, std::string_view value) {
  erase(name);
  add(name, value);
}

void header_list::add(std::string_view name, std::string_view value) {
  const std::size_t more = sizeof(slot) + name.size() + value.size();
  std::unique_ptr<slot[]> old;
  if (text_at_ < count_ * sizeof(slot) + more) {
    old.reset(grow(more));  // `name` or `value` may point into it: freed after they are copied
  }
  char* base = reinterpret_cast<char*>(block_);
  text_at_ -= static_cast<std::uint32_t>(value.size());
  put_bytes(base + text_at_, value);
  const std::uint32_t value_from_end = bytes_ - text_at_;
  text_at_ -= static_cast<std::uint32_t>(name.size());
  put_bytes(base + text_at_, name);
  block_[count_++] = slot{bytes_ - text_at_, static_cast<std::uint32_t>(name.size()),
                          value_from_end, static_cast<std::uint32_t>(value.size())};
}

void header_list::erase(std::string_view name) {
  erase_if([&](const field& f) { return iequals(f.first, name); });
}

bool operator==(const header_list::field_view& a, const header_list::field_view& b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace aiproxy
