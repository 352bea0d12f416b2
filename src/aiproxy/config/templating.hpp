#pragma once
// Kong-style `$(source.key)` templating of model.name and model.options (reference §1.4), plus
// the URL safety rule that keeps a client from choosing where a templated request goes.
// Pure: no I/O, no Asio. Used at load time (validation) and per request (resolve_model).

#include <optional>
#include <string>
#include <string_view>

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"

namespace aiproxy::config {

/// Where placeholder values come from for one request. `uri_captures` are the route's regex
/// captures, `headers` the request headers (case-insensitive), `query_params` the query string.
class template_source {
 public:
  virtual ~template_source() = default;
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  virtual std::optional<std::string_view> uri_capture(std::string_view name) const = 0;
  virtual std::optional<std::string_view> query_param(std::string_view name) const = 0;
};

/// True when `s` holds at least one `$(...)` placeholder.
bool has_placeholders(std::string_view s) noexcept;

/// Checks every placeholder of `value` without a request: the same parse errors Kong returns at
/// request time (`cannot parse expression for field '<value>'`, `source 'x' is not supported`).
std::optional<std::string> check_template(std::string_view value);

/// The load-time URL rule for a templated URL (`model.options.upstream_url`): placeholders may not
/// sit in the scheme, userinfo or port, and a placeholder in the host must be followed by a fixed
/// literal domain that itself contains a dot (`$(x).example.com` ok; `$(x)`, `$(x).com` not).
std::optional<std::string> check_url_template(std::string_view url);

/// Same rule for an option that is a bare host name (`model.options.gemini.api_endpoint`).
std::optional<std::string> check_host_template(std::string_view host);

/// Replaces every placeholder of `tmpl`. Errors are Kong's 400 messages:
/// `headers key x was not provided`, `cannot parse expression for field '<tmpl>'`,
/// `source 'x' is not supported`.
result<std::string> render_template(std::string_view tmpl, const template_source& source);

/// True when `value` may be substituted into a URL-forming option: [A-Za-z0-9._~-]+ and not "."
/// or "..".
bool is_safe_url_value(std::string_view value) noexcept;

/// Renders model.name and every string under model.options. Values substituted into the
/// URL-forming options (upstream_url, upstream_path, azure_instance, azure_deployment_id,
/// azure_api_version, gemini.*, bedrock.aws_region) must pass is_safe_url_value, else a 400 naming
/// the option.
result<model_config> resolve_model(const model_config& model, const template_source& source);

}  // namespace aiproxy::config
