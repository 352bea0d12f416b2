// Small JSON readers shared by the provider translators (see json_access.hpp). Pure.
#include "aiproxy/providers/json_access.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace aiproxy::providers {

const boost::json::value* present(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

std::string_view string_at(const boost::json::object& o, std::string_view key) noexcept {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

const boost::json::object* object_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

std::string_view trim(std::string_view s) noexcept {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) {
    return {};
  }
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string plain_error_message(const boost::json::object& o) {
  if (const auto* e = o.if_contains("error")) {
    if (const auto* s = e->if_string()) {
      return std::string(*s);
    }
    if (const auto* eo = e->if_object()) {
      return std::string(string_at(*eo, "message"));
    }
  }
  return std::string(string_at(o, "message"));
}

error incomplete_stream(std::string_view provider_name) {
  return error::bad_gateway(std::string(provider_name) + " stream ended before its final event",
                            "incomplete_stream");
}

}  // namespace aiproxy::providers
