// scan_openai_response: the hand-written pass over whole OpenAI-shaped responses must read exactly
// what the DOM reader (read_openai_summary) reads, and must agree with the former Boost.JSON SAX
// scan (openai_response_scan_reference.hpp) on every input: recorded responses, fuzz corpora,
// edge cases, every prefix and many mutations of a real body, and generated documents.
#include "../../../bench/tools/chat_completion_body.hpp"  // the body the bench serves
#include "golden_support.hpp"
#include "openai_response_scan_reference.hpp"

#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/openai_response_scan.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace aiproxy::providers {
namespace {

void expect_same_as_dom(std::string_view body, std::string_view field = "choices") {
  const auto scan = scan_openai_response(body, field);
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  ASSERT_EQ(scan.has_value(), !ec) << body;
  if (ec) {
    return;
  }
  ASSERT_EQ(scan->is_object, v.is_object()) << body;
  if (!v.is_object()) {
    return;
  }
  const auto* payload = v.as_object().if_contains(field);
  EXPECT_EQ(scan->has_payload, payload != nullptr && payload->is_array()) << body;
  response_summary dom;
  read_openai_summary(v.as_object(), dom);
  const auto& s = scan->summary;
  EXPECT_EQ(s.response_model, dom.response_model) << body;
  EXPECT_EQ(s.finish_reason, dom.finish_reason) << body;
  EXPECT_EQ(s.usage.known, dom.usage.known) << body;
  EXPECT_EQ(s.usage.prompt_tokens, dom.usage.prompt_tokens) << body;
  EXPECT_EQ(s.usage.completion_tokens, dom.usage.completion_tokens) << body;
  EXPECT_EQ(s.usage.total_tokens, dom.usage.total_tokens) << body;
  EXPECT_EQ(s.usage.cached_tokens, dom.usage.cached_tokens) << body;
  EXPECT_EQ(s.usage.reasoning_tokens, dom.usage.reasoning_tokens) << body;
}

TEST(openai_response_scan, reads_model_finish_reason_and_usage) {
  const auto scan = scan_openai_response(
      R"({"id":"x","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":
      "assistant","content":"hi","finish_reason":"nested"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":14,
      "prompt_tokens_details":{"cached_tokens":4},
      "completion_tokens_details":{"reasoning_tokens":2}}})",
      "choices");
  ASSERT_TRUE(scan);
  EXPECT_TRUE(scan->has_payload);
  EXPECT_EQ(scan->summary.response_model, "gpt-4o-2024-08-06");
  EXPECT_EQ(scan->summary.finish_reason, "stop");
  EXPECT_TRUE(scan->summary.usage.known);
  EXPECT_EQ(scan->summary.usage.total_tokens, 14);
  EXPECT_EQ(scan->summary.usage.cached_tokens, 4);
  EXPECT_EQ(scan->summary.usage.reasoning_tokens, 2);
}

TEST(openai_response_scan, agrees_with_the_dom_reader_on_edge_cases) {
  for (const char* body : {
           R"({"choices":[]})",
           R"({"choices":{}})",
           R"({"data":[{"embedding":[0.1]}],"usage":{"prompt_tokens":2,"total_tokens":2}})",
           R"({"choices":[{"finish_reason":null},{"finish_reason":"length"}]})",
           R"({"choices":[{"finish_reason":1},{"finish_reason":"stop"}],"model":""})",
           R"({"usage":{"prompt_tokens":-1,"completion_tokens":2.5,"total_tokens":1e3}})",
           R"({"usage":{"prompt_tokens":18446744073709551615}})",
           R"({"usage":[1,2],"model":["m"],"choices":[["stop"]]})",
           R"({"x":{"usage":{"prompt_tokens":5},"model":"inner"},"choices":[]})",
           R"({"usage":{"prompt_tokens_details":{"cached_tokens":3}}})",
           R"({"model":"a\u00e9\"b","choices":[{"finish_reason":"st\nop"}]})",
           R"([1,2])",
           R"("just a string")",
           R"({"choices":[]} trailing)",
           R"({"choices":[)",
           R"()",
           R"({"choices":[]}   )",
       }) {
    expect_same_as_dom(body);
    expect_same_as_dom(body, "data");
  }
}

