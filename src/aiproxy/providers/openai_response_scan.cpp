// One hand-written, strict, single pass over an OpenAI-shaped response (see
// openai_response_scan.hpp). It accepts exactly what Boost.JSON's parser accepts with
// allow_invalid_utf8 (RFC 8259 grammar, depth at most 32) and reads what the former Boost.JSON
// SAX handler read. Keys are compared in place, string contents are skipped 16 or 8 bytes at a
// time, and only numbers the scan keeps that are not plain integers go through Boost.JSON, so that
// their value is exactly Boost.JSON's. Pure: no I/O.

#include "aiproxy/providers/openai_response_scan.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace aiproxy::providers {

namespace {

/// The containers whose keys the scan reads; every other container is `other`.
enum class frame : std::uint8_t {
  other,
  root,                // the top-level object
  choices,             // root.choices (array)
  choice,              // root.choices[i] (object)
  usage,               // root.usage (object)
  prompt_details,      // root.usage.prompt_tokens_details
  completion_details,  // root.usage.completion_tokens_details
};

/// What a value means to the scan, from its container and key.
enum class role : std::uint8_t {
  none,
  model,               // root.model
  choices,             // root.choices
  choice,              // root.choices[i]
  finish_reason,       // root.choices[i].finish_reason
  usage,               // root.usage
  prompt_details,      // root.usage.prompt_tokens_details
  completion_details,  // root.usage.completion_tokens_details
  // The counters, in this order (see is_counter).
  prompt_tokens,
  completion_tokens,
  total_tokens,
  cached_tokens,
  reasoning_tokens,
};

constexpr bool is_counter(role r) {
  return r >= role::prompt_tokens;
}

/// Boost.JSON's default parse_options::max_depth: the 33rd nested container is an error.
constexpr int max_depth = 32;

/// The first '"', '\\' or control byte (< 0x20) in [p, end), or end.
inline const char* find_special(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i last_control = _mm_set1_epi8(0x1f);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v));
    if (const int mask = _mm_movemask_epi8(hits); mask != 0) {
      return p + std::countr_zero(static_cast<unsigned>(mask));
    }
    p += 16;
  }
#endif
  if constexpr (std::endian::native == std::endian::little) {
    // Per byte: the high bit marks a zero of x ^ '"' or x ^ '\\', or a byte below 0x20. Borrows
    // can only mark bytes above a real hit, so the lowest mark is always a real one.
    constexpr std::uint64_t ones = 0x0101010101010101u;
    constexpr std::uint64_t highs = 0x8080808080808080u;
    while (end - p >= 8) {
      std::uint64_t x;
      std::memcpy(&x, p, 8);
      const std::uint64_t q = x ^ (ones * '"');
      const std::uint64_t b = x ^ (ones * '\\');
      const std::uint64_t marks =
          (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & highs;
      if (marks != 0) {
        return p + std::countr_zero(marks) / 8;
      }
      p += 8;
    }
  }
  while (p != end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20) {
      break;
    }
    ++p;
  }
  return p;
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char lower = static_cast<char>(c | 0x20);
  if (lower >= 'a' && lower <= 'f') {
    return lower - 'a' + 10;
  }
  return -1;
}

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Drops what it is given: validating a string the scan does not keep.
struct no_sink {
  void append(const char*, std::size_t) {}
  void push_back(char) {}
};

/// Collects an unescaped string.
struct string_sink {
  std::string& out;
  void append(const char* p, std::size_t n) { out.append(p, n); }
  void push_back(char c) { out.push_back(c); }
};

class scanner {
 public:
  scanner(std::string_view body, std::string_view payload_field)
      : p_(body.data()), end_(body.data() + body.size()), payload_field_(payload_field) {}

  std::optional<openai_response_scan> run() {
    skip_whitespace();
    if (p_ == end_) {
      return std::nullopt;
    }
    bool ok;
    if (*p_ == '{') {
      result_.is_object = true;
      ok = object(frame::root, 1);
    } else {
      ok = value(role::none, 0);
    }
    if (!ok) {
      return std::nullopt;
    }
    skip_whitespace();
    if (p_ != end_) {
      return std::nullopt;
    }
    return std::move(result_);
  }

