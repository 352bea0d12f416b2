// One hand-written, strict, single pass over an OpenAI-shaped response (see
// openai_response_scan.hpp). It accepts exactly what Boost.JSON's parser accepts with
// allow_invalid_utf8 (RFC 8259 grammar, depth at most 32) and reads what the former Boost.JSON
// SAX handler read. The objects whose keys matter (root, choices[i], usage and its two details)
// each have their own loop; every other value goes through one non-recursive skipper. Keys are
// compared in place by length and then by words, string contents are skipped 16 bytes at a time,
// and only numbers the scan keeps that are not plain integers go through Boost.JSON, so that
// their value is exactly Boost.JSON's. Pure: no I/O.
//
// No step checks for the end of the input byte by byte: a container document's last non-blank
// byte must be its closing bracket, which stops every loop over blanks, digits and structure;
// only strings (which may hold any byte) are bounded, and a nested container that would close
// on that last byte is an error. A scalar document is scanned in a copy, whose terminating NUL
// plays the same part.

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

/// The objects whose keys the scan reads.
enum class frame : std::uint8_t {
  root,                // the top-level object
  choice,              // root.choices[i]
  usage,               // root.usage
  prompt_details,      // root.usage.prompt_tokens_details
  completion_details,  // root.usage.completion_tokens_details
};

/// How many containers a frame's members sit in.
constexpr int depth_of(frame f) {
  switch (f) {
    case frame::root:
      return 1;
    case frame::usage:
      return 2;
    default:
      return 3;
  }
}

/// What a member's value means to the scan, from its object and key.
enum class role : std::uint8_t {
  none,
  model,               // root.model
  choices,             // root.choices
  finish_reason,       // root.choices[i].finish_reason
  usage,               // root.usage
  prompt_details,      // root.usage.prompt_tokens_details
  completion_details,  // root.usage.completion_tokens_details
  prompt_tokens,
  completion_tokens,
  total_tokens,
  cached_tokens,
  reasoning_tokens,
};

/// Boost.JSON's default parse_options::max_depth: the 33rd nested container is an error.
constexpr int max_depth = 32;

inline bool is_digit(char c) {
  return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0' < 10u;
}

/// JSON's four whitespace bytes.
inline bool is_whitespace(char c) {
  constexpr std::uint64_t blanks = (std::uint64_t{1} << ' ') | (std::uint64_t{1} << '\n') |
                                   (std::uint64_t{1} << '\r') | (std::uint64_t{1} << '\t');
  const auto u = static_cast<unsigned char>(c);
  return u <= ' ' && ((blanks >> u) & 1u) != 0;
}

inline std::uint64_t load8(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline std::uint32_t load4(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

/// Whether the n = N-1 bytes at p (a key already known to be n bytes long) are `lit`.
template <std::size_t N>
[[gnu::always_inline]] inline bool same(const char* p, const char (&lit)[N]) {
  constexpr std::size_t n = N - 1;
  static_assert(n >= 4);
  if constexpr (n >= 8) {
    std::uint64_t diff = load8(p + n - 8) ^ load8(lit + n - 8);
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      diff |= load8(p + i) ^ load8(lit + i);
    }
    return diff == 0;
  } else {
    return ((load4(p) ^ load4(lit)) | (load4(p + n - 4) ^ load4(lit + n - 4))) == 0;
  }
}

#if defined(__SSE2__)
/// Bit i: byte p[i] is '"', '\\' or a control byte (< 0x20).
[[gnu::always_inline]] inline unsigned special_mask(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i hits = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
      _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v));
  return static_cast<unsigned>(_mm_movemask_epi8(hits));
}

/// Bit i: byte p[i] is not JSON whitespace.
[[gnu::always_inline]] inline unsigned non_blank_mask(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i blanks = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'))));
  return static_cast<unsigned>(_mm_movemask_epi8(blanks)) ^ 0xffffu;
}
#endif

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

/// The scan. Each step takes the position it starts at and returns the position after what it
/// read, or nullptr when the body is not valid JSON. Every position a step is given is at most
/// limit_, and *limit_ is readable: it is the closing bracket of a container document, or the NUL
/// after a scalar document's copy. That byte ends every run of blanks, digits or literal letters,
/// is never a string's closing quote, and closes no container but the document itself.
class scanner {
 public:
  /// [begin, end) is the input, `limit` as above (in [begin, end]); what the scan reads goes to
  /// `result`.
  scanner(const char* begin, const char* end, const char* limit, std::string_view payload_field,
          openai_response_scan& result)
      : begin_(begin),
        end_(end),
        limit_(limit),
        block_limit_(limit - begin >= 16 ? reinterpret_cast<std::uintptr_t>(limit) - 16 : 0),
        payload_field_(payload_field),
        payload_is_choices_(payload_field == "choices"),
        result_(result) {}

