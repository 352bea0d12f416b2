#pragma once
// What aiproxy can serve: which providers offer which route type, and the genai_category a route
// type implies. One place, so the lists change in one place as translators land. Pure.

#include <optional>
#include <string>
#include <vector>

#include "aiproxy/config/config.hpp"

namespace aiproxy::config {

/// A reason the configuration names a provider, format or option whose translator does not exist
/// yet, or nullopt when aiproxy can serve it. The message names the field it is about.
std::optional<std::string> not_yet_supported(const ai_proxy_config& c);

/// True when aiproxy serves `t` through provider `p`. Translated route types (chat, completions,
/// embeddings) are offered by every provider; the rest of the OpenAI API family (responses, files,
/// batches, assistants, audio, images, video, realtime) by openai and azure, and image
/// generations also by gemini and bedrock (translated, plugins/ai_images).
bool provider_offers(provider_kind p, route_type t);

/// The providers that offer `t` (in provider_kind order).
std::vector<provider_kind> providers_offering(route_type t);

/// The genai_category a route type implies when the configuration does not set one.
genai_category implied_category(route_type t);

/// True when an explicit `genai_category` is consistent with `t`: the implied category, or any
/// category for llm/v1/files and llm/v1/batches (which carry work of every kind).
bool category_fits(route_type t, genai_category c);

}  // namespace aiproxy::config
