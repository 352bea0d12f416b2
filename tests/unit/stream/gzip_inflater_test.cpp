// Tests of gzip_inflater: gzip, zlib and raw deflate input split at every byte, concatenated
// gzip members, corrupt and truncated input, trailing data, and the decompression-bomb cap.
#include "aiproxy/stream/gzip_inflater.hpp"

#include "stream_test_util.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace aiproxy::stream {
namespace {

/// Compresses with zlib: window_bits 15+16 = gzip, 15 = zlib, -15 = raw deflate.
std::string compress(std::string_view in, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string gzip(std::string_view in) {
  return compress(in, 15 + 16);
}

struct inflated {
  std::string out;
  bool ok = true;
  std::string error;
  bool finished = false;
};

inflated inflate_pieces(const std::vector<std::string_view>& pieces,
                        gzip_inflater::format f = gzip_inflater::format::gzip,
                        std::size_t cap = 64 * 1024 * 1024) {
  gzip_inflater z(f, cap);
  inflated r;
  for (auto piece : pieces) {
    if (auto res = z.feed(piece, r.out); !res) {
      r.ok = false;
      r.error = res.error().message;
      EXPECT_EQ(res.error().status, 502);
      break;
    }
  }
  r.finished = z.finished();
  return r;
}

std::string sample_text() {
  return testing::read_repo_file(testing::stream_data + "openai_chat_stream.sse");
}

void expect_every_split(std::string_view compressed, std::string_view expected,
                        gzip_inflater::format f) {
  for (std::size_t cut = 0; cut <= compressed.size(); ++cut) {
    auto r = inflate_pieces({compressed.substr(0, cut), compressed.substr(cut)}, f);
    ASSERT_TRUE(r.ok) << "cut " << cut << ": " << r.error;
    ASSERT_EQ(r.out, expected) << "cut " << cut;
    ASSERT_TRUE(r.finished) << "cut " << cut;
  }
  std::vector<std::string_view> bytewise;
  for (std::size_t i = 0; i < compressed.size(); ++i) {
    bytewise.push_back(compressed.substr(i, 1));
  }
  auto r = inflate_pieces(bytewise, f);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out, expected);
  EXPECT_TRUE(r.finished);
}

TEST(GzipInflater, GzipSplitAtEveryByte) {
  const std::string text = sample_text();
  expect_every_split(gzip(text), text, gzip_inflater::format::gzip);
}

TEST(GzipInflater, ZlibWrappedDeflateSplitAtEveryByte) {
  const std::string text = sample_text();
  expect_every_split(compress(text, 15), text, gzip_inflater::format::deflate);
}

TEST(GzipInflater, RawDeflateSplitAtEveryByte) {
  const std::string text = sample_text();
  expect_every_split(compress(text, -15), text, gzip_inflater::format::deflate);
}

TEST(GzipInflater, LargeBodyInManyPieces) {
  std::mt19937 rng(42);
  std::string text;
  for (int i = 0; i < 200000; ++i) {
    text.push_back(static_cast<char>('a' + rng() % 16));
  }
  const std::string z = gzip(text);
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < z.size(); i += 997) {
    pieces.push_back(std::string_view(z).substr(i, 997));
  }
  auto r = inflate_pieces(pieces);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out, text);
  EXPECT_TRUE(r.finished);
}

TEST(GzipInflater, FinishedOnlyAfterTheEndMarker) {
  const std::string z = gzip(sample_text());
  gzip_inflater inf;
  std::string out;
  EXPECT_FALSE(inf.finished());
  ASSERT_TRUE(inf.feed(std::string_view(z).substr(0, z.size() - 1), out));
  EXPECT_FALSE(inf.finished());  // the last byte of the trailer is missing: truncated
  ASSERT_TRUE(inf.feed(std::string_view(z).substr(z.size() - 1), out));
  EXPECT_TRUE(inf.finished());
  EXPECT_TRUE(inf.feed("", out));
  EXPECT_TRUE(inf.finished());
}

