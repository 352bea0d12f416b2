// index_top_level (a hand-written scanner) against the two things it must agree with: Boost.JSON's
// parse (same acceptance; same member keys, kinds, scalar values to the bit, sizes) and the index
// built by driving Boost.JSON's basic_parser (index_top_level_with_parser: also the same probes
// and duplicate flag). Inputs: the recorded Kong fixtures, every prefix and many single-byte
// mutations of real requests, UTF-8, escape, number, depth and whitespace edge cases, and
// seeded random documents. Test-only.
#include "aiproxy/json/top_level_index.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace aiproxy::json {
namespace {

const index_probes probes{"messages", "role", "stream_options", "include_usage"};

constexpr std::string_view chat_body =
    R"({"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},)"
    R"({"role":"user","content":"Write one sentence about load testing an HTTP gateway."}],)"
    R"("temperature":0.2,"max_tokens":64})";

/// A request with escapes, non-ASCII text, nesting, every kind of top-level member and
/// whitespace of every sort.
constexpr std::string_view rich_body =
    "{\r\n\t\"model\" : \"gpt\\u002d4o\",\n  \"messages\": [ {\"role\":\"system\", \"content\":"
    "\"R\xc3\xa9ponds \xe2\x80\x94 en fran\xc3\xa7"
    "ais \xf0\x9f\x98\x80 \\\"vite\\\"\\n\"},\n"
    "    {\"r\\u006fle\": \"user\", \"content\": [{\"type\":\"text\",\"text\":\"\\ud83d\\ude00\"}]}"
    " ],\n  \"stream\" : true, \"stream_options\": {\"include_usage\": false},\n"
    "  \"temperature\": 1.5e-1, \"top_p\": -0.0, \"n\": 18446744073709551615, \"seed\": -12,\n"
    "  \"stop\": null, \"m\\u00e9ta\": {\"a\": [1, 2.5, {\"b\": []}]}, \"tools\": [] }\n";

std::optional<boost::json::value> parse(std::string_view text, std::size_t max_depth) {
  boost::json::parse_options o;
  o.max_depth = max_depth;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, {}, o);
  if (ec) {
    return std::nullopt;
  }
  return v;
}

