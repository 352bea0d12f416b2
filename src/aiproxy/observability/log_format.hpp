#pragma once
// Turns a request_record into the lines the log sinks write: Kong's log serializer JSON (as
// file-log writes it, with `ai.proxy`) and an nginx-style access log line. Pure functions.

#include "aiproxy/observability/request_record.hpp"

#include <string>
#include <string_view>

namespace aiproxy::observability {

/// Kong-shaped JSON log object for file-log and other JSON sinks (one line, no newline).
/// Secret headers and query parameters are redacted.
std::string format_json_log(const request_record& r);

/// `client - - [time] "METHOD uri HTTP/1.1" status bytes "-" "user-agent" seconds` (no newline).
std::string format_access_log(const request_record& r);

/// Replaces the value of each `names` parameter in a query string with "REDACTED".
std::string redact_query(std::string_view uri, const std::vector<std::string>& names);

/// True for headers whose value is a credential whatever the configuration.
bool is_secret_header(std::string_view name);

}  // namespace aiproxy::observability
