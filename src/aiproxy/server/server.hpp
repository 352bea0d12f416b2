#pragma once
// The gateway process: worker threads (one io_context each, one SO_REUSEPORT acceptor each),
// the control thread (signals, admin and status listeners), configuration reload on SIGHUP
// and graceful drain on SIGTERM/SIGINT.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace aiproxy::server {

struct server_options {
  std::string config_path;
  std::string listen = "0.0.0.0:8000";
  std::string admin_listen = "127.0.0.1:8001";  // "off" disables
  std::string status_listen = "0.0.0.0:8100";   // "off" disables
  std::size_t workers = 0;                      // 0 = one per core
  std::string access_log = "-";                 // "-" = stdout, "off" = none, else a file
  std::chrono::milliseconds drain_timeout{30000};
  std::string ready_file;  // written with the bound addresses once listening
  bool tls_verify = true;  // upstream certificate and host name verification
  std::string ca_file;     // extra CA bundle for upstreams
  bool http2 = true;       // serve h2c (HTTP/2 with prior knowledge) next to HTTP/1.1
  std::uint32_t http2_max_streams = 128;  // concurrent streams per HTTP/2 connection
};

/// Runs until SIGTERM/SIGINT and the drain complete. Returns the process exit code. Throws
/// config_error when the configuration file is invalid at startup.
int run(const server_options& options);

}  // namespace aiproxy::server
