// The HTTP/1.1 parser of http1_parser.hpp. Every rule follows what Beast's basic_parser (Boost
// 1.81) does with the same bytes, so that the gateway answers malformed input as before; a
// differential test (tests/unit/net/http1_parser_test.cpp) holds the two side by side.
// May touch: the parser's own members only.

#include "aiproxy/net/http1_parser.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

namespace aiproxy::net {

namespace {

namespace http = boost::beast::http;
using error_code = boost::system::error_code;

constexpr std::size_t max_obs_fold = 4096;          // Beast's limit on an unfolded field value
constexpr std::uint64_t max_reserve = 1024 * 1024;  // most request body room taken in advance

inline unsigned char u8(char c) noexcept {
  return static_cast<unsigned char>(c);
}

template <class Pred>
constexpr std::array<bool, 256> make_table(Pred pred) {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<std::size_t>(c)] = pred(c);
  }
  return t;
}

/// tchar (RFC 9110 5.6.2): method, field name, list element, chunk-ext name.
constexpr auto token_table = make_table([](int c) {
  const int lower = c | 0x20;
  return (c >= '0' && c <= '9') || (lower >= 'a' && lower <= 'z' && c < 0x80) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
});
/// A request-target byte: visible ASCII or obs-text.
constexpr auto target_table = make_table([](int c) { return c > 0x20 && c != 0x7f; });
/// A field-value or reason-phrase byte: HTAB, SP, visible ASCII, obs-text.
constexpr auto value_table =
    make_table([](int c) { return c == '\t' || (c >= 0x20 && c != 0x7f); });

inline bool is_token(char c) noexcept {
  return token_table[u8(c)];
}

/// The end of the run of tchar from `p` (at most `last`): four table lookups a step while there
/// are four bytes left, so a name costs one branch per four bytes.
inline const char* skip_token(const char* p, const char* last) noexcept {
  while (last - p >= 4 && (token_table[u8(p[0])] & token_table[u8(p[1])] & token_table[u8(p[2])] &
                           token_table[u8(p[3])])) {
    p += 4;
  }
  while (p < last && is_token(*p))
    ++p;
  return p;
}

/// `p` advanced by whole words of eight bytes while none of them is below `floor` (at most 0x80)
/// or DEL, stopping before the first word that has one, or fewer than eight bytes before `last`.
/// The word tests are the exact "some byte is below n / is zero" ones; bytes from 0x80 up pass.
inline const char* skip_words_above(const char* p, const char* last, unsigned char floor) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101u;
  constexpr std::uint64_t highs = 0x8080808080808080u;
  while (last - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t below = (w - ones * floor) & ~w & highs;
    const std::uint64_t x7f = w ^ (ones * 0x7f);
    const std::uint64_t del = (x7f - ones) & ~x7f & highs;
    if ((below | del) != 0)
      break;
    p += 8;
  }
  return p;
}

/// The end of the run of request-target bytes (above SP, not DEL) from `p` (at most `last`).
inline const char* skip_target(const char* p, const char* last) noexcept {
  p = skip_words_above(p, last, 0x21);
  while (p < last && target_table[u8(*p)])
    ++p;
  return p;
}

