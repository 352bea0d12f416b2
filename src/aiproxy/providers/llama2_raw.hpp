#pragma once
// The llama2_raw translator (skeleton: its author replaces this file). Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide llama2_raw translator (stateless; per-call state lives in its stream
/// translator).
const provider& llama2_raw_provider();

}  // namespace aiproxy::providers
