// The top-level index (see top_level_index.hpp): Boost.JSON's own parser with a handler that
// keeps the top-level members instead of building a tree, so that what it accepts is exactly
// what boost::json::parse accepts. Pure, no I/O.
#include "aiproxy/json/top_level_index.hpp"

#include "aiproxy/json/writer.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <utility>

namespace aiproxy::json {

namespace {

using error_code = boost::system::error_code;
using sv = boost::json::string_view;

}  // namespace

void top_level_index::write_scalar(std::string& out, const top_level_member& m) {
  if (m.kind == member_kind::string) {
    write_string(out, m.text);
  } else {
    write_value(out, m.scalar);
  }
}

/// Boost.JSON basic_parser handler. Depth 0 is outside the document, 1 inside the top-level
/// object, 2 inside one of its members, 3 inside an element of a probed array.
struct index_builder {
  // The limits boost::json::parse applies (its value_stack's).
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  index_builder(std::string_view text, const index_probes& probes, top_level_index& out)
      : text_(text), probes_(probes), out_(out) {
    out_.members_.reserve(16);
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (depth_ == 0) {
      out_.is_object_ = true;
    } else if (depth_ == 1) {
      begin_container(member_kind::object);
    } else if (depth_ == 2 && in_elements_) {
      element_open_ = true;
      element_has_string_key_ = false;
    } else {
      scalar_below();
    }
    ++depth_;
    return true;
  }

  bool on_object_end(std::size_t n, error_code&) {
    --depth_;
    if (depth_ == 1) {
      end_container(n);
    } else if (depth_ == 2 && in_elements_ && element_open_) {
      element_open_ = false;
      if (!element_has_string_key_) {
        bad_element();
      }
      ++element_count_;
    }
    return true;
  }

  bool on_array_begin(error_code&) {
    if (depth_ == 1) {
      begin_container(member_kind::array);
    } else if (depth_ >= 2) {
      scalar_below();
      if (depth_ == 2 && in_elements_) {
        array_element_depth_ = depth_ + 1;
      }
    }
    ++depth_;
    return true;
  }

  bool on_array_end(std::size_t n, error_code&) {
    --depth_;
    if (depth_ == 1) {
      end_container(n);
    } else if (depth_ == 2 && in_elements_ && array_element_depth_ == depth_ + 1) {
      array_element_depth_ = 0;
      ++element_count_;
    }
    return true;
  }

  bool on_key_part(sv s, std::size_t, error_code&) {
    if (depth_ <= 3) {
      parts_.append(s.data(), s.size());
    }
    return true;
  }

  bool on_key(sv s, std::size_t, error_code&) {
    std::string_view key(s.data(), s.size());
    const bool whole = parts_.empty();
    if (!whole) {
      parts_.append(key);
      key = parts_;
    }
    if (depth_ == 1) {
      pending_key_ = whole && in_text(key) ? key : own(key);
      if (!out_.duplicates_ && (out_.members_.size() >= top_level_index::max_checked_members ||
                                out_.find(pending_key_) != nullptr)) {
        out_.duplicates_ = true;
      }
    } else if (depth_ == 3 && element_open_) {
      expect_element_key_value_ = key == probes_.element_key;
    } else if (depth_ == 2 && in_members_) {
      expect_member_value_ = key == probes_.member_key;
    }
    parts_.clear();
    return true;
  }

  bool on_string_part(sv s, std::size_t, error_code&) {
    if (depth_ == 1) {
      parts_.append(s.data(), s.size());
    }
    return true;
  }

  bool on_string(sv s, std::size_t, error_code&) {
    if (depth_ == 1) {
      std::string_view value(s.data(), s.size());
      if (!parts_.empty()) {
        parts_.append(value);
        value = own(parts_);
        parts_.clear();
      } else if (!in_text(value)) {
        value = own(value);
      }
      auto& m = add_member(member_kind::string);
      m.text = value;
    } else {
      below(member_kind::string, false);
    }
    return true;
  }

