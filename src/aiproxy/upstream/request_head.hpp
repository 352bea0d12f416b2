#pragma once
// The request line and header block upstream::client writes before a request's body, exposed
// for tests. Implemented in client.cpp. Pure: no I/O.

#include "aiproxy/core/error.hpp"
#include "aiproxy/providers/provider.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace aiproxy::upstream {

/// `req`'s request line and fields, ending with the empty line. Host is `req.host_header`
/// (trimmed) when set and free of line breaks, else host[:port] (an IPv6 literal in brackets,
/// the port left out when it is the scheme's default). Hop-by-hop fields, Host and
/// Content-Length in `req.headers` are left out; `length` adds Content-Length, `chunked`
/// Transfer-Encoding: chunked instead. Every field is checked, whoever set it: a name that is
/// not a token or a value with CR, LF or NUL is a 500, as is a bad method or target.
result<std::string> build_request_head(const providers::upstream_request& req,
                                       std::optional<std::uint64_t> length, bool chunked);

}  // namespace aiproxy::upstream
