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
#include <utility>

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
[[gnu::always_inline]] inline const char* find_special(const char* p, const char* end) {
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

/// JSON's four whitespace bytes; everything above ' ' (nearly every byte the scan asks about) is
/// decided by the first comparison.
inline bool is_whitespace(char c) {
  return static_cast<unsigned char>(c) <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}

/// The scan. Each step takes the position it starts at and returns the position after what it
/// read, or nullptr when the body is not valid JSON.
class scanner {
 public:
  scanner(std::string_view body, std::string_view payload_field)
      : begin_(body.data()), end_(body.data() + body.size()), payload_field_(payload_field) {}

  std::optional<openai_response_scan> run() {
    const char* p = skip_whitespace(begin_);
    if (p == end_) {
      return std::nullopt;
    }
    if (*p == '{') {
      result_.is_object = true;
      p = object(p, frame::root, 1);
    } else {
      p = value(p, role::none, 0);
    }
    if (p == nullptr || skip_whitespace(p) != end_) {
      return std::nullopt;
    }
    return std::move(result_);
  }

 private:
  const char* skip_whitespace(const char* p) const {
    while (p != end_ && is_whitespace(*p)) {
      ++p;
    }
    return p;
  }

  /// One value at p (before end_); `depth` counts the containers around it.
  [[gnu::always_inline]] const char* value(const char* p, role r, int depth) {
    switch (*p) {
      case '"':
        if (r == role::model || (r == role::finish_reason && !finish_set_)) {
          return kept_string(p + 1, r);
        }
        return skip_string(p + 1);
      case '{':
        return object(p,
                      r == role::usage                ? frame::usage
                      : r == role::choice             ? frame::choice
                      : r == role::prompt_details     ? frame::prompt_details
                      : r == role::completion_details ? frame::completion_details
                                                      : frame::other,
                      depth + 1);
      case '[':
        return array(p, r == role::choices ? frame::choices : frame::other, depth + 1);
      case 't':
        return literal(p, "true", 4);
      case 'f':
        return literal(p, "false", 5);
      case 'n':
        return literal(p, "null", 4);
      default:
        return number(p, r);
    }
  }

  const char* literal(const char* p, const char* text, std::size_t n) const {
    if (static_cast<std::size_t>(end_ - p) < n || std::memcmp(p, text, n) != 0) {
      return nullptr;
    }
    return p + n;
  }

  /// The object whose '{' is at p.
  const char* object(const char* p, frame f, int depth) {
    if (depth > max_depth) {
      return nullptr;
    }
    p = skip_whitespace(p + 1);
    if (p == end_) {
      return nullptr;
    }
    if (*p != '}') {
      for (;;) {
        if (*p != '"') {
          return nullptr;
        }
        role r = role::none;
        bool payload = false;
        p = f == frame::other ? skip_string(p + 1) : key(p + 1, f, r, payload);
        if (p == nullptr) {
          return nullptr;
        }
        if (p == end_ || *p != ':') {
          p = skip_whitespace(p);
          if (p == end_ || *p != ':') {
            return nullptr;
          }
        }
        p = skip_whitespace(p + 1);
        if (p == end_) {
          return nullptr;
        }
        if (payload && *p == '[') {
          result_.has_payload = true;
        }
        p = value(p, r, depth);
        if (p == nullptr) {
          return nullptr;
        }
        const auto [at, more] = after_item(p, '}');
        if (at == nullptr) {
          return nullptr;
        }
        p = at;
        if (!more) {
          break;
        }
      }
    }
    if (f == frame::usage) {
      finish_usage();
    }
    return p + 1;
  }

  /// The array whose '[' is at p.
  const char* array(const char* p, frame f, int depth) {
    if (depth > max_depth) {
      return nullptr;
    }
    p = skip_whitespace(p + 1);
    if (p == end_) {
      return nullptr;
    }
    if (*p == ']') {
      return p + 1;
    }
    const role element = f == frame::choices ? role::choice : role::none;
    for (;;) {
      p = value(p, element, depth);
      if (p == nullptr) {
        return nullptr;
      }
      const auto [at, more] = after_item(p, ']');
      if (at == nullptr || !more) {
        return at == nullptr ? nullptr : at + 1;
      }
      p = at;
    }
  }

  /// After a member or an element: white space, then `close` ({at it, false}) or a comma and
  /// the start of the next item ({at that, true}); {nullptr, false} for anything else.
  std::pair<const char*, bool> after_item(const char* p, char close) const {
    if (p != end_ && is_whitespace(*p)) {
      p = skip_whitespace(p);
    }
    if (p == end_ || (*p != close && *p != ',')) {
      return {nullptr, false};
    }
    if (*p == close) {
      return {p, false};
    }
    p = skip_whitespace(p + 1);
    if (p == end_) {
      return {nullptr, false};
    }
    return {p, true};
  }

  /// A key of an object the scan reads, p just past its opening quote: sets what its value means.
  /// Keys without escapes are compared where they are.
  const char* key(const char* p, frame f, role& r, bool& payload) {
    const char* stop = find_special(p, end_);
    if (stop != end_ && *stop == '"') {
      r = classify(f, std::string_view(p, static_cast<std::size_t>(stop - p)), payload);
      return stop + 1;
    }
    key_buffer_.clear();
    string_sink sink{key_buffer_};
    p = read_string(p, sink);
    if (p != nullptr) {
      r = classify(f, key_buffer_, payload);
    }
    return p;
  }

  [[gnu::always_inline]] role classify(frame f, std::string_view k, bool& payload) const {
    // Sizes first: most keys are decided without looking at their bytes.
    switch (f) {
      case frame::root:
        payload = k.size() == payload_field_.size() && k == payload_field_;
        if (k.size() == 5) {
          return k == "model" ? role::model : k == "usage" ? role::usage : role::none;
        }
        return k.size() == 7 && k == "choices" ? role::choices : role::none;
      case frame::choice:
        return k.size() == 13 && k == "finish_reason" ? role::finish_reason : role::none;
      case frame::usage:
        switch (k.size()) {
          case 13:
            return k == "prompt_tokens" ? role::prompt_tokens : role::none;
          case 17:
            return k == "completion_tokens" ? role::completion_tokens : role::none;
          case 12:
            return k == "total_tokens" ? role::total_tokens : role::none;
          case 21:
            return k == "prompt_tokens_details" ? role::prompt_details : role::none;
          case 25:
            return k == "completion_tokens_details" ? role::completion_details : role::none;
          default:
            return role::none;
        }
      case frame::prompt_details:
        return k.size() == 13 && k == "cached_tokens" ? role::cached_tokens : role::none;
      case frame::completion_details:
        return k.size() == 16 && k == "reasoning_tokens" ? role::reasoning_tokens : role::none;
      default:
        return role::none;
    }
  }

  /// A string the scan does not keep, p just past its opening quote.
  [[gnu::always_inline]] const char* skip_string(const char* p) const {
    const char* stop = find_special(p, end_);
    if (stop != end_ && *stop == '"') {
      return stop + 1;
    }
    no_sink sink;
    return read_string(p, sink);
  }

  /// The rest of a string from p (just past its opening quote, or after a whole character or
  /// escape inside it), unescaped into `sink`.
  template <class Sink>
  const char* read_string(const char* p, Sink& sink) const {
    for (;;) {
      const char* stop = find_special(p, end_);
      if (stop == end_) {
        return nullptr;
      }
      sink.append(p, static_cast<std::size_t>(stop - p));
      if (*stop == '"') {
        return stop + 1;
      }
      if (*stop != '\\') {
        return nullptr;  // a control character
      }
      p = escape(stop + 1, sink);
      if (p == nullptr) {
        return nullptr;
      }
    }
  }

  /// One escape, p just past its backslash.
  template <class Sink>
  const char* escape(const char* p, Sink& sink) const {
    if (p == end_) {
      return nullptr;
    }
    switch (*p) {
      case '"':
      case '\\':
      case '/':
        sink.push_back(*p);
        return p + 1;
      case 'b':
        sink.push_back('\b');
        return p + 1;
      case 'f':
        sink.push_back('\f');
        return p + 1;
      case 'n':
        sink.push_back('\n');
        return p + 1;
      case 'r':
        sink.push_back('\r');
        return p + 1;
      case 't':
        sink.push_back('\t');
        return p + 1;
      case 'u':
        break;
      default:
        return nullptr;
    }
    unsigned cp;
    p = hex4(p + 1, cp);
    if (p == nullptr) {
      return nullptr;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A high surrogate must be followed by an escaped low one; a lone low one is an error.
      unsigned low;
      if (cp > 0xdbff || end_ - p < 2 || p[0] != '\\' || p[1] != 'u') {
        return nullptr;
      }
      p = hex4(p + 2, low);
      if (p == nullptr || low < 0xdc00 || low > 0xdfff) {
        return nullptr;
      }
      cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
    }
    append_utf8(sink, cp);
    return p;
  }

  const char* hex4(const char* p, unsigned& out) const {
    if (end_ - p < 4) {
      return nullptr;
    }
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_value(p[i]);
      if (d < 0) {
        return nullptr;
      }
      out = (out << 4) | static_cast<unsigned>(d);
    }
    return p + 4;
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

  /// A string value the scan keeps (root.model, the first finish_reason), p just past its
  /// opening quote.
  const char* kept_string(const char* p, role r) {
    std::string text;
    const char* stop = find_special(p, end_);
    if (stop != end_ && *stop == '"') {
      text.assign(p, static_cast<std::size_t>(stop - p));
      p = stop + 1;
    } else {
      string_sink sink{text};
      p = read_string(p, sink);
      if (p == nullptr) {
        return nullptr;
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
    return p;
  }

  /// A number at p, checked against RFC 8259's grammar (anything else at p is an error).
  [[gnu::always_inline]] const char* number(const char* p, role r) {
    const char* start = p;
    const bool negative = *p == '-';
    if (negative && ++p == end_) {
      return nullptr;
    }
    const char* digits = p;
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      ++p;
      while (p != end_ && is_digit(*p)) {
        ++p;
      }
    } else {
      return nullptr;
    }
    const char* digits_end = p;
    bool plain = p - digits <= 18;  // an integer that surely fits an int64
    if (p != end_ && *p == '.') {
      ++p;
      if (p == end_ || !is_digit(*p)) {
        return nullptr;
      }
      while (p != end_ && is_digit(*p)) {
        ++p;
      }
      plain = false;
    }
    if (p != end_ && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p != end_ && (*p == '+' || *p == '-')) {
        ++p;
      }
      if (p == end_ || !is_digit(*p)) {
        return nullptr;
      }
      while (p != end_ && *p == '0') {
        ++p;
      }
      const char* significant = p;
      while (p != end_ && is_digit(*p)) {
        ++p;
      }
      // Boost.JSON rejects exponents (plus the digits it shifts by) beyond INT_MAX; below 1e9,
      // with fewer than 2^30 digits in the number, that cannot happen.
      if (p - significant > 9) {
        return boost_number(start, p, r);
      }
      plain = false;
    }
    if (p - start >= (std::ptrdiff_t{1} << 30)) {
      return boost_number(start, p, r);
    }
    if (!is_counter(r)) {
      return p;
    }
    if (!plain) {
      return boost_number(start, p, r);
    }
    std::int64_t v = 0;
    for (const char* d = digits; d != digits_end; ++d) {
      v = v * 10 + (*d - '0');
    }
    // "-0" is Boost.JSON's int64 0; other negative integers are not counts.
    if (!negative || v == 0) {
      count(r, v);
    }
    return p;
  }

  /// Reads the number [start, stop) with Boost.JSON, which decides its value (and whether a huge
  /// exponent is an error). Boost.JSON takes a different path for a number with fewer than 33
  /// bytes after its sign before the end of input, so the number is padded with spaces to the
  /// size of what follows it in the body, up to 64 bytes.
  const char* boost_number(const char* start, const char* stop, role r) {
    const auto token = static_cast<std::size_t>(stop - start);
    const auto rest = static_cast<std::size_t>(end_ - start);
    std::string text(start, token);
    text.resize(std::min(rest, std::max<std::size_t>(token, 64)), ' ');
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(text, ec);
    if (ec) {
      return nullptr;
    }
    if (!is_counter(r)) {
      return stop;
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
    return stop;
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
      // Counts reach int64's maximum; their sum wraps (as the plain addition did on every target
      // the gateway runs on) instead of being undefined.
      usage_.total_tokens =
          static_cast<std::int64_t>(static_cast<std::uint64_t>(usage_.prompt_tokens) +
                                    static_cast<std::uint64_t>(usage_.completion_tokens));
    }
    usage_.known = has_prompt_ || has_completion_ || has_total_;
    if (usage_.known) {
      result_.summary.usage = usage_;
    }
    usage_ = {};
    has_prompt_ = has_completion_ = has_total_ = false;
  }

  const char* const begin_;
  const char* const end_;
  const std::string_view payload_field_;
  std::string key_buffer_;  // an escaped key, unescaped
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
