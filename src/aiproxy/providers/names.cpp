// Wire names of route types and providers (see names.hpp). Pure.
#include "aiproxy/providers/names.hpp"

namespace aiproxy::providers {

std::string_view route_type_name(config::route_type t) noexcept {
  switch (t) {
    case config::route_type::llm_v1_chat:
      return "llm/v1/chat";
    case config::route_type::llm_v1_completions:
      return "llm/v1/completions";
    case config::route_type::llm_v1_embeddings:
      return "llm/v1/embeddings";
  }
  return "unknown";
}

std::string_view provider_name(config::provider_kind p) noexcept {
  switch (p) {
    case config::provider_kind::openai:
      return "openai";
    case config::provider_kind::azure:
      return "azure";
    case config::provider_kind::anthropic:
      return "anthropic";
    case config::provider_kind::cohere:
      return "cohere";
    case config::provider_kind::mistral:
      return "mistral";
    case config::provider_kind::llama2:
      return "llama2";
    case config::provider_kind::gemini:
      return "gemini";
    case config::provider_kind::bedrock:
      return "bedrock";
    case config::provider_kind::huggingface:
      return "huggingface";
    case config::provider_kind::mock:
      return "mock";
  }
  return "unknown";
}

}  // namespace aiproxy::providers
