#pragma once
// The ollama translator (skeleton: its author replaces this file). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide ollama translator (stateless; per-call state lives in its stream translator).
const provider& ollama_provider();

}  // namespace aiproxy::providers
