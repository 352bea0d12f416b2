// Micro-benchmarks of the pure translation path: validating and rewriting a typical 2 KB chat
// request, reading a typical response (and a 1536-dim embeddings response), and the stream
// translator over a 300-chunk OpenAI stream. Numbers go in docs/performance.md.
#include "aiproxy/providers/mock.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/providers/request_validation.hpp"

#include <benchmark/benchmark.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace {

using namespace aiproxy;

// A typical chat request of about 2 KB: system prompt, a short conversation, tuning fields.
std::string chat_request_2kb() {
  boost::json::array messages;
  messages.push_back({{"role", "system"},
                      {"content",
                       "You are a concise assistant for an online bookshop. Answer in two or "
                       "three sentences, cite the catalogue number when you mention a book, "
                       "and never invent prices."}});
  for (int i = 0; i < 5; ++i) {
    messages.push_back({{"role", "user"},
                        {"content",
                         "I am looking for a novel set in a lighthouse, ideally something quiet "
                         "and reflective, published after 2000. Number " +
                             std::to_string(i) + "?"}});
    messages.push_back(
        {{"role", "assistant"},
         {"content",
          "You might enjoy 'The Lamplighters' by Emma Stonex (catalogue 48213): three keepers "
          "vanish from a remote lighthouse and the story moves between 1972 and 1992."}});
  }
  boost::json::object body{{"model", "gpt-4o"},  {"messages", std::move(messages)},
                           {"temperature", 0.7}, {"top_p", 0.9},
                           {"max_tokens", 512},  {"user", "customer-1234"}};
  return boost::json::serialize(body);
}

const std::string chat_response = R"({"id":"chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2",
"object":"chat.completion","created":1701947430,"model":"gpt-4o-2024-08-06",
"choices":[{"index":0,"message":{"role":"assistant","content":"You might enjoy 'The Lamplighters' by Emma Stonex (catalogue 48213). It follows three keepers who vanish from a remote lighthouse, told across two decades, and it is quiet and reflective as you asked.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
"usage":{"prompt_tokens":412,"completion_tokens":48,"total_tokens":460,
"prompt_tokens_details":{"cached_tokens":384,"audio_tokens":0},
"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
"system_fingerprint":"fp_50cad350e4"})";

std::string embeddings_response_1536() {
  std::string s = R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[)";
  for (int i = 0; i < 1536; ++i) {
    if (i > 0) {
      s += ',';
    }
    s += std::to_string(-0.05 + 0.0001 * (i % 997));
  }
  s += R"(]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}})";
  return s;
}

std::vector<stream::event> stream_300() {
  std::vector<stream::event> events;
  const std::string head =
      R"({"id":"chatcmpl-AbCdEf123","object":"chat.completion.chunk","created":1727000000,)"
      R"("model":"gpt-4o-2024-08-06","system_fingerprint":"fp_abc123","usage":null,"choices":[)";
  events.push_back({{},
                    head + R"({"index":0,"delta":{"role":"assistant","content":""},)"
                           R"("logprobs":null,"finish_reason":null}]})",
                    {}});
  for (int i = 0; i < 296; ++i) {
    events.push_back({{},
                      head + R"({"index":0,"delta":{"content":" word)" + std::to_string(i) +
                          R"("},"logprobs":null,"finish_reason":null}]})",
                      {}});
  }
  events.push_back(
      {{}, head + R"({"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})", {}});
  events.push_back({{},
                    R"({"id":"chatcmpl-AbCdEf123","object":"chat.completion.chunk","created":)"
                    R"(1727000000,"model":"gpt-4o-2024-08-06","choices":[],"usage":)"
                    R"({"prompt_tokens":412,"completion_tokens":297,"total_tokens":709}})",
                    {}});
  events.push_back({{}, "[DONE]", {}});
  return events;
}

config::ai_proxy_config openai_conf(config::route_type rt = config::route_type::llm_v1_chat) {
  config::ai_proxy_config c;
  c.route_type = rt;
  c.model.provider = config::provider_kind::openai;
  c.model.name = "gpt-4o";
  c.model.options.max_tokens = 1024;
  c.auth.header_name = "Authorization";
  c.auth.header_value = "Bearer sk-bench";
  return c;
}

