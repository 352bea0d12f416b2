#include "aiproxy/core/error.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>

namespace aiproxy {

namespace {
error make(int status, std::string message, std::string type, std::string code = {}) {
  return error{status, std::move(message), std::move(type), std::move(code)};
}
}  // namespace

error error::bad_request(std::string message, std::string code) {
  return make(400, std::move(message), "invalid_request_error", std::move(code));
}
error error::not_found(std::string message) {
  return make(404, std::move(message), "invalid_request_error", "not_found");
}
error error::method_not_allowed(std::string message) {
  return make(405, std::move(message), "invalid_request_error", "method_not_allowed");
}
error error::payload_too_large(std::string message) {
  return make(413, std::move(message), "invalid_request_error", "request_too_large");
}
error error::bad_gateway(std::string message, std::string code) {
  return make(502, std::move(message), "upstream_error",
              code.empty() ? "bad_gateway" : std::move(code));
}
error error::gateway_timeout(std::string message) {
  return make(504, std::move(message), "upstream_error", "upstream_timeout");
}
error error::service_unavailable(std::string message) {
  return make(503, std::move(message), "api_error", "service_unavailable");
}
error error::internal(std::string message) {
  return make(500, std::move(message), "api_error", "internal_error");
}

std::string error::to_json() const {
  boost::json::object inner;
  inner["message"] = message;
  inner["type"] = type;
  if (code.empty()) {
    inner["code"] = nullptr;
  } else {
    inner["code"] = code;
  }
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

}  // namespace aiproxy
