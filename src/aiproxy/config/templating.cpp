// `$(source.key)` placeholders: parsing, load-time checks, rendering and the URL safety rule.
// Pure: touches only config structs and core/error.

#include "aiproxy/config/templating.hpp"

#include <functional>
#include <vector>

namespace aiproxy::config {

namespace {

constexpr std::string_view open_token = "$(";

/// One `$(...)` occurrence: [begin, end) covers the whole placeholder in the string.
struct placeholder {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view expression;  // between "$(" and ")"
};

/// Finds the next placeholder at or after `from` (Kong's `%$%((.-)%)`: the shortest text up to the
/// first ")"). An opening "$(" without a closing ")" is plain text.
std::optional<placeholder> next_placeholder(std::string_view s, std::size_t from) {
  std::size_t open = s.find(open_token, from);
  if (open == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t close = s.find(')', open + open_token.size());
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  return placeholder{open, close + 1,
                     s.substr(open + open_token.size(), close - open - open_token.size())};
}

struct expression {
  std::string_view source;
  std::string_view key;
};

/// `source.key` with exactly one dot and both parts non-empty.
std::optional<expression> parse_expression(std::string_view e) {
  std::size_t dot = e.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == e.size() ||
      e.find('.', dot + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return expression{e.substr(0, dot), e.substr(dot + 1)};
}

bool known_source(std::string_view s) {
  return s == "headers" || s == "uri_captures" || s == "query_params";
}

std::string cannot_parse(std::string_view field) {
  return "cannot parse expression for field '" + std::string(field) + "'";
}

std::string not_supported(std::string_view source) {
  return "source '" + std::string(source) + "' is not supported";
}

/// The host-suffix rule shared by URL hosts and bare host options.
std::optional<std::string> check_host_part(std::string_view host, std::string_view what) {
  std::size_t last_end = 0;
  bool any = false;
  for (auto p = next_placeholder(host, 0); p; p = next_placeholder(host, p->end)) {
    any = true;
    last_end = p->end;
  }
  if (!any) {
    return std::nullopt;
  }
  std::string_view suffix = host.substr(last_end);
  // ".<domain>" where <domain> is fixed text containing a dot, e.g. ".example.com".
  if (suffix.size() < 2 || suffix.front() != '.' || suffix.find('.', 1) == std::string_view::npos ||
      suffix.back() == '.' || suffix.find("$(") != std::string_view::npos) {
    return "a placeholder in the host of " + std::string(what) +
           " must be followed by a fixed domain that contains a dot, e.g. "
           "'$(uri_captures.region).example.com'";
  }
  return std::nullopt;
}

}  // namespace

bool has_placeholders(std::string_view s) noexcept {
  return next_placeholder(s, 0).has_value();
}

std::optional<std::string> check_template(std::string_view value) {
  for (auto p = next_placeholder(value, 0); p; p = next_placeholder(value, p->end)) {
    auto e = parse_expression(p->expression);
    if (!e) {
      return cannot_parse(value);
    }
    if (!known_source(e->source)) {
      return not_supported(e->source);
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_host_template(std::string_view host) {
  return check_host_part(host, "this option");
}

std::optional<std::string> check_url_template(std::string_view url) {
  if (!has_placeholders(url)) {
    return std::nullopt;
  }
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return "missing scheme in url";
  }
  if (has_placeholders(url.substr(0, scheme_end))) {
    return "placeholders are not allowed in the scheme of upstream_url";
  }
  std::string_view rest = url.substr(scheme_end + 3);
  // The authority ends at the first "/", "?" or "#" that is outside a placeholder.
  std::size_t i = 0;
  std::size_t authority_end = rest.size();
  while (i < rest.size()) {
    if (rest.compare(i, open_token.size(), open_token) == 0) {
      std::size_t close = rest.find(')', i);
      if (close == std::string_view::npos) {
        break;
      }
      i = close + 1;
      continue;
    }
    if (rest[i] == '/' || rest[i] == '?' || rest[i] == '#') {
      authority_end = i;
      break;
    }
    ++i;
  }
  std::string_view authority = rest.substr(0, authority_end);
  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    if (has_placeholders(authority.substr(0, at))) {
      return "placeholders are not allowed in the userinfo of upstream_url";
    }
    authority = authority.substr(at + 1);
  }
  // The port starts at the last ":" outside placeholders (and after "]" for an IPv6 literal).
  std::size_t colon = std::string_view::npos;
  for (std::size_t j = 0; j < authority.size(); ++j) {
    if (authority.compare(j, open_token.size(), open_token) == 0) {
      std::size_t close = authority.find(')', j);
      if (close == std::string_view::npos) {
        break;
      }
      j = close;
      continue;
    }
    if (authority[j] == ']') {
      colon = std::string_view::npos;
    } else if (authority[j] == ':') {
      colon = j;
    }
  }
  std::string_view host = authority.substr(0, colon);
  if (colon != std::string_view::npos && has_placeholders(authority.substr(colon + 1))) {
    return "placeholders are not allowed in the port of upstream_url";
  }
  if (auto err = check_host_part(host, "upstream_url")) {
    return err;
  }
  return std::nullopt;
}

bool is_safe_url_value(std::string_view value) noexcept {
  if (value.empty() || value == "." || value == "..") {
    return false;
  }
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

namespace {

using value_check = std::function<bool(std::string_view)>;

result<std::string> render(std::string_view tmpl, const template_source& source,
                           const value_check* check) {
  std::string out;
  std::size_t pos = 0;
  for (auto p = next_placeholder(tmpl, 0); p; p = next_placeholder(tmpl, p->end)) {
    out.append(tmpl.substr(pos, p->begin - pos));
    auto e = parse_expression(p->expression);
    if (!e) {
      return error::bad_request(cannot_parse(tmpl));
    }
    std::optional<std::string_view> value;
    if (e->source == "headers") {
      value = source.header(e->key);
    } else if (e->source == "uri_captures") {
      value = source.uri_capture(e->key);
    } else if (e->source == "query_params") {
      value = source.query_param(e->key);
    } else {
      return error::bad_request(not_supported(e->source));
    }
    if (!value) {
      return error::bad_request(std::string(e->source) + " key " + std::string(e->key) +
                                " was not provided");
    }
    if (check != nullptr && !(*check)(*value)) {
      return error::bad_request({});  // message filled in by the caller, which knows the option
    }
    out.append(*value);
    pos = p->end;
  }
  out.append(tmpl.substr(pos));
  return out;
}

}  // namespace

result<std::string> render_template(std::string_view tmpl, const template_source& source) {
  return render(tmpl, source, nullptr);
}

result<model_config> resolve_model(const model_config& model, const template_source& source) {
  model_config out = model;
  const value_check url_check = [](std::string_view v) { return is_safe_url_value(v); };

  struct item {
    std::string* field;
    std::string_view option;
    bool url_forming;
  };
  model_options& o = out.options;
  const item items[] = {
      {&out.name, "model.name", false},
      {&o.anthropic_version, "model.options.anthropic_version", false},
      {&o.azure_instance, "model.options.azure_instance", true},
      {&o.azure_api_version, "model.options.azure_api_version", true},
      {&o.azure_deployment_id, "model.options.azure_deployment_id", true},
      {&o.llama2_format, "model.options.llama2_format", false},
      {&o.mistral_format, "model.options.mistral_format", false},
      {&o.upstream_url, "model.options.upstream_url", true},
      {&o.upstream_path, "model.options.upstream_path", true},
      {&o.mock.reply, "model.options.mock.reply", false},
      {&o.gemini.api_endpoint, "model.options.gemini.api_endpoint", true},
      {&o.gemini.project_id, "model.options.gemini.project_id", true},
      {&o.gemini.location_id, "model.options.gemini.location_id", true},
      {&o.gemini.endpoint_id, "model.options.gemini.endpoint_id", true},
      {&o.bedrock.aws_region, "model.options.bedrock.aws_region", true},
      {&o.bedrock.aws_assume_role_arn, "model.options.bedrock.aws_assume_role_arn", false},
      {&o.bedrock.aws_role_session_name, "model.options.bedrock.aws_role_session_name", false},
      {&o.bedrock.aws_sts_endpoint_url, "model.options.bedrock.aws_sts_endpoint_url", true},
      {&o.bedrock.performance_config_latency, "model.options.bedrock.performance_config_latency",
       false},
      {&o.cohere.embedding_input_type, "model.options.cohere.embedding_input_type", false},
  };
  for (const item& it : items) {
    if (it.field->empty() || !has_placeholders(*it.field)) {
      continue;
    }
    auto rendered = render(*it.field, source, it.url_forming ? &url_check : nullptr);
    if (!rendered) {
      error e = rendered.error();
      if (e.message.empty()) {
        e.message = "template value for '" + std::string(it.option) +
                    "' is not allowed: values substituted into a URL must match "
                    "[A-Za-z0-9._~-]+ and not be '.' or '..'";
      }
      return e;
    }
    *it.field = std::move(*rendered);
  }
  return out;
}

}  // namespace aiproxy::config