inline bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t';
}
inline bool is_digit(char c) noexcept {
  return static_cast<unsigned char>(c - '0') < 10;
}
inline int unhex(char c) noexcept {
  if (is_digit(c))
    return c - '0';
  const int lower = u8(c) | 0x20;
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

/// ASCII case-insensitive equality of a token with a lower-case literal of the same length.
bool token_is(std::string_view token, std::string_view lower) noexcept {
  if (token.size() != lower.size())
    return false;
  for (std::size_t i = 0; i < lower.size(); ++i) {
    // Token bytes are letters, digits and tchar punctuation: OR-ing 0x20 folds only letters.
    if ((u8(token[i]) | 0x20) != u8(lower[i]))
      return false;
  }
  return true;
}

/// A comma-separated list of tokens (`#token`, empty elements allowed), read one element at a
/// time: token, end, or a syntax error.
class token_list_reader {
 public:
  enum class step { token, end, error };
  explicit token_list_reader(std::string_view s) noexcept : s_(s) {}

  step next(std::string_view& token) noexcept {
    for (;;) {
      while (i_ < s_.size() && is_ws(s_[i_]))
        ++i_;
      if (i_ == s_.size())
        return step::end;
      const char c = s_[i_];
      if (is_token(c)) {
        if (need_comma_)
          return step::error;
        const std::size_t first = i_;
        while (i_ < s_.size() && is_token(s_[i_]))
          ++i_;
        token = s_.substr(first, i_ - first);
        need_comma_ = true;
        return step::token;
      }
      if (c != ',')
        return step::error;
      need_comma_ = false;
      ++i_;
    }
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
  bool need_comma_ = false;
};

/// Decimal digits only, no overflow.
bool parse_decimal(std::string_view s, std::uint64_t& v) noexcept {
  if (s.empty())
    return false;
  std::uint64_t n = 0;
  for (char c : s) {
    if (!is_digit(c) || n > std::numeric_limits<std::uint64_t>::max() / 10)
      return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    n *= 10;
    if (std::numeric_limits<std::uint64_t>::max() - n < d)
      return false;
    n += d;
  }
  v = n;
  return true;
}

/// Hex digits at `it` (at least one; the caller knows a non-hex byte follows), no overflow.
bool parse_hex(const char*& it, std::uint64_t& v) noexcept {
  int d = unhex(*it);
  if (d < 0)
    return false;
  std::uint64_t n = 0;
  do {
    if (n > std::numeric_limits<std::uint64_t>::max() / 16)
      return false;
    n = n * 16 + static_cast<std::uint64_t>(d);
    d = unhex(*++it);
  } while (d >= 0);
  v = n;
  return true;
}

/// Just past the first CRLF at or after `it`; nullptr when none is complete yet. A CR followed
/// by anything but LF is bad_line_ending.
const char* find_eol(const char* it, const char* last, error_code& ec) noexcept {
  for (;;) {
    const void* cr =
        it < last ? std::memchr(it, '\r', static_cast<std::size_t>(last - it)) : nullptr;
    if (cr == nullptr)
      return nullptr;
    it = static_cast<const char*>(cr) + 1;
    if (it == last)
      return nullptr;
    if (*it != '\n') {
      ec = http::error::bad_line_ending;
      return nullptr;
    }
    return it + 1;
  }
}

/// Just past the first CRLFCRLF at or after `p`, or nullptr.
const char* find_eom(const char* p, const char* last) noexcept {
  if (last - p < 4)
    return nullptr;
  const std::string_view s(p, static_cast<std::size_t>(last - p));
  const std::size_t at = s.find("\r\n\r\n");
  return at == std::string_view::npos ? nullptr : p + at + 4;
}

/// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), read as Beast
/// does: up to the first byte that cannot continue it, which may lie past the line's end (a
/// quoted string runs on to its closing quote). need_more when the input ends first.
void parse_chunk_extensions(const char*& it, const char* last, error_code& ec) noexcept {
  auto need_more = [&] { ec = http::error::need_more; };
  auto bad = [&] { ec = http::error::bad_chunk_extension; };
  for (;;) {
    if (it == last)
      return need_more();
    if (!is_ws(*it) && *it != ';')
      return;
    while (is_ws(*it)) {
      if (++it == last)
        return need_more();
    }
    if (*it != ';')
      return bad();
    for (;;) {  // after each ';'
      ++it;
      for (;;) {
        if (it == last)
          return need_more();
        if (!is_ws(*it))
          break;
        ++it;
      }
      if (!is_token(*it))
        return bad();
      do {
        if (++it == last)
          return need_more();
      } while (is_token(*it));
      bool bws = false;
      if (is_ws(*it)) {
        do {
          if (++it == last)
            return need_more();
        } while (is_ws(*it));
        bws = true;
      }
      if (*it == ';')
        continue;
      if (*it != '=') {
        if (bws)
          bad();
        return;
      }
      ++it;
      for (;;) {
        if (it == last)
          return need_more();
        if (!is_ws(*it))
          break;
        ++it;
      }
      if (*it != '"') {
        if (!is_token(*it))
          return bad();
        do {
          if (++it == last)
            return need_more();
        } while (is_token(*it));
      } else {
        for (;;) {
          if (++it == last)
            return need_more();
          if (*it == '"')
            break;
          if (*it == '\\' && ++it == last)
            return need_more();
        }
        ++it;
      }
      break;
    }
  }
}

/// Scans a field value or reason phrase from `p` to its CRLF. Returns the end of its text (the
/// CR) and moves `p` past the LF; nullptr with need_more, bad_line_ending or `bad` set.
inline const char* scan_to_eol(const char*& p, const char* last, http::error bad,
                               error_code& ec) noexcept {
  // Whole words while none of their bytes is below SP (CTLs, HTAB, CR) or DEL; the word that
  // has one is finished byte by byte.
  const char* q = skip_words_above(p, last, 0x20);
  while (q < last && value_table[u8(*q)])
    ++q;
  if (q == last) {
    ec = http::error::need_more;
    return nullptr;
  }
  if (*q != '\r') {
    ec = bad;
    return nullptr;
  }
  if (q + 1 == last) {
    ec = http::error::need_more;
    return nullptr;
  }
  if (q[1] != '\n') {
    ec = http::error::bad_line_ending;
    return nullptr;
  }
  p = q + 2;
  return q;
}

inline const char* trim_back(const char* it, const char* first) noexcept {
  while (it != first && is_ws(it[-1]))
    --it;
  return it;
}

}  // namespace

template <bool IsRequest>
bool http1_parser<IsRequest>::keep_alive() const noexcept {
  if ((flags_ & flag_http11) != 0) {
    if ((flags_ & flag_connection_close) != 0)
      return false;
  } else if ((flags_ & flag_connection_keep_alive) == 0) {
    return false;
  }
  return (flags_ & flag_need_eof) == 0;
}

template <bool IsRequest>
std::size_t http1_parser<IsRequest>::put(const char* const data, const std::size_t size,
                                         error_code& ec) {
  ec = {};
  if (state_ == state::complete) {
    ec = http::error::stale_parser;
    return 0;
  }
  const char* p = data;
  const char* const end = data + size;
  switch (state_) {
    case state::nothing_yet:
      if (size == 0) {
        ec = http::error::need_more;
        return 0;
      }
      state_ = state::start_line;
      [[fallthrough]];
    case state::start_line:
      if (!parse_start_line(p, end, ec))
        return static_cast<std::size_t>(p - data);
      [[fallthrough]];
    case state::fields:
      if (!parse_head_fields(p, end, ec))
        return static_cast<std::size_t>(p - data);
      finish_header(ec);
      if (ec || state_ == state::complete || p == end || !eager())
        return static_cast<std::size_t>(p - data);
      break;
    default:
      break;
  }
  parse_body(p, end, ec);
  return static_cast<std::size_t>(p - data);
}

template <bool IsRequest>
bool http1_parser<IsRequest>::parse_start_line(const char*& in, const char* end, error_code& ec) {
  const std::size_t available = static_cast<std::size_t>(end - in);
  const char* const last = in + std::min<std::size_t>(header_limit_, available);
  const char* p = in;
  auto fail = [&](http::error e) {
    if (e == http::error::need_more && available >= header_limit_)
      e = http::error::header_limit;
    ec = e;
    return false;
  };
  // HTTP-version: "HTTP/" DIGIT "." DIGIT, only 1.0 and 1.1
  auto parse_version = [&](unsigned& version) -> http::error {
    if (last - p < 8)
      return http::error::need_more;
    if (std::memcmp(p, "HTTP/", 5) != 0 || !is_digit(p[5]) || p[6] != '.' || !is_digit(p[7]))
      return http::error::bad_version;
    version = static_cast<unsigned>((p[5] - '0') * 10 + (p[7] - '0'));
    p += 8;
    if (version < 10 || version > 11)
      return http::error::bad_version;
    return {};
  };
  unsigned version = 0;
  if constexpr (IsRequest) {
    // method SP request-target SP HTTP-version CRLF
    const char* const method = p;
    p = skip_token(p, last);
    if (p == last)
      return fail(http::error::need_more);
    if (*p != ' ' || p == method)
      return fail(http::error::bad_method);
    const char* const method_end = p++;
    const char* const target = p;
    p = skip_target(p, last);
    if (p == last)
      return fail(http::error::need_more);
    if (*p != ' ' || p == target)
      return fail(http::error::bad_target);
    const char* const target_end = p++;
    if (auto e = parse_version(version); e != http::error{})
      return fail(e);
    if (last - p < 2)
      return fail(http::error::need_more);
    if (p[0] != '\r' || p[1] != '\n')
      return fail(http::error::bad_version);
    p += 2;
    method_.assign(method, method_end);
    target_.assign(target, target_end);
  } else {
    // HTTP-version SP 3DIGIT SP reason-phrase CRLF
    if (auto e = parse_version(version); e != http::error{})
      return fail(e);
    if (p == last)
      return fail(http::error::need_more);
    if (*p++ != ' ')
      return fail(http::error::bad_version);
    if (last - p < 4)
      return fail(http::error::need_more);
    if (!is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) || p[3] != ' ')
      return fail(http::error::bad_status);
    const int status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    p += 4;
    if (scan_to_eol(p, last, http::error::bad_reason, ec) == nullptr)
      return fail(static_cast<http::error>(ec.value()));
    status_ = status;
  }
  version_ = version;
  if (version >= 11)
    flags_ |= flag_http11;
  fields_.reserve(16);
  in = p;
  state_ = state::fields;
  fields_used_ = 0;
  if (p == end) {
    ec = http::error::need_more;
    return false;
  }
  return true;
}

