#pragma once
// One pass over a JSON text that validates it exactly as boost::json::parse does (a scanner
// written for this, checked against Boost.JSON's own parser by differential tests; numbers kept
// at the top level get their value from Boost.JSON) and keeps only what a passthrough needs: the
// top-level members with their scalar values, the size of each object or array member, and a few
// facts about the elements of one array member and the members of one object member. Requests that
// are forwarded nearly as they came are checked and edited from this index instead of a parsed
// tree, which costs several times the scan. Pure, no I/O.

#include <boost/json/value.hpp>

#include <cstddef>
#include <forward_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::json {

enum class member_kind : unsigned char { null, boolean, number, string, object, array };

/// One top-level member. `key` and `text` point into the indexed text, or into the index's own
/// storage when they were written with escapes.
struct top_level_member {
  std::string_view key;
  member_kind kind = member_kind::null;
  std::string_view text;      // a string's value, unescaped
  boost::json::value scalar;  // null, bool or number: the value boost::json::parse gives
  std::size_t size = 0;       // members of an object, elements of an array
};

/// What to look at below the top level.
struct index_probes {
  /// For each element of the top-level array `elements_of`: is it an object whose member
  /// `element_key` (the last one written, as a parsed tree keeps it) is a string?
  std::string_view elements_of;
  std::string_view element_key;
  /// In the top-level object `members_of`: the last value written for `member_key`.
  std::string_view members_of;
  std::string_view member_key;
};

class top_level_index {
 public:
  /// False when the text is valid JSON but not an object.
  bool is_object() const noexcept { return is_object_; }
  /// True when some top-level key is written twice (a parsed tree keeps the last one), or when
  /// there are more than max_checked_members top-level members (then it is not checked: a
  /// request does not have that many, and checking would cost the square of their number).
  bool has_duplicate_keys() const noexcept { return duplicates_; }
  static constexpr std::size_t max_checked_members = 64;
  /// The top-level members in the order written; empty when the text is not an object.
  const std::vector<top_level_member>& members() const noexcept { return members_; }
  /// Inline so that a literal key's length and bytes are compared as constants.
  const top_level_member* find(std::string_view key) const noexcept {
    // Requests have a handful of top-level members: a linear scan beats any map.
    for (const auto& m : members_) {
      if (m.key.size() == key.size() && (key.empty() || m.key[0] == key[0]) && m.key == key) {
        return &m;
      }
    }
    return nullptr;
  }
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }

  /// Index of the first element of `elements_of` that is not an object with a string
  /// `element_key`, or nullopt when every element is one (or the member is not an array).
  std::optional<std::size_t> first_element_without_string_key() const noexcept {
    return first_bad_element_;
  }
  /// The last value of `members_of.member_key`: kind and, for a bool, its value. nullopt when
  /// `members_of` is not an object or has no such member.
  std::optional<member_kind> probed_member_kind() const noexcept { return probed_kind_; }
  bool probed_member_bool() const noexcept { return probed_bool_; }

  /// Appends the member's value as write_value (writer.hpp) writes the parsed value. Only for
  /// scalars (null, bool, number, string).
  static void write_scalar(std::string& out, const top_level_member& m);

 private:
  friend struct index_builder;
  friend class index_scanner;
  std::vector<top_level_member> members_;
  std::forward_list<std::string> owned_;  // keys and strings that were escaped
  std::optional<std::size_t> first_bad_element_;
  std::optional<member_kind> probed_kind_;
  bool probed_bool_ = false;
  bool is_object_ = false;
  bool duplicates_ = false;
};

/// Indexes `text`, or returns nullopt when boost::json::parse with `max_depth` would fail.
std::optional<top_level_index> index_top_level(std::string_view text, const index_probes& probes,
                                               std::size_t max_depth);

/// The same index built by driving Boost.JSON's basic_parser: several times slower. Used for
/// texts of 2 GiB and more (where Boost.JSON's size limits on strings, objects and arrays can
/// matter) and by tests as the reference for index_top_level.
std::optional<top_level_index> index_top_level_with_parser(std::string_view text,
                                                           const index_probes& probes,
                                                           std::size_t max_depth);

}  // namespace aiproxy::json