TEST(openai_response_scan, agrees_with_the_dom_reader_on_every_recorded_response) {
  namespace fs = std::filesystem;
  std::size_t files = 0;
  for (const auto* dir : {"tests/golden", "tests/fixtures/kong/spec/fixtures/ai-proxy"}) {
    const auto root = testing::source_dir() / dir;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file() || e.path().extension() != ".json") {
        continue;
      }
      const auto text = testing::read_file(e.path());
      expect_same_as_dom(text);
      expect_same_as_dom(text, "data");
      ++files;
    }
  }
  EXPECT_GT(files, 500u);
}

// ---- differential tests against the Boost.JSON reference ----

std::string printable(std::string_view body) {
  std::string out;
  for (const char c : body.substr(0, 300)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  if (body.size() > 300) {
    out += "...(" + std::to_string(body.size()) + " bytes)";
  }
  return out;
}

/// Asserts the scanner and the reference agree on `body` for both payload fields; returns the
/// scanner's result for "choices".
std::optional<openai_response_scan> expect_same_as_reference(std::string_view body) {
  std::optional<openai_response_scan> first;
  for (const std::string_view field : {"choices", "data"}) {
    const auto got = scan_openai_response(body, field);
    const auto want = reference::scan_openai_response(body, field);
    EXPECT_EQ(got.has_value(), want.has_value()) << field << ": " << printable(body);
    if (got && want) {
      EXPECT_EQ(got->is_object, want->is_object) << printable(body);
      EXPECT_EQ(got->has_payload, want->has_payload) << field << ": " << printable(body);
      const auto& g = got->summary;
      const auto& w = want->summary;
      EXPECT_EQ(g.response_model, w.response_model) << printable(body);
      EXPECT_EQ(g.finish_reason, w.finish_reason) << printable(body);
      EXPECT_EQ(g.usage.known, w.usage.known) << printable(body);
      EXPECT_EQ(g.usage.prompt_tokens, w.usage.prompt_tokens) << printable(body);
      EXPECT_EQ(g.usage.completion_tokens, w.usage.completion_tokens) << printable(body);
      EXPECT_EQ(g.usage.total_tokens, w.usage.total_tokens) << printable(body);
      EXPECT_EQ(g.usage.cached_tokens, w.usage.cached_tokens) << printable(body);
      EXPECT_EQ(g.usage.reasoning_tokens, w.usage.reasoning_tokens) << printable(body);
    }
    if (field == "choices") {
      first = got;
    }
  }
  return first;
}

// The 615-byte body bench/tools/fast_upstream serves.
const std::string real_body(aiproxy::bench::chat_completion_body);

TEST(openai_response_scan_differential, the_real_body) {
  ASSERT_EQ(real_body.size(), 615u);
  const auto scan = expect_same_as_reference(real_body);
  ASSERT_TRUE(scan);
  EXPECT_TRUE(scan->is_object);
  EXPECT_TRUE(scan->has_payload);
  EXPECT_EQ(scan->summary.response_model, "gpt-4o-2024-08-06");
  EXPECT_EQ(scan->summary.finish_reason, "stop");
  EXPECT_TRUE(scan->summary.usage.known);
  EXPECT_EQ(scan->summary.usage.prompt_tokens, 19);
  EXPECT_EQ(scan->summary.usage.completion_tokens, 40);
  EXPECT_EQ(scan->summary.usage.total_tokens, 59);
}

TEST(openai_response_scan_differential, every_json_file_and_fuzz_corpus) {
  namespace fs = std::filesystem;
  std::size_t files = 0;
  for (const auto* dir : {"tests/fixtures", "tests/golden", "fuzz/corpus"}) {
    const auto root = testing::source_dir() / dir;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      const bool corpus = std::string_view(dir) == "fuzz/corpus";
      if (!e.is_regular_file() || (!corpus && e.path().extension() != ".json")) {
        continue;
      }
      expect_same_as_reference(testing::read_file(e.path()));
      ++files;
    }
  }
  EXPECT_GT(files, 1500u);
}

