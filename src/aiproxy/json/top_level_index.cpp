// The top-level index (see top_level_index.hpp). index_top_level is a hand-written single pass
// that accepts exactly what boost::json::parse (Boost 1.81) accepts: its string, escape, UTF-8,
// number, literal, whitespace and depth rules are restated here, and the numbers it keeps get
// their value from Boost.JSON itself. index_top_level_with_parser drives Boost.JSON's
// basic_parser with a handler instead: the reference the tests compare against, and the path
// for texts past Boost.JSON's size limits. Pure, no I/O.
#include "aiproxy/json/top_level_index.hpp"

#include "aiproxy/json/writer.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cstdint>
#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  bool on_document_end(error_code&) {
    if (!out_.is_object_) {
      out_.members_.clear();  // the elements of a top-level array: not members
    }
    return true;
  }

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

std::optional<top_level_index> index_top_level_with_parser(std::string_view text,
                                                           const index_probes& probes,
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

namespace {

/// A basic_parser handler that keeps the one number a text starts with.
struct number_handler {
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  boost::json::value value;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return false; }
  bool on_object_end(std::size_t, error_code&) { return false; }
  bool on_array_begin(error_code&) { return false; }
  bool on_array_end(std::size_t, error_code&) { return false; }
  bool on_key_part(sv, std::size_t, error_code&) { return false; }
  bool on_key(sv, std::size_t, error_code&) { return false; }
  bool on_string_part(sv, std::size_t, error_code&) { return false; }
  bool on_string(sv, std::size_t, error_code&) { return false; }
  bool on_number_part(sv, error_code&) { return true; }
  bool on_int64(std::int64_t v, sv, error_code&) { return keep(v); }
  bool on_uint64(std::uint64_t v, sv, error_code&) { return keep(v); }
  bool on_double(double v, sv, error_code&) { return keep(v); }
  bool on_bool(bool, error_code&) { return false; }
  bool on_null(error_code&) { return false; }
  bool on_comment_part(sv, error_code&) { return false; }
  bool on_comment(sv, error_code&) { return false; }

 private:
  template <class T>
  bool keep(T v) {
    value = v;
    return true;
  }
};

/// The number at `p` as boost::json::parse gives it when the text ends at `end`, or nullopt
/// when it refuses the number. Boost.JSON 1.81 takes a faster path, which can round a double
/// differently, when 33 bytes or more remain from the number to the end of the buffer: hence
/// the parse runs over the rest of the whole text, not over the number alone. It stops after
/// the number and the whitespace after it.
std::optional<boost::json::value> boost_number(const char* p, const char* end) {
  boost::json::basic_parser<number_handler> parser(boost::json::parse_options{});
  error_code ec;
  parser.write_some(false, p, static_cast<std::size_t>(end - p), ec);
  if (ec) {
    return std::nullopt;
  }
  return std::move(parser.handler().value);
}

inline bool is_ws(char c) noexcept {
  return static_cast<unsigned char>(c) <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

inline bool is_digit(char c) noexcept {
  return static_cast<unsigned char>(c - '0') < 10;
}

inline const char* skip_ws(const char* p, const char* end) noexcept {
  while (p != end && is_ws(*p)) {
    ++p;
  }
  return p;
}

inline int hex_value(char c) noexcept {
  if (is_digit(c)) {
    return c - '0';
  }
  const char l = static_cast<char>(c | 0x20);
  return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

/// Four hex digits at p (at least four bytes), or -1.
inline long hex4(const char* p) noexcept {
  const int a = hex_value(p[0]);
  const int b = hex_value(p[1]);
  const int c = hex_value(p[2]);
  const int d = hex_value(p[3]);
  if ((a | b | c | d) < 0) {
    return -1;
  }
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/// Past the escape whose backslash is at p, or nullptr. A \u escape of a leading surrogate
/// (D800-DBFF) must be followed by one of a trailing surrogate (DC00-DFFF); a lone trailing
/// surrogate is refused, as Boost.JSON does.
const char* skip_escape(const char* p, const char* end) noexcept {
  ++p;
  if (p == end) {
    return nullptr;
  }
  switch (*p) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      return p + 1;
    case 'u':
      break;
    default:
      return nullptr;
  }
  ++p;
  if (end - p < 4) {
    return nullptr;
  }
  const long u1 = hex4(p);
  if (u1 < 0) {
    return nullptr;
  }
  p += 4;
  if (u1 < 0xd800 || u1 > 0xdfff) {
    return p;
  }
  if (u1 > 0xdbff || end - p < 6 || p[0] != '\\' || p[1] != 'u') {
    return nullptr;
  }
  const long u2 = hex4(p + 2);
  if (u2 < 0xdc00 || u2 > 0xdfff) {
    return nullptr;
  }
  return p + 6;
}

inline bool is_continuation(char c) noexcept {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

/// Past the UTF-8 sequence whose lead byte (0x80 or more) is at p, or nullptr when it is not
/// well-formed: no overlong forms, no surrogates, nothing past U+10FFFF, nothing cut short.
const char* skip_utf8(const char* p, const char* end) noexcept {
  const auto b0 = static_cast<unsigned char>(p[0]);
  const auto left = end - p;
  if (b0 < 0xc2) {
    return nullptr;
  }
  if (b0 < 0xe0) {
    return left >= 2 && is_continuation(p[1]) ? p + 2 : nullptr;
  }
  if (b0 < 0xf0) {
    if (left < 3) {
      return nullptr;
    }
    const auto b1 = static_cast<unsigned char>(p[1]);
    const unsigned lo = b0 == 0xe0 ? 0xa0 : 0x80;
    const unsigned hi = b0 == 0xed ? 0x9f : 0xbf;
    return b1 >= lo && b1 <= hi && is_continuation(p[2]) ? p + 3 : nullptr;
  }
  if (b0 < 0xf5) {
    if (left < 4) {
      return nullptr;
    }
    const auto b1 = static_cast<unsigned char>(p[1]);
    const unsigned lo = b0 == 0xf0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xf4 ? 0x8f : 0xbf;
    return b1 >= lo && b1 <= hi && is_continuation(p[2]) && is_continuation(p[3]) ? p + 4 : nullptr;
  }
  return nullptr;
}

/// The closing quote of the string whose contents start at p, or nullptr when Boost.JSON
/// refuses the string (a control byte, a bad escape, bad UTF-8, no closing quote). `escaped`
/// is set when the string holds a backslash.
const char* scan_string_rest(const char* p, const char* end, bool& escaped) noexcept {
  for (;;) {
#if defined(__SSE2__)
    // Sixteen bytes at a time past what needs no look: the quote, the backslash, and bytes
    // below 0x20 or from 0x80 (both negative or small as signed bytes).
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(' ');
    while (end - p >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                       _mm_cmplt_epi8(v, space));
      const int mask = _mm_movemask_epi8(hit);
      if (mask != 0) {
        p += __builtin_ctz(static_cast<unsigned>(mask));
        goto special;
      }
      p += 16;
    }
#endif
    for (;;) {
      if (p == end) {
        return nullptr;
      }
      const auto c = static_cast<unsigned char>(*p);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
        break;
      }
      ++p;
    }
#if defined(__SSE2__)
  special:
#endif
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') {
      return p;
    }
    if (c == '\\') {
      escaped = true;
      p = skip_escape(p, end);
    } else if (c < 0x20) {
      return nullptr;
    } else {
      p = skip_utf8(p, end);
    }
    if (p == nullptr) {
      return nullptr;
    }
  }
}

/// scan_string_rest, with the first sixteen bytes looked at inline: keys and short values
/// usually end there.
inline const char* scan_string(const char* p, const char* end, bool& escaped) noexcept {
#if defined(__SSE2__)
  if (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(v, _mm_set1_epi8(' ')));
    const int mask = _mm_movemask_epi8(hit);
    if (mask == 0) {
      return scan_string_rest(p + 16, end, escaped);
    }
    p += __builtin_ctz(static_cast<unsigned>(mask));
    return *p == '"' ? p : scan_string_rest(p, end, escaped);
  }
#endif
  return scan_string_rest(p, end, escaped);
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

/// The contents [p, end) of a string scan_string accepted, unescaped into `out`.
void unescape(const char* p, const char* end, std::string& out) {
  out.clear();
  while (p != end) {
    const auto* bs =
        static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p)));
    if (bs == nullptr) {
      out.append(p, end);
      return;
    }
    out.append(p, bs);
    p = bs + 2;
    switch (bs[1]) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        unsigned long cp = static_cast<unsigned long>(hex4(p));
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          cp = ((cp - 0xd800) << 10) + (static_cast<unsigned long>(hex4(p + 2)) - 0xdc00) + 0x10000;
          p += 6;
        }
        append_utf8(out, cp);
        break;
      }
      default:  // '"', '\\', '/'
        out.push_back(bs[1]);
        break;
    }
  }
}