template <bool IsRequest>
bool http1_parser<IsRequest>::parse_head_fields(const char*& in, const char* end, error_code& ec) {
  std::string_view name;
  std::string_view value;
  for (;;) {
    const std::size_t available = static_cast<std::size_t>(end - in);
    const char* const last = in + std::min<std::size_t>(header_limit_ - fields_used_, available);
    const char* p = in;
    bool done = false;
    if (last - p < 2) {
      ec = http::error::need_more;
    } else if (p[0] == '\r') {
      if (p[1] != '\n') {
        ec = http::error::bad_line_ending;
        return false;
      }
      p += 2;
      done = true;
    } else if (parse_field(p, last, name, value, ec)) {
      apply_field(name, value, ec);
      if (ec)
        return false;
      fields_.add(name, value);
    }
    if (ec) {
      if (ec == http::error::need_more && fields_used_ + available >= header_limit_)
        ec = http::error::header_limit;
      return false;
    }
    fields_used_ += static_cast<std::size_t>(p - in);
    in = p;
    if (done)
      return true;
  }
}

template <bool IsRequest>
bool http1_parser<IsRequest>::parse_field(const char*& in, const char* last, std::string_view& name,
                                          std::string_view& value, error_code& ec) {
  // field-name ":" OWS field-value OWS CRLF, with obs-fold (CRLF 1*(SP / HTAB)) unfolded to
  // one SP as Beast does. A line is complete once the byte after its CRLF shows no fold.
  const char* p = in;
  const char* first = p;
  p = skip_token(p, last);
  if (p == last) {
    ec = http::error::need_more;
    return false;
  }
  if (*p != ':' || p == first) {
    ec = http::error::bad_field;
    return false;
  }
  name = std::string_view(first, static_cast<std::size_t>(p - first));
  ++p;
  const char* text_end = nullptr;
  // Scans one line's text from p (leading SP/HTAB skipped) through CRLF and the next byte.
  auto line = [&]() -> bool {
    for (;;) {
      if (p == last) {
        ec = http::error::need_more;
        return false;
      }
      if (!is_ws(*p))
        break;
      ++p;
    }
    first = p;
    text_end = scan_to_eol(p, last, http::error::bad_value, ec);
    if (text_end == nullptr)
      return false;
    if (p == last) {
      ec = http::error::need_more;
      return false;
    }
    text_end = trim_back(text_end, first);
    return true;
  };
  for (;;) {
    if (!line())
      return false;
    if (!is_ws(*p)) {
      value = std::string_view(first, static_cast<std::size_t>(text_end - first));
      in = p;
      return true;
    }
    ++p;
    if (text_end != first)
      break;
  }
  // Folded: the first line's text, then each further line's text after one SP.
  if (static_cast<std::size_t>(text_end - first) > max_obs_fold) {
    ec = http::error::header_limit;
    return false;
  }
  fold_.assign(first, text_end);
  for (;;) {
    if (!line())
      return false;
    if (text_end != first) {
      if (fold_.size() + 1 + static_cast<std::size_t>(text_end - first) > max_obs_fold) {
        ec = http::error::header_limit;
        return false;
      }
      fold_ += ' ';
      fold_.append(first, text_end);
    }
    if (!is_ws(*p)) {
      value = fold_;
      in = p;
      return true;
    }
    ++p;
  }
}

