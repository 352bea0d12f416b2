// provider_for: the one switch from a plugin config to its translator. Pure: no I/O.
// The config loader (config/support.cpp) refuses any provider and format combination this switch
// cannot serve, so every branch here is a real translator.
#include "aiproxy/providers/anthropic.hpp"
#include "aiproxy/providers/bedrock.hpp"
#include "aiproxy/providers/cohere.hpp"
#include "aiproxy/providers/gemini.hpp"
#include "aiproxy/providers/huggingface.hpp"
#include "aiproxy/providers/llama2_raw.hpp"
#include "aiproxy/providers/mock.hpp"
#include "aiproxy/providers/ollama.hpp"
#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

const provider& provider_for(const config::ai_proxy_config& conf) {
  using config::provider_kind;
  static const openai_compatible_provider openai(provider_kind::openai);
  static const openai_compatible_provider azure(provider_kind::azure);
  static const openai_compatible_provider mistral(provider_kind::mistral);
  static const openai_compatible_provider llama2(provider_kind::llama2);
  const auto& o = conf.model.options;
  switch (conf.model.provider) {
    case provider_kind::openai:
    case provider_kind::mock:  // answered by make_mock_reply; never sent upstream
      return openai;
    case provider_kind::azure:
      return azure;
    case provider_kind::mistral:
      return o.mistral_format == "ollama" ? ollama_provider() : mistral;
    case provider_kind::llama2:
      if (o.llama2_format == "ollama") {
        return ollama_provider();
      }
      return o.llama2_format == "raw" ? llama2_raw_provider() : llama2;
    case provider_kind::anthropic:
      return anthropic_provider();
    case provider_kind::cohere:
      return cohere_provider();
    case provider_kind::gemini:
      return gemini_provider();
    case provider_kind::bedrock:
      return bedrock_provider();
    case provider_kind::huggingface:
      return huggingface_provider();
  }
  return openai;
}

}  // namespace aiproxy::providers
