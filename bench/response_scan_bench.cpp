// Micro-benchmark of scan_openai_response (providers/openai_response_scan.hpp): the one pass the
// gateway makes over every whole OpenAI-compatible response to record model, finish_reason and
// usage. The body is the 615-byte chat.completion bench/tools/fast_upstream serves.
#include "aiproxy/providers/openai_response_scan.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace aiproxy;

// The same text as build_replies() in bench/tools/fast_upstream.cpp.
const std::string& chat_completion_body() {
  static const std::string body =
      R"({"id":"chatcmpl-bench0001","object":"chat.completion","created":1730000000,)"
      R"("model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant",)"
      R"("content":"This is a fixed answer from the benchmark upstream.","refusal":null,)"
      R"("annotations":[]},"logprobs":null,)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":40,)"
      R"("total_tokens":59,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},)"
      R"("completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,)"
      R"("accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},)"
      R"("service_tier":"default","system_fingerprint":"fp_bench0001"})";
  return body;
}

void bm_scan_chat_completion(benchmark::State& state) {
  const std::string& body = chat_completion_body();
  for (auto _ : state) {
    auto scan = providers::scan_openai_response(body, "choices");
    benchmark::DoNotOptimize(scan);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(bm_scan_chat_completion);

}  // namespace

BENCHMARK_MAIN();
