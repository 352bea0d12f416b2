// The route matcher (see router.hpp). Kong's traditional_compatible priority, per path group:
//   1. match weight: one point each for methods, hosts, headers, paths present on the route;
//   2. plain hosts only (no wildcard) before wildcard hosts;
//   3. more headers first;
//   4. a regex path before prefix paths; regexes by regex_priority, prefixes by length (longest
//      first). Remaining ties keep file order.
// Like Kong, a route whose paths mix regexes and prefixes of different lengths is split into one
// candidate per group so each path gets its own priority. The only regex engine is Boost.Regex
// (perl syntax, named groups); its built-in state-count limit bounds catastrophic patterns and a
// limit hit counts as "no match". Path normalization follows RFC 3986 as Kong's does; it is a
// small loop written here because Boost.URL's normalize does not merge slashes or decode the
// "other" characters the way Kong does.

#include "aiproxy/config/router.hpp"

// Bounds the work of one regex match (Boost.Regex throws when a match needs more states than
// this, or than its own estimate from the pattern and input sizes). Only this file includes
// Boost.Regex, so the limit is the same for every match in the program.
#define BOOST_REGEX_MAX_STATE_COUNT 1000000
#include <boost/regex.hpp>

#include <algorithm>
#include <cctype>
#include <tuple>

namespace aiproxy::config {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool is_reserved(unsigned char c) {
  constexpr std::string_view reserved = "!*'();:@&=+$,/?%#[]";
  return reserved.find(static_cast<char>(c)) != std::string_view::npos;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

char lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = lower_ascii(c);
  }
  return out;
}

/// Characters Kong leaves unescaped when forwarding a path; everything else is %XX.
bool safe_in_upstream_path(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  constexpr std::string_view safe = "!#$&'()*+,/:;=?@[]-_.~%";
  return safe.find(static_cast<char>(c)) != std::string_view::npos;
}

/// `p` with every character Kong would not forward as it is percent-encoded; the string itself
/// (no copy) when there is none, the usual case.
std::string escape_path(std::string p) {
  if (std::all_of(p.begin(), p.end(),
                  [](char c) { return safe_in_upstream_path(static_cast<unsigned char>(c)); })) {
    return p;
  }
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(p.size() + 8);
  for (char ch : p) {
    auto c = static_cast<unsigned char>(ch);
    if (safe_in_upstream_path(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    }
  }
  return out;
}

/// The path of a request target: up to a '?' or '#', if any. (Two memchr scans cost less than
/// find_first_of, which looks each byte up in the set.)
std::string_view without_query(std::string_view target) {
  return target.substr(0, std::min(target.find('?'), target.find('#')));
}

/// Kong's sanitize_uri_postfix.
std::string_view sanitize_postfix(std::string_view p) {
  if (p == "." || p == "..") {
    return {};
  }
  if (starts_with(p, "./")) {
    return p.substr(2);
  }
  if (starts_with(p, "../")) {
    return p.substr(3);
  }
  return p;
}

/// Kong's get_upstream_uri_v0: joins the service path and the (stripped) request path.
std::string join_v0(bool strip, std::string_view postfix, std::string_view req,
                    std::string_view base) {
  std::string b(base);
  if (!base.empty() && base.back() == '/') {
    if (strip) {
      if (postfix.empty()) {
        if (base == "/") {
          return "/";
        }
        if (!req.empty() && req.back() == '/') {
          return b;
        }
        return b.substr(0, b.size() - 1);
      }
      if (postfix.front() == '/') {
        return b.substr(0, b.size() - 1) + std::string(postfix);
      }
      return b + std::string(postfix);
    }
    return b + std::string(req.substr(req.empty() ? 0 : 1));
  }
  if (strip) {
    if (postfix.empty()) {
      if (req.size() > 1 && req.back() == '/') {
        return b + "/";
      }
      return b;
    }
    if (postfix.front() == '/') {
      return b + std::string(postfix);
    }
    return b + "/" + std::string(postfix);
  }
  if (req == "/") {
    return b;
  }
  return b + std::string(req);
}

/// Names of the named groups of a perl-syntax pattern, in order of appearance:
/// (?<name>...), (?P<name>...) and (?'name'...). Escapes and character classes are skipped.
std::vector<std::string> named_groups(std::string_view re) {
  std::vector<std::string> names;
  bool in_class = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_class) {
      in_class = c != ']';
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (i + 1 < re.size() && re[i + 1] == ']') {
        ++i;  // "[]...]": a leading "]" is literal
      }
      continue;
    }
    if (c != '(' || i + 2 >= re.size() || re[i + 1] != '?') {
      continue;
    }
    std::size_t j = i + 2;
    char close = '>';
    if (re[j] == 'P' && j + 1 < re.size() && re[j + 1] == '<') {
      j += 2;
    } else if (re[j] == '<') {
      j += 1;
    } else if (re[j] == '\'') {
      j += 1;
      close = '\'';
    } else {
      continue;
    }
    if (j >= re.size() || !(std::isalpha(static_cast<unsigned char>(re[j])) || re[j] == '_')) {
      continue;  // lookbehind "(?<=" / "(?<!"
    }
    std::size_t end = re.find(close, j);
    if (end == std::string_view::npos) {
      continue;
    }
    names.emplace_back(re.substr(j, end - j));
    i = end;
  }
  return names;
}