/// What scan_number found besides the number's end.
struct number_shape {
  bool integer = true;         // no fraction, no exponent
  std::size_t digits = 0;      // of the integer part
  std::size_t fraction = 0;    // digits after the point
  std::uint64_t exponent = 0;  // its value (saturated past 2^32)
  bool negative_exponent = false;
  bool ask_boost = false;  // the exponent is large: Boost.JSON may refuse it (see below)
};

/// Past the number at p ('-' or a digit), or nullptr when it breaks the JSON grammar.
const char* scan_number(const char* p, const char* end, number_shape& shape) noexcept {
  const char* const start = p;
  if (*p == '-') {
    ++p;
    if (p == end) {
      return nullptr;
    }
  }
  const char* const first = p;
  if (*p == '0') {
    ++p;
  } else if (is_digit(*p)) {
    ++p;
    while (p != end && is_digit(*p)) {
      ++p;
    }
  } else {
    return nullptr;
  }
  shape.digits = static_cast<std::size_t>(p - first);
  if (p != end && *p == '.') {
    shape.integer = false;
    ++p;
    if (p == end || !is_digit(*p)) {
      return nullptr;
    }
    const char* const point = p;
    while (p != end && is_digit(*p)) {
      ++p;
    }
    shape.fraction = static_cast<std::size_t>(p - point);
  }
  if (p != end && (*p | 0x20) == 'e') {
    shape.integer = false;
    ++p;
    if (p != end && (*p == '+' || *p == '-')) {
      shape.negative_exponent = *p == '-';
      ++p;
    }
    if (p == end || !is_digit(*p)) {
      return nullptr;
    }
    std::uint64_t exponent = 0;
    while (p != end && is_digit(*p)) {
      if (exponent < (std::uint64_t{1} << 32)) {
        exponent = exponent * 10 + static_cast<unsigned>(*p - '0');
      }
      ++p;
    }
    // Boost.JSON refuses a number when its exponent passes INT_MAX, or when the exponent and
    // the digits it does not keep in its mantissa (never more than the number's length) add
    // up past INT_MAX or INT_MIN. Below 2^30 for both neither can happen; above, ask it.
    shape.exponent = exponent;
    shape.ask_boost = exponent + static_cast<std::uint64_t>(p - start) >= (std::uint64_t{1} << 30);
  }
  return p;
}

