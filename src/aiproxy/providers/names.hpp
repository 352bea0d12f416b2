#pragma once
// Wire names of route types and providers, as Kong spells them. Pure.

#include "aiproxy/config/config.hpp"

#include <string_view>

namespace aiproxy::providers {

/// "llm/v1/chat", "llm/v1/completions" or "llm/v1/embeddings".
std::string_view route_type_name(config::route_type t) noexcept;
/// "openai", "azure", ... as in `model.provider`.
std::string_view provider_name(config::provider_kind p) noexcept;

}  // namespace aiproxy::providers
