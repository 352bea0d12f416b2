// not_yet_supported(): the single list of what aiproxy can translate today (see support.hpp).

#include "aiproxy/config/support.hpp"

namespace aiproxy::config {

std::optional<std::string> not_yet_supported(const ai_proxy_config& c) {
  constexpr const char* available =
      " (available today: openai, azure, mistral with mistral_format openai, llama2 with "
      "llama2_format openai, mock)";
  const model_options& o = c.model.options;
  switch (c.model.provider) {
    case provider_kind::openai:
    case provider_kind::azure:
    case provider_kind::mock:
      break;
    case provider_kind::mistral:
      if (!o.mistral_format.empty() && o.mistral_format != "openai") {
        return "model.options.mistral_format '" + o.mistral_format +
               "' is not supported yet: only 'openai' is";
      }
      break;
    case provider_kind::llama2:
      if (!o.llama2_format.empty() && o.llama2_format != "openai") {
        return "model.options.llama2_format '" + o.llama2_format +
               "' is not supported yet: only 'openai' is";
      }
      break;
    default:
      return "model.provider '" + std::string(to_string(c.model.provider)) +
             "' is not supported yet" + available;
  }
  if (c.llm_format != "openai") {
    return "llm_format '" + c.llm_format + "' is not supported yet: only 'openai' is";
  }
  return std::nullopt;
}

}  // namespace aiproxy::config
