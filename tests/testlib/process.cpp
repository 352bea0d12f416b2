// Child processes for integration tests (process.hpp): posix_spawn with redirected output files,
// waitpid polling under a deadline, signals. Touches only its own child and files.

#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace aiproxy::testlib {

namespace {

std::string temp_path(const char* tag) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/aiproxy-" + tag + "-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0)
    throw std::runtime_error("cannot create a temporary file " + path);
  ::close(fd);
  return path;
}

exit_status decode(int status) {
  exit_status s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

}  // namespace

std::string exit_status::describe() const {
  if (exited)
    return "exited with code " + std::to_string(code);
  return std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

process::process(process_options options) {
  stdout_path_ = options.stdout_path;
  stderr_path_ = options.stderr_path;
  if (stdout_path_.empty()) {
    stdout_path_ = temp_path("stdout");
    remove_stdout_ = !options.keep_output;
  }
  if (stderr_path_.empty()) {
    stderr_path_ = temp_path("stderr");
    remove_stderr_ = !options.keep_output;
  }

  std::vector<std::string> argv_store;
  argv_store.push_back(options.program);
  for (auto& a : options.args)
    argv_store.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_store)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  std::map<std::string, std::string> env_map;
  if (options.inherit_env) {
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      auto eq = kv.find('=');
      if (eq == std::string_view::npos)
        continue;
      env_map[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
  }
  for (auto& [k, v] : options.env)
    env_map[k] = v;
  std::vector<std::string> env_store;
  for (auto& [k, v] : env_map)
    env_store.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_store)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child gets default signal handling and its own process group.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

  const bool search = options.program.find('/') == std::string::npos;
  int rc =
      search
          ? posix_spawnp(&pid_, options.program.c_str(), &actions, &attr, argv.data(), envp.data())
          : posix_spawn(&pid_, options.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + options.program + ": " + std::strerror(rc));
  }
}

process::~process() {
  if (pid_ > 0 && !status_)
    kill();
  if (remove_stdout_)
    ::unlink(stdout_path_.c_str());
  if (remove_stderr_)
    ::unlink(stderr_path_.c_str());
}

bool process::reap(bool block) {
  if (status_ || pid_ <= 0)
    return true;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = decode(st);
    return true;
  }
  return false;
}

bool process::running() {
  return !reap(false);
}

void process::signal(int sig) {
  if (pid_ > 0 && !status_)
    ::kill(pid_, sig);
}

std::optional<exit_status> process::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

exit_status process::kill() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  return status_.value_or(exit_status{});
}

std::string process::stdout_text() const {
  return read_file(stdout_path_);
}
std::string process::stderr_text() const {
  return read_file(stderr_path_);
}

std::optional<std::string> process::wait_for_output(std::string_view needle,
                                                    std::chrono::milliseconds timeout,
                                                    bool from_stderr) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const bool alive = running();  // before reading, so that output written just before exit counts
    std::string text = from_stderr ? stderr_text() : stdout_text();
    if (auto pos = text.find(needle); pos != std::string::npos) {
      auto begin = text.rfind('\n', pos);
      begin = begin == std::string::npos ? 0 : begin + 1;
      auto end = text.find('\n', pos);
      return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    }
    if (!alive || std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace aiproxy::testlib