/// The double boost::json::parse gives for the number [p, end) of `shape`, when it has at
/// most 15 digits and a decimal exponent (its own, less the digits after the point) within
/// +-22; else nullopt. Boost.JSON 1.81 then keeps every digit in its mantissa m on both of its
/// paths (it stops adding digits only past 2^53) and computes detail::dec_to_float(m, e): the
/// double of m (exact), negated, times 10^e or, for e < 0, divided by 10^-e (a power of ten
/// exact in a double up to 10^22). The same operations on the same exact operands here give
/// the same bits; the differential tests compare them with Boost.JSON's.
std::optional<double> short_double(const char* p, const char* end, const number_shape& shape) {
  static constexpr double powers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (shape.ask_boost || shape.digits + shape.fraction > 15 || shape.exponent > 22) {
    return std::nullopt;
  }
  const auto fraction = static_cast<long>(shape.fraction);
  const long e = (shape.negative_exponent ? -static_cast<long>(shape.exponent)
                                          : static_cast<long>(shape.exponent)) -
                 fraction;
  if (e < -22 || e > 22) {
    return std::nullopt;
  }
  const bool negative = *p == '-';
  std::uint64_t m = 0;
  for (const char* d = negative ? p + 1 : p; d != end && (*d | 0x20) != 'e'; ++d) {
    if (*d != '.') {
      m = m * 10 + static_cast<unsigned>(*d - '0');
    }
  }
  double x = static_cast<double>(m);
  if (negative) {
    x = -x;
  }
  return e < 0 ? x / powers[-e] : x * powers[e];
}

