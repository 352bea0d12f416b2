#pragma once
// The HTTP/2 server session (RFC 9113, cleartext with prior knowledge, "h2c"), on nghttp2: one
// connection carries many concurrent streams, each a request handed to the request_handler as a
// downstream, so a handler serves HTTP/1.1 and HTTP/2 clients alike. Runs on one worker's
// io_context, inside run_session, which detects the connection preface and closes the socket
// after this returns.

#include "aiproxy/http/session.hpp"
#include "aiproxy/net/timed_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>

#include <string>

namespace aiproxy::http {

/// The 24 bytes every HTTP/2 connection starts with (RFC 9113 section 3.4).
inline constexpr std::string_view h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves an HTTP/2 connection whose first bytes (the preface included) are already in
/// `buffer`. Returns when the connection ends: the client closed it, a protocol error, the idle
/// timeout, or the tracker's drain (GOAWAY, then in-flight streams finish).
boost::asio::awaitable<void> run_h2_session(
    net::timed_stream& stream, boost::beast::flat_buffer& buffer, request_handler& handler,
    const session_options& options, session_tracker& tracker, session_tracker::handle handle,
    const std::string& client_address);

}  // namespace aiproxy::http
