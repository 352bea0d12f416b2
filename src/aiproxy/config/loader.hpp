#pragma once
// Loads a Kong declarative file (decK `_format_version: "3.0"`) into a validated, immutable
// gateway_config. Throws only while loading, and only invalid_config (a config_error) listing
// every problem found with the path where it sits in the file. Pure: reads the file and the
// process environment (decK `${{ env "DECK_X" }}`), nothing else; no Asio.

#include <string>
#include <string_view>
#include <vector>

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"

namespace aiproxy::config {

/// One problem of a configuration file: where it is (`plugins[2].config.model.provider`; empty
/// for the file itself) and what is wrong, in Kong's words where Kong has words for it. Never
/// holds a value that came from an environment variable.
struct problem {
  std::string path;
  std::string message;
};

class invalid_config : public aiproxy::config_error {
 public:
  /// what() is one "path: message" line per problem.
  explicit invalid_config(std::vector<problem> problems);
  const std::vector<problem>& problems() const noexcept { return problems_; }

 private:
  std::vector<problem> problems_;
};

/// Reads and loads `path`. Throws invalid_config.
gateway_config load_config_file(const std::string& path);

/// Loads YAML (or JSON) text; `source_name` names it in YAML syntax errors. Throws invalid_config.
gateway_config load_config_string(std::string_view yaml, std::string_view source_name);

}  // namespace aiproxy::config