TEST(GzipInflater, ConcatenatedGzipMembers) {
  const std::string a = "first member\n";
  const std::string b = sample_text();
  const std::string z = gzip(a) + gzip(b);
  expect_every_split(z, a + b, gzip_inflater::format::gzip);
  // Between members the stream is finished; the next member's first byte reopens it.
  gzip_inflater inf;
  std::string out;
  const std::string first = gzip(a);
  ASSERT_TRUE(inf.feed(first, out));
  EXPECT_TRUE(inf.finished());
  ASSERT_TRUE(inf.feed(std::string_view(z).substr(first.size(), 5), out));
  EXPECT_FALSE(inf.finished());
}

TEST(GzipInflater, CorruptHeader) {
  std::string z = gzip(sample_text());
  z[0] = 'X';
  auto r = inflate_pieces({z});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("corrupt"), std::string::npos) << r.error;
}

TEST(GzipInflater, CorruptChecksumSplitAnywhere) {
  std::string z = gzip(sample_text());
  z[z.size() - 6] ^= 0x55;  // inside the CRC32 trailer
  for (std::size_t cut = 0; cut <= z.size(); cut += 7) {
    auto r = inflate_pieces({std::string_view(z).substr(0, cut), std::string_view(z).substr(cut)});
    EXPECT_FALSE(r.ok) << "cut " << cut;
    EXPECT_FALSE(r.finished);
  }
}

TEST(GzipInflater, CorruptDeflateData) {
  std::string z = compress(sample_text(), 15);
  z[z.size() - 2] ^= 0x55;  // the adler32 trailer
  auto r = inflate_pieces({z}, gzip_inflater::format::deflate);
  EXPECT_FALSE(r.ok);
}

TEST(GzipInflater, TrailingDataAfterDeflateFails) {
  std::string z = compress("hello", 15) + "junk";
  auto r = inflate_pieces({z}, gzip_inflater::format::deflate);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("after the end"), std::string::npos);
}

TEST(GzipInflater, TrailingGarbageAfterGzipFails) {
  auto r = inflate_pieces({gzip("hello") + "junk"});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.out, "hello");
}

TEST(GzipInflater, BombCapped) {
  const std::string zeros(10 * 1024 * 1024, '\0');
  const std::string z = gzip(zeros);
  ASSERT_LT(z.size(), 64u * 1024);
  auto r = inflate_pieces({z}, gzip_inflater::format::gzip, 1024 * 1024);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("inflates past 1048576 bytes"), std::string::npos) << r.error;
  EXPECT_LE(r.out.size(), 1024u * 1024 + 1);
  // Exactly at the cap is allowed.
  auto exact = inflate_pieces({gzip(std::string(4096, 'a'))}, gzip_inflater::format::gzip, 4096);
  EXPECT_TRUE(exact.ok) << exact.error;
  EXPECT_EQ(exact.out.size(), 4096u);
}

TEST(GzipInflater, BombCappedAcrossFeeds) {
  const std::string z = gzip(std::string(300000, 'x'));
  gzip_inflater inf(gzip_inflater::format::gzip, 100000);
  std::string out;
  bool failed = false;
  for (std::size_t i = 0; i < z.size() && !failed; i += 10) {
    failed = !inf.feed(std::string_view(z).substr(i, 10), out);
  }
  EXPECT_TRUE(failed);
  EXPECT_LE(out.size(), 100001u);
}

TEST(GzipInflater, ErrorIsSticky) {
  gzip_inflater inf;
  std::string out;
  EXPECT_FALSE(inf.feed("not gzip at all", out));
  EXPECT_FALSE(inf.feed(gzip("x"), out));
}

TEST(GzipInflater, MoveKeepsTheStream) {
  const std::string text = sample_text();
  const std::string z = gzip(text);
  gzip_inflater a;
  std::string out;
  ASSERT_TRUE(a.feed(std::string_view(z).substr(0, 100), out));
  gzip_inflater b(std::move(a));
  ASSERT_TRUE(b.feed(std::string_view(z).substr(100), out));
  EXPECT_EQ(out, text);
  gzip_inflater c;
  c = std::move(b);
  EXPECT_TRUE(c.finished());
}

TEST(GzipInflater, EmptyInput) {
  gzip_inflater inf;
  std::string out;
  EXPECT_TRUE(inf.feed("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(inf.finished());
}

}  // namespace
}  // namespace aiproxy::stream