  /// A container document whose first byte is at p and whose last non-blank byte is limit_.
  bool run_container(const char* p) {
    if (*p == '{') {
      result_.is_object = true;
      p = object<frame::root>(p + 1);
    } else {
      p = skip_container(p, 0);
    }
    return p == limit_ + 1;
  }

  /// A scalar document (in a NUL-terminated copy, limit_ == end_) whose first byte is at p.
  bool run_scalar(const char* p) {
    p = skip_scalar(p);
    return p != nullptr && skip_whitespace(p) == limit_;
  }

 private:
  [[gnu::always_inline]] const char* skip_whitespace(const char* p) const {
    if (!is_whitespace(*p)) {
      return p;
    }
    ++p;
    if (!is_whitespace(*p)) {
      return p;
    }
    return skip_blank_run(p + 1);
  }

  /// The first non-blank byte at or after p (a longer run, as in indented documents).
  const char* skip_blank_run(const char* p) const {
#if defined(__SSE2__)
    while (fits_block(p)) {
      if (const unsigned mask = non_blank_mask(p); mask != 0) {
        return p + static_cast<unsigned>(std::countr_zero(mask));
      }
      p += 16;
    }
#endif
    while (is_whitespace(*p)) {
      ++p;
    }
    return p;
  }

  /// Whether the 16 bytes at p end at limit_ at the latest.
  [[gnu::always_inline]] bool fits_block(const char* p) const {
    return reinterpret_cast<std::uintptr_t>(p) <= block_limit_;
  }

  /// The first '"', '\\' or control byte in [p, limit_), or limit_.
  [[gnu::always_inline]] const char* find_special(const char* p) const {
#if defined(__SSE2__)
    while (fits_block(p)) {
      if (const unsigned mask = special_mask(p); mask != 0) {
        return p + static_cast<unsigned>(std::countr_zero(mask));
      }
      p += 16;
    }
    if (block_limit_ != 0) {
      // The 16 bytes before limit_, less those before p.
      const char* q = limit_ - 16;
      const unsigned mask = special_mask(q) >> (p - q);
      return mask != 0 ? p + static_cast<unsigned>(std::countr_zero(mask)) : limit_;
    }
#else
    if constexpr (std::endian::native == std::endian::little) {
      // Per byte: the high bit marks a zero of x ^ '"' or x ^ '\\', or a byte below 0x20.
      // Borrows can only mark bytes above a real hit, so the lowest mark is always a real one.
      constexpr std::uint64_t ones = 0x0101010101010101u;
      constexpr std::uint64_t highs = 0x8080808080808080u;
      while (limit_ - p >= 8) {
        const std::uint64_t x = load8(p);
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
#endif
    while (p != limit_) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"' || c == '\\' || c < 0x20) {
        break;
      }
      ++p;
    }
    return p;
  }

  /// The colon after a key (blanks around it), p just past the key: the start of the value.
  [[gnu::always_inline]] const char* colon(const char* p) const {
    if (*p != ':') {
      p = skip_whitespace(p);
      if (*p != ':') {
        return nullptr;
      }
    }
    return skip_whitespace(p + 1);
  }

  /// What follows a comma, p just past it: the next key or element (blanks skipped).
  [[gnu::always_inline]] const char* after_comma(const char* p) const {
    return *p == '"' ? p : skip_whitespace(p);
  }

  // ---- the objects the scan reads ----

  /// The members of a frame-F object, p just past its '{'.
  template <frame F>
  const char* object(const char* p) {
    p = skip_whitespace(p);
    if (*p != '}') {
      for (;;) {
        if (*p != '"') {
          return nullptr;
        }
        const char* k = p + 1;
        std::size_t n;
        if (const char* stop = find_special(k); *stop == '"') {
          n = static_cast<std::size_t>(stop - k);
          p = stop + 1;
        } else {
          key_buffer_.clear();
          string_sink sink{key_buffer_};
          p = read_string(k, sink);
          if (p == nullptr) {
            return nullptr;
          }
          k = key_buffer_.data();
          n = key_buffer_.size();
        }
        p = colon(p);
        if (p == nullptr) {
          return nullptr;
        }
        p = member_value<F>(p, classify<F>(k, n), k, n);
        if (p == nullptr) {
          return nullptr;
        }
        if (*p == ',') {
          p = after_comma(p + 1);
          continue;
        }
        if (*p != '}') {
          p = skip_whitespace(p);
          if (*p == ',') {
            p = after_comma(p + 1);
            continue;
          }
          if (*p != '}') {
            return nullptr;
          }
        }
        break;
      }
    }
    if constexpr (F != frame::root) {
      if (p == limit_) {
        return nullptr;  // the document's last byte closes a nested object
      }
    }
    if constexpr (F == frame::usage) {
      finish_usage();
    }
    return p + 1;
  }

