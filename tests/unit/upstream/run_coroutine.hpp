#pragma once
// Test-only: runs one coroutine on an io_context to completion and returns its value (an
// exception it throws is rethrown). Shared by the unit_upstream tests.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <utility>

namespace aiproxy::upstream::test {

template <class T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e, T v) {
    failure = e;
    if (!e) {
      out.emplace(std::move(v));
    }
  });
  ioc.restart();
  ioc.run();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*out);
}

}  // namespace aiproxy::upstream::test