TEST(openai_response_scan_differential, every_prefix_of_a_real_body_is_rejected) {
  for (std::size_t n = 0; n < real_body.size(); ++n) {
    const auto prefix = std::string_view(real_body).substr(0, n);
    EXPECT_FALSE(scan_openai_response(prefix, "choices")) << n;
    expect_same_as_reference(prefix);
  }
  // The same with whitespace around every token, and a prefix ending in whitespace.
  std::string spaced;
  for (const char c : real_body) {
    spaced += c;
    if (c == ',' || c == ':' || c == '{' || c == '[') {
      spaced += "\n\t ";
    }
  }
  for (std::size_t n = 0; n < spaced.size(); ++n) {
    expect_same_as_reference(std::string_view(spaced).substr(0, n));
  }
  EXPECT_TRUE(expect_same_as_reference(" \r\n\t" + spaced + " \r\n\t"));
}

TEST(openai_response_scan_differential, every_single_byte_mutation_of_a_real_body) {
  const std::string bytes{'"',    '\\',   '{',    '}',    '[',    ']', ',', ':',
                          '1',    '0',    '-',    '.',    'e',    'x', ' ', '\t',
                          '\x00', '\x1f', '\x7f', '\x80', '\xff', 'u', 'n'};
  std::size_t accepted = 0;
  for (std::size_t i = 0; i < real_body.size(); ++i) {
    for (const char b : bytes) {
      std::string replaced = real_body;
      replaced[i] = b;
      accepted += expect_same_as_reference(replaced).has_value();
      std::string inserted = real_body;
      inserted.insert(i, 1, b);
      accepted += expect_same_as_reference(inserted).has_value();
    }
    std::string erased = real_body;
    erased.erase(i, 1);
    accepted += expect_same_as_reference(erased).has_value();
  }
  EXPECT_GT(accepted, 1000u);  // many mutations stay valid JSON (digits, string contents)
}

