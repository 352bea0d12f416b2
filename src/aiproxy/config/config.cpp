// Names of the config enums, as written in a Kong declarative file. Pure.

#include "aiproxy/config/config.hpp"

namespace aiproxy::config {

std::string_view to_string(route_type t) {
  switch (t) {
    case route_type::llm_v1_chat:
      return "llm/v1/chat";
    case route_type::llm_v1_completions:
      return "llm/v1/completions";
    case route_type::llm_v1_embeddings:
      return "llm/v1/embeddings";
  }
  return "unknown";
}

std::string_view to_string(provider_kind p) {
  switch (p) {
    case provider_kind::openai:
      return "openai";
    case provider_kind::azure:
      return "azure";
    case provider_kind::anthropic:
      return "anthropic";
    case provider_kind::cohere:
      return "cohere";
    case provider_kind::mistral:
      return "mistral";
    case provider_kind::llama2:
      return "llama2";
    case provider_kind::gemini:
      return "gemini";
    case provider_kind::bedrock:
      return "bedrock";
    case provider_kind::huggingface:
      return "huggingface";
    case provider_kind::mock:
      return "mock";
  }
  return "unknown";
}

}  // namespace aiproxy::config
