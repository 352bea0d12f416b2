#pragma once
// The Hugging Face translator: chat through the OpenAI-compatible Inference Providers router
// (`/v1/chat/completions`), completions through the text-generation task (TGI `inputs` /
// `parameters`), embeddings through the feature-extraction pipeline. Also the stream translator
// for Text Generation Inference token streams, shared with the llama2 `raw` format.
// Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

#include <boost/json/fwd.hpp>

#include <memory>
#include <string_view>

namespace aiproxy::providers {

/// The process-wide huggingface translator (stateless; per-call state lives in its stream
/// translator).
const provider& huggingface_provider();

/// TGI's finish reasons (`eos_token`, `stop_sequence`, `length`) as OpenAI's (`stop`,
/// `length`); anything unknown is `stop`.
std::string_view tgi_finish_reason(std::string_view reason) noexcept;

/// TGI's text-generation `parameters` from an OpenAI request: max_new_tokens, temperature,
/// top_p, top_k (precedence rule), stop and the client's seed, added to `params`.
void write_tgi_sampling(const boost::json::object& body, const target& t,
                        boost::json::object& params);

/// A translator for a Text Generation Inference token stream (SSE events
/// `{"token":{"text","special"},"generated_text":null|"...","details":{"finish_reason",
/// "generated_tokens","input_length"}}`). The event with a non-null `generated_text` or
/// `details` is the terminal one; `{"error": "..."}` is a stream error. `provider_name` names
/// the provider in error messages.
std::unique_ptr<stream_translator> make_tgi_stream_translator(const target& t,
                                                              std::string_view provider_name);

}  // namespace aiproxy::providers
