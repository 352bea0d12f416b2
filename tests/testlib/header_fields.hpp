#pragma once
// A header_list's fields copied into owned strings, for tests that compare them with expected
// fields after the list they came from is gone. Pure.

#include "aiproxy/core/headers.hpp"

#include <string>
#include <utility>
#include <vector>

namespace aiproxy::testlib {

using owned_field = std::pair<std::string, std::string>;

inline std::vector<owned_field> owned_fields(const header_list& h) {
  std::vector<owned_field> out;
  out.reserve(h.size());
  for (const auto& [name, value] : h.fields()) {
    out.emplace_back(name, value);
  }
  return out;
}

}  // namespace aiproxy::testlib