TEST(openai_response_scan_differential, hand_written_edge_cases) {
  std::vector<std::string> bodies = {
      // documents and whitespace
      "",
      " ",
      "\n\t\r ",
      "{}",
      " {} ",
      "\t{}\n",
      "[]",
      "null",
      "true",
      "false",
      "0",
      "-0",
      "\"s\"",
      "{}x",
      "{} {}",
      "{}\f",
      "\f{}",
      "\v{}",
      "\xef\xbb\xbf{}",
      "{\x00}",
      std::string("{}\0", 3),
      "nul",
      "tru",
      "fals",
      "nulll",
      "truex",
      "True",
      "NULL",
      "[nul]",
      "[true false]",
      // structure
      "{,}",
      "[,]",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{\"a\"::1}",
      "{a:1}",
      "{'a':1}",
      "{\"a\":1 \"b\":2}",
      "[1 2]",
      "{\"a\":}",
      "{\"a\"}",
      "[",
      "]",
      "{",
      "}",
      "[}",
      "{]",
      "{\"choices\":[]",
      "{\"choices\":[]}}",
      "{\"choices\":[]}]",
      "/*c*/{}",
      "{}//c",
      // escapes in keys and values
      R"({"mod\u0065l":"m","ch\u006fices":[{"finish\u005freason":"st\u006fp"}]})",
      R"({"\u006dodel":"a\"b\\c\/d\b\f\n\r\t","choices":[]})",
      R"({"us\u0061ge":{"pr\u006fmpt_tokens":3,"completion_tokens_det\u0061ils":{"reasoning_tokens":2}}})",
      R"({"usage":{"prompt_tokens_details":{"c\u0061ched_tokens":7},"total\u005ftokens":1}})",
      R"({"model":"\ud83d\ude00","choices":[{"finish_reason":"\u00e9\u20ac\uFFFF\u0000"}]})",
      R"({"model":"\uD83D\uDE00"})",
      R"({"model":"\ud800"})",
      R"({"model":"\udc00"})",
      R"({"model":"\ud800\u0041"})",
      R"({"model":"\ud800\n"})",
      R"({"model":"\ud800\udbff"})",
      R"({"model":"\ud800\ud800"})",
      R"({"model":"\udbff\udfff"})",
      R"({"model":"\ud800\"})",
      R"({"model":"\ud800\u"})",
      R"({"model":"\ud800\udc0"})",
      R"({"model":"\x41"})",
      R"({"model":"\u12"})",
      R"({"model":"\u12G4"})",
      R"({"model":"\u"})",
      R"({"model":"\'"})",
      R"({"model":"\U0041"})",
      R"({"model":"\"})",
      R"({"model":"\\"})",
      R"({"\ud800":1})",
      R"({"a\u0000b":1})",
      R"({"model\u0000":"x"})",
      R"({"model":"\u0000"})",
      "{\"model\":\"a\x01\"}",
      "{\"model\":\"a\x1f\"}",
      "{\"model\":\"a\x7f\"}",
      "{\"model\":\"a\tb\"}",
      "{\"model\":\"a\nb\"}",
      "{\"mo\x01"
      "del\":\"x\"}",
      "{\"model\":\"\xff\xfe\"}",
      "{\"model\":\"\xc3\xa9\"}",
      "{\"model\":\"\xed\xa0\x80\"}",
      "{\"m\xffodel\":\"x\"}",
      R"({"model":"","model":"b","model":"","model":1})",
      R"({"model":"a","model":"b"})",
      R"({"model":"a"})",
      R"({"model":["a"],"model":{"x":"y"}})",
      // finish_reason
      R"({"choices":[{"finish_reason":""},{"finish_reason":"stop"}]})",
      R"({"choices":[{"finish_reason":null},{"x":1},{"finish_reason":"length"}]})",
      R"({"choices":[1,"a",[{"finish_reason":"no"}],{"finish_reason":"yes"}]})",
      R"({"choices":[{"finish_reason":"a"}],"choices":[{"finish_reason":"b"}]})",
      R"({"choices":[{"finish_reason":"a","finish_reason":"b"}]})",
      R"({"choice":[{"finish_reason":"a"}],"x":{"choices":[{"finish_reason":"b"}]}})",
      R"({"choices":[{"message":{"finish_reason":"inner"}}]})",
      // usage
      R"({"usage":{"prompt_tokens":1},"usage":{"completion_tokens":2}})",
      R"({"usage":{"prompt_tokens":1},"usage":{"x":2}})",
      R"({"usage":{"prompt_tokens":1},"usage":{}})",
      R"({"usage":{"prompt_tokens":1,"prompt_tokens":5,"total_tokens":2,"total_tokens":null}})",
      R"({"usage":{"prompt_tokens_details":{"cached_tokens":1},"prompt_tokens":2}})",
      R"({"usage":{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":-1}}})",
      R"({"usage":{"prompt_tokens_details":[{"cached_tokens":1}],"total_tokens":0}})",
      R"({"usage":{"completion_tokens_details":{"reasoning_tokens":3,"x":{"reasoning_tokens":9}},"completion_tokens":4}})",
      R"({"usage":{"prompt_tokens":"5","completion_tokens":true,"total_tokens":[1]}})",
      R"({"usage":{"x":{"prompt_tokens":5}}})",
      R"({"choices":[{"usage":{"prompt_tokens":5}}]})",
      R"([{"usage":{"prompt_tokens":5},"model":"m"}])",
      R"({"data":[],"data":{}})",
      R"({"data":{},"data":[]})",
      R"({"x":{"data":[]}})",
  };
  // Numbers as counts, near the end of the body and far from it (Boost.JSON parses numbers with
  // fewer than 33 bytes left differently), and as ignored values.
  const std::vector<std::string> numbers = {
      "0", "-0", "1", "19", "123456789012345678", "1234567890123456789", "9000000000000000000",
      "9000000000000000001", "9223372036854775807", "9223372036854775808", "18446744073709551615",
      "18446744073709551616", "99999999999999999999999", "-1", "-9223372036854775808",
      "-9223372036854775809", "-18446744073709551616", "1.0", "1.5", "1e3", "1E3", "1e+3", "1e-3",
      "1.5e-3", "15e-1", "0.0", "-0.0", "-0e5", "0e0", "0E-0", "1e400", "-1e400", "1e-400",
      "-1e-400", "9e18", "9e18", "9.000000000000000001e18", "9.0000000000000001e18",
      "9.9999999999999999", "9.99999999999999999999", "10.000000000000000001",
      "2.0000000000000000000000000000000000001", "12345678901234567890.0",
      "1234567890123456789012345678901234567890", "0.1e1", "0.30e1", "1e2147483647", "1e2147483648",
      "1e-2147483648", "1e-2147483647", "1.5e2147483647", "1.5e-2147483647",
      "123456789012345678901234567890e2147483620", "0.00000000000000000000000000001e-2147483620",
      "1e0000000000000000000000001", "1e00000000002147483647", "1e-00000000002147483648",
      "4.9e-324", "1.7976931348623157e308", "1.7976931348623159e308", "2.2250738585072014e-308",
      "123.456e-2", "100e-2", "5.00", "1000000000000000000000e-21", "01", "00", "-", "-a", "1.",
      ".5", "+1", "1e", "1e+", "1e-", "1.e5", "0x10", "Infinity", "NaN", "-Infinity", "1.5.5",
      "1e5e5", "--1", "-01", "1_000", "0.", "-.5", "1e+-5",
      // Around the 18-digit integers the scan reads itself.
      "99999999999999999", "999999999999999999", "-999999999999999999", "000", "-00",
      "123456789012345678.0", "123456789012345678e0", "12345678901234567E1", "0.0e0", "-0E+0",
      "12E3", "12e", "0e", "7E", "1e+0", "1E-0",
      // Boost.JSON's two number paths shift these by one digit, which decides the exponent check.
      "9.9999999999999999e-2147483633", "-9.9999999999999999e-2147483633",
      "9.9999999999999999e-2147483632", "9.9999999999999999e-2147483634"};
  const std::string padding = R"(,"pad":"................................................")";
  for (const auto& n : numbers) {
    for (const char* key : {"prompt_tokens", "completion_tokens", "total_tokens"}) {
      bodies.push_back(R"({"usage":{")" + std::string(key) + "\":" + n + "}}");
      bodies.push_back(R"({"usage":{")" + std::string(key) + "\":" + n + padding + "}}");
    }
    bodies.push_back(R"({"usage":{"prompt_tokens_details":{"cached_tokens":)" + n + "}}}");
    bodies.push_back(R"({"usage":{"completion_tokens_details":{"reasoning_tokens":)" + n + padding +
                     "}}}");
    bodies.push_back(R"({"other":)" + n + "}");
    bodies.push_back(R"({"other":)" + n + padding + "}");
    bodies.push_back(n);
    bodies.push_back(" " + n + " ");
    bodies.push_back("[" + n + "]");
  }
  // Depth: Boost.JSON allows 32 nested containers.
  for (int depth = 28; depth <= 36; ++depth) {
    bodies.push_back(std::string(depth, '[') + std::string(depth, ']'));
    bodies.push_back(std::string(depth, '[') + "1" + std::string(depth, ']'));
    std::string objects;
    for (int i = 0; i < depth; ++i) {
      objects += R"({"a":)";
    }
    objects += "1" + std::string(depth, '}');
    bodies.push_back(objects);
    bodies.push_back(R"({"choices":[{"finish_reason":"s","x":)" + std::string(depth - 3, '[') +
                     std::string(depth - 3, ']') + "}]}");
    bodies.push_back(R"({"usage":{"prompt_tokens":1,"prompt_tokens_details":)" +
                     std::string(depth - 3, '[') + std::string(depth - 3, ']') + "}}");
  }
  // Long strings with escapes around Boost.JSON's 4096-byte buffer.
  for (std::size_t k = 4085; k <= 4100; ++k) {
    for (const char* esc : {"\\u00e9", "\\ud83d\\ude00", "\\n", "\\ud800", "\\u12"}) {
      bodies.push_back(R"({"model":")" + std::string(k, 'a') + esc + "b\"}");
      bodies.push_back(R"({"x":")" + std::string(k, 'a') + esc + R"(","model":"m"})");
      bodies.push_back(R"({")" + std::string(k, 'k') + esc + R"(":1,"model":"m"})");
    }
  }
  // Whitespace variants everywhere.
  for (const char* ws : {" ", "\t", "\n", "\r", "\r\n  ", "\f", "\v", "\xa0"}) {
    const std::string w = ws;
    bodies.push_back(w + "{" + w + R"("model")" + w + ":" + w + R"("m")" + w + "," + w +
                     R"("choices")" + w + ":" + w + "[" + w + "{" + w + R"("finish_reason")" + w +
                     ":" + w + R"("stop")" + w + "}" + w + "]" + w + "}" + w);
  }
  std::size_t accepted = 0;
  for (const auto& body : bodies) {
    accepted += expect_same_as_reference(body).has_value();
  }
  EXPECT_GT(accepted, 300u);
}

