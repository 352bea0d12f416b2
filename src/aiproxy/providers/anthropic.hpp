#pragma once
// The anthropic translator (skeleton: its author replaces this file). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide anthropic translator (stateless; per-call state lives in its stream
/// translator).
const provider& anthropic_provider();

}  // namespace aiproxy::providers
