// providers::multipart_scanner: the bytes it hands on are the body itself at every split (the
// closing delimiter held until finish()), fields captured across splits, the configured field
// inserted before the closing delimiter, and malformed or oversized framing refused.

#include "aiproxy/providers/multipart_stream.hpp"

#include "aiproxy/providers/openai_api_family.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aiproxy::providers {
namespace {

using state = multipart_scanner::field_state;

std::string form(const std::string& b, bool with_model = true) {
  std::string s = "preamble\r\n--" + b +
                  "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                  "Content-Type: audio/wav\r\n\r\nRIFF--" +
                  b + "x\r\n-- fake\r\n\r\r\n-\r\n--" + b.substr(0, b.size() - 1) + "\r\n--" + b +
                  "\r\ncontent-disposition: form-data; name=language\r\n\r\nen\r\n--" + b +
                  " \t\r\n\r\n";
  if (with_model) {
    s += "model-less part\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--" + b;
    s += "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nsecond\r\n--" + b;
  } else {
    s += "no headers\r\n--" + b;
  }
  s += "\r\nContent-Disposition: form-data; name=\"stream\"\r\n\r\ntrue\r\n--" + b + "--\r\nepi";
  return s;
}

struct outcome {
  std::string out;
  std::string error;  // empty when it went through
};

/// Feeds `pieces` in order, then finish(); `before_finish` runs between the two.
template <class F>
outcome run(multipart_scanner& s, const std::vector<std::string_view>& pieces, F before_finish) {
  outcome o;
  for (auto p : pieces) {
    auto r = s.feed(p);
    if (!r) {
      o.error = r.error().message;
      return o;
    }
    o.out += *r;
  }
  before_finish(s);
  auto t = s.finish();
  if (!t) {
    o.error = t.error().message;
    return o;
  }
  o.out += *t;
  EXPECT_EQ(s.released(), o.out.size());
  return o;
}

outcome run(multipart_scanner& s, const std::vector<std::string_view>& pieces) {
  return run(s, pieces, [](multipart_scanner&) {});
}

std::vector<std::string_view> bytes_of(std::string_view body) {
  std::vector<std::string_view> v;
  for (std::size_t i = 0; i < body.size(); ++i) {
    v.push_back(body.substr(i, 1));
  }
  return v;
}

multipart_scanner scanner(std::string b = "XyZ") {
  return multipart_scanner(std::move(b), {"model", "stream"});
}

/// The value a fresh scanner reads for `name` from the whole `body` ("?" when none).
std::string field_of(const std::string& body, const std::string& boundary,
                     const std::string& name) {
  auto s = scanner(boundary);
  auto o = run(s, {body});
  const std::string* v = s.value(name);
  return o.error.empty() && v != nullptr ? *v : "?";
}

TEST(MultipartScanner, HandsOnTheBodyUnchangedAtEverySplit) {
  const std::string body = form("XyZ");
  for (std::size_t i = 0; i <= body.size(); ++i) {
    for (std::size_t j = i; j <= body.size(); j += 7) {
      auto s = scanner();
      const std::string_view v(body);
      auto o = run(s, {v.substr(0, i), v.substr(i, j - i), v.substr(j)});
      ASSERT_EQ(o.error, "") << i << "," << j;
      ASSERT_EQ(o.out, body) << i << "," << j;
      ASSERT_NE(s.value("model"), nullptr);
      EXPECT_EQ(*s.value("model"), "whisper-1");  // the first one counts
      ASSERT_NE(s.value("stream"), nullptr);
      EXPECT_EQ(*s.value("stream"), "true");
    }
  }
}

TEST(MultipartScanner, ByteByByteReportsPartsAndFields) {
  const std::string body = form("XyZ");
  auto s = scanner();
  auto o = run(s, bytes_of(body));
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(o.out, body);
  ASSERT_EQ(s.parts().size(), 6u);
  EXPECT_EQ(s.parts()[0].name, "file");
  EXPECT_TRUE(s.parts()[0].file);
  EXPECT_EQ(s.parts()[1].name, "language");
  EXPECT_FALSE(s.parts()[1].file);
  EXPECT_EQ(s.parts()[2].name, "");  // a part without headers
  EXPECT_EQ(s.parts()[3].name, "model");
  EXPECT_EQ(s.parts()[4].name, "model");
  EXPECT_EQ(s.parts()[5].name, "stream");
  EXPECT_EQ(s.state("model"), state::complete);
  EXPECT_EQ(s.state("language"), state::absent);  // not captured
}

TEST(MultipartScanner, HoldsBackOnlyWhatMayBeADelimiterAndTheClosingOne) {
  const std::string b = "XyZ";
  auto s = scanner(b);
  const std::string head =
      "--" + b + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm1";
  auto r = s.feed(head + "\r\n--X");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, head);  // "\r\n--X" may be a delimiter
  EXPECT_EQ(s.state("model"), state::reading);
  EXPECT_EQ(s.value("model"), nullptr);
  r = s.feed("a");  // it was not
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "\r\n--Xa");
  r = s.feed("\r\n--" + b + "--\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "");  // the closing delimiter waits for finish()
  EXPECT_TRUE(s.closed());
  ASSERT_NE(s.value("model"), nullptr);
  EXPECT_EQ(*s.value("model"), "m1\r\n--Xa");
  auto t = s.finish();
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "\r\n--" + b + "--\r\n");
  // Binary content without CR goes through at once.
  auto s2 = scanner(b);
  ASSERT_TRUE(s2.feed("--" + b + "\r\n\r\n"));
  r = s2.feed(std::string(100000, 'z'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 100000u);
}

