#pragma once
// The process log (startup, reloads, shutdown, warnings) on stderr. Request logs are not here:
// they go through observability::log_writer. The level is set once at startup.

#include <string_view>

namespace aiproxy::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

/// Parses "debug", "info", "notice" (= info), "warn", "error", "crit" (= error).
bool parse_level(std::string_view text, level& out);
void set_level(level l);
bool enabled(level l);
/// One line: "<UTC time> [<level>] <message>".
void write(level l, std::string_view message);

inline void debug(std::string_view m) {
  write(level::debug, m);
}
inline void info(std::string_view m) {
  write(level::info, m);
}
inline void warn(std::string_view m) {
  write(level::warn, m);
}
inline void error(std::string_view m) {
  write(level::error, m);
}

}  // namespace aiproxy::log