TEST(openai_response_scan_differential, escaped_keys_and_values_are_read) {
  const auto scan = scan_openai_response(
      R"({"mod\u0065l":"gpt\u002d4\ud83d\ude00","\u0063hoices":[{"finish_\u0072eason":"st\"op"}],)"
      R"("usage":{"prompt_tok\u0065ns":2,"completion_tokens":3.0,)"
      R"("prompt_tokens_d\u0065tails":{"cached_tokens":1e0}}})",
      "choices");
  ASSERT_TRUE(scan);
  EXPECT_TRUE(scan->has_payload);
  EXPECT_EQ(scan->summary.response_model, "gpt-4\xf0\x9f\x98\x80");
  EXPECT_EQ(scan->summary.finish_reason, "st\"op");
  EXPECT_EQ(scan->summary.usage.prompt_tokens, 2);
  EXPECT_EQ(scan->summary.usage.completion_tokens, 3);
  EXPECT_EQ(scan->summary.usage.total_tokens, 5);
  EXPECT_EQ(scan->summary.usage.cached_tokens, 1);
}

// The scan skips string bytes 16 at a time and reads the last 16 bytes before the document's
// closing bracket as one block: a quote, backslash or control byte at every offset of strings of
// every length, where the string is kept, skipped, a key, the last thing before the end or far
// from it.
TEST(openai_response_scan_differential, special_bytes_at_every_offset_of_short_strings) {
  const std::string padding = R"(,"pad":"0123456789abcdefghijklmnopqrstuv"})";
  std::size_t accepted = 0;
  std::size_t cases = 0;
  for (std::size_t len = 0; len <= 40; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      for (const char* special : {"\"", "\\", "\x01", "\\n", "\\u00e9"}) {
        std::string s(len, 'a');
        if (at < len) {
          s.replace(at, 1, special);
        } else if (std::string_view(special) != "\"") {
          continue;  // the plain string once per length
        }
        const std::vector<std::string> bodies = {
            R"({"model":")" + s + R"("})",
            R"({"model":")" + s + "\"" + padding,
            R"({")" + s + R"(":[1,{")" + s + R"(":")" + s + R"("}],"choices":[]})",
            R"({"choices":[{"finish_reason":")" + s + R"("}]})",
            R"({"usage":{")" + s + R"(":1,"prompt_tokens":2}})",
            "\"" + s + "\"",
        };
        for (const auto& body : bodies) {
          accepted += expect_same_as_reference(body).has_value();
          ++cases;
        }
      }
    }
  }
  EXPECT_GT(accepted, cases / 3);
}