header_list client_headers() {
  header_list h;
  h.add("Host", "gateway.local");
  h.add("Content-Type", "application/json");
  h.add("Content-Length", "2048");
  h.add("Authorization", "Bearer client");
  h.add("User-Agent", "OpenAI/Python 1.40.0");
  h.add("Accept", "application/json");
  h.add("X-Stainless-Lang", "python");
  return h;
}

void BM_parse_chat_request_2kb(benchmark::State& state) {
  const std::string text = chat_request_2kb();
  for (auto _ : state) {
    boost::json::monotonic_resource arena;
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec, &arena);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_parse_chat_request_2kb);

void BM_validate_chat_request(benchmark::State& state) {
  const auto body = boost::json::parse(chat_request_2kb());
  for (auto _ : state) {
    auto info = providers::validate_request(config::route_type::llm_v1_chat, body);
    benchmark::DoNotOptimize(info);
  }
}
BENCHMARK(BM_validate_chat_request);

void BM_to_upstream_chat_2kb(benchmark::State& state) {
  const std::string text = chat_request_2kb();
  const auto body = boost::json::parse(text);
  const auto headers = client_headers();
  const auto conf = openai_conf();
  const providers::target t{conf, conf.model.options, "gpt-4o", state.range(0) != 0, false, 0, {}};
  const providers::client_request req{body.as_object(), headers, "trace=1"};
  const auto& p = providers::provider_for(conf);
  for (auto _ : state) {
    auto up = p.to_upstream(req, t);
    benchmark::DoNotOptimize(up);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.SetLabel(std::to_string(text.size()) + " byte body");
}
BENCHMARK(BM_to_upstream_chat_2kb)->Arg(0)->Arg(1)->ArgName("stream");

void BM_from_upstream_chat(benchmark::State& state) {
  const auto conf = openai_conf();
  const providers::target t{conf, conf.model.options, "gpt-4o", false, false, 0, {}};
  const auto& p = providers::provider_for(conf);
  for (auto _ : state) {
    auto r = p.from_upstream(chat_response, t);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * chat_response.size()));
}
BENCHMARK(BM_from_upstream_chat);

void BM_from_upstream_embeddings_1536(benchmark::State& state) {
  const auto conf = openai_conf(config::route_type::llm_v1_embeddings);
  const providers::target t{conf, conf.model.options, "text-embedding-3-small", false, false, 0,
                            {}};
  const auto& p = providers::provider_for(conf);
  const std::string body = embeddings_response_1536();
  for (auto _ : state) {
    auto r = p.from_upstream(body, t);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_from_upstream_embeddings_1536);

void BM_stream_translator_300_chunks(benchmark::State& state) {
  const auto conf = openai_conf();
  const providers::target t{conf, conf.model.options, "gpt-4o", true, state.range(0) != 0, 0, {}};
  const auto& p = providers::provider_for(conf);
  const auto events = stream_300();
  std::string out;
  out.reserve(128 * 1024);
  for (auto _ : state) {
    out.clear();
    auto tr = p.make_stream_translator(t);
    for (const auto& ev : events) {
      auto r = tr->on_event(ev, out);
      benchmark::DoNotOptimize(r);
    }
    auto r = tr->finish(out);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events.size()));
}
BENCHMARK(BM_stream_translator_300_chunks)->Arg(0)->Arg(1)->ArgName("client_usage");

void BM_mock_chat(benchmark::State& state) {
  const auto body = boost::json::parse(chat_request_2kb());
  const header_list headers;
  auto conf = openai_conf();
  conf.model.provider = config::provider_kind::mock;
  const providers::target t{conf, conf.model.options, "gpt-4o", state.range(0) != 0, true, 0, {}};
  const providers::client_request req{body.as_object(), headers, {}};
  for (auto _ : state) {
    auto r = providers::make_mock_reply(req, t, "chatcmpl-bench", 1700000000);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_mock_chat)->Arg(0)->Arg(1)->ArgName("stream");

}  // namespace

BENCHMARK_MAIN();
