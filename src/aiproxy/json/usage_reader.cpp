// Reading OpenAI-shaped usage (see usage_reader.hpp). Pure: no I/O.
#include "aiproxy/json/usage_reader.hpp"

#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

namespace aiproxy::json {

bool read_count(const boost::json::value& v, std::int64_t& out) noexcept {
  if (const auto* i = v.if_int64()) {
    if (*i < 0) {
      return false;
    }
    out = *i;
    return true;
  }
  if (const auto* u = v.if_uint64()) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;
    }
    out = static_cast<std::int64_t>(*u);
    return true;
  }
  if (const auto* d = v.if_double()) {
    if (!(*d >= 0.0) || *d > 9.0e18 || std::floor(*d) != *d) {
      return false;
    }
    out = static_cast<std::int64_t>(*d);
    return true;
  }
  return false;
}

namespace {

bool read_member(const boost::json::object& obj, std::string_view key, std::int64_t& out) {
  const auto* v = obj.if_contains(key);
  return v != nullptr && read_count(*v, out);
}

void read_detail(const boost::json::object& obj, std::string_view details, std::string_view key,
                 std::int64_t& out) {
  if (const auto* d = obj.if_contains(details)) {
    if (const auto* inner = d->if_object()) {
      read_member(*inner, key, out);
    }
  }
}

}  // namespace

usage read_openai_usage(const boost::json::value& v) noexcept {
  usage u;
  const auto* obj = v.if_object();
  if (obj == nullptr) {
    return u;
  }
  const bool has_prompt = read_member(*obj, "prompt_tokens", u.prompt_tokens);
  const bool has_completion = read_member(*obj, "completion_tokens", u.completion_tokens);
  const bool has_total = read_member(*obj, "total_tokens", u.total_tokens);
  if (!has_total) {
    // Counts reach int64's maximum; the sum wraps (what the response scan does too) instead of
    // being undefined.
    u.total_tokens = static_cast<std::int64_t>(static_cast<std::uint64_t>(u.prompt_tokens) +
                                               static_cast<std::uint64_t>(u.completion_tokens));
  }
  read_detail(*obj, "prompt_tokens_details", "cached_tokens", u.cached_tokens);
  read_detail(*obj, "completion_tokens_details", "reasoning_tokens", u.reasoning_tokens);
  u.known = has_prompt || has_completion || has_total;
  return u;
}

}  // namespace aiproxy::json