template <bool IsRequest>
void http1_parser<IsRequest>::apply_field(std::string_view name, std::string_view value,
                                          error_code& ec) {
  switch (name.size()) {
    case 10:  // Connection
    case 16:  // Proxy-Connection
      if (token_is(name, "connection") || token_is(name, "proxy-connection")) {
        token_list_reader list(value);
        unsigned found = 0;
        std::string_view t;
        for (;;) {
          const auto s = list.next(t);
          if (s == token_list_reader::step::error) {
            ec = http::error::bad_value;
            return;
          }
          if (s == token_list_reader::step::end)
            break;
          if (token_is(t, "close")) {
            found |= flag_connection_close;
          } else if (token_is(t, "keep-alive")) {
            found |= flag_connection_keep_alive;
          } else if (token_is(t, "upgrade")) {
            found |= flag_connection_upgrade;
          }
        }
        flags_ |= found;
      }
      return;
    case 14:  // Content-Length: one length, or a list of equal ones
      if (token_is(name, "content-length")) {
        if ((flags_ & flag_chunked) != 0) {
          ec = http::error::bad_content_length;
          return;
        }
        std::optional<std::uint64_t> existing = content_length();
        if (!value.empty() && std::all_of(value.begin(), value.end(), is_digit)) {
          // The usual case, one length: what the list rules below come to for it.
          std::uint64_t v = 0;
          if (!parse_decimal(value, v)) {
            ec = http::error::bad_content_length;
            return;
          }
          if (existing && v != *existing) {
            ec = http::error::multiple_content_length;
            return;
          }
          length_ = v;
          length0_ = v;
          flags_ |= flag_content_length;
          return;
        }
        // First the whole list's syntax (and at least one element), then each element.
        {
          token_list_reader check(value);
          std::string_view t;
          auto s = check.next(t);
          if (s != token_list_reader::step::token) {
            ec = http::error::bad_content_length;
            return;
          }
          while (s == token_list_reader::step::token)
            s = check.next(t);
          if (s == token_list_reader::step::error) {
            ec = http::error::bad_content_length;
            return;
          }
        }
        auto unprocessed = 1 + std::count(value.begin(), value.end(), ',');
        token_list_reader list(value);
        std::string_view t;
        while (list.next(t) == token_list_reader::step::token) {
          std::uint64_t v = 0;
          if (!parse_decimal(t, v)) {
            ec = http::error::bad_content_length;
            return;
          }
          --unprocessed;
          if (existing && v != *existing) {
            ec = http::error::multiple_content_length;
            return;
          }
          existing = v;
        }
        if (unprocessed != 0) {  // an empty element
          ec = http::error::bad_content_length;
          return;
        }
        length_ = *existing;
        length0_ = *existing;
        flags_ |= flag_content_length;
      }
      return;
    case 17:  // Transfer-Encoding: chunked only when it is the last coding
      if (token_is(name, "transfer-encoding")) {
        flags_ |= flag_transfer_encoding;
        if ((flags_ & (flag_chunked | flag_content_length)) != 0) {
          ec = http::error::bad_transfer_encoding;
          return;
        }
        // Codings up to the end or the first syntax error; the first "chunked" counts only
        // when no coding follows it.
        token_list_reader list(value);
        std::string_view t;
        while (list.next(t) == token_list_reader::step::token) {
          if (token_is(t, "chunked")) {
            if (list.next(t) != token_list_reader::step::token) {
              length_ = 0;
              flags_ |= flag_chunked;
            }
            return;
          }
        }
      }
      return;
    case 7:
      if (token_is(name, "upgrade"))
        flags_ |= flag_upgrade;
      return;
    default:
      return;
  }
}

