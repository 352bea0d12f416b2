// Micro-benchmark of scan_openai_response (providers/openai_response_scan.hpp): the one pass the
// gateway makes over every whole OpenAI-compatible response to record model, finish_reason and
// usage. The body is the 615-byte chat.completion bench/tools/fast_upstream serves.
#include "tools/chat_completion_body.hpp"

#include "aiproxy/providers/openai_response_scan.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace aiproxy;

void bm_scan_chat_completion(benchmark::State& state) {
  const std::string body(aiproxy::bench::chat_completion_body);
  for (auto _ : state) {
    auto scan = providers::scan_openai_response(body, "choices");
    benchmark::DoNotOptimize(scan);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(bm_scan_chat_completion);

}  // namespace

BENCHMARK_MAIN();
