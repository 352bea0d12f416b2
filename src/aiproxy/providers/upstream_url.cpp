// Upstream URL building (see upstream_url.hpp). Pure: Boost.URL only, no I/O.
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>

namespace aiproxy::providers {

std::string percent_encode(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

void query_builder::set(std::string_view key, std::string_view value, origin o) {
  std::string enc = percent_encode(key);
  enc.push_back('=');
  enc += percent_encode(value);
  const auto same = [&](const param& p) { return p.key == key; };
  const auto it = std::find_if(params_.begin(), params_.end(), same);
  if (it == params_.end()) {
    params_.push_back(param{std::string(key), std::move(enc), o});
    return;
  }
  *it = param{std::string(key), std::move(enc), o};
  params_.erase(std::remove_if(it + 1, params_.end(), same), params_.end());
}

result<void> query_builder::add_client_query(std::string_view raw) {
  if (raw.empty()) {
    return {};
  }
  auto parsed = boost::urls::parse_query(raw);
  if (!parsed) {
    return error::bad_request("the request's query string is not valid");
  }
  // Decisions are taken against the parameters that existed before the client's.
  const std::size_t before = params_.size();
  for (const auto& p : *parsed) {
    std::string key;
    p.key.decode({}, boost::urls::string_token::assign_to(key));
    std::string enc(p.key.data(), p.key.size());
    if (p.has_value) {
      enc.push_back('=');
      enc.append(p.value.data(), p.value.size());
    }
    const auto existing = std::find_if(params_.begin(), params_.begin() + before,
                                       [&](const param& q) { return q.key == key; });
    if (existing == params_.begin() + before) {
      params_.push_back(param{std::move(key), std::move(enc), origin::client});
    } else if (existing->from == origin::provider_default) {
      *existing = param{std::move(key), std::move(enc), origin::client};
    }  // else pinned: the configured value stays
  }
  return {};
}

bool query_builder::client_sent(std::string_view key) const {
  return std::any_of(params_.begin(), params_.end(),
                     [&](const param& p) { return p.from == origin::client && p.key == key; });
}

std::string query_builder::encoded() const {
  std::string out;
  for (const auto& p : params_) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += p.encoded;
  }
  return out;
}

std::string endpoint::target() const& {
  std::string t = path.empty() ? std::string("/") : path;
  std::string q = query.encoded();
  if (!q.empty()) {
    t.push_back('?');
    t += q;
  }
  return t;
}

std::string endpoint::target() && {
  std::string t = path.empty() ? std::string("/") : std::move(path);
  std::string q = query.encoded();
  if (!q.empty()) {
    t.push_back('?');
    t += q;
  }
  return t;
}

namespace {

/// What an upstream_url says, parsed once.
struct parsed_upstream_url {
  bool https = true;
  std::string host;
  std::uint16_t port = 443;
  std::string path;  // collapsed; empty when the URL has no path (the provider's path stays)
  std::vector<std::pair<std::string, std::optional<std::string>>> params;  // pinned, decoded
};

result<parsed_upstream_url> parse_upstream_url(std::string_view upstream_url) {
  auto parsed = boost::urls::parse_uri(upstream_url);
  if (!parsed) {
    return error::internal("model.options.upstream_url is not a valid URL");
  }
  const boost::urls::url_view& u = *parsed;
  const auto scheme = u.scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    return error::internal("model.options.upstream_url must use http or https");
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    return error::internal("model.options.upstream_url has no host");
  }
  parsed_upstream_url out;
  out.https = scheme == boost::urls::scheme::https;
  out.port = out.https ? 443 : 80;
  if (u.has_port() && !u.port().empty()) {
    if (u.port_number() == 0) {
      return error::internal("model.options.upstream_url has an invalid port");
    }
    out.port = u.port_number();
  }
  out.host = u.host_address();
  const std::string_view path = u.encoded_path();
  if (!path.empty() && path != "/") {
    // Collapse leading slashes (as Kong does) so the target stays origin-form.
    const auto first = path.find_first_not_of('/');
    out.path.assign(1, '/');
    out.path += path.substr(first == std::string_view::npos ? path.size() : first);
  }
  if (u.has_query()) {
    for (const auto& p : u.params()) {
      out.params.emplace_back(std::string(p.key), p.has_value ? std::optional<std::string>(p.value)
                                                              : std::optional<std::string>());
    }
  }
  return out;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// The parse of an upstream_url, memoised per thread: a configuration's URL is parsed on its
/// first request instead of on every one. Templated URLs make new strings, so the memo is
/// bounded (emptied when full).
const result<parsed_upstream_url>& parse_upstream_url_memo(std::string_view upstream_url) {
  constexpr std::size_t max_entries = 256;
  thread_local std::unordered_map<std::string, result<parsed_upstream_url>, string_hash,
                                  std::equal_to<>>
      memo;
  if (auto it = memo.find(upstream_url); it != memo.end()) {
    return it->second;
  }
  if (memo.size() >= max_entries) {
    memo.clear();
  }
  return memo.emplace(std::string(upstream_url), parse_upstream_url(upstream_url)).first->second;
}

}  // namespace

result<void> apply_upstream_url(endpoint& ep, std::string_view upstream_url) {
  const auto& parsed = parse_upstream_url_memo(upstream_url);
  if (!parsed) {
    return parsed.error();
  }
  const parsed_upstream_url& u = *parsed;
  ep.scheme = u.https ? "https" : "http";
  ep.host = u.host;
  ep.port = u.port;
  if (!u.path.empty()) {
    ep.path = u.path;
  }
  for (const auto& [key, value] : u.params) {
    ep.query.set(key, value ? std::string_view(*value) : std::string_view(),
                 query_builder::origin::pinned);
  }
  return {};
}

}  // namespace aiproxy::providers
