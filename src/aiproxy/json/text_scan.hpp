#pragma once
// Questions about a JSON text answered without parsing it: where an object key is written, and
// whether every value written for a key is null. They rely on one property of JSON: a quote
// inside a string is always escaped, so `"key"` followed by a colon can only be a key. Used on
// hot paths (the request splice, stream chunks forwarded byte for byte). Pure, no I/O.

#include <cstddef>
#include <string_view>

namespace aiproxy::json {

/// How often `key` is written as an object key, at any depth, in `text` (counting stops at
/// `limit`). A key written with escapes is not found.
int key_occurrences(std::string_view text, std::string_view key, int limit = 2);

/// True when every value written for object key `key` in `text` is the literal null (also when
/// the key does not occur).
bool key_values_all_null(std::string_view text, std::string_view key);

}  // namespace aiproxy::json
