#pragma once
// decK environment substitution: `${{ env "DECK_NAME" }}` inside configuration values, with
// decK's rules (only DECK_-prefixed variables; a missing one is an error naming it) and its
// optional `| toBool`, `| toInt`, `| toFloat` filters. Pure apart from reading the environment.

#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::config {

struct env_substitution {
  std::string text;          // the value with every placeholder replaced
  bool substituted = false;  // true when at least one placeholder was replaced (value is secret)
  std::string error;         // non-empty on failure; never contains a variable's value
};

/// Replaces every `${{ ... }}` in `value`. With `lenient`, placeholders that cannot be replaced
/// are kept as written instead of failing (used to compute the digest of a whole file).
env_substitution substitute_env(std::string_view value, bool lenient = false);

/// True when `value` contains the `${{` opener.
bool has_env_placeholders(std::string_view value) noexcept;

}  // namespace aiproxy::config
