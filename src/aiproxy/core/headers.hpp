#pragma once
// An ordered list of HTTP header fields with case-insensitive lookup. Pure data, no Asio.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
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

/// The fields of one message head, in order, in one allocation: an index of fields grows from the
/// front of the block and their names and values from its back, so a typical head costs one
/// allocation instead of one or two per field plus the vector's. A field is handed out as a pair
/// of views into the block: valid until the list is next changed, moved from or destroyed.
class header_list {
 public:
  using field = std::pair<std::string_view, std::string_view>;

  /// The fields as a range of `field` values, with size() and indexing.
  class field_view {
   public:
    class iterator {
     public:
      using iterator_category = std::input_iterator_tag;
      using iterator_concept = std::forward_iterator_tag;
      using value_type = field;
      using difference_type = std::ptrdiff_t;
      using reference = field;
      using pointer = void;

      iterator() = default;
      field operator*() const noexcept { return owner_->at(i_); }
      iterator& operator++() noexcept {
        ++i_;
        return *this;
      }
      iterator operator++(int) noexcept {
        iterator was = *this;
        ++i_;
        return was;
      }
      difference_type operator-(const iterator& o) const noexcept {
        return static_cast<difference_type>(i_) - static_cast<difference_type>(o.i_);
      }
      bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

     private:
      friend class field_view;
      iterator(const header_list* owner, std::size_t i) noexcept : owner_(owner), i_(i) {}
      const header_list* owner_ = nullptr;
      std::size_t i_ = 0;
    };

    explicit field_view(const header_list& owner) noexcept : owner_(&owner) {}
    iterator begin() const noexcept { return {owner_, 0}; }
    iterator end() const noexcept { return {owner_, owner_->size()}; }
    std::size_t size() const noexcept { return owner_->size(); }
    bool empty() const noexcept { return owner_->empty(); }
    field operator[](std::size_t i) const noexcept { return owner_->at(i); }
    /// Same fields, same order, names and values compared byte for byte.
    friend bool operator==(const field_view& a, const field_view& b) noexcept;

   private:
    const header_list* owner_;
  };

  header_list() noexcept = default;
  header_list(const header_list& other);
  header_list(header_list&& other) noexcept
      : block_(std::exchange(other.block_, nullptr)),
        bytes_(std::exchange(other.bytes_, 0)),
        count_(std::exchange(other.count_, 0)),
        text_at_(std::exchange(other.text_at_, 0)) {}
  header_list& operator=(const header_list& other);
  header_list& operator=(header_list&& other) noexcept;
  ~header_list() { delete[] block_; }

  /// First value of `name`, compared case-insensitively.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
  /// Replaces every field named `name` with one field.
  void set(std::string_view name, std::string_view value);
  /// Appends a field. `name` and `value` may be views into this list.
  void add(std::string_view name, std::string_view value);
  void erase(std::string_view name);
  /// Removes every field for which `pred(field)` is true, keeping the order of the others.
  template <class Pred>
  void erase_if(Pred pred) {
    slot* const end = block_ + count_;
    count_ = static_cast<std::uint32_t>(
        std::remove_if(block_, end, [&](const slot& s) { return pred(view(s)); }) - block_);
  }

  field_view fields() const noexcept { return field_view(*this); }
  field at(std::size_t i) const noexcept { return view(block_[i]); }
  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  /// Room for `n` fields of `text` bytes of names and values in all, allocated at once.
  void reserve(std::size_t n, std::size_t text = 0);

 private:
  // One field: where its name and value start, counted back from the end of the block (so
  // growing the block, which keeps the text at its end, leaves them right), and their sizes.
  struct slot {
    std::uint32_t name_from_end;
    std::uint32_t name_size;
    std::uint32_t value_from_end;
    std::uint32_t value_size;
  };

  field view(const slot& s) const noexcept {
    const char* end = reinterpret_cast<const char*>(block_) + bytes_;
    return {std::string_view(end - s.name_from_end, s.name_size),
            std::string_view(end - s.value_from_end, s.value_size)};
  }
  /// Moves to a block with room for `more` bytes (slot and text); returns the old block.
  slot* grow(std::size_t more);

  slot* block_ = nullptr;      // bytes_ bytes: count_ slots, free room, then text from text_at_
  std::uint32_t bytes_ = 0;    // a multiple of sizeof(slot)
  std::uint32_t count_ = 0;    // fields; erased ones leave their text behind
  std::uint32_t text_at_ = 0;  // offset of the first text byte (text grows down to it)
};

}  // namespace aiproxy
