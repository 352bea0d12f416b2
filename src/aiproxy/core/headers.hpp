#pragma once
// An ordered list of HTTP header fields with case-insensitive lookup. Pure data, no Asio.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aiproxy {

bool iequals_same_size(std::string_view a, std::string_view b) noexcept;

/// ASCII case-insensitive equality (header names, tokens). Inline so that the common answer,
/// different lengths, costs no call.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && iequals_same_size(a, b);
}

/// Copies `s` to `p` and returns the end of the copy: the step of the head writers, which size a
/// head first and then fill it. An empty view may hold a null pointer, which memcpy must not get.
inline char* put_bytes(char* p, std::string_view s) noexcept {
  if (!s.empty()) {
    std::memcpy(p, s.data(), s.size());
  }
  return p + s.size();
}

/// A fixed set of header names, looked up case-insensitively. The names are kept grouped by
/// length: a name whose length no member has is turned away by one bit test, and one that gets
/// past it is compared only with the members of its length, so filtering a request's headers
/// against the set costs about one comparison per header instead of one per member.
template <std::size_t N>
class header_name_set {
  static_assert(N > 0 && N < 255, "a header_name_set holds 1 to 254 names");

 public:
  consteval header_name_set(const std::string_view (&names)[N]) {
    // Group by length (a stable insertion sort; lengths from long_size up share one group).
    for (std::size_t i = 0; i < N; ++i) {
      names_[i] = names[i];
      lengths_ |= names[i].size() < 64 ? std::uint64_t{1} << names[i].size() : ~std::uint64_t{0};
    }
    for (std::size_t i = 1; i < N; ++i) {
      for (std::size_t j = i; j > 0 && group(names_[j - 1]) > group(names_[j]); --j) {
        std::swap(names_[j - 1], names_[j]);
      }
    }
    std::size_t at = 0;
    for (std::size_t g = 0; g <= long_size; ++g) {
      first_[g] = static_cast<std::uint8_t>(at);
      while (at < N && group(names_[at]) == g) {
        ++at;
      }
    }
    first_[long_size + 1] = static_cast<std::uint8_t>(N);
  }

  bool contains(std::string_view name) const noexcept {
    if (name.size() < 64 && ((lengths_ >> name.size()) & 1) == 0) {
      return false;
    }
    const std::size_t g = group(name);
    for (std::size_t i = first_[g]; i < first_[g + 1]; ++i) {
      if (iequals(names_[i], name)) {
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr std::size_t long_size = 64;
  static constexpr std::size_t group(std::string_view s) noexcept {
    return s.size() < long_size ? s.size() : long_size;
  }

  std::array<std::string_view, N> names_{};
  std::array<std::uint8_t, long_size + 2> first_{};  // group g is names_[first_[g], first_[g+1])
  std::uint64_t lengths_ = 0;
};

class header_list {
 public:
  using field = std::pair<std::string, std::string>;

  /// First value of `name`, compared case-insensitively.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
  /// Replaces every field named `name` with one field.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  void erase(std::string_view name);
  /// Removes every field for which `pred(field)` is true, keeping the order of the others.
  template <class Pred>
  void erase_if(Pred pred) {
    std::erase_if(fields_, pred);
  }

  const std::vector<field>& fields() const noexcept { return fields_; }
  bool empty() const noexcept { return fields_.empty(); }
  std::size_t size() const noexcept { return fields_.size(); }
  void reserve(std::size_t n) { fields_.reserve(n); }

 private:
  std::vector<field> fields_;
};

}  // namespace aiproxy
