// Micro-benchmarks of the stream decoders: a realistic 300-chunk OpenAI chat stream through the
// SSE decoder, the Bedrock ConverseStream equivalent through the eventstream decoder, the other
// framings, and gzip inflation. Reports bytes/s and time per event.
#include "aiproxy/stream/aws_eventstream.hpp"
#include "aiproxy/stream/gzip_inflater.hpp"
#include "aiproxy/stream/json_array_decoder.hpp"
#include "aiproxy/stream/ndjson_decoder.hpp"
#include "aiproxy/stream/sse_decoder.hpp"
#include "aiproxy/stream/sse_writer.hpp"

#include <benchmark/benchmark.h>
#include <zlib.h>

#include <string>
#include <vector>

namespace {

using namespace aiproxy::stream;

constexpr int chunk_count = 300;

std::string word(int i) {
  static const char* const words[] = {" the", " answer", " is", " forty", "-two", ",",
                                      " of",  " course", ".",   "\\n",    " Ünï", " ✓"};
  return words[i % 12];
}

/// 300 chat.completion.chunk events as OpenAI sends them (role, content deltas, finish, usage),
/// then [DONE].
std::string openai_stream() {
  const std::string head =
      R"({"id":"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012","object":"chat.completion.chunk",)"
      R"("created":1717171717,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1",)";
  std::string out;
  write_sse_data(out,
                 head + R"("choices":[{"index":0,"delta":{"role":"assistant","content":"",)"
                        R"("refusal":null},"logprobs":null,"finish_reason":null}],"usage":null})");
  for (int i = 1; i < chunk_count - 2; ++i) {
    write_sse_data(out, head + R"("choices":[{"index":0,"delta":{"content":")" + word(i) +
                            R"("},"logprobs":null,"finish_reason":null}],"usage":null})");
  }
  write_sse_data(out, head + R"("choices":[{"index":0,"delta":{},"logprobs":null,)"
                             R"("finish_reason":"stop"}],"usage":null})");
  write_sse_data(out, head + R"("choices":[],"usage":{"prompt_tokens":14,"completion_tokens":297,)"
                             R"("total_tokens":311}})");
  write_sse_done(out);
  return out;
}

/// The Bedrock ConverseStream equivalent: messageStart, 296 contentBlockDelta, contentBlockStop,
/// messageStop, metadata.
std::string bedrock_stream() {
  std::string out;
  append_aws_eventstream_event(out, "messageStart", R"({"p":"abcdefghijkl","role":"assistant"})");
  for (int i = 1; i < chunk_count - 3; ++i) {
    append_aws_eventstream_event(out, "contentBlockDelta",
                                 R"({"contentBlockIndex":0,"delta":{"text":")" + word(i) +
                                     R"("},"p":"abcdefghijklmnopqrstuvwxyzABCDEFGH"})");
  }
  append_aws_eventstream_event(out, "contentBlockStop", R"({"contentBlockIndex":0,"p":"abcd"})");
  append_aws_eventstream_event(out, "messageStop", R"({"p":"ab","stopReason":"end_turn"})");
  append_aws_eventstream_event(
      out, "metadata",
      R"({"metrics":{"latencyMs":1735},"usage":{"inputTokens":478,"outputTokens":296,"totalTokens":774}})");
  return out;
}

/// Feeds `bytes` in `read_size` pieces (a socket read each) to a fresh decoder per iteration.
template <class Decoder>
void run_decoder(benchmark::State& state, const std::string& bytes) {
  const auto read_size = static_cast<std::size_t>(state.range(0));
  std::vector<event> out;
  out.reserve(64);
  std::size_t events = 0;
  for (auto _ : state) {
    Decoder dec;
    for (std::size_t i = 0; i < bytes.size(); i += read_size) {
      out.clear();
      if (!dec.feed(std::string_view(bytes).substr(i, read_size), out)) {
        state.SkipWithError("decode failed");
        return;
      }
      events += out.size();
      benchmark::DoNotOptimize(out.data());
    }
    out.clear();
    if (!dec.finish(out)) {
      state.SkipWithError("finish failed");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.counters["events"] =
      benchmark::Counter(static_cast<double>(events) / static_cast<double>(state.iterations()));
  // Seconds per event, printed with an SI prefix (e.g. "85n" = 85 ns).
  state.counters["time_per_event"] = benchmark::Counter(
      static_cast<double>(events), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void bm_sse_openai_300(benchmark::State& state) {
  static const std::string bytes = openai_stream();
  run_decoder<sse_decoder>(state, bytes);
}
BENCHMARK(bm_sse_openai_300)->Arg(1 << 20)->Arg(16384)->Arg(1460)->Arg(64);

void bm_sse_openai_300_crlf(benchmark::State& state) {
  static const std::string bytes = [] {
    std::string lf = openai_stream();
    std::string crlf;
    for (char c : lf) {
      if (c == '\n') {
        crlf.push_back('\r');
      }
      crlf.push_back(c);
    }
    return crlf;
  }();
  run_decoder<sse_decoder>(state, bytes);
}
BENCHMARK(bm_sse_openai_300_crlf)->Arg(16384);

void bm_eventstream_bedrock_300(benchmark::State& state) {
  static const std::string bytes = bedrock_stream();
  run_decoder<aws_eventstream_decoder>(state, bytes);
}
BENCHMARK(bm_eventstream_bedrock_300)->Arg(1 << 20)->Arg(16384)->Arg(1460)->Arg(64);

void bm_ndjson_300(benchmark::State& state) {
  static const std::string bytes = [] {
    std::string out;
    for (int i = 0; i < chunk_count; ++i) {
      out += R"({"is_finished":false,"event_type":"text-generation","text":")" + word(i) + "\"}\n";
    }
    return out;
  }();
  run_decoder<ndjson_decoder>(state, bytes);
}
BENCHMARK(bm_ndjson_300)->Arg(16384);

void bm_json_array_gemini_300(benchmark::State& state) {
  static const std::string bytes = [] {
    std::string out = "[";
    for (int i = 0; i < chunk_count; ++i) {
      out += i == 0 ? "{\n" : ",\r\n{\n";
      out += R"(  "candidates": [{"content": {"parts": [{"text": ")" + word(i) +
             R"("}], "role": "model"}, "index": 0}],)"
             "\n"
             R"(  "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 1},)"
             "\n"
             R"(  "modelVersion": "gemini-1.5-flash")"
             "\n}";
    }
    return out + "]";
  }();
  run_decoder<json_array_decoder>(state, bytes);
}
BENCHMARK(bm_json_array_gemini_300)->Arg(16384);

void bm_gzip_inflate_openai_300(benchmark::State& state) {
  static const std::string plain = openai_stream();
  static const std::string compressed = [] {
    z_stream zs{};
    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, plain.size()), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    zs.avail_in = static_cast<uInt>(plain.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
  }();
  const auto read_size = static_cast<std::size_t>(state.range(0));
  std::string out;
  for (auto _ : state) {
    gzip_inflater inf;
    out.clear();
    for (std::size_t i = 0; i < compressed.size(); i += read_size) {
      if (!inf.feed(std::string_view(compressed).substr(i, read_size), out)) {
        state.SkipWithError("inflate failed");
        return;
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain.size()));
}
BENCHMARK(bm_gzip_inflate_openai_300)->Arg(1460);

}  // namespace

BENCHMARK_MAIN();
