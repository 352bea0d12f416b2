#pragma once
// Random identifiers for responses and requests (not for security). Thread-safe: each thread
// has its own generator.

#include <string>
#include <string_view>

namespace aiproxy {

/// `prefix` followed by 24 random lower-case hex digits, e.g. "chatcmpl-3f9a…".
std::string random_id(std::string_view prefix);

}  // namespace aiproxy
