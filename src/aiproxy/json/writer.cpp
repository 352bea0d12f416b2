// Compact JSON writer (see writer.hpp). Pure: no I/O.
#include "aiproxy/json/writer.hpp"

#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>

namespace aiproxy::json {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// True for bytes that must be escaped inside a JSON string.
constexpr bool needs_escape(unsigned char c) noexcept {
  return c < 0x20 || c == '"' || c == '\\';
}

void write_object(std::string& out, const boost::json::object& obj) {
  out.push_back('{');
  bool first = true;
  for (const auto& kv : obj) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    write_string(out, kv.key());
    out.push_back(':');
    write_value(out, kv.value());
  }
  out.push_back('}');
}

void write_array(std::string& out, const boost::json::array& arr) {
  out.push_back('[');
  bool first = true;
  for (const auto& v : arr) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    write_value(out, v);
  }
  out.push_back(']');
}

}  // namespace

void write_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) {
      continue;
    }
    out.append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

void write_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out.append("null");
    return;
  }
  if (std::isinf(d)) {
    out.append(d > 0 ? "1e999" : "-1e999");
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  const std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  out.append(text);
  if (text.find_first_of(".e") == std::string_view::npos) {
    out.append(".0");
  }
}

void write_int(std::string& out, std::int64_t i) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, i);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

void write_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out.append("null");
      break;
    case boost::json::kind::bool_:
      out.append(v.get_bool() ? "true" : "false");
      break;
    case boost::json::kind::int64:
      write_int(out, v.get_int64());
      break;
    case boost::json::kind::uint64: {
      char buf[24];
      const auto res = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      out.append(buf, static_cast<std::size_t>(res.ptr - buf));
      break;
    }
    case boost::json::kind::double_:
      write_double(out, v.get_double());
      break;
    case boost::json::kind::string:
      write_string(out, v.get_string());
      break;
    case boost::json::kind::array:
      write_array(out, v.get_array());
      break;
    case boost::json::kind::object:
      write_object(out, v.get_object());
      break;
  }
}

std::string to_json(const boost::json::value& v) {
  std::string out;
  write_value(out, v);
  return out;
}

}  // namespace aiproxy::json
