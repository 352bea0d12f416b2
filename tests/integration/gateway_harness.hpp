#pragma once
// Runs the aiproxy binary for a test: writes the configuration to a temporary directory, starts
// the process on port 0 (proxy, admin and status), waits for its ready file, and stops it.

#include "testlib/process.hpp"

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace aiproxy::testlib {

inline std::filesystem::path make_temp_dir(const std::string& tag) {
  static int counter = 0;
  auto dir =
      std::filesystem::temp_directory_path() /
      ("aiproxy-it-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::uint16_t port_of(const std::string& address) {
  return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

class gateway {
 public:
  explicit gateway(const std::string& config_yaml, std::vector<std::string> extra_args = {},
                   std::vector<std::pair<std::string, std::string>> env = {})
      : dir_(make_temp_dir("gw")) {
    write_config(config_yaml);
    std::vector<std::string> args = {"run",
                                     "-c",
                                     config_path(),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--admin-listen",
                                     "127.0.0.1:0",
                                     "--status-listen",
                                     "127.0.0.1:0",
                                     "--workers",
                                     "2",
                                     "--access-log",
                                     (dir_ / "access.log").string(),
                                     "--ready-file",
                                     (dir_ / "ready.json").string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_options opts;
    opts.program = AIPROXY_BIN;
    opts.args = std::move(args);
    opts.env = std::move(env);
    proc_ = std::make_unique<process>(opts);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!std::filesystem::exists(dir_ / "ready.json")) {
      if (!proc_->running() || std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("gateway did not start:\n" + proc_->stderr_text());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto ready = boost::json::parse(read_file((dir_ / "ready.json").string())).as_object();
    proxy_port_ = port_of(std::string(ready.at("proxy").as_string()));
    admin_port_ = port_of(std::string(ready.at("admin").as_string()));
    status_port_ = port_of(std::string(ready.at("status").as_string()));
  }
  ~gateway() {
    proc_.reset();  // the child is killed and reaped before its files go
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::uint16_t proxy_port() const { return proxy_port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  std::uint16_t status_port() const { return status_port_; }
  process& proc() { return *proc_; }
  std::string config_path() const { return (dir_ / "aiproxy.yaml").string(); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write_config(const std::string& yaml) const {
    std::ofstream(config_path(), std::ios::trunc) << yaml;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<process> proc_;
  std::uint16_t proxy_port_ = 0;
  std::uint16_t admin_port_ = 0;
  std::uint16_t status_port_ = 0;
};

}  // namespace aiproxy::testlib