template <bool IsRequest>
void http1_parser<IsRequest>::finish_header(error_code& ec) {
  // RFC 9112 section 6.3, as Beast applies it.
  if constexpr (IsRequest) {
    if ((flags_ & flag_skip_body) != 0) {
      state_ = state::complete;
    } else if ((flags_ & flag_content_length) != 0) {
      if (body_limit_ && length_ > *body_limit_) {
        ec = http::error::body_limit;
        return;
      }
      state_ = length_ > 0 ? state::body0 : state::complete;
    } else if ((flags_ & flag_chunked) != 0) {
      state_ = state::chunk_header;
    } else {
      length_ = 0;
      length0_ = 0;
      state_ = state::complete;
    }
    // A request whose last transfer coding is not chunked has no length anyone agrees on
    // (RFC 9112 section 6.3: respond 400 and close). Beast took it to have no body, which let
    // its body pass for the next request. Checked where Beast would call on_header.
    if ((flags_ & (flag_transfer_encoding | flag_chunked)) == flag_transfer_encoding) {
      ec = http::error::bad_transfer_encoding;
      return;
    }
  } else {
    if ((flags_ & flag_skip_body) != 0 || status_ / 100 == 1 || status_ == 204 || status_ == 304) {
      state_ = state::complete;
    } else if ((flags_ & flag_content_length) != 0) {
      if (length_ > 0) {
        state_ = state::body0;
        if (body_limit_ && length_ > *body_limit_) {
          ec = http::error::body_limit;
          return;
        }
      } else {
        state_ = state::complete;
      }
    } else if ((flags_ & flag_chunked) != 0) {
      state_ = state::chunk_header;
    } else {
      flags_ |= flag_need_eof;
      state_ = state::body_to_eof;
    }
  }
}

