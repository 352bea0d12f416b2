// not_yet_supported(): the single list of what aiproxy cannot translate yet (see support.hpp).
// One line per provider: a provider whose translator has landed says `break`.

#include "aiproxy/config/support.hpp"

namespace aiproxy::config {

namespace {

[[maybe_unused]] std::string not_yet(provider_kind p) {
  return "model.provider '" + std::string(to_string(p)) + "' is not supported yet";
}

}  // namespace

std::optional<std::string> not_yet_supported(const ai_proxy_config& c) {
  const model_options& o = c.model.options;
  switch (c.model.provider) {
    case provider_kind::openai:
    case provider_kind::azure:
    case provider_kind::mock:
      break;
    case provider_kind::mistral:
      if (o.mistral_format == "ollama") {
        break;  // ollama
      }
      break;
    case provider_kind::llama2:
      if (o.llama2_format == "ollama") {
        break;  // ollama
      }
      if (o.llama2_format == "raw") {
        break;  // llama2_raw
      }
      break;
    case provider_kind::anthropic:
      break;
    case provider_kind::cohere:
      break;
    case provider_kind::gemini:
      break;  // gemini
    case provider_kind::bedrock:
      break;  // bedrock
    case provider_kind::huggingface:
      break;  // huggingface
  }
  if (c.llm_format != "openai") {
    return "llm_format '" + c.llm_format + "' is not supported yet: only 'openai' is";
  }
  return std::nullopt;
}

}  // namespace aiproxy::config
