// gzip_inflater: incremental zlib inflate with an output cap. Touches only its z_stream; no I/O.
#include "aiproxy/stream/gzip_inflater.hpp"

#include <zlib.h>

#include <algorithm>
#include <optional>

namespace aiproxy::stream {

struct gzip_inflater::impl {
  format fmt;
  std::size_t max_output;
  z_stream zs{};
  bool initialized = false;
  bool finished = false;
  std::size_t total_out = 0;
  std::string probe;  // deflate only: the first byte, until the second tells zlib from raw
  std::optional<error> failure;

  ~impl() {
    if (initialized) {
      inflateEnd(&zs);
    }
  }

  result<void> fail(std::string message) {
    failure = error::bad_gateway("upstream body: " + std::move(message), "bad_encoding");
    return *failure;
  }

  result<void> init(int window_bits) {
    if (inflateInit2(&zs, window_bits) != Z_OK) {
      return fail("cannot start zlib inflate");
    }
    initialized = true;
    return {};
  }

  result<void> inflate_some(std::string_view in, std::string& out);
};

result<void> gzip_inflater::impl::inflate_some(std::string_view in, std::string& out) {
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    if (finished) {
      if (zs.avail_in == 0) {
        return {};
      }
      if (fmt == format::deflate) {
        return fail("data after the end of the deflate stream");
      }
      // Another gzip member follows (gzip files may be concatenations of members).
      if (inflateReset(&zs) != Z_OK) {
        return fail("cannot restart zlib inflate");
      }
      finished = false;
    }
    // Never produce more than one byte past the cap, so a bomb costs at most the cap.
    const std::size_t room = max_output - total_out + 1;
    const std::size_t chunk =
        std::min<std::size_t>(room, std::max<std::size_t>(16 * 1024, std::size_t{zs.avail_in} * 4));
    const std::size_t old_size = out.size();
    out.resize(old_size + chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    zs.avail_out = static_cast<uInt>(chunk);
    const int rc = ::inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = chunk - zs.avail_out;
    out.resize(old_size + produced);
    total_out += produced;
    if (total_out > max_output) {
      return fail("inflates past " + std::to_string(max_output) + " bytes");
    }
    switch (rc) {
      case Z_STREAM_END:
        finished = true;
        break;
      case Z_OK:
        if (zs.avail_in == 0 && zs.avail_out != 0) {
          return {};  // all input used and all output flushed
        }
        break;
      case Z_BUF_ERROR:
        return {};  // no progress possible until more input arrives
      default:
        return fail(std::string("corrupt compressed data (") +
                    (zs.msg != nullptr ? zs.msg : "zlib error " + std::to_string(rc)) + ")");
    }
  }
}

gzip_inflater::gzip_inflater(format f, std::size_t max_output) : impl_(std::make_unique<impl>()) {
  impl_->fmt = f;
  impl_->max_output = max_output;
}

gzip_inflater::~gzip_inflater() = default;
gzip_inflater::gzip_inflater(gzip_inflater&&) noexcept = default;
gzip_inflater& gzip_inflater::operator=(gzip_inflater&&) noexcept = default;

result<void> gzip_inflater::feed(std::string_view in, std::string& out) {
  if (!impl_) {
    return error::internal("gzip_inflater used after move");
  }
  impl& s = *impl_;
  if (s.failure) {
    return *s.failure;
  }
  if (in.empty()) {
    return {};
  }
  if (!s.initialized) {
    if (s.fmt == format::gzip) {
      auto r = s.init(15 + 16);
      if (!r) {
        return r;
      }
    } else {
      // "deflate" on the wire is meant to be zlib-wrapped, but some servers send raw deflate:
      // a zlib header is two bytes whose big-endian value is a multiple of 31, method 8.
      if (s.probe.empty() && in.size() < 2) {
        s.probe.assign(in);
        return {};
      }
      std::string head = s.probe;
      head.append(in.substr(0, 2 - head.size()));
      const auto b0 = static_cast<unsigned char>(head[0]);
      const auto b1 = static_cast<unsigned char>(head[1]);
      const bool zlib_wrapped = (b0 & 0x0f) == 8 && ((b0 << 8) | b1) % 31 == 0;
      auto r = s.init(zlib_wrapped ? 15 : -15);
      if (!r) {
        return r;
      }
      if (!s.probe.empty()) {
        const std::string probe = std::move(s.probe);
        s.probe.clear();
        r = s.inflate_some(probe, out);
        if (!r) {
          return r;
        }
      }
    }
  }
  return s.inflate_some(in, out);
}

bool gzip_inflater::finished() const noexcept {
  return impl_ && impl_->finished;
}

}  // namespace aiproxy::stream