/// Same kind and same value; a double to the bit.
bool same_scalar(const boost::json::value& a, const boost::json::value& b) {
  if (a.kind() != b.kind()) {
    return false;
  }
  switch (a.kind()) {
    case boost::json::kind::null:
      return true;
    case boost::json::kind::bool_:
      return a.get_bool() == b.get_bool();
    case boost::json::kind::int64:
      return a.get_int64() == b.get_int64();
    case boost::json::kind::uint64:
      return a.get_uint64() == b.get_uint64();
    case boost::json::kind::double_: {
      const double x = a.get_double();
      const double y = b.get_double();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    default:
      return false;
  }
}

member_kind kind_of(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return member_kind::null;
    case boost::json::kind::bool_:
      return member_kind::boolean;
    case boost::json::kind::string:
      return member_kind::string;
    case boost::json::kind::object:
      return member_kind::object;
    case boost::json::kind::array:
      return member_kind::array;
    default:
      return member_kind::number;
  }
}

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 400)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '\\') {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

/// The first difference between the scanner and its references on `text`, or "".
std::string mismatch(std::string_view text, std::size_t max_depth = 64) {
  const auto idx = index_top_level(text, probes, max_depth);
  const auto ref = index_top_level_with_parser(text, probes, max_depth);
  const auto dom = parse(text, max_depth);
  if (idx.has_value() != dom.has_value()) {
    return idx ? "accepted what boost::json::parse refuses"
               : "refused what boost::json::parse accepts";
  }
  if (ref.has_value() != dom.has_value()) {
    return "the reference index disagrees with boost::json::parse";
  }
  if (!idx) {
    return "";
  }
  if (idx->is_object() != dom->is_object() || idx->is_object() != ref->is_object()) {
    return "is_object";
  }
  if (idx->has_duplicate_keys() != ref->has_duplicate_keys()) {
    return "has_duplicate_keys";
  }
  if (idx->first_element_without_string_key() != ref->first_element_without_string_key()) {
    return "first_element_without_string_key";
  }
  if (idx->probed_member_kind() != ref->probed_member_kind() ||
      idx->probed_member_bool() != ref->probed_member_bool()) {
    return "probed member";
  }
  const auto& ms = idx->members();
  if (ms.size() != ref->members().size()) {
    return "member count differs from the reference";
  }
  for (std::size_t i = 0; i < ms.size(); ++i) {
    const auto& a = ms[i];
    const auto& b = ref->members()[i];
    if (a.key != b.key || a.kind != b.kind || a.size != b.size ||
        (a.kind == member_kind::string && a.text != b.text) ||
        (a.kind != member_kind::string && !same_scalar(a.scalar, b.scalar))) {
      return "member " + std::to_string(i) + " differs from the reference";
    }
  }
  if (!dom->is_object()) {
    return ms.empty() ? "" : "members of a text that is not an object";
  }
  const auto& obj = dom->get_object();
  if (!idx->has_duplicate_keys() && obj.size() != ms.size()) {
    return "member count differs from the parsed object";
  }
  for (const auto& m : ms) {
    // With a key written twice the parsed object keeps the last value: compare that one.
    const top_level_member* last = nullptr;
    for (const auto& n : ms) {
      if (n.key == m.key) {
        last = &n;
      }
    }
    if (last != &m) {
      continue;
    }
    const auto* v = obj.if_contains(m.key);
    if (v == nullptr || kind_of(*v) != m.kind) {
      return "member '" + std::string(m.key) + "' kind differs from the parsed object";
    }
    // (An object's size counts its members as written: the parsed object drops a key's
    // earlier values, so only the reference can be compared for that.)
    const bool same = m.kind == member_kind::string   ? v->get_string() == m.text
                      : m.kind == member_kind::object ? v->get_object().size() <= m.size
                      : m.kind == member_kind::array  ? v->get_array().size() == m.size
                                                      : same_scalar(*v, m.scalar);
    if (!same) {
      return "member '" + std::string(m.key) + "' value differs from the parsed object";
    }
  }
  return "";
}

/// Runs `mismatch` on each text; reports the first few failures.
class checker {
 public:
  void operator()(std::string_view text, std::size_t max_depth = 64) {
    ++checked_;
    const auto why = mismatch(text, max_depth);
    if (!why.empty()) {
      if (++failures_ <= 10) {
        ADD_FAILURE() << why << " (max_depth " << max_depth << "): " << printable(text);
      }
    }
  }
  std::size_t checked() const { return checked_; }

 private:
  std::size_t checked_ = 0;
  std::size_t failures_ = 0;
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(top_level_index_differential, kong_fixture_bodies) {
  checker check;
  const std::filesystem::path root =
      std::filesystem::path(AIPROXY_SOURCE_DIR) / "tests/fixtures/kong/spec/fixtures/ai-proxy";
  std::size_t accepted = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().extension() == ".json") {
      const auto text = read_file(e.path());
      check(text);
      accepted += index_top_level(text, probes, 64).has_value() ? 1 : 0;
    }
  }
  EXPECT_GT(check.checked(), 50u);
  EXPECT_GT(accepted, 50u);
}

TEST(top_level_index_differential, every_prefix_of_real_requests) {
  checker check;
  for (const std::string_view body : {chat_body, rich_body}) {
    for (std::size_t n = 0; n <= body.size(); ++n) {
      check(body.substr(0, n));
    }
    EXPECT_TRUE(mismatch(body).empty());
    EXPECT_TRUE(index_top_level(body, probes, 64).has_value());
  }
}

TEST(top_level_index_differential, every_single_byte_mutation_of_a_chat_request) {
  checker check;
  const std::string bytes =
      std::string("\"\\{}[],:019-.eE+ut n\t\n") + '\0' + "\x1f\x7f\x80\xc0\xe0\xed\xf0\xf4\xf5\xff";
  for (const std::string_view body : {chat_body, rich_body}) {
    std::string text(body);
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char saved = text[i];
      for (const char b : bytes) {
        text[i] = b;
        check(text);
      }
      text[i] = saved;
    }
  }
}