// Values the scan does not read go through one non-recursive skipper: every kind of value, empty
// and nested, with and without blanks, in every place the scan passes over (and where a value of
// the wrong type stands for one it would read), plus the same text cut short or with a byte off.
TEST(openai_response_scan_differential, skipped_values_of_every_kind) {
  const std::vector<std::string> values = {"0",
                                           "-1",
                                           "2.5",
                                           "1e2",
                                           "12345678901234567890",
                                           "true",
                                           "false",
                                           "null",
                                           "\"\"",
                                           "\"s\\\"t\"",
                                           "[]",
                                           "{}",
                                           "[ ]",
                                           "{ }",
                                           "[1]",
                                           "[1,2,3]",
                                           "[[]]",
                                           "[[],[]]",
                                           "[{}]",
                                           "{\"a\":[]}",
                                           "{\"a\":{}}",
                                           "{\"a\":1,\"b\":[true,null,{\"c\":\"d\"}]}",
                                           "[ 1 , [ 2 , { \"k\" : [ ] } ] , \"x\" ]",
                                           "{ \"a\" : { \"b\" : { \"c\" : [ 0 ] } } }",
                                           "[\"]\",\"}\",\"[\",\"{\"]",
                                           "{\"}\":\"]\"}",
                                           "[1,]",
                                           "[,1]",
                                           "{\"a\":1,}",
                                           "{,}",
                                           "{\"a\"}",
                                           "{\"a\":}",
                                           "{1:2}",
                                           "[}",
                                           "{]",
                                           "[[]",
                                           "[]]",
                                           "{\"a\":[}]}",
                                           "[tru]",
                                           "[nulls]",
                                           "[-]",
                                           "[01]",
                                           "[1.]",
                                           "\t[\n{\r\"a\" :\t1 }\n]\t"};
  const std::vector<std::string> places = {
      R"({"x":@,"model":"m"})",
      R"({"model":"m","x":@})",
      R"({"model":@,"choices":[@,{"finish_reason":@,"x":@},{"finish_reason":"s"}]})",
      R"({"usage":{"prompt_tokens":@,"x":@,"prompt_tokens_details":@,"total_tokens":3}})",
      R"({"usage":{"prompt_tokens_details":{"cached_tokens":@,"x":@},"completion_tokens":1}})",
      R"({"choices":@,"data":@,"usage":@})",
      R"([@,@])",
      "@",
      " @ "};
  std::size_t accepted = 0;
  for (const auto& v : values) {
    for (const auto& place : places) {
      std::string body;
      for (const char c : place) {
        if (c == '@') {
          body += v;
        } else {
          body += c;
        }
      }
      accepted += expect_same_as_reference(body).has_value();
      expect_same_as_reference(std::string_view(body).substr(0, body.size() - 1));
      for (std::size_t i = 0; i < body.size(); i += 3) {
        std::string mutated = body;
        mutated[i] = "]}\",:["[i % 6];
        expect_same_as_reference(mutated);
      }
    }
  }
  EXPECT_GT(accepted, 200u);
}