  /// What the n-byte key at k means in a frame-F object. Sizes first: most keys are decided
  /// without looking at their bytes.
  template <frame F>
  [[gnu::always_inline]] static role classify(const char* k, std::size_t n) {
    if constexpr (F == frame::root) {
      if (n == 5) {
        return same(k, "model") ? role::model : same(k, "usage") ? role::usage : role::none;
      }
      return n == 7 && same(k, "choices") ? role::choices : role::none;
    } else if constexpr (F == frame::choice) {
      return n == 13 && same(k, "finish_reason") ? role::finish_reason : role::none;
    } else if constexpr (F == frame::usage) {
      switch (n) {
        case 13:
          return same(k, "prompt_tokens") ? role::prompt_tokens : role::none;
        case 17:
          return same(k, "completion_tokens") ? role::completion_tokens : role::none;
        case 12:
          return same(k, "total_tokens") ? role::total_tokens : role::none;
        case 21:
          return same(k, "prompt_tokens_details") ? role::prompt_details : role::none;
        case 25:
          return same(k, "completion_tokens_details") ? role::completion_details : role::none;
        default:
          return role::none;
      }
    } else if constexpr (F == frame::prompt_details) {
      return n == 13 && same(k, "cached_tokens") ? role::cached_tokens : role::none;
    } else {
      return n == 16 && same(k, "reasoning_tokens") ? role::reasoning_tokens : role::none;
    }
  }

  /// The value at p of a member of a frame-F object whose key (n bytes at k) means r.
  template <frame F>
  [[gnu::always_inline]] const char* member_value(const char* p, role r, const char* k,
                                                  std::size_t n) {
    if (r == role::none) {
      if constexpr (F == frame::root) {
        if (*p == '[' && !payload_is_choices_ && n == payload_field_.size() &&
            std::memcmp(k, payload_field_.data(), n) == 0) {
          result_.has_payload = true;
        }
      }
      return skip_value(p, depth_of(F));
    }
    switch (r) {
      case role::model:
        if (*p == '"') {
          return kept_string<role::model>(p + 1);
        }
        break;
      case role::choices:
        if (*p == '[') {
          if (payload_is_choices_) {
            result_.has_payload = true;
          }
          return choices(p + 1);
        }
        break;
      case role::usage:
        if (*p == '{') {
          return object<frame::usage>(p + 1);
        }
        break;
      case role::finish_reason:
        if (*p == '"' && !finish_set_) {
          return kept_string<role::finish_reason>(p + 1);
        }
        break;
      case role::prompt_details:
        if (*p == '{') {
          return object<frame::prompt_details>(p + 1);
        }
        break;
      case role::completion_details:
        if (*p == '{') {
          return object<frame::completion_details>(p + 1);
        }
        break;
      case role::prompt_tokens:
      case role::completion_tokens:
      case role::total_tokens:
      case role::cached_tokens:
      case role::reasoning_tokens:
        if (*p == '-' || is_digit(*p)) {
          return number<true>(p, r);
        }
        break;
      case role::none:
        break;
    }
    if constexpr (F == frame::root) {
      if (*p == '[' && !payload_is_choices_ && n == payload_field_.size() &&
          std::memcmp(k, payload_field_.data(), n) == 0) {
        result_.has_payload = true;
      }
    }
    return skip_value(p, depth_of(F));
  }

  /// The elements of root.choices, p just past its '['.
  const char* choices(const char* p) {
    p = skip_whitespace(p);
    if (*p != ']') {
      for (;;) {
        p = *p == '{' ? object<frame::choice>(p + 1) : skip_value(p, 2);
        if (p == nullptr) {
          return nullptr;
        }
        if (*p != ',' && *p != ']') {
          p = skip_whitespace(p);
        }
        if (*p == ',') {
          p = skip_whitespace(p + 1);
          continue;
        }
        if (*p != ']') {
          return nullptr;
        }
        break;
      }
    }
    if (p == limit_) {
      return nullptr;  // the document's last byte closes a nested array
    }
    return p + 1;
  }

