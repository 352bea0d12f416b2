// aiproxy command line: `run` (serve a configuration), `check` (validate one), `version`.
// Every process setting is a flag with an AIPROXY_* environment variable equivalent.

#include "aiproxy/config/loader.hpp"
#include "aiproxy/core/log.hpp"
#include "aiproxy/server/server.hpp"

#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdio>
#include <iostream>

namespace {

constexpr const char* version = "0.1.0";

int check(const std::string& path) {
  try {
    auto cfg = aiproxy::config::load_config_file(path);
    std::printf("%s: OK (%zu service(s), %zu route(s), %zu plugin(s))\n", path.c_str(),
                cfg.services.size(), cfg.routes.size(), cfg.plugins.size());
    return 0;
  } catch (const aiproxy::config_error& e) {
    std::fprintf(stderr, "%s: invalid configuration\n%s\n", path.c_str(), e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Request buffers come and go by the thousand per second: keep freed memory in the heap
  // instead of trimming it back to the kernel after every burst (madvise on the hot path).
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  mallopt(M_TOP_PAD, 16 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  CLI::App app{"aiproxy: an OpenAI-compatible AI gateway, configured like Kong's ai-proxy"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version);

  aiproxy::server::server_options opts;
  std::string log_level = "info";
  std::string tls_verify = "true";
  std::string http2 = "true";
  long long drain_ms = 30000;

  auto* run = app.add_subcommand("run", "Start the gateway on a configuration file");
  run->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  run->add_option("-c,--config", opts.config_path, "Kong declarative configuration (YAML)")
      ->required()
      ->envname("AIPROXY_CONFIG");
  run->add_option("--listen", opts.listen, "Proxy listener HOST:PORT")
      ->envname("AIPROXY_LISTEN")
      ->capture_default_str();
  run->add_option("--admin-listen", opts.admin_listen, "Admin API HOST:PORT, or off")
      ->envname("AIPROXY_ADMIN_LISTEN")
      ->capture_default_str();
  run->add_option("--status-listen", opts.status_listen,
                  "Status API (/status, /metrics) HOST:PORT, or off")
      ->envname("AIPROXY_STATUS_LISTEN")
      ->capture_default_str();
  run->add_option("--workers", opts.workers, "Worker threads (0 = one per core)")
      ->envname("AIPROXY_WORKERS")
      ->capture_default_str();
  run->add_option("--log-level", log_level, "debug, info, notice, warn, error")
      ->envname("AIPROXY_LOG_LEVEL")
      ->capture_default_str();
  run->add_option("--access-log", opts.access_log, "Access log: - (stdout), off, or a file path")
      ->envname("AIPROXY_ACCESS_LOG")
      ->capture_default_str();
  run->add_option("--drain-timeout", drain_ms,
                  "Milliseconds in-flight requests get to finish on SIGTERM")
      ->envname("AIPROXY_DRAIN_TIMEOUT")
      ->capture_default_str();
  run->add_option("--tls-verify", tls_verify, "Verify upstream TLS certificates (true/false)")
      ->envname("AIPROXY_TLS_VERIFY")
      ->check(CLI::IsMember({"true", "false"}))
      ->capture_default_str();
  run->add_option("--http2", http2,
                  "Also serve HTTP/2 with prior knowledge (h2c) on the proxy port (true/false)")
      ->envname("AIPROXY_HTTP2")
      ->check(CLI::IsMember({"true", "false"}))
      ->capture_default_str();
  run->add_option("--http2-max-streams", opts.http2_max_streams,
                  "Concurrent streams per HTTP/2 connection")
      ->envname("AIPROXY_HTTP2_MAX_STREAMS")
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  run->add_option("--ca-file", opts.ca_file, "Extra CA bundle (PEM) for upstream TLS")
      ->envname("AIPROXY_CA_FILE");
  run->add_option("--ready-file", opts.ready_file,
                  "Write the bound addresses as JSON to this file once listening")
      ->envname("AIPROXY_READY_FILE");

  std::string check_path;
  auto* chk = app.add_subcommand("check", "Validate a configuration file and list every problem");
  chk->add_option("-c,--config", check_path, "Kong declarative configuration (YAML)")
      ->required()
      ->envname("AIPROXY_CONFIG");

  app.add_subcommand("version", "Print the version")->callback([] {
    std::printf("aiproxy %s\n", version);
  });

  CLI11_PARSE(app, argc, argv);

  if (chk->parsed()) {
    return check(check_path);
  }
  if (run->parsed()) {
    aiproxy::log::level level;
    if (!aiproxy::log::parse_level(log_level, level)) {
      std::fprintf(stderr, "--log-level: unknown level '%s'\n", log_level.c_str());
      return 2;
    }
    aiproxy::log::set_level(level);
    opts.tls_verify = tls_verify == "true";
    opts.http2 = http2 == "true";
    opts.drain_timeout = std::chrono::milliseconds(drain_ms);
    try {
      return aiproxy::server::run(opts);
    } catch (const aiproxy::config_error& e) {
      std::fprintf(stderr, "%s: invalid configuration, not starting\n%s\n",
                   opts.config_path.c_str(), e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "aiproxy: cannot start: %s\n", e.what());
      return 1;
    }
  }
  return 0;
}