// The document's last byte is the bracket that closes it; a nested container closing there is an
// error (the scan must not read past it), however it is reached.
TEST(openai_response_scan_differential, nested_containers_closing_on_the_last_byte) {
  for (const char* body : {R"({"a":{})",
                           R"({"a":[])",
                           R"({"choices":[])",
                           R"({"choices":[{}])",
                           R"({"choices":[{"finish_reason":"s"})",
                           R"({"usage":{})",
                           R"({"usage":{"prompt_tokens":1})",
                           R"({"usage":{"prompt_tokens_details":{})",
                           R"({"usage":{"completion_tokens_details":{})",
                           R"({"x":{"y":[1,{}]})",
                           "[[]",
                           "[{}",
                           "[[1,2]",
                           "[{\"a\":[]}",
                           "{\"a\":{}} ",
                           " [[] ",
                           "{\"a\":1}}",
                           "[1]]",
                           "{}}",
                           "[]]",
                           "{\"a\":\"}",
                           "[\"]",
                           "{\"a\":\"\\}",
                           "{\"a\":1 }",
                           "{\"a\":tru}",
                           "{\"a\":nul}",
                           "{\"a\":fals}",
                           "{\"a\":-}",
                           "{\"a\":1.}",
                           "{\"a\":1e}",
                           "[1e+]",
                           "{\"a\":\"\\u12}",
                           "{\"a\":\"\\ud800\\u}"}) {
    expect_same_as_reference(body);
  }
}

/// Random documents shaped like OpenAI responses, with escapes, odd numbers and whitespace.
class generator {
 public:
  explicit generator(std::uint32_t seed) : rng_(seed) {}

