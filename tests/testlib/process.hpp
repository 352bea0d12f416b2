#pragma once
// A child process for integration tests: started with posix_spawn (args and environment), its
// stdout and stderr captured to files, waited on with a deadline, signalled, and killed when the
// object goes away. Touches only the child it started and its two output files.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace aiproxy::testlib {

struct process_options {
  std::string program{};                                   // a path, or a name looked up in PATH
  std::vector<std::string> args{};                         // argv[1..]
  std::vector<std::pair<std::string, std::string>> env{};  // set (or override) in the child
  bool inherit_env = true;                                 // start from this process's environment
  std::string stdout_path{};                               // empty = a new temporary file
  std::string stderr_path{};                               // empty = a new temporary file
  bool keep_output = false;  // keep temporary output files after destruction
};

struct exit_status {
  bool exited = false;  // true: `code` is the exit code; false: killed by `signal`
  int code = 0;
  int signal = 0;
  bool success() const noexcept { return exited && code == 0; }
  std::string describe() const;
};

class process {
 public:
  /// Starts the child; throws std::runtime_error when it cannot be spawned.
  explicit process(process_options options);
  /// Kills (SIGKILL) a child that still runs and reaps it.
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  bool running();
  /// Sends `sig` to the child (no-op once it has been reaped).
  void signal(int sig);
  /// Waits until the child exits or `timeout` passes; nullopt if it still runs.
  std::optional<exit_status> wait_for(std::chrono::milliseconds timeout);
  /// SIGKILL and reap.
  exit_status kill();

  const std::string& stdout_path() const noexcept { return stdout_path_; }
  const std::string& stderr_path() const noexcept { return stderr_path_; }
  std::string stdout_text() const;
  std::string stderr_text() const;
  /// Waits until the captured stdout or stderr (`from_stderr`) holds `needle`; returns the whole
  /// line that holds it, or nullopt when `timeout` passes or the child exits first.
  std::optional<std::string> wait_for_output(std::string_view needle,
                                             std::chrono::milliseconds timeout,
                                             bool from_stderr = true);

 private:
  bool reap(bool block);

  pid_t pid_ = -1;
  std::optional<exit_status> status_;
  std::string stdout_path_;
  std::string stderr_path_;
  bool remove_stdout_ = false;
  bool remove_stderr_ = false;
};

/// The whole content of a file ("" when it cannot be read).
std::string read_file(const std::string& path);

}  // namespace aiproxy::testlib