/// Which containers are open in skip_value: a bit per level, object or array.
class nest_stack {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  bool top_is_object() const noexcept {
    const std::size_t i = size_ - 1;
    return i < inline_levels ? (bits_[i / 64] >> (i % 64)) & 1 : more_.back();
  }
  void push(bool object) {
    if (size_ < inline_levels) {
      const std::uint64_t bit = std::uint64_t{object} << (size_ % 64);
      auto& word = bits_[size_ / 64];
      word = size_ % 64 == 0 ? bit : (word & ~(std::uint64_t{1} << (size_ % 64))) | bit;
    } else {
      more_.push_back(object);
    }
    ++size_;
  }
  void pop() noexcept {
    if (size_ > inline_levels) {
      more_.pop_back();
    }
    --size_;
  }

 private:
  static constexpr std::size_t inline_levels = 256;
  std::uint64_t bits_[inline_levels / 64];  // a word is written when its first level is
  std::vector<bool> more_;
  std::size_t size_ = 0;
};

}  // namespace

/// The pass itself. Depth is counted as Boost.JSON counts it: each object or array opened
/// takes one from `depth_left`, and opening one when none is left fails.
class index_scanner {
 public:
  index_scanner(std::string_view text, const index_probes& probes, top_level_index& out)
      : end_(text.data() + text.size()), probes_(probes), out_(out) {}

  bool run(const char* p, std::size_t depth_left) {
    p = skip_ws(p, end_);
    if (p == end_) {
      return false;
    }
    if (*p != '{') {
      p = skip_value(p, depth_left, nullptr);
      return p != nullptr && skip_ws(p, end_) == end_;
    }
    if (depth_left == 0) {
      return false;
    }
    --depth_left;
    out_.is_object_ = true;
    out_.members_.reserve(16);
    p = skip_ws(p + 1, end_);
    if (p == end_) {
      return false;
    }
    if (*p == '}') {
      return skip_ws(p + 1, end_) == end_;
    }
    for (;;) {
      if (*p != '"') {
        return false;
      }
      bool escaped = false;
      const char* close = scan_string(p + 1, end_, escaped);
      if (close == nullptr) {
        return false;
      }
      const std::string_view key = escaped ? own_unescaped(p + 1, close) : view(p + 1, close);
      if (!out_.duplicates_ && (out_.members_.size() >= top_level_index::max_checked_members ||
                                out_.find(key) != nullptr)) {
        out_.duplicates_ = true;
      }
      p = skip_ws(close + 1, end_);
      if (p == end_ || *p != ':') {
        return false;
      }
      p = skip_ws(p + 1, end_);
      if (p == end_) {
        return false;
      }
      p = member_value(p, key, depth_left);
      if (p == nullptr) {
        return false;
      }
      p = skip_ws(p, end_);
      if (p == end_) {
        return false;
      }
      if (*p == ',') {
        p = skip_ws(p + 1, end_);
        if (p == end_) {
          return false;
        }
      } else {
        return *p == '}' && skip_ws(p + 1, end_) == end_;
      }
    }
  }

 private:
  static std::string_view view(const char* b, const char* e) noexcept {
    return {b, static_cast<std::size_t>(e - b)};
  }