  /// A string value the scan keeps (root.model, the first finish_reason), p just past its
  /// opening quote.
  template <role R>
  const char* kept_string(const char* p) {
    std::string& out =
        R == role::model ? result_.summary.response_model : result_.summary.finish_reason;
    if (const char* stop = find_special(p); *stop == '"') {
      const auto n = static_cast<std::size_t>(stop - p);
      if (R != role::model || n != 0) {
        out = std::string(p, n);  // cheaper than assign(), which allows for aliasing
      }
      p = stop + 1;
    } else {
      std::string text;
      string_sink sink{text};
      p = read_string(p, sink);
      if (p == nullptr) {
        return nullptr;
      }
      if (R != role::model || !text.empty()) {
        out = std::move(text);
      }
    }
    if constexpr (R == role::finish_reason) {
      finish_set_ = true;
    }
    return p;
  }

  // ---- values the scan does not read ----

  /// Any value at p; `depth` containers enclose it.
  [[gnu::always_inline]] const char* skip_value(const char* p, int depth) {
    if (*p == '{' || *p == '[') {
      return skip_container(p, depth);
    }
    return skip_scalar(p);
  }

  /// A string, number or literal at p (anything else at p is an error).
  [[gnu::always_inline]] const char* skip_scalar(const char* p) {
    switch (*p) {
      case '"':
        return skip_string(p + 1);
      case 't':
        return limit_ - p >= 4 && load4(p) == load4("true") ? p + 4 : nullptr;
      case 'f':
        return limit_ - p >= 5 && load4(p + 1) == load4("alse") ? p + 5 : nullptr;
      case 'n':
        return limit_ - p >= 4 && load4(p) == load4("null") ? p + 4 : nullptr;
      default:
        return number<false>(p, role::none);
    }
  }

  /// The object or array at p, with everything in it, without recursion; `depth` containers
  /// enclose it (0: it is the document).
  const char* skip_container(const char* p, int depth) {
    std::uint64_t objects = 0;  // bit i: the container i levels out from the innermost is an object
    int open = 0;               // containers opened here and not yet closed
    for (;;) {
      // p is at a value.
      bool closing = false;
      if (const char c = *p; c == '{' || c == '[') {
        if (depth + open >= max_depth) {
          return nullptr;
        }
        ++open;
        objects = (objects << 1) | (c == '{' ? 1u : 0u);
        p = skip_whitespace(p + 1);
        if (*p == (c == '{' ? '}' : ']')) {
          closing = true;  // an empty container
        } else {
          if (c == '{') {
            p = skip_key(p);
            if (p == nullptr) {
              return nullptr;
            }
          }
          continue;
        }
      } else {
        p = skip_scalar(p);
        if (p == nullptr) {
          return nullptr;
        }
      }
      // p is at what follows a value, or at the closing bracket of an empty container.
      for (;;) {
        const bool in_object = (objects & 1u) != 0;
        if (!closing) {
          p = skip_whitespace(p);
          if (*p == ',') {
            p = after_comma(p + 1);
            if (in_object) {
              p = skip_key(p);
              if (p == nullptr) {
                return nullptr;
              }
            }
            break;
          }
          if (*p != (in_object ? '}' : ']')) {
            return nullptr;
          }
        }
        closing = false;
        if (p == limit_ && (open != 1 || depth != 0)) {
          return nullptr;  // the document's last byte closes a nested container
        }
        ++p;
        objects >>= 1;
        if (--open == 0) {
          return p;
        }
      }
    }
  }

  /// A key and its colon at p, in an object the scan does not read: the position of its value.
  [[gnu::always_inline]] const char* skip_key(const char* p) const {
    if (*p != '"') {
      return nullptr;
    }
    p = skip_string(p + 1);
    if (p == nullptr) {
      return nullptr;
    }
    return colon(p);
  }

  /// A string the scan does not keep, p just past its opening quote.
  [[gnu::always_inline]] const char* skip_string(const char* p) const {
    if (const char* stop = find_special(p); *stop == '"') {
      return stop + 1;
    }
    no_sink sink;
    return read_string(p, sink);
  }

  // ---- strings with escapes ----

