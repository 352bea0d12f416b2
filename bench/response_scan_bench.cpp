// Micro-benchmark of scan_openai_response (providers/openai_response_scan.hpp): the one pass the
// gateway makes over every whole OpenAI-compatible response to record model, finish_reason and
// usage. The body is the 615-byte chat.completion bench/tools/fast_upstream serves, as it is and
// indented.
#include "tools/chat_completion_body.hpp"

#include "aiproxy/providers/openai_response_scan.hpp"

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

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

/// The same body indented as OpenAI sends it: a newline and two spaces per level before every
/// member and element, a space after every colon.
std::string indented(std::string_view body) {
  std::string out;
  int level = 0;
  bool in_string = false;
  const auto newline = [&] { out += '\n' + std::string(2 * static_cast<std::size_t>(level), ' '); };
  for (const char c : body) {
    if (in_string) {
      out += c;
      in_string = c != '"';  // the body has no escapes
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out += c;
        break;
      case '{':
      case '[':
        out += c;
        ++level;
        newline();
        break;
      case '}':
      case ']':
        --level;
        newline();
        out += c;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

void bm_scan_indented_chat_completion(benchmark::State& state) {
  const std::string body = indented(aiproxy::bench::chat_completion_body);
  for (auto _ : state) {
    auto scan = providers::scan_openai_response(body, "choices");
    benchmark::DoNotOptimize(scan);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(bm_scan_indented_chat_completion);

}  // namespace

BENCHMARK_MAIN();
