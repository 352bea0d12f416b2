#pragma once
// The Ollama translator (llama2 and mistral with format `ollama`): chat to `/api/chat`,
// completions to `/api/generate`, embeddings to `/api/embed`, NDJSON streams. Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

namespace aiproxy::providers {

/// The process-wide ollama translator (stateless; per-call state lives in its stream translator).
const provider& ollama_provider();

}  // namespace aiproxy::providers
