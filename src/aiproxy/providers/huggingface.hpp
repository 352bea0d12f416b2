#pragma once
// The huggingface translator (skeleton: its author replaces this file). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide huggingface translator (stateless; per-call state lives in its stream
/// translator).
const provider& huggingface_provider();

}  // namespace aiproxy::providers
