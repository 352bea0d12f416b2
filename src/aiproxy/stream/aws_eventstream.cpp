// aws_eventstream: decoder and encoder of the AWS event stream binary framing. CRC32 from zlib.
// No I/O.
#include "aiproxy/stream/aws_eventstream.hpp"

#include <zlib.h>

#include <algorithm>

namespace aiproxy::stream {

namespace {

std::uint32_t crc32_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      ::crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::uint32_t read_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
         std::uint32_t{u[3]};
}

std::uint16_t read_be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
}

void append_be32(std::string& out, std::uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}

void append_be16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

}  // namespace

aws_eventstream_decoder::aws_eventstream_decoder(std::size_t max_frame_bytes)
    : max_frame_bytes_(max_frame_bytes) {}

error aws_eventstream_decoder::fail(std::string message) {
  failure_ = error::bad_gateway("upstream AWS event stream: " + std::move(message), "bad_stream");
  return *failure_;
}

result<std::uint32_t> aws_eventstream_decoder::read_prelude(std::string_view prelude) {
  const std::uint32_t total = read_be32(prelude.data());
  const std::uint32_t headers = read_be32(prelude.data() + 4);
  const std::uint32_t crc = read_be32(prelude.data() + 8);
  if (crc32_of(prelude.substr(0, 8)) != crc) {
    return fail("prelude CRC mismatch");
  }
  if (total < min_message_bytes) {
    return fail("message length " + std::to_string(total) + " is below the 16-byte minimum");
  }
  if (total > max_frame_bytes_) {
    return fail("message length " + std::to_string(total) + " exceeds " +
                std::to_string(max_frame_bytes_) + " bytes");
  }
  if (headers > max_header_bytes || headers > total - min_message_bytes) {
    return fail("headers length " + std::to_string(headers) + " does not fit message length " +
                std::to_string(total));
  }
  return result<std::uint32_t>(boost::system::in_place_value, total);
}

result<void> aws_eventstream_decoder::decode_message(std::string_view message,
                                                     std::vector<event>& out) {
  const std::size_t total = message.size();
  if (crc32_of(message.substr(0, total - 4)) != read_be32(message.data() + total - 4)) {
    return fail("message CRC mismatch");
  }
  const std::uint32_t headers_length = read_be32(message.data() + 4);
  std::string_view headers = message.substr(prelude_bytes, headers_length);
  std::string_view payload =
      message.substr(prelude_bytes + headers_length, total - min_message_bytes - headers_length);

  std::string_view message_type;
  std::string_view event_type;
  std::string_view exception_type;
  std::string_view error_code;
  std::string_view error_message;
  while (!headers.empty()) {
    const auto name_length = static_cast<unsigned char>(headers[0]);
    if (headers.size() < 1u + name_length + 1u) {
      return fail("truncated header");
    }
    const std::string_view name = headers.substr(1, name_length);
    const auto type = static_cast<aws_header_type>(headers[1 + name_length]);
    headers.remove_prefix(2u + name_length);
    std::size_t value_length = 0;
    std::size_t prefix = 0;  // the length field of variable-size values
    switch (type) {
      case aws_header_type::bool_true:
      case aws_header_type::bool_false:
        break;
      case aws_header_type::byte:
        value_length = 1;
        break;
      case aws_header_type::int16:
        value_length = 2;
        break;
      case aws_header_type::int32:
        value_length = 4;
        break;
      case aws_header_type::int64:
      case aws_header_type::timestamp:
        value_length = 8;
        break;
      case aws_header_type::uuid:
        value_length = 16;
        break;
      case aws_header_type::byte_array:
      case aws_header_type::string:
        if (headers.size() < 2) {
          return fail("truncated header");
        }
        prefix = 2;
        value_length = read_be16(headers.data());
        break;
      default:
        return fail("unknown header value type " + std::to_string(static_cast<unsigned>(type)));
    }
    if (headers.size() < prefix + value_length) {
      return fail("truncated header");
    }
    if (type == aws_header_type::string) {
      const std::string_view value = headers.substr(prefix, value_length);
      if (name == ":message-type") {
        message_type = value;
      } else if (name == ":event-type") {
        event_type = value;
      } else if (name == ":exception-type") {
        exception_type = value;
      } else if (name == ":error-code") {
        error_code = value;
      } else if (name == ":error-message") {
        error_message = value;
      }
    }
    headers.remove_prefix(prefix + value_length);
  }

  event& e = out.emplace_back();
  if (message_type == "exception") {
    e.name = exception_type;
    e.id = "exception";
    e.data = payload;
  } else if (message_type == "error") {
    e.name = error_code;
    e.id = "error";
    e.data = error_message;
  } else {
    e.name = event_type;
    e.data = payload;
  }
  return {};
}

