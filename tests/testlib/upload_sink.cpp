// upload_sink: see upload_sink.hpp. Blocking sockets, one thread per connection. Test-only.
#include "upload_sink.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace aiproxy::testlib {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.erase(0, 1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string response_bytes(const upload_plan& plan) {
  return "HTTP/1.1 " + std::to_string(plan.status) + " X\r\nContent-Type: " + plan.content_type +
         "\r\nContent-Length: " + std::to_string(plan.body.size()) + "\r\n\r\n" + plan.body;
}

}  // namespace

struct upload_sink::impl {
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::thread acceptor;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  planner plan_for;
  std::vector<upload_record> records;
  std::vector<int> fds;  // open connections
  std::vector<std::thread> workers;
  std::size_t accepted = 0;
  std::size_t closed = 0;

  /// The connection's receive side, with a buffer of bytes read but not yet used.
  struct reader {
    int fd;
    std::string buf;
    bool fill() {
      char tmp[16384];
      auto n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) {
        return false;
      }
      buf.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    bool line(std::string& out) {
      std::size_t at;
      while ((at = buf.find("\r\n")) == std::string::npos) {
        if (!fill()) {
          return false;
        }
      }
      out = buf.substr(0, at);
      buf.erase(0, at + 2);
      return true;
    }
  };

  void update(std::size_t index, const std::function<void(upload_record&)>& f) {
    {
      std::lock_guard lock(mutex);
      f(records[index]);
    }
    changed.notify_all();
  }

  /// Moves up to `n` body bytes (fewer if the connection ends) into the record; false on EOF.
  bool take_body(reader& r, std::size_t index, std::size_t n, std::size_t& budget_left,
                 bool limited) {
    while (n > 0) {
      if (r.buf.empty() && !r.fill()) {
        return false;
      }
      std::size_t k = std::min(n, r.buf.size());
      if (limited) {
        k = std::min(k, budget_left);
      }
      const std::string piece = r.buf.substr(0, k);
      r.buf.erase(0, k);
      n -= k;
      update(index, [&](upload_record& rec) { rec.body += piece; });
      if (limited) {
        budget_left -= k;
        if (budget_left == 0) {
          return false;
        }
      }
    }
    return true;
  }

  /// Reads the body of request `index`; true when it arrived whole. `limited`: stop (returning
  /// false) once `budget` bytes came.
  bool read_body(reader& r, std::size_t index, bool chunked, std::uint64_t length,
                 std::size_t budget, bool limited) {
    if (!chunked) {
      return take_body(r, index, static_cast<std::size_t>(length), budget, limited);
    }
    for (;;) {
      std::string size_line;
      if (!r.line(size_line)) {
        return false;
      }
      const std::size_t size = std::stoul(size_line, nullptr, 16);
      if (size == 0) {
        std::string trailer;
        do {
          if (!r.line(trailer)) {
            return false;
          }
        } while (!trailer.empty());
        return true;
      }
      if (!take_body(r, index, size, budget, limited)) {
        return false;
      }
      std::string end;
      if (!r.line(end) || !end.empty()) {
        return false;
      }
    }
  }

