#pragma once
// Small readers every provider translator uses on parsed JSON: a present (non-null) field, a
// string or object field, whitespace trimming, the plain `{"error": ...}` message and the
// incomplete-stream error. Pure: no I/O; reads JSON and strings only.

#include "aiproxy/core/error.hpp"

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace aiproxy::providers {

/// `o[key]` when it is there and not null; else nullptr.
const boost::json::value* present(const boost::json::object& o, std::string_view key);

/// `o[key]` when it is a string; else empty.
std::string_view string_at(const boost::json::object& o, std::string_view key) noexcept;

/// `o[key]` when it is an object; else nullptr.
const boost::json::object* object_at(const boost::json::object& o, std::string_view key);

/// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view trim(std::string_view s) noexcept;

/// The message of a simple error body: `{"error": "..."}`, `{"error": {"message": "..."}}`
/// (an error object without a string message gives empty) or else `{"message": "..."}`.
std::string plain_error_message(const boost::json::object& o);

/// The 502 for a stream that ended before its terminal event: "<provider> stream ended before
/// its final event", code `incomplete_stream`.
error incomplete_stream(std::string_view provider_name);

}  // namespace aiproxy::providers
