#pragma once
// A compact JSON writer over Boost.JSON values that appends to a std::string. Pure, no I/O.
// Boost.JSON 1.81 prints every double in exponent form (0.7 -> "7E-1"); this writer prints the
// shortest round-trip form instead ("0.7", "1.0", "1e+300"), so bodies stay readable in logs.

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace aiproxy::json {

/// Appends `v` as compact JSON.
void write_value(std::string& out, const boost::json::value& v);
/// Appends `s` as a quoted, escaped JSON string.
void write_string(std::string& out, std::string_view s);
/// Appends a JSON number; a double with an integral value keeps a ".0". Non-finite values are
/// written as 1e999/-1e999 (they parse back as infinity) and NaN as null.
void write_double(std::string& out, double d);
void write_int(std::string& out, std::int64_t i);

/// `v` as compact JSON in a new string.
std::string to_json(const boost::json::value& v);

}  // namespace aiproxy::json
