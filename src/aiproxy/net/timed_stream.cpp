// The watchdog behind timed_stream (see timed_stream.hpp): one timer per connection, armed at
// the earliest deadline of a direction with an operation in progress. When it fires it either
// finds that deadline moved later (and re-arms) or closes the socket and marks the late
// direction timed out. May touch: the stream's socket and timer only.

#include "aiproxy/net/timed_stream.hpp"

namespace aiproxy::net {

using boost::system::error_code;

timed_stream::state::state(socket_type s) : socket(std::move(s)), timer(socket.get_executor()) {}

timed_stream::timed_stream(const executor_type& ex)
    : state_(std::make_shared<state>(socket_type(ex))) {}

timed_stream::timed_stream(socket_type socket)
    : state_(std::make_shared<state>(std::move(socket))) {}

timed_stream::~timed_stream() {
  if (state_) {
    close();
  }
}

void timed_stream::expires_after(clock::duration after) noexcept {
  auto& s = *state_;
  for (int d = 0; d < 2; ++d) {
    if (s.pending[d] == 0) {
      s.relative[d] = true;
      s.after[d] = after;
    }
  }
}

void timed_stream::expires_at(clock::time_point t) noexcept {
  auto& s = *state_;
  for (int d = 0; d < 2; ++d) {
    if (s.pending[d] == 0) {
      s.deadline[d] = t;
      s.relative[d] = false;
    }
  }
}

void timed_stream::expires_never() {
  expires_at(clock::time_point::max());
  auto& s = *state_;
  if (s.armed && s.pending[read_dir] == 0 && s.pending[write_dir] == 0) {
    s.disarm();
  }
}

void timed_stream::cancel() {
  error_code ignored;
  state_->socket.cancel(ignored);
}

void timed_stream::close() {
  auto& s = *state_;
  error_code ignored;
  s.socket.close(ignored);
  s.disarm();
}

void timed_stream::state::begin(direction d) {
  ++pending[d];
  if (relative[d]) {  // the first operation since expires_after: the deadline starts now
    relative[d] = false;
    deadline[d] = clock::now() + after[d];
  }
  const auto at = deadline[d];
  if (at != clock::time_point::max() && (!armed || timer.expiry() > at)) {
    arm(at);
  }
}

void timed_stream::state::end(direction d, error_code& ec) noexcept {
  --pending[d];
  if (ec && timed_out[d]) {
    ec = boost::beast::error::timeout;
  }
}

void timed_stream::state::arm(clock::time_point at) {
  armed = true;
  const auto gen = ++generation;
  timer.expires_at(at);  // a wait armed before completes aborted and is ignored (generation)
  timer.async_wait([self = shared_from_this(), gen](const error_code&) { self->on_timer(gen); });
}

void timed_stream::state::disarm() {
  armed = false;
  ++generation;
  timer.cancel();
}

void timed_stream::state::on_timer(std::uint64_t gen) {
  if (gen != generation) {
    return;  // re-armed or closed since
  }
  armed = false;
  const auto now = clock::now();
  auto next = clock::time_point::max();
  bool expired = false;
  for (int d = 0; d < 2; ++d) {
    if (pending[d] == 0 || deadline[d] == clock::time_point::max()) {
      continue;  // nothing waits in this direction: its next operation arms the timer
    }
    if (deadline[d] <= now) {
      timed_out[d] = true;
      expired = true;
    } else {
      next = std::min(next, deadline[d]);
    }
  }
  if (expired) {
    error_code ignored;
    socket.close(ignored);  // every operation in progress completes; the late ones as timeouts
    return;
  }
  if (next != clock::time_point::max()) {
    arm(next);
  }
}

void beast_close_socket(timed_stream& stream) {
  error_code ignored;
  stream.socket().close(ignored);
}

void teardown(boost::beast::role_type role, timed_stream& stream, error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.socket(), ec);
}

}  // namespace aiproxy::net
