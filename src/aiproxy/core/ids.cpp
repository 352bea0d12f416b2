#include "aiproxy/core/ids.hpp"

#include <random>

namespace aiproxy {

std::string random_id(std::string_view prefix) {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(prefix);
  id.reserve(prefix.size() + 24);
  for (int word = 0; word < 2; ++word) {
    std::uint64_t bits = gen();
    for (int i = 0; i < 12; ++i) {
      id.push_back(hex[bits & 0xF]);
      bits >>= 4;
    }
  }
  return id;
}

}  // namespace aiproxy
