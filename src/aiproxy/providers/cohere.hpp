#pragma once
// The cohere translator (skeleton: its author replaces this file). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide cohere translator (stateless; per-call state lives in its stream translator).
const provider& cohere_provider();

}  // namespace aiproxy::providers
