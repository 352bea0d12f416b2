#pragma once
// The gemini translator (skeleton: its author replaces this file). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide gemini translator (stateless; per-call state lives in its stream translator).
const provider& gemini_provider();

}  // namespace aiproxy::providers