 private:
  void skip_whitespace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  /// One value at p_ (which may be end_). `depth` counts the containers around it.
  bool value(role r, int depth) {
    if (p_ == end_) {
      return false;
    }
    switch (*p_) {
      case '{':
        return object(r == role::usage                ? frame::usage
                      : r == role::choice             ? frame::choice
                      : r == role::prompt_details     ? frame::prompt_details
                      : r == role::completion_details ? frame::completion_details
                                                      : frame::other,
                      depth + 1);
      case '[':
        return array(r == role::choices ? frame::choices : frame::other, depth + 1);
      case '"':
        ++p_;
        return string_value(r);
      case 't':
        return literal("true", 4);
      case 'f':
        return literal("false", 5);
      case 'n':
        return literal("null", 4);
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        return number(r);
      default:
        return false;
    }
  }

  bool literal(const char* text, std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, text, n) != 0) {
      return false;
    }
    p_ += n;
    return true;
  }

  /// The object whose '{' is at p_.
  bool object(frame f, int depth) {
    if (depth > max_depth) {
      return false;
    }
    ++p_;
    skip_whitespace();
    if (p_ == end_) {
      return false;
    }
    if (*p_ == '}') {
      ++p_;
      end_object(f);
      return true;
    }
    for (;;) {
      if (*p_ != '"') {
        return false;
      }
      ++p_;
      role r = role::none;
      if (f == frame::other) {
        no_sink sink;
        if (!skip_string(sink)) {
          return false;
        }
      } else if (!key(f, r)) {
        return false;
      }
      skip_whitespace();
      if (p_ == end_ || *p_ != ':') {
        return false;
      }
      ++p_;
      skip_whitespace();
      if (payload_key_) {
        payload_key_ = false;
        if (p_ != end_ && *p_ == '[') {
          result_.has_payload = true;
        }
      }
      if (!value(r, depth)) {
        return false;
      }
      skip_whitespace();
      if (p_ == end_) {
        return false;
      }
      if (*p_ == ',') {
        ++p_;
        skip_whitespace();
        if (p_ == end_) {
          return false;
        }
        continue;
      }
      if (*p_ != '}') {
        return false;
      }
      ++p_;
      end_object(f);
      return true;
    }
  }

  void end_object(frame f) {
    if (f == frame::usage) {
      finish_usage();
    }
  }

  /// The array whose '[' is at p_.
  bool array(frame f, int depth) {
    if (depth > max_depth) {
      return false;
    }
    ++p_;
    skip_whitespace();
    if (p_ == end_) {
      return false;
    }
    if (*p_ == ']') {
      ++p_;
      return true;
    }
    const role element = f == frame::choices ? role::choice : role::none;
    for (;;) {
      if (!value(element, depth)) {
        return false;
      }
      skip_whitespace();
      if (p_ == end_) {
        return false;
      }
      if (*p_ == ',') {
        ++p_;
        skip_whitespace();
        continue;
      }
      if (*p_ != ']') {
        return false;
      }
      ++p_;
      return true;
    }
  }

  /// A key of an object the scan reads (p_ just past its opening quote): sets `r` to what its
  /// value means. Keys without escapes are compared where they are.
  bool key(frame f, role& r) {
    const char* start = p_;
    const char* stop = find_special(p_, end_);
    std::string_view k;
    if (stop != end_ && *stop == '"') {
      k = std::string_view(start, static_cast<std::size_t>(stop - start));
      p_ = stop + 1;
    } else {
      key_buffer_.clear();
      string_sink sink{key_buffer_};
      if (!skip_string(sink)) {
        return false;
      }
      k = key_buffer_;
    }
    r = classify(f, k);
    return true;
  }

  role classify(frame f, std::string_view k) {
    switch (f) {
      case frame::root:
        if (k == payload_field_) {
          payload_key_ = true;
        }
        if (k == "model") {
          return role::model;
        }
        if (k == "choices") {
          return role::choices;
        }
        if (k == "usage") {
          return role::usage;
        }
        return role::none;
      case frame::choice:
        return k == "finish_reason" ? role::finish_reason : role::none;
      case frame::usage:
        if (k == "prompt_tokens") {
          return role::prompt_tokens;
        }
        if (k == "completion_tokens") {
          return role::completion_tokens;
        }
        if (k == "total_tokens") {
          return role::total_tokens;
        }
        if (k == "prompt_tokens_details") {
          return role::prompt_details;
        }
        if (k == "completion_tokens_details") {
          return role::completion_details;
        }
        return role::none;
      case frame::prompt_details:
        return k == "cached_tokens" ? role::cached_tokens : role::none;
      case frame::completion_details:
        return k == "reasoning_tokens" ? role::reasoning_tokens : role::none;
      default:
        return role::none;
    }
  }

  /// The rest of a string from p_ (just past its opening quote, or inside it after a complete
  /// character), unescaped into `sink`; p_ ends just past the closing quote.
  template <class Sink>
  bool skip_string(Sink& sink) {
    for (;;) {
      const char* stop = find_special(p_, end_);
      if (stop == end_) {
        return false;
      }
      sink.append(p_, static_cast<std::size_t>(stop - p_));
      p_ = stop + 1;
      if (*stop == '"') {
        return true;
      }
      if (*stop != '\\' || !escape(sink)) {
        return false;
      }
    }
  }

  /// One escape, p_ just past its backslash.
  template <class Sink>
  bool escape(Sink& sink) {
    if (p_ == end_) {
      return false;
    }
    const char c = *p_++;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        sink.push_back(c);
        return true;
      case 'b':
        sink.push_back('\b');
        return true;
      case 'f':
        sink.push_back('\f');
        return true;
      case 'n':
        sink.push_back('\n');
        return true;
      case 'r':
        sink.push_back('\r');
        return true;
      case 't':
        sink.push_back('\t');
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    unsigned cp;
    if (!hex4(cp)) {
      return false;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A high surrogate must be followed by an escaped low one; a lone low one is an error.
      unsigned low;
      if (cp > 0xdbff || end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
        return false;
      }
      p_ += 2;
      if (!hex4(low) || low < 0xdc00 || low > 0xdfff) {
        return false;
      }
      cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
    }
    append_utf8(sink, cp);
    return true;
  }

  bool hex4(unsigned& out) {
    if (end_ - p_ < 4) {
      return false;
    }
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_value(p_[i]);
      if (d < 0) {
        return false;
      }
      out = (out << 4) | static_cast<unsigned>(d);
    }
    p_ += 4;
    return true;
  }

  template <class Sink>
  static void append_utf8(Sink& sink, unsigned cp) {
    if (cp < 0x80) {
      sink.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      sink.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      sink.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      sink.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      sink.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      sink.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      sink.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      sink.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      sink.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      sink.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  /// A string value, p_ just past its opening quote.
  bool string_value(role r) {
    const bool keep = r == role::model || (r == role::finish_reason && !finish_set_);
    if (!keep) {
      no_sink sink;
      return skip_string(sink);
    }
    const char* start = p_;
    const char* stop = find_special(p_, end_);
    std::string text;
    if (stop != end_ && *stop == '"') {
      text.assign(start, static_cast<std::size_t>(stop - start));
      p_ = stop + 1;
    } else {
      string_sink sink{text};
      if (!skip_string(sink)) {
        return false;
      }
    }
    if (r == role::model) {
      if (!text.empty()) {
        result_.summary.response_model = std::move(text);
      }
    } else {
      result_.summary.finish_reason = std::move(text);
      finish_set_ = true;
    }
    return true;
  }

  /// A number at p_ (a '-' or a digit), checked against RFC 8259's grammar.
  bool number(role r) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) {
      ++p_;
      if (p_ == end_) {
        return false;
      }
    }
    const char* digits = p_;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      ++p_;
      while (p_ != end_ && is_digit(*p_)) {
        ++p_;
      }
    } else {
      return false;
    }
    const std::size_t int_digits = static_cast<std::size_t>(p_ - digits);
    bool plain = int_digits <= 18;  // an integer that surely fits an int64
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) {
        return false;
      }
      while (p_ != end_ && is_digit(*p_)) {
        ++p_;
      }
      plain = false;
    }
    bool huge_exponent = false;
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) {
        ++p_;
      }
      if (p_ == end_ || !is_digit(*p_)) {
        return false;
      }
      while (p_ != end_ && *p_ == '0') {
        ++p_;
      }
      const char* significant = p_;
      while (p_ != end_ && is_digit(*p_)) {
        ++p_;
      }
      // Boost.JSON rejects exponents (plus the digits it shifts by) beyond INT_MAX; below 1e9,
      // with fewer than 2^30 digits in the number, that cannot happen.
      huge_exponent = p_ - significant > 9;
      plain = false;
    }
    if (huge_exponent || (p_ - start) >= (std::ptrdiff_t{1} << 30)) {
      return boost_number(start, r);
    }
    if (!is_counter(r)) {
      return true;
    }
    if (!plain) {
      return boost_number(start, r);
    }
    std::int64_t v = 0;
    for (const char* d = digits; d != p_; ++d) {
      v = v * 10 + (*d - '0');
    }
    // "-0" is Boost.JSON's int64 0; other negative integers are not counts.
    if (!negative || v == 0) {
      count(r, v);
    }
    return true;
  }

  /// Reads the number token [start, p_) with Boost.JSON, which decides its value (and whether a
  /// huge exponent is an error). Boost.JSON takes a different path for a number with fewer than
  /// 33 bytes after its sign before the end of input, so the token is padded with spaces to what
  /// follows it in the body, up to 64 bytes.
  bool boost_number(const char* start, role r) {
    const auto token = static_cast<std::size_t>(p_ - start);
    const auto rest = static_cast<std::size_t>(end_ - start);
    std::string text(start, token);
    text.resize(std::min(rest, std::max<std::size_t>(token, 64)), ' ');
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(text, ec);
    if (ec) {
      return false;
    }
    if (!is_counter(r)) {
      return true;
    }
    if (v.is_int64()) {
      if (v.get_int64() >= 0) {
        count(r, v.get_int64());
      }
    } else if (v.is_uint64()) {
      if (v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        count(r, static_cast<std::int64_t>(v.get_uint64()));
      }
    } else if (v.is_double()) {
      const double d = v.get_double();
      if (d >= 0.0 && d <= 9.0e18 && std::floor(d) == d) {
        count(r, static_cast<std::int64_t>(d));
      }
    }
    return true;
  }

  void count(role r, std::int64_t v) {
    switch (r) {
      case role::prompt_tokens:
        usage_.prompt_tokens = v;
        has_prompt_ = true;
        break;
      case role::completion_tokens:
        usage_.completion_tokens = v;
        has_completion_ = true;
        break;
      case role::total_tokens:
        usage_.total_tokens = v;
        has_total_ = true;
        break;
      case role::cached_tokens:
        usage_.cached_tokens = v;
        break;
      case role::reasoning_tokens:
        usage_.reasoning_tokens = v;
        break;
      default:
        break;
    }
  }

  /// At the end of a root.usage object: the last one that held a count is the response's usage.
  void finish_usage() {
    if (!has_total_) {
      usage_.total_tokens = usage_.prompt_tokens + usage_.completion_tokens;
    }
    usage_.known = has_prompt_ || has_completion_ || has_total_;
    if (usage_.known) {
      result_.summary.usage = usage_;
    }
    usage_ = {};
    has_prompt_ = has_completion_ = has_total_ = false;
  }

  const char* p_;
  const char* end_;
  std::string_view payload_field_;
  std::string key_buffer_;    // an escaped key, unescaped
  bool payload_key_ = false;  // the last root key read is payload_field_
  bool finish_set_ = false;
  json::usage usage_;
  bool has_prompt_ = false;
  bool has_completion_ = false;
  bool has_total_ = false;
  openai_response_scan result_;
};

}  // namespace

std::optional<openai_response_scan> scan_openai_response(std::string_view body,
                                                         std::string_view payload_field) {
  return scanner(body, payload_field).run();
}

}  // namespace aiproxy::providers