template <bool IsRequest>
std::size_t http1_parser<IsRequest>::take_body(const char* data, std::size_t size, error_code& ec) {
  if constexpr (IsRequest) {
    body_.append(data, size);
    return size;
  } else {
    if (lent_ == nullptr) {
      ec = http::error::need_buffer;
      return 0;
    }
    const std::size_t n = std::min(room_, size);
    if (n != 0)
      std::memcpy(lent_, data, n);
    lent_ += n;
    room_ -= n;
    if (n < size)
      ec = http::error::need_buffer;
    return n;
  }
}

template <bool IsRequest>
void http1_parser<IsRequest>::parse_body(const char*& p, const char* end, error_code& ec) {
  // Body states go on while bytes remain (Beast stops after each chunk header and chunk; no
  // caller needs that). As with Beast, need_more means no progress at all: a put() that took
  // some bytes and then needs more reports success, so that a reader hands out what it has.
  const char* const entry = p;
  for (;;) {
    switch (state_) {
      case state::body0:
        if constexpr (IsRequest) {
          // Room for the declared length, up to a bound: a length nobody sends costs nothing.
          body_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(length0_, max_reserve)));
        }
        state_ = state::body;
        [[fallthrough]];
      case state::body: {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(length_, static_cast<std::uint64_t>(end - p)));
        const std::size_t used = take_body(p, n, ec);
        p += used;
        length_ -= used;
        if (ec)
          return;
        if (length_ == 0)
          state_ = state::complete;
        break;
      }
      case state::body_to_eof: {
        const auto n = static_cast<std::size_t>(end - p);
        if (body_limit_) {
          if (n > *body_limit_) {
            ec = http::error::body_limit;
            return;
          }
        }
        const std::size_t used = take_body(p, n, ec);
        p += used;
        if (body_limit_)
          *body_limit_ -= used;
        if (ec)
          return;
        break;
      }
      case state::chunk_header:
        parse_chunk_header(p, end, ec);
        if (ec) {
          if (ec == http::error::need_more && p != entry)
            ec = {};
          return;
        }
        break;
      case state::chunk_body: {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(length_, static_cast<std::uint64_t>(end - p)));
        const std::size_t used = take_body(p, n, ec);
        p += used;
        length_ -= used;
        if (length_ == 0)
          state_ = state::chunk_header;
        if (ec)
          return;
        break;
      }
      default:
        return;
    }
    if (p == end || state_ == state::complete)
      return;
  }
}

