// not_yet_supported(): the single list of what aiproxy cannot serve yet (see support.hpp).
// Every provider and format has a translator (providers/registry.cpp); what remains is Kong's
// native formats, which pass a provider's own API through untranslated.

#include "aiproxy/config/support.hpp"

namespace aiproxy::config {

std::optional<std::string> not_yet_supported(const ai_proxy_config& c) {
  if (c.llm_format != "openai") {
    return "llm_format '" + c.llm_format + "' is not supported yet: only 'openai' is";
  }
  return std::nullopt;
}

}  // namespace aiproxy::config
