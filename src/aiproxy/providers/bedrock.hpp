#pragma once
// The bedrock translator (skeleton: its author replaces this file). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide bedrock translator (stateless; per-call state lives in its stream translator).
const provider& bedrock_provider();

}  // namespace aiproxy::providers