  std::string document() {
    std::string out;
    ws(out);
    object_of_keys(out, {"id", "model", "choices", "usage", "data", "object", "x"}, 0);
    ws(out);
    return out;
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  void ws(std::string& out) {
    if (pick(4) == 0) {
      static const char* const spaces[] = {" ", "\n", "\t", "\r\n", "  "};
      out += spaces[pick(5)];
    }
  }

  void key(std::string& out, std::string_view k) {
    out += '"';
    for (const char c : k) {
      if (pick(12) == 0) {
        char buf[8];
        std::snprintf(buf, sizeof buf, pick(2) ? "\\u%04x" : "\\u%04X", c);
        out += buf;
      } else {
        out += c;
      }
    }
    out += '"';
  }

  void string(std::string& out) {
    static const char* const pieces[] = {
        "stop",           "gpt-4o", "length",   "",    "a b",     "\\n",        "\\\"", "\\u00e9",
        "\\ud83d\\ude00", "\\/",    "\xc3\xa9", "\\t", "\\u0000", "tool_calls", "\\\\"};
    out += '"';
    for (std::size_t i = pick(3); i > 0; --i) {
      out += pieces[pick(std::size(pieces))];
    }
    out += '"';
  }

  void number(std::string& out) {
    static const char* const numbers[] = {"0",
                                          "7",
                                          "19",
                                          "-3",
                                          "-0",
                                          "2.5",
                                          "3.0",
                                          "1e2",
                                          "1E-2",
                                          "123456789",
                                          "9223372036854775807",
                                          "18446744073709551615",
                                          "1e400",
                                          "0.5e1",
                                          "40"};
    out += numbers[pick(std::size(numbers))];
  }

  void object_of_keys(std::string& out, const std::vector<std::string_view>& keys, int depth) {
    out += '{';
    ws(out);
    const std::size_t n = pick(keys.size() + 1);
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) {
        out += ',';
        ws(out);
      }
      const auto k = keys[pick(keys.size())];
      key(out, k);
      ws(out);
      out += ':';
      ws(out);
      value_for(out, k, depth + 1);
      ws(out);
    }
    out += '}';
  }

  void array_of(std::string& out, std::string_view element_key, int depth) {
    out += '[';
    ws(out);
    const std::size_t n = pick(4);
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) {
        out += ',';
        ws(out);
      }
      value_for(out, element_key, depth + 1);
      ws(out);
    }
    out += ']';
  }

  void value_for(std::string& out, std::string_view k, int depth) {
    if (depth > 6 || pick(8) == 0) {
      scalar(out);
      return;
    }
    if (k == "choices" || k == "data") {
      pick(6) == 0 ? object_of_keys(out, {"finish_reason"}, depth) : array_of(out, "choice", depth);
    } else if (k == "choice") {
      object_of_keys(out, {"finish_reason", "index", "message", "finish_reason"}, depth);
    } else if (k == "message") {
      object_of_keys(out, {"role", "content", "finish_reason"}, depth);
    } else if (k == "usage") {
      object_of_keys(out,
                     {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
                      "completion_tokens_details"},
                     depth);
    } else if (k == "prompt_tokens_details") {
      object_of_keys(out, {"cached_tokens", "audio_tokens"}, depth);
    } else if (k == "completion_tokens_details") {
      object_of_keys(out, {"reasoning_tokens", "audio_tokens"}, depth);
    } else if (k == "x") {
      pick(2) ? object_of_keys(out, {"model", "usage", "x"}, depth) : array_of(out, "x", depth);
    } else {
      scalar(out);
    }
  }

  void scalar(std::string& out) {
    switch (pick(6)) {
      case 0:
      case 1:
        string(out);
        break;
      case 2:
      case 3:
        number(out);
        break;
      case 4:
        out += "null";
        break;
      default:
        out += pick(2) ? "true" : "false";
        break;
    }
  }

  std::mt19937 rng_;
};

TEST(openai_response_scan_differential, generated_documents_and_their_mutations) {
  generator gen(20240611);
  std::mt19937 rng(7);
  const std::string bytes = "\"\\{}[],:10-.eEx \t\x01\x80\xffu+";
  std::size_t accepted = 0;
  std::size_t with_usage = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string doc = gen.document();
    const auto scan = expect_same_as_reference(doc);
    accepted += scan.has_value();
    with_usage += scan && scan->summary.usage.known;
    for (int m = 0; m < 4 && !doc.empty(); ++m) {
      std::string mutated = doc;
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, doc.size() - 1)(rng);
      const char b = bytes[std::uniform_int_distribution<std::size_t>(0, bytes.size() - 1)(rng)];
      switch (m % 3) {
        case 0:
          mutated[at] = b;
          break;
        case 1:
          mutated.insert(at, 1, b);
          break;
        default:
          mutated.erase(at, 1);
          break;
      }
      expect_same_as_reference(mutated);
    }
  }
  EXPECT_EQ(accepted, 4000u);  // the generator writes valid JSON
  EXPECT_GT(with_usage, 100u);
}

}  // namespace
}  // namespace aiproxy::providers