  bool on_number_part(sv, error_code&) { return true; }
  bool on_int64(std::int64_t v, sv, error_code&) { return scalar(boost::json::value(v)); }
  bool on_uint64(std::uint64_t v, sv, error_code&) { return scalar(boost::json::value(v)); }
  bool on_double(double v, sv, error_code&) { return scalar(boost::json::value(v)); }
  bool on_bool(bool v, error_code&) {
    if (depth_ == 1) {
      add_member(member_kind::boolean).scalar = v;
    } else {
      below(member_kind::boolean, v);
    }
    return true;
  }
  bool on_null(error_code&) {
    if (depth_ == 1) {
      add_member(member_kind::null);
    } else {
      below(member_kind::null, false);
    }
    return true;
  }
  bool on_comment_part(sv, error_code&) { return true; }
  bool on_comment(sv, error_code&) { return true; }

 private:
  bool in_text(std::string_view s) const noexcept {
    return s.data() >= text_.data() && s.data() + s.size() <= text_.data() + text_.size();
  }

  std::string_view own(std::string_view s) {
    out_.owned_.emplace_front(s);
    return out_.owned_.front();
  }

  top_level_member& add_member(member_kind kind) {
    auto& m = out_.members_.emplace_back();
    m.key = pending_key_;
    m.kind = kind;
    return m;
  }

  bool scalar(boost::json::value v) {
    if (depth_ == 1) {
      add_member(member_kind::number).scalar = v;
    } else {
      below(member_kind::number, false);
    }
    return true;
  }

  void begin_container(member_kind kind) {
    add_member(kind);
    in_elements_ = kind == member_kind::array && !probes_.elements_of.empty() &&
                   pending_key_ == probes_.elements_of;
    in_members_ = kind == member_kind::object && !probes_.members_of.empty() &&
                  pending_key_ == probes_.members_of;
    if (in_elements_) {
      element_count_ = 0;
    }
    if (in_members_) {
      out_.probed_kind_.reset();
    }
  }

  void end_container(std::size_t n) {
    out_.members_.back().size = n;
    in_elements_ = false;
    in_members_ = false;
  }

  /// A value below the top level: an element of a probed array, the value of a probed key.
  void below(member_kind kind, bool b) {
    if (depth_ == 2 && in_elements_) {
      bad_element();  // an element that is not an object
      ++element_count_;
    } else if (depth_ == 3 && element_open_ && expect_element_key_value_) {
      element_has_string_key_ = kind == member_kind::string;
      expect_element_key_value_ = false;
    } else if (depth_ == 2 && in_members_ && expect_member_value_) {
      out_.probed_kind_ = kind;
      out_.probed_bool_ = b;
      expect_member_value_ = false;
    }
  }

  /// An object or array opening below the top level: the value of a probed key, or an element.
  void scalar_below() {
    if (depth_ == 2 && in_elements_) {
      bad_element();  // an array element (counted when it closes)
    } else if (depth_ == 3 && element_open_ && expect_element_key_value_) {
      element_has_string_key_ = false;
      expect_element_key_value_ = false;
    } else if (depth_ == 2 && in_members_ && expect_member_value_) {
      out_.probed_kind_ = member_kind::object;  // object or array: neither bool nor null
      expect_member_value_ = false;
    }
  }

  void bad_element() {
    if (!out_.first_bad_element_) {
      out_.first_bad_element_ = element_count_;
    }
  }

  std::string_view text_;
  const index_probes& probes_;
  top_level_index& out_;
  std::string parts_;
  std::string_view pending_key_;
  std::size_t depth_ = 0;
  std::size_t element_count_ = 0;
  std::size_t array_element_depth_ = 0;
  bool in_elements_ = false;
  bool in_members_ = false;
  bool element_open_ = false;
  bool element_has_string_key_ = false;
  bool expect_element_key_value_ = false;
  bool expect_member_value_ = false;
};

std::optional<top_level_index> index_top_level(std::string_view text, const index_probes& probes,
                                               std::size_t max_depth) {
  top_level_index out;
  boost::json::parse_options options;
  options.max_depth = max_depth;
  boost::json::basic_parser<index_builder> parser(options, text, probes, out);
  error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  // As boost::json::parse: one whole document and nothing after it.
  if (ec || n < text.size() || !parser.done()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace aiproxy::json