  void serve(int fd, std::size_t connection) {
    reader r{fd, {}};
    for (;;) {
      // The head.
      std::size_t at;
      while ((at = r.buf.find("\r\n\r\n")) == std::string::npos) {
        if (!r.fill()) {
          return;
        }
      }
      const std::string head = r.buf.substr(0, at + 2);
      r.buf.erase(0, at + 4);
      upload_record rec;
      rec.connection = connection;
      std::size_t pos = head.find("\r\n");
      const std::string request_line = head.substr(0, pos);
      rec.method = request_line.substr(0, request_line.find(' '));
      rec.target = request_line.substr(rec.method.size() + 1,
                                       request_line.rfind(' ') - rec.method.size() - 1);
      pos += 2;
      while (pos < head.size()) {
        const auto end = head.find("\r\n", pos);
        const std::string field = head.substr(pos, end - pos);
        pos = end + 2;
        const auto colon = field.find(':');
        const std::string name = field.substr(0, colon);
        const std::string value = trimmed(field.substr(colon + 1));
        rec.headers.add(name, value);
        if (lower(name) == "content-length") {
          rec.content_length = std::stoull(value);
        } else if (lower(name) == "transfer-encoding" && lower(value) == "chunked") {
          rec.chunked = true;
        }
      }
      upload_plan plan;
      std::size_t index = 0;
      {
        std::lock_guard lock(mutex);
        if (plan_for) {
          plan = plan_for(rec);
        }
        index = records.size();
        records.push_back(rec);
      }
      changed.notify_all();

      const std::uint64_t length = rec.content_length.value_or(0);
      bool whole = false;
      switch (plan.what) {
        case upload_plan::kind::answer_after_body:
          whole = read_body(r, index, rec.chunked, length, 0, false);
          update(index, [&](upload_record& x) {
            x.complete = whole;
            x.ended = true;
          });
          if (!whole) {
            return;
          }
          send_all(fd, response_bytes(plan));
          continue;
        case upload_plan::kind::answer_early:
          send_all(fd, response_bytes(plan));
          whole = read_body(r, index, rec.chunked, length, 0, false);
          update(index, [&](upload_record& x) {
            x.complete = whole;
            x.ended = true;
          });
          while (r.fill()) {  // drop whatever else comes, until the peer closes
            r.buf.clear();
          }
          return;
        case upload_plan::kind::answer_and_stall:
          send_all(fd, response_bytes(plan));
          update(index, [&](upload_record& x) { x.ended = true; });
          {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return stopping.load(); });
          }
          return;
        case upload_plan::kind::reset: {
          if (plan.reset_after > 0) {
            read_body(r, index, rec.chunked, length, plan.reset_after, true);
          }
          linger lg{1, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
          update(index, [&](upload_record& x) { x.ended = true; });
          return;
        }
      }
    }
  }

  void accept_loop() {
    while (!stopping) {
      const int fd = ::accept(listen_fd, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      std::lock_guard lock(mutex);
      if (stopping) {
        ::close(fd);
        return;
      }
      fds.push_back(fd);
      const std::size_t connection = ++accepted;
      workers.emplace_back([this, fd, connection] {
        serve(fd, connection);
        {
          std::lock_guard lock2(mutex);
          for (auto& rec : records) {
            if (rec.connection == connection) {
              rec.ended = true;
            }
          }
          fds.erase(std::remove(fds.begin(), fds.end(), fd), fds.end());
          ++closed;
        }
        ::close(fd);
        changed.notify_all();
      });
    }
  }
};

upload_sink::upload_sink() : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(s.listen_fd, 64) != 0) {
    throw std::runtime_error("upload_sink: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  s.port = ntohs(addr.sin_port);
  s.acceptor = std::thread([&s] { s.accept_loop(); });
}

upload_sink::~upload_sink() {
  stop();
}

void upload_sink::stop() {
  auto& s = *impl_;
  if (s.stopping.exchange(true)) {
    return;
  }
  ::shutdown(s.listen_fd, SHUT_RDWR);
  s.acceptor.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(s.mutex);
    for (int fd : s.fds) {
      ::shutdown(fd, SHUT_RDWR);
    }
    workers.swap(s.workers);
  }
  s.changed.notify_all();
  for (auto& t : workers) {
    t.join();
  }
  ::close(s.listen_fd);
}

std::uint16_t upload_sink::port() const noexcept {
  return impl_->port;
}

std::string upload_sink::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void upload_sink::on(planner p) {
  std::lock_guard lock(impl_->mutex);
  impl_->plan_for = std::move(p);
}

std::vector<upload_record> upload_sink::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->records;
}

std::size_t upload_sink::connections_accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

bool upload_sink::wait_for_body(std::size_t index, std::size_t bytes,
                                std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] {
    return index < impl_->records.size() && impl_->records[index].body.size() >= bytes;
  });
}

bool upload_sink::wait_for_end(std::size_t index, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(
      lock, timeout, [&] { return index < impl_->records.size() && impl_->records[index].ended; });
}

bool upload_sink::wait_for_closed_connections(std::size_t n,
                                              std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->closed >= n; });
}

}  // namespace aiproxy::testlib
