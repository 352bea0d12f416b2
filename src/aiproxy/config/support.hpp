#pragma once
// Which ai-proxy configurations aiproxy can serve today. One function, so the list shrinks in one
// place as provider translators land. Pure.

#include <optional>
#include <string>

#include "aiproxy/config/config.hpp"

namespace aiproxy::config {

/// A reason the configuration names a provider, format or option whose translator does not exist
/// yet, or nullopt when aiproxy can serve it. The message names the field it is about.
std::optional<std::string> not_yet_supported(const ai_proxy_config& c);

}  // namespace aiproxy::config