TEST(top_level_index_differential, utf8_sequences) {
  checker check;
  const unsigned char seconds[] = {0x20, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  const unsigned char laters[] = {0x80, 0xbf, 0x41, 0xc0};
  const std::string pad(20, 'p');  // long enough for sixteen-byte steps on both sides
  for (unsigned lead = 0x80; lead <= 0xff; ++lead) {
    for (const auto b1 : seconds) {
      for (const auto b2 : laters) {
        for (const auto b3 : laters) {
          std::string seq{static_cast<char>(lead), static_cast<char>(b1), static_cast<char>(b2),
                          static_cast<char>(b3)};
          if (lead < 0xf0 && b3 != 0x80) {
            continue;  // the fourth byte does not matter before 0xf0
          }
          check("{\"s\":\"" + seq + "\"}");
          check("{\"s\":\"" + pad + seq + pad + "\",\"k\":1}");
          check("{\"messages\":[{\"role\":\"" + seq + "\"}]}");
        }
      }
    }
  }
  // Sequences cut short by the closing quote or by the end of the text.
  for (const std::string seq : {"\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xf0\x9f", "\xed\xa0\x80",
                                "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80"}) {
    check("{\"s\":\"" + seq + "\"}");
    check("{\"s\":\"" + seq);
    check("{\"" + seq + "\":1}");
    check("[\"" + seq + "\"]");
  }
}

TEST(top_level_index_differential, escapes) {
  checker check;
  const std::vector<std::string> escapes = {"\\\"",
                                            "\\\\",
                                            "\\/",
                                            "\\b",
                                            "\\f",
                                            "\\n",
                                            "\\r",
                                            "\\t",
                                            "\\a",
                                            "\\x",
                                            "\\'",
                                            "\\0",
                                            "\\u0000",
                                            "\\u001f",
                                            "\\u007F",
                                            "\\u00e9",
                                            "\\u00E9",
                                            "\\uFFFF",
                                            "\\ud7ff",
                                            "\\uE000",
                                            "\\uD800\\uDC00",
                                            "\\udbff\\udfff",
                                            "\\uD83D\\uDE00",
                                            "\\uD800",
                                            "\\uDBFF",
                                            "\\uDC00",
                                            "\\uDFFF",
                                            "\\uD800\\uD800",
                                            "\\uD800\\u0041",
                                            "\\uD800\\uE000",
                                            "\\uD800x",
                                            "\\uD800\\n",
                                            "\\uD800\\",
                                            "\\uD800\\u",
                                            "\\uD800\\uDC0",
                                            "\\uD800\\uDCG0",
                                            "\\u12",
                                            "\\u12G4",
                                            "\\uG123",
                                            "\\u 123",
                                            "\\U0041",
                                            "\\",
                                            "\\uDC00\\uD800"};
  const std::string pad(20, 'p');
  for (const auto& e : escapes) {
    check("{\"s\":\"" + e + "\"}");
    check("{\"s\":\"a" + e + "b\",\"k\":1}");
    check("{\"s\":\"" + pad + e + pad + "\"}");
    check("{\"" + e + "\":1}");
    check("{\"k" + e + "\":1,\"k" + e + "\":2}");
    check("{\"messages\":[{\"ro" + e + "\":\"x\"},{\"role\":\"" + e + "\"}]}");
    check("{\"stream_options\":{\"include_usage" + e + "\":true}}");
    check("{\"s\":\"" + e);
    check("[\"" + e + "\"]");
  }
  check(R"({"model":"gpt-4o","mod\u0065l":"x"})");
  check(R"({"messages":[{"\u0072ole":"user"}],"stream_\u006fptions":{"include\u005fusage":true}})");
}

TEST(top_level_index_differential, numbers) {
  checker check;
  const std::vector<std::string> numbers = {"0",
                                            "-0",
                                            "0.0",
                                            "-0.0",
                                            "1",
                                            "-1",
                                            "01",
                                            "-01",
                                            "00",
                                            "1.",
                                            "-",
                                            "-.5",
                                            ".5",
                                            "+1",
                                            "1e",
                                            "1e+",
                                            "1e-",
                                            "1E+2",
                                            "1e-2",
                                            "1E2",
                                            "1.5e3",
                                            "1.5E-3",
                                            "-1.5e+3",
                                            "0e0",
                                            "0E-0",
                                            "1ee2",
                                            "1.2.3",
                                            "1e2.5",
                                            "0x10",
                                            "Infinity",
                                            "NaN",
                                            "-Infinity",
                                            "1e309",
                                            "-1e309",
                                            "1e-400",
                                            "2.2250738585072014e-308",
                                            "4.9e-324",
                                            "1.7976931348623157e308",
                                            "9223372036854775807",
                                            "9223372036854775808",
                                            "-9223372036854775808",
                                            "-9223372036854775809",
                                            "18446744073709551615",
                                            "18446744073709551616",
                                            "123456789012345678",
                                            "-123456789012345678",
                                            "1234567890123456789",
                                            "99999999999999999999",
                                            "100000000000000000000000000000",
                                            "-100000000000000000000000000000",
                                            "0.1",
                                            "0.2",
                                            "0.7",
                                            "12.3456789012345678",
                                            "0.12345678901234567",
                                            "1234567890123456.5",
                                            "3.14159265358979323846264338327950288",
                                            "123456789012345678901234567890.123456789",
                                            "0.000000000000000000000000000000001",
                                            "1e2147483647",
                                            "1e2147483648",
                                            "1e-2147483648",
                                            "1e-2147483647",
                                            "1e00000000000000000002",
                                            "1e99999999999",
                                            "100000000000000000000e2147483647",
                                            "100000000000000000000e2147483646",
                                            "0.5e-2147483647",
                                            "0.55e-2147483647",
                                            "0.55e-2147483646",
                                            "1.5e2147483646",
                                            "12345678901234567890123e2147483620",
                                            "1e1073741823",
                                            "1e1073741824",
                                            std::string(400, '9'),
                                            "0." + std::string(400, '1'),
                                            "1" + std::string(300, '0') + ".5e-10",
                                            "64",
                                            "2",
                                            "1e0",
                                            "-0e-0"};
  const std::string tail = ",\"padding\":\"" + std::string(40, 'x') + "\"}";
  for (const auto& n : numbers) {
    check("{\"t\":" + n + "}");   // few bytes after the number
    check("{\"t\":" + n + tail);  // many bytes after it: Boost.JSON's other path
    check("{\"t\": " + n + " ,\"u\":" + n + "}");
    check("{\"a\":[" + n + "," + n + "]" + tail);
    check("{\"stream_options\":{\"include_usage\":" + n + "}}");
    check(n);
    check(n + " ");
    check("[" + n + "]");
  }
}

TEST(top_level_index_differential, random_short_decimals_keep_boost_json_bits) {
  // Decimals of up to 17 digits with exponents around the range the scanner converts itself:
  // their doubles must be Boost.JSON's to the bit, with few or many bytes after them.
  checker check;
  std::mt19937 rng(7);
  const std::string tail = ",\"padding\":\"" + std::string(40, 'x') + "\"}";
  for (int i = 0; i < 1500; ++i) {
    const auto digits = 1 + rng() % 17;
    std::string n = rng() % 2 ? "-" : "";
    std::string mantissa;
    for (std::size_t d = 0; d < digits; ++d) {
      mantissa += static_cast<char>('0' + rng() % 10);
    }
    if (mantissa.size() > 1 && mantissa[0] == '0') {
      mantissa[0] = '1' + static_cast<char>(rng() % 9);
    }
    const auto point = rng() % (digits + 1);
    if (point == 0 || point == digits) {
      n += mantissa + (rng() % 2 ? ".0" : "");
    } else {
      n += mantissa.substr(0, point) + "." + mantissa.substr(point);
    }
    if (rng() % 2) {
      n += (rng() % 2 ? "e" : "E") + std::string(rng() % 2 ? "-" : "") + std::to_string(rng() % 30);
    }
    check("{\"t\":" + n + "}");
    check("{\"t\":" + n + tail);
    check("{\"t\":0." + std::string(rng() % 4, '0') + mantissa.substr(0, 1 + rng() % 15) + "}");
  }
}

TEST(top_level_index_differential, literals_and_structure) {
  checker check;
  for (const std::string v : {"true",
                              "false",
                              "null",
                              "tru",
                              "fals",
                              "nul",
                              "truex",
                              "True",
                              "nulll",
                              "t",
                              "f",
                              "n",
                              "{}",
                              "[]",
                              "{",
                              "[",
                              "}",
                              "]",
                              "{]",
                              "[}",
                              "[,]",
                              "{,}",
                              "[1,]",
                              "{\"a\":1,}",
                              "[1 2]",
                              "{\"a\" 1}",
                              "{\"a\":}",
                              "{:1}",
                              "{1:1}",
                              "{\"a\":1 \"b\":2}",
                              "[[[]]]",
                              "[{}]",
                              "{\"a\":{\"b\":{}}}",
                              "\"\"",
                              "\"x\"",
                              "",
                              " ",
                              "\n",
                              "x",
                              "/**/{}",
                              "{}//",
                              "{\"a\":1}{",
                              "{\"a\":1}]",
                              "{\"a\":1} \x00"}) {
    check(v);
    check("{\"k\":" + v + "}");
    check("{\"messages\":[" + v + "]}");
    check("{\"messages\":[{\"role\":" + v + "}]}");
    check("{\"stream_options\":{\"include_usage\":" + v + "}}");
    check("{\"stream_options\":" + v + "}");
    check("{\"messages\":" + v + "}");
  }
  check(R"({"messages":[{"role":"user"},{"role":"x","role":2},3]})");
  check(R"({"messages":[{"role":"user"}],"messages":[{"role":1}]})");
  check(R"({"messages":[1],"messages":[{"role":"user"}]})");
  check(R"({"messages":[{"role":[]},{"role":{}}, [], {}, "s", null, true, 1.5]})");
  check(R"({"stream_options":{"include_usage":true},"stream_options":{"x":1}})");
  check(R"({"stream_options":{"include_usage":true,"include_usage":{}}})");
  check(R"({"stream_options":{"include_usage":true},"stream_options":false})");
  check(R"({"a":1,"b":2,"a":3})");
}

TEST(top_level_index_differential, depth_limits) {
  checker check;
  for (const std::size_t limit : {0, 1, 2, 3, 4, 64}) {
    for (const std::size_t depth : {limit - 1, limit, limit + 1}) {
      if (depth > 200) {
        continue;  // limit 0: no "depth - 1"
      }
      const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
      std::string objects;
      for (std::size_t i = 0; i < depth; ++i) {
        objects += "{\"a\":";
      }
      objects += "1" + std::string(depth, '}');
      check(arrays, limit);
      check(objects, limit);
      if (depth >= 1) {
        const std::string inner = std::string(depth - 1, '[') + std::string(depth - 1, ']');
        check("{\"x\":" + inner + "}", limit);
        check("{\"messages\":" + inner + "}", limit);
        check("{\"stream_options\":" + inner + "}", limit);
      }
      if (depth >= 3) {
        const std::string inner = std::string(depth - 3, '[') + std::string(depth - 3, ']');
        check("{\"messages\":[{\"role\":" + (depth > 3 ? inner : "\"u\"") + "}]}", limit);
        check("{\"messages\":[{\"content\":" + (depth > 3 ? inner : "1") + "}]}", limit);
        check("{\"messages\":[[" + inner + "]]}", limit);
        check("{\"stream_options\":{\"include_usage\":[" + inner + "]}}", limit);
      }
    }
  }
  // Deeper than the inline nesting stack of the scanner.
  check(std::string(300, '[') + std::string(300, ']'), 1000);
  check(std::string(300, '[') + std::string(299, ']'), 1000);
  check("{\"a\":" + std::string(300, '[') + "{\"b\":[]}" + std::string(300, ']') + "}", 1000);
  check("{\"a\":" + std::string(299, '[') + "{\"b\":[]}" + std::string(299, ']') + "}", 301);
  check("{\"a\":" + std::string(299, '[') + "{\"b\":[]}" + std::string(299, ']') + "}", 302);
}

TEST(top_level_index_differential, whitespace_between_every_token) {
  checker check;
  const std::string body(chat_body);
  for (const std::string ws : {" ", "\t", "\n", "\r", "\r\n  ", "\f", "\v", "\xa0", "\xc2\xa0"}) {
    for (std::size_t i = 0; i <= body.size(); ++i) {
      check(body.substr(0, i) + ws + body.substr(i));
    }
  }
}

/// A random document: objects with keys from a small set (probe keys, duplicates), arrays,
/// scalars, random whitespace.
class generator {
 public:
  explicit generator(unsigned seed) : rng_(seed) {}

  std::string document() {
    std::string out;
    ws(out);
    if (pick(10) == 0) {
      value(out, 0);
    } else {
      object(out, 0);
    }
    ws(out);
    return out;
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

 private:
  void ws(std::string& out) {
    static const char* const spaces[] = {"", "", "", " ", "\n", "\t ", "\r\n"};
    out += spaces[pick(7)];
  }

  void value(std::string& out, int depth) {
    static const char* const scalars[] = {"\"user\"",
                                          "\"\"",
                                          "\"a\\\"b\"",
                                          "\"\\u00e9\\ud83d\\ude00\"",
                                          "\"\xc3\xa9\"",
                                          "true",
                                          "false",
                                          "null",
                                          "0",
                                          "-0",
                                          "1.5",
                                          "-2e-3",
                                          "64",
                                          "18446744073709551615",
                                          "-9223372036854775809",
                                          "1E+2",
                                          "0.30000000000000004"};
    const auto r = depth >= 5 ? 0 : pick(14);
    if (r < 10) {
      out += scalars[pick(sizeof scalars / sizeof *scalars)];
    } else if (r < 12) {
      object(out, depth + 1);
    } else {
      array(out, depth + 1);
    }
  }

  void object(std::string& out, int depth) {
    static const char* const keys[] = {"messages", "role",    "stream_options", "include_usage",
                                       "model",    "content", "r\\u006fle",     "a",
                                       "",         "messages"};
    out += '{';
    const auto n = pick(6);
    for (std::size_t i = 0; i < n; ++i) {
      ws(out);
      out += '"';
      out += keys[pick(sizeof keys / sizeof *keys)];
      out += '"';
      ws(out);
      out += ':';
      ws(out);
      value(out, depth);
      ws(out);
      if (i + 1 < n) {
        out += ',';
      }
    }
    out += '}';
  }

  void array(std::string& out, int depth) {
    out += '[';
    const auto n = pick(5);
    for (std::size_t i = 0; i < n; ++i) {
      ws(out);
      value(out, depth);
      ws(out);
      if (i + 1 < n) {
        out += ',';
      }
    }
    out += ']';
  }

  std::mt19937 rng_;
};

TEST(top_level_index_differential, seeded_random_documents_and_their_mutations) {
  checker check;
  generator gen(20261123);
  const std::string bytes = "\"\\{}[],:0-.e \x80\xff";
  std::size_t valid = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = gen.document();
    check(doc);
    valid += parse(doc, 64).has_value() ? 1 : 0;
    if (!doc.empty()) {
      doc[gen.pick(doc.size())] = bytes[gen.pick(bytes.size())];
      check(doc);
      check(doc.substr(0, gen.pick(doc.size())));
    }
  }
  EXPECT_EQ(valid, 3000u);  // the generator writes valid JSON
}

}  // namespace
}  // namespace aiproxy::json
