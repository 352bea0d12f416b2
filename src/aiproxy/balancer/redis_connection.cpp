// redis_connection (redis_connection.hpp): hiredis' blocking API with socket timeouts, replies
// copied into redis_reply, AUTH/SELECT on connect, the password scrubbed from every message.
// Touches only its own socket.

#include "aiproxy/balancer/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <sys/time.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace aiproxy::balancer {

namespace {

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

redis_reply copy_reply(const redisReply& r) {
  redis_reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i)
        out.elements.push_back(copy_reply(*r.element[i]));
      break;
    default:
      out.type = redis_reply::kind::nil;
      break;
  }
  return out;
}

timeval to_timeval(std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 1);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

}  // namespace

redis_connection::redis_connection(config::redis_config conf) : conf_(std::move(conf)) {}

redis_connection::~redis_connection() {
  disconnect();
}

std::string redis_connection::endpoint() const {
  return conf_.host + ":" + std::to_string(conf_.port);
}

void redis_connection::disconnect() noexcept {
  if (ctx_) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
}

std::string redis_connection::scrub(std::string text) const {
  if (conf_.password.empty())
    return text;
  for (auto at = text.find(conf_.password); at != std::string::npos;
       at = text.find(conf_.password, at + 3))
    text.replace(at, conf_.password.size(), "***");
  return text;
}

error redis_connection::fail(std::string_view what) {
  std::string detail = ctx_ && ctx_->err ? std::string(ctx_->errstr) : std::string("no reply");
  disconnect();
  return error::service_unavailable(
      scrub("redis " + endpoint() + ": " + std::string(what) + ": " + detail));
}

result<void> redis_connection::connect() {
  disconnect();
  ctx_ = redisConnectWithTimeout(conf_.host.c_str(), static_cast<int>(conf_.port),
                                 to_timeval(conf_.timeout_ms));
  if (!ctx_)
    return error::service_unavailable("redis " + endpoint() + ": cannot allocate a connection");
  if (ctx_->err)
    return fail("connect failed");
  if (redisSetTimeout(ctx_, to_timeval(conf_.timeout_ms)) != REDIS_OK)
    return fail("cannot set the socket timeout");

  if (!conf_.password.empty()) {
    redis_command auth{"AUTH"};
    if (!conf_.username.empty())
      auth.push_back(conf_.username);
    auth.push_back(conf_.password);
    auto r = run(auth);
    if (!r)
      return r.error();
    if (r->is_error()) {
      std::string who = conf_.username.empty() ? std::string() : " as '" + conf_.username + "'";
      disconnect();
      return error::service_unavailable(
          scrub("redis " + endpoint() + ": AUTH" + who + " refused: " + r->str));
    }
  }
  if (conf_.database != 0) {
    auto r = run(redis_command{"SELECT", std::to_string(conf_.database)});
    if (!r)
      return r.error();
    if (r->is_error()) {
      disconnect();
      return error::service_unavailable(scrub("redis " + endpoint() + ": SELECT " +
                                              std::to_string(conf_.database) +
                                              " refused: " + r->str));
    }
  }
  return {};
}

result<redis_reply> redis_connection::read_reply() {
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw)
    return fail("read failed");
  reply_ptr reply(static_cast<redisReply*>(raw));
  return copy_reply(*reply);
}

template <class Args>
result<redis_reply> redis_connection::run(const Args& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK)
    return fail("write failed");
  return read_reply();
}

result<redis_reply> redis_connection::command(std::initializer_list<std::string_view> args) {
  if (!ctx_) {
    if (auto c = connect(); !c)
      return c.error();
  }
  auto r = run(args);
  if (r && r->is_error())
    return error::service_unavailable(scrub("redis " + endpoint() + ": " + r->str));
  return r;
}

result<redis_reply> redis_connection::command(const redis_command& args) {
  if (!ctx_) {
    if (auto c = connect(); !c)
      return c.error();
  }
  auto r = run(args);
  if (r && r->is_error())
    return error::service_unavailable(scrub("redis " + endpoint() + ": " + r->str));
  return r;
}

result<std::vector<redis_reply>> redis_connection::pipeline(
    const std::vector<redis_command>& commands) {
  if (!ctx_) {
    if (auto c = connect(); !c)
      return c.error();
  }
  for (const auto& cmd : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK)
      return fail("write failed");
  }
  std::vector<redis_reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto r = read_reply();
    if (!r)
      return r.error();
    replies.push_back(std::move(*r));
  }
  return replies;
}

}  // namespace aiproxy::balancer