TEST(MultipartScanner, InsertsAFieldBeforeTheClosingDelimiterAtEverySplit) {
  const std::string body = form("XyZ", false);
  std::string expected = body;
  const std::string close = "\r\n--XyZ--\r\nepi";
  expected.insert(expected.size() - close.size(),
                  "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1");
  for (std::size_t i = 0; i <= body.size(); ++i) {
    auto s = scanner();
    const std::string_view v(body);
    auto o = run(s, {v.substr(0, i), v.substr(i)}, [&](multipart_scanner& sc) {
      EXPECT_EQ(sc.state("model"), state::absent);
      EXPECT_TRUE(sc.add_field("model", "whisper-1"));
    });
    ASSERT_EQ(o.error, "") << i;
    ASSERT_EQ(o.out, expected) << i;
    EXPECT_EQ(o.out.size(), body.size() + s.added_bytes());
  }
  // Read again, the result holds both fields.
  EXPECT_EQ(field_of(expected, "XyZ", "model"), "whisper-1");
  EXPECT_EQ(field_of(expected, "XyZ", "stream"), "true");
}

TEST(MultipartScanner, InsertsIntoABodyWithoutParts) {
  auto s = scanner("b");
  auto o = run(s, {"--b--\r\n"}, [](multipart_scanner& sc) { sc.add_field("model", "m"); });
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(o.out, "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--b--\r\n");
  EXPECT_EQ(o.out.size(), 7 + s.added_bytes());
  EXPECT_EQ(field_of(o.out, "b", "model"), "m");
}

TEST(MultipartScanner, RefusesFieldsThatWouldBreakTheFraming) {
  auto s = scanner("b");
  EXPECT_FALSE(s.add_field("model", "a\r\nb"));
  EXPECT_FALSE(s.add_field("mo\"del", "a"));
  EXPECT_FALSE(s.add_field("mo\\del", "a"));
  EXPECT_EQ(s.added_bytes(), 0u);
}