  /// The rest of a string from p (just past its opening quote, or after a whole character or
  /// escape inside it), unescaped into `sink`.
  template <class Sink>
  const char* read_string(const char* p, Sink& sink) const {
    for (;;) {
      const char* stop = find_special(p);
      if (stop == limit_) {
        return nullptr;  // no closing quote before the document's last byte
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

  /// One escape, p just past its backslash (before limit_: the backslash is).
  template <class Sink>
  const char* escape(const char* p, Sink& sink) const {
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
      if (cp > 0xdbff || limit_ - p < 2 || p[0] != '\\' || p[1] != 'u') {
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

  static int hex_value(char c) {
    if (is_digit(c)) {
      return c - '0';
    }
    const char lower = static_cast<char>(c | 0x20);
    if (lower >= 'a' && lower <= 'f') {
      return lower - 'a' + 10;
    }
    return -1;
  }

  /// Four hex digits at p; a string's digits all lie before limit_.
  const char* hex4(const char* p, unsigned& out) const {
    if (limit_ - p < 4) {
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

  // ---- numbers ----

  /// A number at p, checked against RFC 8259's grammar (anything else at p is an error); when
  /// Count, its value is the count `r` if it is one.
  template <bool Count>
  [[gnu::always_inline]] const char* number(const char* p, role r) {
    const char* start = p;
    const bool negative = *p == '-';
    p += negative ? 1 : 0;
    const char* digits = p;
    std::uint64_t v = 0;  // the integer part while it has at most 18 digits
    if (*p == '0') {
      ++p;
    } else if (is_digit(*p)) {
      v = static_cast<std::uint64_t>(*p - '0');
      ++p;
      while (is_digit(*p)) {
        v = v * 10 + static_cast<std::uint64_t>(*p - '0');  // wraps harmlessly past 19 digits
        ++p;
      }
    } else {
      return nullptr;
    }
    if (p - digits <= 18 && *p != '.' && (*p | 0x20) != 'e') {
      // A plain integer that surely fits an int64: "-0" is Boost.JSON's int64 0, other
      // negative integers are not counts.
      if constexpr (Count) {
        if (!negative || v == 0) {
          count(r, static_cast<std::int64_t>(v));
        }
      }
      return p;
    }
    return number_rest<Count>(start, p, r);
  }

  /// The rest of a number that is not a plain integer of at most 18 digits, p just past its
  /// integer part.
  template <bool Count>
  const char* number_rest(const char* start, const char* p, role r) {
    if (*p == '.') {
      ++p;
      if (!is_digit(*p)) {
        return nullptr;
      }
      while (is_digit(*p)) {
        ++p;
      }
    }
    if ((*p | 0x20) == 'e') {
      ++p;
      if (*p == '+' || *p == '-') {
        ++p;
      }
      if (!is_digit(*p)) {
        return nullptr;
      }
      while (*p == '0') {
        ++p;
      }
      const char* significant = p;
      while (is_digit(*p)) {
        ++p;
      }
      // Boost.JSON rejects exponents (plus the digits it shifts by) beyond INT_MAX; below 1e9,
      // with fewer than 2^30 digits in the number, that cannot happen.
      if (p - significant > 9) {
        return boost_number(start, p, r);
      }
    }
    if (Count || p - start >= (std::ptrdiff_t{1} << 30)) {
      return boost_number(start, p, r);
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
    if (r == role::none) {
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
  const char* const end_;    // the end of the input (numbers read by Boost.JSON look at it)
  const char* const limit_;  // see the class comment
  // The last address a 16-byte block may start at to end at limit_ at the latest (0: none).
  const std::uintptr_t block_limit_;
  const std::string_view payload_field_;
  const bool payload_is_choices_;
  std::string key_buffer_;  // an escaped key, unescaped
  bool finish_set_ = false;
  json::usage usage_;
  bool has_prompt_ = false;
  bool has_completion_ = false;
  bool has_total_ = false;
  openai_response_scan& result_;
};

}  // namespace

std::optional<openai_response_scan> scan_openai_response(std::string_view body,
                                                         std::string_view payload_field) {
  std::optional<openai_response_scan> out(std::in_place);  // one object, returned in place
  const char* const begin = body.data();
  const char* const end = begin + body.size();
  const char* p = begin;
  while (p != end && is_whitespace(*p)) {
    ++p;
  }
  bool valid = false;
  if (p == end) {
    valid = false;
  } else if (*p == '{' || *p == '[') {
    // A container document ends with its closing bracket and blanks.
    const char* last = end - 1;
    while (is_whitespace(*last)) {
      --last;  // stops at p at the latest
    }
    valid = *last == (*p == '{' ? '}' : ']') &&
            scanner(begin, end, last, payload_field, *out).run_container(p);
  } else {
    // A string, number or literal (or an error): scanned in a NUL-terminated copy.
    const std::string copy(body);
    const char* const copy_end = copy.data() + copy.size();
    valid = scanner(copy.data(), copy_end, copy_end, payload_field, *out)
                .run_scalar(copy.data() + (p - begin));
  }
  if (!valid) {
    out.reset();
  }
  return out;
}

}  // namespace aiproxy::providers
