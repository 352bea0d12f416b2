#pragma once
// An ordered list of HTTP header fields with case-insensitive lookup. Pure data, no Asio.

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
