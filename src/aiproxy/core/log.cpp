#include "aiproxy/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace aiproxy::log {

namespace {
std::atomic<int> current_level{static_cast<int>(level::info)};

constexpr std::string_view names[] = {"debug", "info", "warn", "error"};
}  // namespace

bool parse_level(std::string_view text, level& out) {
  if (text == "debug") {
    out = level::debug;
  } else if (text == "info" || text == "notice") {
    out = level::info;
  } else if (text == "warn") {
    out = level::warn;
  } else if (text == "error" || text == "crit" || text == "alert" || text == "emerg") {
    out = level::error;
  } else {
    return false;
  }
  return true;
}

void set_level(level l) {
  current_level.store(static_cast<int>(l), std::memory_order_relaxed);
}

bool enabled(level l) {
  return static_cast<int>(l) >= current_level.load(std::memory_order_relaxed);
}

void write(level l, std::string_view message) {
  if (!enabled(l)) {
    return;
  }
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line;
  line.reserve(message.size() + 40);
  line.append(when).append(" [").append(names[static_cast<int>(l)]).append("] ");
  line.append(message).push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace aiproxy::log