  std::string_view own_unescaped(const char* b, const char* e) {
    out_.owned_.emplace_front();
    unescape(b, e, out_.owned_.front());
    return out_.owned_.front();
  }

  /// Whether the string [b, e) (escaped when `escaped`) reads `want`.
  bool string_is(const char* b, const char* e, bool escaped, std::string_view want) {
    if (!escaped) {
      return view(b, e) == want;
    }
    unescape(b, e, scratch_);
    return scratch_ == want;
  }

  top_level_member& add_member(std::string_view key, member_kind kind) {
    auto& m = out_.members_.emplace_back();
    m.key = key;
    m.kind = kind;
    return m;
  }

  /// The value of top-level member `key`, at p (not whitespace).
  const char* member_value(const char* p, std::string_view key, std::size_t depth_left) {
    switch (*p) {
      case '"': {
        bool escaped = false;
        const char* close = scan_string(p + 1, end_, escaped);
        if (close == nullptr) {
          return nullptr;
        }
        add_member(key, member_kind::string).text =
            escaped ? own_unescaped(p + 1, close) : view(p + 1, close);
        return close + 1;
      }
      case '{': {
        if (!probes_.members_of.empty() && key == probes_.members_of) {
          return probed_object(p, depth_left, add_member(key, member_kind::object));
        }
        auto& m = add_member(key, member_kind::object);
        return skip_value(p, depth_left, &m.size);
      }
      case '[': {
        if (!probes_.elements_of.empty() && key == probes_.elements_of) {
          return probed_array(p, depth_left, add_member(key, member_kind::array));
        }
        auto& m = add_member(key, member_kind::array);
        return skip_value(p, depth_left, &m.size);
      }
      case 't':
        if (end_ - p >= 4 && std::memcmp(p, "true", 4) == 0) {
          add_member(key, member_kind::boolean).scalar = true;
          return p + 4;
        }
        return nullptr;
      case 'f':
        if (end_ - p >= 5 && std::memcmp(p, "false", 5) == 0) {
          add_member(key, member_kind::boolean).scalar = false;
          return p + 5;
        }
        return nullptr;
      case 'n':
        if (end_ - p >= 4 && std::memcmp(p, "null", 4) == 0) {
          add_member(key, member_kind::null);
          return p + 4;
        }
        return nullptr;
      default:
        return number_member(p, key);
    }
  }

  const char* number_member(const char* p, std::string_view key) {
    if (*p != '-' && !is_digit(*p)) {
      return nullptr;
    }
    number_shape shape;
    const char* after = scan_number(p, end_, shape);
    if (after == nullptr) {
      return nullptr;
    }
    if (shape.integer && shape.digits <= 18) {
      // Boost.JSON gives every integer of up to 18 digits as an int64 of its value
      // (-0 as 0): no double, no uint64.
      std::int64_t v = 0;
      for (const char* d = *p == '-' ? p + 1 : p; d != after; ++d) {
        v = v * 10 + (*d - '0');
      }
      add_member(key, member_kind::number).scalar = *p == '-' ? -v : v;
      return after;
    }
    if (const auto d = short_double(p, after, shape)) {
      add_member(key, member_kind::number).scalar = *d;
      return after;
    }
    auto v = boost_number(p, end_);
    if (!v) {
      return nullptr;
    }
    add_member(key, member_kind::number).scalar = std::move(*v);
    return after;
  }

  /// The top-level array probes_.elements_of, at p: which elements are objects whose last
  /// probes_.element_key is a string.
  const char* probed_array(const char* p, std::size_t depth_left, top_level_member& m) {
    if (depth_left == 0) {
      return nullptr;
    }
    --depth_left;
    std::size_t count = 0;
    p = skip_ws(p + 1, end_);
    if (p == end_) {
      return nullptr;
    }
    if (*p == ']') {
      return p + 1;
    }
    for (;;) {
      bool good = false;
      if (*p == '{') {
        p = probed_element(p, depth_left, good);
      } else {
        p = skip_value(p, depth_left, nullptr);
      }
      if (p == nullptr) {
        return nullptr;
      }
      if (!good && !out_.first_bad_element_) {
        out_.first_bad_element_ = count;
      }
      ++count;
      p = skip_ws(p, end_);
      if (p == end_) {
        return nullptr;
      }
      if (*p == ',') {
        p = skip_ws(p + 1, end_);
        if (p == end_) {
          return nullptr;
        }
      } else if (*p == ']') {
        m.size = count;
        return p + 1;
      } else {
        return nullptr;
      }
    }
  }