result<void> aws_eventstream_decoder::feed(std::string_view bytes, std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  while (!bytes.empty()) {
    if (!partial_.empty()) {
      // Complete the buffered message with just the bytes it still needs.
      const std::size_t want = partial_total_ == 0 ? prelude_bytes : partial_total_;
      const std::size_t take = std::min(want - partial_.size(), bytes.size());
      partial_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (partial_.size() < want) {
        break;
      }
      if (partial_total_ == 0) {
        auto total = read_prelude(partial_);
        if (!total) {
          return total.error();
        }
        partial_total_ = *total;
        partial_.reserve(partial_total_);
        continue;
      }
      auto r = decode_message(partial_, out);
      if (!r) {
        return r;
      }
      partial_.clear();
      partial_total_ = 0;
      continue;
    }
    // Nothing buffered: decode whole messages in place.
    if (bytes.size() < prelude_bytes) {
      partial_.assign(bytes);
      break;
    }
    auto total = read_prelude(bytes.substr(0, prelude_bytes));
    if (!total) {
      return total.error();
    }
    if (bytes.size() < *total) {
      partial_.reserve(*total);
      partial_.assign(bytes);
      partial_total_ = *total;
      break;
    }
    auto r = decode_message(bytes.substr(0, *total), out);
    if (!r) {
      return r;
    }
    bytes.remove_prefix(*total);
  }
  return {};
}

result<void> aws_eventstream_decoder::finish(std::vector<event>& out) {
  if (failure_) {
    return *failure_;
  }
  if (!partial_.empty()) {
    return fail("the stream ended inside a message (" + std::to_string(partial_.size()) +
                " bytes buffered)");
  }
  return {};
}

void append_aws_string_header(std::string& headers, std::string_view name, std::string_view value) {
  headers.push_back(static_cast<char>(std::min<std::size_t>(name.size(), 255)));
  headers.append(name.substr(0, 255));
  headers.push_back(static_cast<char>(aws_header_type::string));
  value = value.substr(0, 65535);
  append_be16(headers, static_cast<std::uint16_t>(value.size()));
  headers.append(value);
}

void append_aws_eventstream_message(std::string& out, std::string_view headers,
                                    std::string_view payload) {
  const std::size_t start = out.size();
  const auto total = static_cast<std::uint32_t>(aws_eventstream_decoder::min_message_bytes +
                                                headers.size() + payload.size());
  append_be32(out, total);
  append_be32(out, static_cast<std::uint32_t>(headers.size()));
  append_be32(out, crc32_of(std::string_view(out).substr(start, 8)));
  out.append(headers);
  out.append(payload);
  append_be32(out, crc32_of(std::string_view(out).substr(start)));
}

void append_aws_eventstream_event(std::string& out, std::string_view event_type,
                                  std::string_view payload) {
  std::string headers;
  headers.reserve(96);
  append_aws_string_header(headers, ":event-type", event_type);
  append_aws_string_header(headers, ":content-type", "application/json");
  append_aws_string_header(headers, ":message-type", "event");
  append_aws_eventstream_message(out, headers, payload);
}

void append_aws_eventstream_exception(std::string& out, std::string_view exception_type,
                                      std::string_view payload) {
  std::string headers;
  headers.reserve(112);
  append_aws_string_header(headers, ":exception-type", exception_type);
  append_aws_string_header(headers, ":content-type", "application/json");
  append_aws_string_header(headers, ":message-type", "exception");
  append_aws_eventstream_message(out, headers, payload);
}

}  // namespace aiproxy::stream
