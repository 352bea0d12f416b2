#pragma once
// The llama2 `raw` translator: OpenAI chat and completions as a Llama 2 `[INST]` prompt in a
// text-generation body (`inputs`, `parameters`) posted to `upstream_url` as is; answers
// `[{generated_text}]`, `{data:[{generated_text}]}` or `{generated_text}`; streams when the
// server speaks Text Generation Inference's token SSE. Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace aiproxy::providers {

/// The process-wide llama2_raw translator (stateless; per-call state lives in its stream
/// translator).
const provider& llama2_raw_provider();

/// The Llama 2 chat prompt for OpenAI `messages`: every system message joined into the
/// `<<SYS>>` block of the first turn, each user turn in `<s>[INST] ... [/INST]`, each assistant
/// answer after its turn and closed with ` </s>`. Errors (400) for tool calls, images, roles
/// other than system/developer/user/assistant, a conversation without a user message or one
/// that ends with an assistant message.
result<std::string> llama2_chat_prompt(const boost::json::array& messages);

/// The model's answer in `generated_text`: when the server echoed the prompt (the text starts
/// with `<s>` or `[INST]`), the trimmed text after the last `[/INST]`; otherwise unchanged.
std::string llama2_answer(std::string_view generated_text);

}  // namespace aiproxy::providers