constexpr auto regex_flags = boost::regex_constants::perl;

/// Boost.Regex spells named groups (?<name>...); PCRE and Kong's router also accept the Python
/// spelling (?P<name>...), so rewrite it (outside escapes) before compiling.
std::string to_boost_syntax(std::string_view re) {
  std::string out;
  out.reserve(re.size());
  for (std::size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '\\' && i + 1 < re.size()) {
      out.push_back(re[i]);
      out.push_back(re[++i]);
      continue;
    }
    if (re.compare(i, 4, "(?P<") == 0) {
      out.append("(?<");
      i += 3;
      continue;
    }
    out.push_back(re[i]);
  }
  return out;
}

boost::regex compile(std::string_view pattern, boost::regex_constants::syntax_option_type flags) {
  return boost::regex(to_boost_syntax(pattern), flags);
}

struct host_rule {
  enum class kind { exact, suffix, prefix } how = kind::exact;
  std::string text;  // lower case; for suffix ".example.com", for prefix "example."
  std::string port;  // empty = any
};

struct header_rule {
  std::string name;                    // lower case
  std::vector<std::string> values;     // lower case, exact
  std::vector<boost::regex> patterns;  // from "~*" values, case-insensitive search
};

enum class path_kind { none, prefix, regex };

struct candidate_path {
  std::string text;  // prefix, or the regex without "~"
  std::shared_ptr<const boost::regex> re;
  std::vector<std::string> names;
};

struct candidate {
  std::size_t route = 0;
  std::size_t order = 0;
  path_kind kind = path_kind::none;
  std::vector<candidate_path> paths;  // one group: all regexes, or prefixes of one length
  std::vector<std::string> methods;
  std::vector<host_rule> hosts;
  std::vector<header_rule> headers;
  bool strip_path = true;
  std::string service_path;
  // priority key, compared descending
  int weight = 0;
  bool plain_hosts = false;
  std::size_t header_count = 0;
  bool regex = false;
  std::int64_t regex_priority = 0;
  std::size_t length = 0;
};

std::pair<std::string, std::string> split_host_port(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    std::size_t close = h.find(']');
    if (close != std::string_view::npos) {
      std::string_view rest = h.substr(close + 1);
      std::string port = starts_with(rest, ":") ? std::string(rest.substr(1)) : std::string();
      return {lower(h.substr(0, close + 1)), port};
    }
  }
  std::size_t colon = h.find(':');
  if (colon != std::string_view::npos && h.find(':', colon + 1) == std::string_view::npos) {
    return {lower(h.substr(0, colon)), std::string(h.substr(colon + 1))};
  }
  return {lower(h), {}};
}

host_rule make_host_rule(std::string_view h) {
  auto [host, port] = split_host_port(h);
  host_rule r;
  r.port = port;
  if (starts_with(host, "*")) {
    r.how = host_rule::kind::suffix;
    r.text = host.substr(1);
  } else if (!host.empty() && host.back() == '*') {
    r.how = host_rule::kind::prefix;
    r.text = host.substr(0, host.size() - 1);
  } else {
    r.text = host;
  }
  return r;
}

bool host_matches(const host_rule& r, std::string_view host, std::string_view port) {
  if (!r.port.empty() && r.port != port) {
    return false;
  }
  switch (r.how) {
    case host_rule::kind::exact:
      return host == r.text;
    case host_rule::kind::suffix:
      return host.size() > r.text.size() && host.substr(host.size() - r.text.size()) == r.text;
    case host_rule::kind::prefix:
      return host.size() > r.text.size() && starts_with(host, r.text);
  }
  return false;
}

bool header_matches(const header_rule& rule, const header_list& headers) {
  for (const auto& [name, value] : headers.fields()) {
    if (!iequals(name, rule.name)) {
      continue;
    }
    for (const auto& want : rule.values) {
      if (iequals(value, want)) {  // `want` is lower case
        return true;
      }
    }
    for (const auto& re : rule.patterns) {
      try {
        if (boost::regex_search(value.begin(), value.end(), re)) {
          return true;
        }
      } catch (const std::exception&) {
        // complexity limit reached: not a match
      }
    }
  }
  return false;
}

}  // namespace