  /// One object element of the probed array, at p. `good`: its last element_key is a string.
  const char* probed_element(const char* p, std::size_t depth_left, bool& good) {
    if (depth_left == 0) {
      return nullptr;
    }
    --depth_left;
    p = skip_ws(p + 1, end_);
    if (p == end_) {
      return nullptr;
    }
    if (*p == '}') {
      return p + 1;
    }
    for (;;) {
      if (*p != '"') {
        return nullptr;
      }
      bool escaped = false;
      const char* close = scan_string(p + 1, end_, escaped);
      if (close == nullptr) {
        return nullptr;
      }
      const bool probed = string_is(p + 1, close, escaped, probes_.element_key);
      p = skip_ws(close + 1, end_);
      if (p == end_ || *p != ':') {
        return nullptr;
      }
      p = skip_ws(p + 1, end_);
      if (p == end_) {
        return nullptr;
      }
      if (probed) {
        good = *p == '"';
      }
      p = skip_value(p, depth_left, nullptr);
      if (p == nullptr) {
        return nullptr;
      }
      p = skip_ws(p, end_);
      if (p == end_) {
        return nullptr;
      }
      if (*p == ',') {
        p = skip_ws(p + 1, end_);
        if (p == end_) {
          return nullptr;
        }
      } else {
        return *p == '}' ? p + 1 : nullptr;
      }
    }
  }

  /// The top-level object probes_.members_of, at p: the kind of its last probes_.member_key.
  const char* probed_object(const char* p, std::size_t depth_left, top_level_member& m) {
    if (depth_left == 0) {
      return nullptr;
    }
    --depth_left;
    out_.probed_kind_.reset();
    std::size_t count = 0;
    p = skip_ws(p + 1, end_);
    if (p == end_) {
      return nullptr;
    }
    if (*p == '}') {
      return p + 1;
    }
    for (;;) {
      if (*p != '"') {
        return nullptr;
      }
      bool escaped = false;
      const char* close = scan_string(p + 1, end_, escaped);
      if (close == nullptr) {
        return nullptr;
      }
      const bool probed = string_is(p + 1, close, escaped, probes_.member_key);
      p = skip_ws(close + 1, end_);
      if (p == end_ || *p != ':') {
        return nullptr;
      }
      p = skip_ws(p + 1, end_);
      if (p == end_) {
        return nullptr;
      }
      if (probed) {
        // (The value is checked next; if it is not valid the whole text is refused.)
        switch (*p) {
          case '"':
            note_probed(member_kind::string, false);
            break;
          case 't':
            note_probed(member_kind::boolean, true);
            break;
          case 'f':
            note_probed(member_kind::boolean, false);
            break;
          case 'n':
            note_probed(member_kind::null, false);
            break;
          case '{':
          case '[':
            out_.probed_kind_ = member_kind::object;  // neither bool nor null; bool kept
            break;
          default:
            note_probed(member_kind::number, false);
            break;
        }
      }
      p = skip_value(p, depth_left, nullptr);
      if (p == nullptr) {
        return nullptr;
      }
      ++count;
      p = skip_ws(p, end_);
      if (p == end_) {
        return nullptr;
      }
      if (*p == ',') {
        p = skip_ws(p + 1, end_);
        if (p == end_) {
          return nullptr;
        }
      } else if (*p == '}') {
        m.size = count;
        return p + 1;
      } else {
        return nullptr;
      }
    }
  }

  void note_probed(member_kind kind, bool b) {
    out_.probed_kind_ = kind;
    out_.probed_bool_ = b;
  }

