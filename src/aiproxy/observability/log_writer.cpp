// The background log writer: per-producer queues, one writer thread, batched writes.

#include "aiproxy/observability/log_writer.hpp"

#include <chrono>

namespace aiproxy::observability {

namespace {
constexpr auto flush_interval = std::chrono::milliseconds(20);
constexpr std::size_t wake_threshold = 4096;
}  // namespace

log_writer::log_writer(std::size_t queues, std::size_t max_queued) : max_queued_(max_queued) {
  for (std::size_t i = 0; i < queues; ++i) {
    queues_.push_back(std::make_unique<queue>());
  }
  thread_ = std::thread([this] { run(); });
}

log_writer::~log_writer() {
  {
    std::lock_guard lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  for (auto& [path, f] : files_) {
    if (f != stdout) {
      std::fclose(f);
    }
  }
}

void log_writer::push(std::size_t q, const std::string& destination, std::string line,
                      bool reopen) {
  auto& target = *queues_[q % queues_.size()];
  std::size_t queued = 0;
  {
    std::lock_guard lock(target.mu);
    if (target.items.size() >= max_queued_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    target.items.push_back(item{destination, std::move(line), reopen});
    queued = target.items.size();
  }
  pushed_.fetch_add(1, std::memory_order_release);
  // The writer wakes by itself every few milliseconds; only a filling queue hurries it.
  if (queued == wake_threshold) {
    wake_.notify_one();
  }
}

void log_writer::reopen_all() {
  reopen_requested_.store(true, std::memory_order_relaxed);
  wake_.notify_one();
}

void log_writer::flush() {
  std::unique_lock lock(wake_mu_);
  const std::uint64_t target = pushed_.load(std::memory_order_acquire);
  wake_.notify_one();
  flushed_.wait(lock, [&] { return written_ >= target || stop_; });
}

std::FILE* log_writer::file_for(const std::string& destination, bool reopen) {
  if (destination == "-") {
    return stdout;
  }
  auto it = files_.find(destination);
  if (it != files_.end() && reopen) {
    std::fclose(it->second);
    files_.erase(it);
    it = files_.end();
  }
  if (it == files_.end()) {
    std::FILE* f = std::fopen(destination.c_str(), "a");
    if (f == nullptr) {
      return nullptr;
    }
    it = files_.emplace(destination, f).first;
  }
  return it->second;
}

std::size_t log_writer::drain_once() {
  if (reopen_requested_.exchange(false, std::memory_order_relaxed)) {
    for (auto& [path, f] : files_) {
      if (f != stdout) {
        std::fclose(f);
      }
    }
    files_.clear();
  }
  std::size_t n = 0;
  std::vector<item> batch;
  std::vector<std::FILE*> touched;
  for (auto& q : queues_) {
    {
      std::lock_guard lock(q->mu);
      batch.swap(q->items);
    }
    for (auto& it : batch) {
      std::FILE* f = file_for(it.destination, it.reopen);
      if (f == nullptr) {
        write_errors_.fetch_add(1, std::memory_order_relaxed);
      } else {
        it.line.push_back('\n');
        if (std::fwrite(it.line.data(), 1, it.line.size(), f) != it.line.size()) {
          write_errors_.fetch_add(1, std::memory_order_relaxed);
        }
        touched.push_back(f);
      }
      ++n;
    }
    batch.clear();
  }
  for (auto* f : touched) {
    std::fflush(f);
  }
  return n;
}

void log_writer::run() {
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(wake_mu_);
      wake_.wait_for(lock, flush_interval,
                     [&] { return stop_ || reopen_requested_.load(std::memory_order_relaxed); });
      stopping = stop_;
    }
    std::size_t n = drain_once();
    {
      std::lock_guard lock(wake_mu_);
      written_ += n;
    }
    flushed_.notify_all();
    if (stopping) {
      // Drain anything pushed between the wake-up and now, then stop.
      std::size_t rest = drain_once();
      std::lock_guard lock(wake_mu_);
      written_ += rest;
      flushed_.notify_all();
      return;
    }
  }
}

}  // namespace aiproxy::observability
