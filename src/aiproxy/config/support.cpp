// not_yet_supported(): the single list of what aiproxy cannot serve yet (see support.hpp).
// Every provider, format and route type is served; the list is empty and stays as the one place
// to name a gap.

#include "aiproxy/config/support.hpp"

namespace aiproxy::config {

std::optional<std::string> not_yet_supported(const ai_proxy_config& c) {
  (void)c;
  return std::nullopt;
}

}  // namespace aiproxy::config
