#pragma once
// Helpers shared by the stream unit tests: fixture loading, base64, and the split-invariance
// check every decoder must pass (whole input == every two-piece split == one byte at a time).

#include "aiproxy/stream/decoder.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace aiproxy::stream {

inline bool operator==(const event& a, const event& b) {
  return a.name == b.name && a.data == b.data && a.id == b.id;
}

inline void PrintTo(const event& e, std::ostream* os) {
  *os << "{name=\"" << e.name << "\" data=\"" << e.data << "\" id=\"" << e.id << "\"}";
}

}  // namespace aiproxy::stream

namespace aiproxy::stream::testing {

inline std::string source_dir() {
  if (const char* env = std::getenv("AIPROXY_SOURCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return AIPROXY_SOURCE_DIR;
}

/// The bytes of a file under the repository root; fails the test if it cannot be read.
inline std::string read_repo_file(const std::string& relative) {
  const std::string path = source_dir() + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline const std::string kong_fixtures = "tests/fixtures/kong/spec/fixtures/ai-proxy/";
inline const std::string stream_data = "tests/unit/stream/data/";

/// Standard base64 (RFC 4648) decoding; whitespace is skipped, decoding stops at '='.
inline std::string base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      break;
    } else {
      continue;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

/// zlib's CRC32 of `bytes` (the checksum of gzip and AWS eventstream).
inline std::uint32_t crc32_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      ::crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

/// What a decoder made of a stream: its events, and the message of the first error, if any.
struct decoded {
  std::vector<event> events;
  std::optional<std::string> error;
  int status = 0;  // the error's HTTP status
};

using decoder_factory = std::function<std::unique_ptr<decoder>()>;

/// Feeds `pieces` in order, then finishes; stops at the first error.
inline decoded decode_pieces(const decoder_factory& make,
                             const std::vector<std::string_view>& pieces) {
  decoded d;
  auto dec = make();
  for (auto piece : pieces) {
    if (auto r = dec->feed(piece, d.events); !r) {
      d.error = r.error().message;
      d.status = r.error().status;
      return d;
    }
  }
  if (auto r = dec->finish(d.events); !r) {
    d.error = r.error().message;
    d.status = r.error().status;
  }
  return d;
}

inline decoded decode_whole(const decoder_factory& make, std::string_view bytes) {
  return decode_pieces(make, {bytes});
}

/// Checks that every two-piece split, and feeding one byte at a time (with empty feeds in
/// between), gives exactly what feeding `bytes` whole gives. Returns the whole-input result.
inline decoded expect_split_invariant(const decoder_factory& make, std::string_view bytes) {
  const decoded whole = decode_whole(make, bytes);
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    const decoded split = decode_pieces(make, {bytes.substr(0, cut), bytes.substr(cut)});
    if (split.events != whole.events || split.error != whole.error) {
      ADD_FAILURE() << "split at byte " << cut << " of " << bytes.size()
                    << " differs: " << split.events.size() << " vs " << whole.events.size()
                    << " events, error '" << split.error.value_or("") << "' vs '"
                    << whole.error.value_or("") << "'";
      return whole;
    }
  }
  std::vector<std::string_view> bytewise;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytewise.push_back(bytes.substr(i, 1));
    bytewise.push_back(std::string_view());
  }
  const decoded drip = decode_pieces(make, bytewise);
  EXPECT_EQ(drip.events, whole.events) << "one byte at a time differs";
  EXPECT_EQ(drip.error, whole.error) << "one byte at a time differs";
  return whole;
}

/// `text` with every "\n" replaced by `eol`.
inline std::string with_line_ends(std::string_view text, std::string_view eol) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out.append(eol);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace aiproxy::stream::testing
