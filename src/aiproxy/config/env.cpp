// decK `${{ env "DECK_NAME" }}` substitution (see env.hpp). Reads the process environment only.

#include "aiproxy/config/env.hpp"

#include <cerrno>
#include <cstdlib>

namespace aiproxy::config {

namespace {

constexpr std::string_view opener = "${{";
constexpr std::string_view closer = "}}";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct cursor {
  std::string_view s;
  std::size_t i = 0;
  void skip_space() {
    while (i < s.size() && is_space(s[i])) {
      ++i;
    }
  }
  bool eat(std::string_view word) {
    if (s.substr(i, word.size()) == word) {
      i += word.size();
      return true;
    }
    return false;
  }
  bool at_end() const { return i >= s.size(); }
};

struct action {
  std::string name;
  std::string filter;  // "", "toBool", "toInt", "toFloat"
};

/// Parses the inside of `${{ ... }}`: `env "NAME"` with an optional `| filter`.
std::optional<action> parse_action(std::string_view body) {
  cursor c{body};
  c.skip_space();
  if (!c.eat("env")) {
    return std::nullopt;
  }
  std::size_t before = c.i;
  c.skip_space();
  if (c.i == before || c.at_end()) {
    return std::nullopt;
  }
  char quote = body[c.i];
  if (quote != '"' && quote != '`') {
    return std::nullopt;
  }
  std::size_t end = body.find(quote, c.i + 1);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  action a;
  a.name = std::string(body.substr(c.i + 1, end - c.i - 1));
  c.i = end + 1;
  c.skip_space();
  if (c.eat("|")) {
    c.skip_space();
    for (std::string_view f : {"toBool", "toInt", "toFloat"}) {
      if (c.eat(f)) {
        a.filter = std::string(f);
        break;
      }
    }
    if (a.filter.empty()) {
      return std::nullopt;
    }
    c.skip_space();
  }
  if (!c.at_end()) {
    return std::nullopt;
  }
  return a;
}

/// Applies a decK filter; returns nullopt when the value does not convert.
std::optional<std::string> apply_filter(const std::string& filter, const std::string& v) {
  if (filter.empty()) {
    return v;
  }
  if (filter == "toBool") {
    for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
      if (v == t) {
        return std::string("true");
      }
    }
    for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
      if (v == f) {
        return std::string("false");
      }
    }
    return std::nullopt;
  }
  if (v.empty()) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  if (filter == "toInt") {
    (void)std::strtoll(v.c_str(), &end, 10);
  } else {
    (void)std::strtod(v.c_str(), &end);
  }
  if (errno != 0 || end != v.c_str() + v.size()) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

bool has_env_placeholders(std::string_view value) noexcept {
  return value.find(opener) != std::string_view::npos;
}

env_substitution substitute_env(std::string_view value, bool lenient) {
  env_substitution out;
  std::size_t pos = 0;
  while (true) {
    std::size_t open = value.find(opener, pos);
    if (open == std::string_view::npos) {
      break;
    }
    std::size_t close = value.find(closer, open + opener.size());
    if (close == std::string_view::npos) {
      if (lenient) {
        break;
      }
      out.error = "unterminated '${{' in value: expected ${{ env \"DECK_NAME\" }}";
      return out;
    }
    std::string_view whole = value.substr(open, close + closer.size() - open);
    auto keep = [&] {
      out.text.append(value.substr(pos, close + closer.size() - pos));
      pos = close + closer.size();
    };
    auto a = parse_action(value.substr(open + opener.size(), close - open - opener.size()));
    if (!a) {
      if (lenient) {
        keep();
        continue;
      }
      out.error =
          "invalid substitution '" + std::string(whole) + "': expected ${{ env \"DECK_NAME\" }}";
      return out;
    }
    if (a->name.rfind("DECK_", 0) != 0) {
      if (lenient) {
        keep();
        continue;
      }
      out.error =
          "environment variables in the state file must be prefixed with 'DECK_', "
          "found: '" +
          a->name + "'";
      return out;
    }
    const char* env = std::getenv(a->name.c_str());
    if (env == nullptr) {
      if (lenient) {
        keep();
        continue;
      }
      out.error = "environment variable '" + a->name + "' present in state file but not set";
      return out;
    }
    auto converted = apply_filter(a->filter, env);
    if (!converted) {
      if (lenient) {
        keep();
        continue;
      }
      out.error = "environment variable '" + a->name + "' cannot be converted by " + a->filter;
      return out;
    }
    out.text.append(value.substr(pos, open - pos));
    out.text.append(*converted);
    out.substituted = true;
    pos = close + closer.size();
  }
  out.text.append(value.substr(pos));
  return out;
}

}  // namespace aiproxy::config