  /// Past the value at p (not whitespace), or nullptr when it is not valid. When the value is
  /// an object or array and `count` is set, *count is its number of members or elements.
  const char* skip_value(const char* p, std::size_t depth_left, std::size_t* count) {
    if (*p == '"') {
      bool escaped = false;
      p = scan_string(p + 1, end_, escaped);
      return p == nullptr ? nullptr : p + 1;
    }
    return skip_nested(p, depth_left, count);
  }

  const char* skip_nested(const char* p, std::size_t depth_left, std::size_t* count) {
    nest_stack open;
    std::size_t children = 0;
    for (;;) {
      // p: the start of a value.
      switch (*p) {
        case '"': {
          bool escaped = false;
          p = scan_string(p + 1, end_, escaped);
          if (p == nullptr) {
            return nullptr;
          }
          ++p;
          break;
        }
        case '{':
        case '[': {
          if (depth_left == 0) {
            return nullptr;
          }
          --depth_left;
          const bool object = *p == '{';
          p = skip_ws(p + 1, end_);
          if (p == end_) {
            return nullptr;
          }
          if (*p == (object ? '}' : ']')) {
            ++depth_left;
            ++p;
            break;
          }
          open.push(object);
          if (object) {
            p = skip_key(p);
            if (p == nullptr) {
              return nullptr;
            }
          }
          continue;
        }
        case 't':
          if (end_ - p < 4 || std::memcmp(p, "true", 4) != 0) {
            return nullptr;
          }
          p += 4;
          break;
        case 'f':
          if (end_ - p < 5 || std::memcmp(p, "false", 5) != 0) {
            return nullptr;
          }
          p += 5;
          break;
        case 'n':
          if (end_ - p < 4 || std::memcmp(p, "null", 4) != 0) {
            return nullptr;
          }
          p += 4;
          break;
        default: {
          if (*p != '-' && !is_digit(*p)) {
            return nullptr;
          }
          number_shape shape;
          const char* start = p;
          p = scan_number(p, end_, shape);
          if (p == nullptr || (shape.ask_boost && !boost_number(start, end_))) {
            return nullptr;
          }
          break;
        }
      }
      // p: just past a value. Close what it ends, then find the next value.
      for (;;) {
        if (open.empty()) {
          if (count != nullptr) {
            *count = children;
          }
          return p;
        }
        if (open.size() == 1) {
          ++children;
        }
        p = skip_ws(p, end_);
        if (p == end_) {
          return nullptr;
        }
        const bool object = open.top_is_object();
        if (*p == ',') {
          p = skip_ws(p + 1, end_);
          if (p == end_) {
            return nullptr;
          }
          if (object) {
            p = skip_key(p);
            if (p == nullptr) {
              return nullptr;
            }
          }
          break;
        }
        if (*p != (object ? '}' : ']')) {
          return nullptr;
        }
        ++p;
        ++depth_left;
        open.pop();
      }
    }
  }

  /// Past `"key" :` and the whitespace after it, at the start of the member's value.
  const char* skip_key(const char* p) {
    if (*p != '"') {
      return nullptr;
    }
    bool escaped = false;
    p = scan_string(p + 1, end_, escaped);
    if (p == nullptr) {
      return nullptr;
    }
    p = skip_ws(p + 1, end_);
    if (p == end_ || *p != ':') {
      return nullptr;
    }
    p = skip_ws(p + 1, end_);
    return p == end_ ? nullptr : p;
  }

  const char* end_;
  const index_probes& probes_;
  top_level_index& out_;
  std::string scratch_;
};

std::optional<top_level_index> index_top_level(std::string_view text, const index_probes& probes,
                                               std::size_t max_depth) {
  if (text.size() > boost::json::string::max_size()) {
    // Boost.JSON's limits on the size of a string, object or array can only be reached here.
    return index_top_level_with_parser(text, probes, max_depth);
  }
  top_level_index out;
  index_scanner scanner(text, probes, out);
  if (!scanner.run(text.data(), max_depth)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace aiproxy::json