bool is_normalized_path(std::string_view in) noexcept {
  // Nothing to decode, resolve or merge without a '%', a '.' or a "//" (memchr-based scans).
  return in.find('%') == std::string_view::npos && in.find('.') == std::string_view::npos &&
         in.find("//") == std::string_view::npos;
}

std::string normalize_path(std::string_view in) {
  if (is_normalized_path(in) || in == "/") {
    return std::string(in);
  }
  std::string decoded;
  decoded.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        auto v = static_cast<unsigned char>(hi * 16 + lo);
        if (is_reserved(v)) {
          static constexpr char digits[] = "0123456789ABCDEF";
          decoded.push_back('%');
          decoded.push_back(digits[hi]);
          decoded.push_back(digits[lo]);
        } else {
          decoded.push_back(static_cast<char>(v));
        }
        i += 2;
        continue;
      }
    }
    decoded.push_back(in[i]);
  }

  static constexpr std::string_view slash = "/";
  std::vector<std::string_view> out;
  std::string_view u = decoded;
  while (!u.empty()) {
    if (u == "/.") {
      u = slash;
    } else if (u == "/..") {
      u = slash;
      if (!out.empty()) {
        out.pop_back();
      }
    } else if (u == "." || u == "..") {
      u = {};
    } else if (starts_with(u, "../")) {
      u.remove_prefix(3);
    } else if (starts_with(u, "./")) {
      u.remove_prefix(2);
    } else if (starts_with(u, "/./")) {
      u.remove_prefix(2);
    } else if (starts_with(u, "/../")) {
      u.remove_prefix(3);
      if (!out.empty()) {
        out.pop_back();
      }
    } else if (starts_with(u, "//")) {
      u.remove_prefix(1);
    } else {
      std::size_t next = u.find('/', 1);
      out.push_back(u.substr(0, next));
      u = next == std::string_view::npos ? std::string_view{} : u.substr(next);
    }
  }
  std::string result;
  for (auto seg : out) {
    result.append(seg);
  }
  if (result.empty()) {
    result = "/";
  }
  return result;
}

std::optional<std::string> check_route_regex(std::string_view pattern) {
  try {
    boost::regex re = compile(pattern, regex_flags);
    (void)re;
  } catch (const std::exception& e) {
    std::string why = e.what();  // Boost appends "  The error occurred while parsing ..."
    if (auto cut = why.find("  The error occurred"); cut != std::string::npos) {
      why.resize(cut);
    }
    return why;
  }
  return std::nullopt;
}

struct router::impl {
  std::vector<candidate> candidates;
  bool any_hosts = false;  // whether any candidate looks at the Host header
};

router::router(const gateway_config& config) : impl_(std::make_unique<impl>()) {
  std::size_t order = 0;
  for (std::size_t ri = 0; ri < config.routes.size(); ++ri) {
    const route& r = config.routes[ri];
    std::string service_path;
    if (r.service) {
      if (*r.service >= config.services.size() || !config.services[*r.service].enabled) {
        continue;  // routes of a disabled service are not matched (as Kong)
      }
      service_path = config.services[*r.service].path;
    }

    candidate base;
    base.route = ri;
    base.methods = r.methods;
    for (const auto& h : r.hosts) {
      base.hosts.push_back(make_host_rule(h));
    }
    for (const auto& [name, values] : r.headers) {
      header_rule rule;
      rule.name = lower(name);
      for (const auto& v : values) {
        if (starts_with(v, "~*")) {
          try {
            rule.patterns.push_back(
                compile(v.substr(2), regex_flags | boost::regex_constants::icase));
          } catch (const std::exception&) {
            // rejected by the loader; a directly built config simply never matches it
          }
        } else {
          rule.values.push_back(lower(v));
        }
      }
      base.headers.push_back(std::move(rule));
    }
    base.strip_path = r.strip_path;
    base.service_path = service_path;
    base.weight = (r.methods.empty() ? 0 : 1) + (r.hosts.empty() ? 0 : 1) +
                  (r.headers.empty() ? 0 : 1) + (r.paths.empty() ? 0 : 1);
    base.plain_hosts =
        !r.hosts.empty() && std::none_of(r.hosts.begin(), r.hosts.end(), [](const std::string& h) {
          return h.find('*') != std::string::npos;
        });
    base.header_count = r.headers.size();

    if (r.paths.empty()) {
      base.order = order++;
      impl_->candidates.push_back(std::move(base));
      continue;
    }
    // Group the paths: all regexes together, prefixes by length (Kong's split by path).
    std::vector<candidate> groups;
    for (const auto& p : r.paths) {
      bool is_regex = starts_with(p, "~");
      candidate_path cp;
      if (is_regex) {
        cp.text = p.substr(1);
        try {
          cp.re = std::make_shared<const boost::regex>(compile(cp.text, regex_flags));
        } catch (const std::exception&) {
          continue;
        }
        cp.names = named_groups(cp.text);
      } else {
        cp.text = p;
      }
      auto it = std::find_if(groups.begin(), groups.end(), [&](const candidate& g) {
        return is_regex ? g.regex : (!g.regex && g.length == cp.text.size());
      });
      if (it == groups.end()) {
        candidate g = base;
        g.kind = is_regex ? path_kind::regex : path_kind::prefix;
        g.regex = is_regex;
        g.regex_priority = is_regex ? r.regex_priority : 0;
        g.length = is_regex ? 0 : cp.text.size();
        g.order = order++;
        groups.push_back(std::move(g));
        it = groups.end() - 1;
      }
      it->paths.push_back(std::move(cp));
    }
    for (auto& g : groups) {
      impl_->candidates.push_back(std::move(g));
    }
  }
  impl_->any_hosts = std::any_of(impl_->candidates.begin(), impl_->candidates.end(),
                                 [](const candidate& c) { return !c.hosts.empty(); });
  std::stable_sort(impl_->candidates.begin(), impl_->candidates.end(),
                   [](const candidate& a, const candidate& b) {
                     auto key = [](const candidate& c) {
                       return std::make_tuple(c.weight, c.plain_hosts, c.header_count, c.regex,
                                              c.regex_priority, c.length);
                     };
                     if (key(a) != key(b)) {
                       return key(a) > key(b);
                     }
                     return a.order < b.order;
                   });
}