TEST(MultipartScanner, ValueOverTheLimitIsNotKept) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" +
                           std::string(300, 'm') + "\r\n--b--";
  for (std::size_t i = 0; i <= body.size(); i += 13) {
    auto s = scanner("b");
    const std::string_view v(body);
    auto o = run(s, {v.substr(0, i), v.substr(i)});
    ASSERT_EQ(o.error, "");
    EXPECT_EQ(o.out, body);
    EXPECT_EQ(s.state("model"), state::too_long);
    EXPECT_EQ(s.value("model"), nullptr);
  }
  // Exactly at the limit it is kept.
  auto s = scanner("b");
  const std::string at = "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" +
                         std::string(256, 'm') + "\r\n--b--";
  ASSERT_EQ(run(s, bytes_of(at)).error, "");
  ASSERT_NE(s.value("model"), nullptr);
  EXPECT_EQ(s.value("model")->size(), 256u);
}

TEST(MultipartScanner, AFilePartIsNeverAField) {
  auto s = scanner("b");
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"model\"; filename=\"m.txt\"\r\n\r\nx\r\n"
      "--b\r\n\r\nanonymous\r\n--b--";
  auto o = run(s, bytes_of(body));
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(s.state("model"), state::absent);
  ASSERT_EQ(s.parts().size(), 2u);
  EXPECT_TRUE(s.parts()[0].file);
  EXPECT_EQ(s.parts()[1].name, "");
}

std::string error_of(std::string boundary, const std::string& body, bool split = true) {
  auto s = scanner(std::move(boundary));
  auto o = split ? run(s, bytes_of(body)) : run(s, {body});
  if (o.error.empty()) {
    return o.error;
  }
  EXPECT_TRUE(s.failed());
  EXPECT_FALSE(s.feed("more"));  // failed for good
  return o.error;
}

TEST(MultipartScanner, MalformedInput) {
  const auto has = [](const std::string& e, const char* what) {
    return e.rfind("request body is not valid multipart/form-data: ", 0) == 0 &&
           e.find(what) != std::string::npos;
  };
  EXPECT_TRUE(has(error_of("b", "just text"), "ended before its closing delimiter"));
  EXPECT_TRUE(has(error_of("b", ""), "ended before its closing delimiter"));
  EXPECT_TRUE(has(error_of("b", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nx"),
                  "ended before its closing delimiter"));
  EXPECT_TRUE(has(error_of("b", "--bjunk\r\n"), "not followed by a line break"));
  EXPECT_TRUE(has(error_of("b", "--b\r\n\r\nx\r\n--b\rx"), "not followed by a line break"));
  // A boundary that is a prefix of the real one does not split parts.
  EXPECT_TRUE(has(error_of("Xy", form("XyZ")), "not followed by a line break"));
  EXPECT_TRUE(has(error_of("b", "--b\r\n" + std::string(9000, 'h')), "part headers longer"));
  EXPECT_TRUE(has(error_of("b", "--b\r\n" + std::string(9000, 'h') + "\r\n\r\nx\r\n--b--", false),
                  "part headers longer"));
  EXPECT_TRUE(has(error_of("b", "--b" + std::string(300, ' ') + "\r\n"), "delimiter line"));
  EXPECT_TRUE(has(error_of("b", std::string(70000, 'p'), false), "no delimiter in the first"));
  EXPECT_TRUE(has(error_of("b", "--b--" + std::string(70000, 'e'), false), "epilogue longer"));
  std::string many;
  for (int i = 0; i < 10001; ++i) {
    many += "--b\r\n\r\n\r\n";
  }
  EXPECT_TRUE(has(error_of("b", many + "--b--", false), "more than 10000 parts"));
  // Just within the bounds.
  EXPECT_EQ(error_of("b", std::string(60000, 'p') + "\r\n--b--" + std::string(60000, 'e'), false),
            "");
  EXPECT_EQ(error_of("b", "--b\r\n" + std::string(8000, 'h') + "\r\n\r\nx\r\n--b--", false), "");
}

TEST(MultipartScanner, EmptyBoundaryFails) {
  auto s = multipart_scanner("", {"model"});
  EXPECT_TRUE(s.failed());
  EXPECT_FALSE(s.feed("--\r\n"));
}

}  // namespace
}  // namespace aiproxy::providers
