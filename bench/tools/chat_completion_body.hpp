#pragma once
// The 615-byte chat.completion body fast_upstream serves, one copy for the upstream, the scan
// benchmark and the scan's unit test. Data only.

#include <string_view>

namespace aiproxy::bench {

inline constexpr std::string_view chat_completion_body =
    R"({"id":"chatcmpl-bench0001","object":"chat.completion","created":1730000000,)"
    R"("model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"This is a fixed answer from the benchmark upstream.","refusal":null,)"
    R"("annotations":[]},"logprobs":null,)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":40,)"
    R"("total_tokens":59,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},)"
    R"("completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,)"
    R"("accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},)"
    R"("service_tier":"default","system_fingerprint":"fp_bench0001"})";

}  // namespace aiproxy::bench