router::~router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;

std::optional<route_match> router::match(std::string_view method, std::string_view host,
                                         std::string_view path, const header_list& headers) const {
  path = without_query(path);
  if (path.empty()) {
    path = "/";
  }
  // The usual path is already normal: matched in place, not copied.
  std::string normalized;
  std::string_view req = path;
  if (!is_normalized_path(path)) {
    normalized = normalize_path(path);
    req = normalized;
  }
  std::string req_host, req_port;  // only split and lower-cased when some route has hosts
  if (impl_->any_hosts) {
    std::tie(req_host, req_port) = split_host_port(host);
    if (!req_host.empty() && req_host.back() == '.') {
      req_host.pop_back();  // the last dot of an FQDN is not used for routing
    }
  }

  for (const candidate& c : impl_->candidates) {
    if (!c.methods.empty() &&
        std::find(c.methods.begin(), c.methods.end(), method) == c.methods.end()) {
      continue;
    }
    if (!c.hosts.empty() && std::none_of(c.hosts.begin(), c.hosts.end(), [&](const host_rule& r) {
          return host_matches(r, req_host, req_port);
        })) {
      continue;
    }
    if (std::any_of(c.headers.begin(), c.headers.end(),
                    [&](const header_rule& h) { return !header_matches(h, headers); })) {
      continue;
    }

    route_match m;
    m.route = c.route;
    std::optional<std::string_view> matched_path;  // into `req` or the candidate's prefix
    if (c.kind == path_kind::prefix) {
      for (const auto& p : c.paths) {
        if (starts_with(req, p.text)) {
          matched_path = p.text;
          break;
        }
      }
      if (!matched_path) {
        continue;
      }
    } else if (c.kind == path_kind::regex) {
      for (const auto& p : c.paths) {
        boost::match_results<std::string_view::const_iterator> what;
        bool ok = false;
        try {
          ok = boost::regex_search(req.begin(), req.end(), what, *p.re, boost::match_continuous);
        } catch (const std::exception&) {
          ok = false;  // complexity limit reached
        }
        if (!ok) {
          continue;
        }
        matched_path = req.substr(static_cast<std::size_t>(what[0].first - req.begin()),
                                  static_cast<std::size_t>(what[0].length()));
        for (std::size_t i = 1; i < what.size(); ++i) {
          if (what[i].matched) {
            m.uri_captures.emplace_back(std::to_string(i), what[i].str());
          }
        }
        for (const auto& name : p.names) {
          const auto& sub = what[name];
          if (sub.matched) {
            m.uri_captures.emplace_back(name, sub.str());
          }
        }
        break;
      }
      if (!matched_path) {
        continue;
      }
    }

    std::string_view prefix =
        (c.strip_path && matched_path) ? *matched_path : std::string_view("/");
    std::string_view postfix = sanitize_postfix(req.substr(std::min(prefix.size(), req.size())));
    std::string_view base = c.service_path.empty() ? std::string_view("/") : c.service_path;
    m.upstream_path = escape_path(join_v0(c.strip_path, postfix, req, base));
    return m;
  }
  return std::nullopt;
}

}  // namespace aiproxy::config
