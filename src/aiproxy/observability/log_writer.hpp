#pragma once
// Writes log lines off the workers' threads: each worker appends to its own queue (never blocks
// on I/O, never wakes anyone per line), one writer thread drains all queues in batches, every
// 20 ms or sooner when a queue fills up. Bounded: past max_queued lines a queue drops new lines
// and counts them.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aiproxy::observability {

class log_writer {
 public:
  /// `queues`: one per worker thread (plus any other producer, e.g. the control thread).
  explicit log_writer(std::size_t queues, std::size_t max_queued = 100000);
  ~log_writer();  // drains what is queued, then stops
  log_writer(const log_writer&) = delete;
  log_writer& operator=(const log_writer&) = delete;

  /// Queues one line (a newline is added) for `destination`: a file path, or "-" for stdout.
  /// `reopen`: close and reopen the file before the batch that writes this line (log rotation).
  void push(std::size_t queue, const std::string& destination, std::string line,
            bool reopen = false);
  /// Closes every open file; each is reopened on its next write (after SIGHUP / rotation).
  void reopen_all();
  /// Blocks until everything queued before the call is written (tests, shutdown).
  void flush();

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t write_errors() const noexcept {
    return write_errors_.load(std::memory_order_relaxed);
  }

 private:
  struct item {
    std::string destination;
    std::string line;
    bool reopen;
  };
  struct queue {
    std::mutex mu;
    std::vector<item> items;
  };

  void run();
  std::size_t drain_once();
  std::FILE* file_for(const std::string& destination, bool reopen);

  std::vector<std::unique_ptr<queue>> queues_;
  std::size_t max_queued_;
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::atomic<std::uint64_t> pushed_{0};
  std::uint64_t written_ = 0;  // guarded by wake_mu_
  bool stop_ = false;          // guarded by wake_mu_
  std::atomic<bool> reopen_requested_{false};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::map<std::string, std::FILE*> files_;  // writer thread only
  std::thread thread_;
};

}  // namespace aiproxy::observability