template <bool IsRequest>
void http1_parser<IsRequest>::parse_chunk_header(const char*& in, const char* end, error_code& ec) {
  // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*"0" [ chunk-ext ]
  // CRLF trailer-section CRLF. A chunk's closing CRLF is read with the next chunk's header.
  // Nothing is consumed until a whole header (or the whole last chunk and trailers) is there;
  // resume_ keeps the scan from starting over.
  const char* p = in;
  const auto n = static_cast<std::size_t>(end - in);
  const char* eol = nullptr;
  if ((flags_ & flag_final_chunk) == 0) {
    if (n < resume_ + 2) {
      ec = http::error::need_more;
      return;
    }
    if ((flags_ & flag_expect_crlf) != 0) {
      if (p[0] != '\r' || p[1] != '\n') {
        ec = http::error::bad_chunk;
        return;
      }
      p += 2;
    }
    eol = find_eol(in + resume_, end, ec);
    if (ec)
      return;
    if (eol == nullptr) {
      ec = http::error::need_more;
      resume_ = n - 1;
      return;
    }
    resume_ = static_cast<std::size_t>(eol - 2 - in);
    std::uint64_t size = 0;
    if (!parse_hex(p, size)) {
      ec = http::error::bad_chunk;
      return;
    }
    if (size != 0) {
      if (body_limit_ && size > *body_limit_) {
        ec = http::error::body_limit;
        return;
      }
      parse_chunk_extensions(p, end, ec);
      if (ec)
        return;
      if (p != eol - 2) {
        ec = http::error::bad_chunk_extension;
        return;
      }
      if (body_limit_)
        *body_limit_ -= size;
      length_ = size;
      resume_ = 2;
      in = eol;
      flags_ |= flag_expect_crlf;
      state_ = state::chunk_body;
      return;
    }
    flags_ |= flag_final_chunk;
  } else {
    if ((flags_ & flag_expect_crlf) != 0)
      p += 2;
    std::uint64_t size = 0;
    parse_hex(p, size);
    eol = find_eol(p, end, ec);
  }
  const char* const eom = find_eom(in + resume_, end);
  if (eom == nullptr) {
    resume_ = n - 3;
    ec = http::error::need_more;
    return;
  }
  parse_chunk_extensions(p, end, ec);
  if (ec)
    return;
  if (p != eol - 2) {
    ec = http::error::bad_chunk_extension;
    return;
  }
  // Trailer fields: Beast gives them the head's rules (Content-Length and Transfer-Encoding
  // among them) and reports them as fields.
  p = eol;
  std::string_view name;
  std::string_view value;
  for (;;) {
    if (eom - p < 2) {
      ec = http::error::need_more;
      return;
    }
    if (p[0] == '\r') {
      if (p[1] != '\n') {
        ec = http::error::bad_line_ending;
        return;
      }
      p += 2;
      break;
    }
    if (!parse_field(p, eom, name, value, ec))
      return;
    apply_field(name, value, ec);
    if (ec)
      return;
    fields_.add(name, value);
  }
  in = eom;
  state_ = state::complete;
}

template <bool IsRequest>
void http1_parser<IsRequest>::put_eof(error_code& ec) {
  ec = {};
  if (state_ == state::start_line || state_ == state::fields) {
    ec = http::error::partial_message;
    return;
  }
  if ((flags_ & (flag_content_length | flag_chunked)) != 0) {
    if (state_ != state::complete)
      ec = http::error::partial_message;
    return;
  }
  state_ = state::complete;
}

template class http1_parser<true>;
template class http1_parser<false>;

}  // namespace aiproxy::net
