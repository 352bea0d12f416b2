// redis_server (redis_server.hpp): finds a free port by binding port 0, spawns redis-server
// through testlib::process, polls PING over a plain socket under a deadline. Touches only its
// own child and temporary directory.

#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace aiproxy::testlib {

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("redis_server: cannot open a socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("redis_server: cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True when the server at `port` answers an inline PING (+PONG, or -NOAUTH when it wants AUTH).
bool answers_ping(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  timeval tv{0, 200 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const char ping[] = "PING\r\n";
    if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof ping - 1)) {
      char buf[64];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      std::string_view got(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
      ok = got.starts_with("+PONG") || got.starts_with("-NOAUTH");
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

std::string redis_server::find_binary() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (dir.empty())
        continue;
      std::string candidate = dir + "/redis-server";
      if (::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
  }
  if (::access("/usr/bin/redis-server", X_OK) == 0)
    return "/usr/bin/redis-server";
  return {};
}

redis_server::redis_server(redis_server_options options) : options_(std::move(options)) {
  binary_ = find_binary();
  if (binary_.empty())
    throw std::runtime_error(
        "redis-server is not installed (not in PATH nor /usr/bin): the Redis tests need a real "
        "server; install it with scripts/install-deps.sh (Debian package redis-server)");
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/aiproxy-redis-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("redis_server: cannot create a temporary directory");
  dir_ = tmpl;
  std::string why;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (try_start(free_port(), why))
      return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  throw std::runtime_error("redis_server: redis-server would not start: " + why);
}

redis_server::~redis_server() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool redis_server::try_start(int port, std::string& why) {
  process_options opts;
  opts.program = binary_;
  opts.args = {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save",
               "",       "--appendonly",       "no",     "--dir",     dir_};
  if (!options_.requirepass.empty()) {
    opts.args.push_back("--requirepass");
    opts.args.push_back(options_.requirepass);
  }
  auto child = std::make_unique<process>(std::move(opts));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child->running()) {
      why = "exited on port " + std::to_string(port) + ": " + child->stdout_text() +
            child->stderr_text();
      return false;
    }
    if (answers_ping(port)) {
      port_ = port;
      child_ = std::move(child);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  why = "no PING answer on port " + std::to_string(port) + " within 10 s";
  return false;
}

void redis_server::stop() {
  if (!child_)
    return;
  child_->signal(SIGTERM);
  if (!child_->wait_for(std::chrono::seconds(10)))
    child_->kill();
  child_.reset();
}

void redis_server::start() {
  if (child_)
    return;
  std::string why;
  // The port was just released by our own server; a few tries cover a slow release.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (try_start(port_, why))
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("redis_server: cannot restart on port " + std::to_string(port_) + ": " +
                           why);
}

}  // namespace aiproxy::testlib
