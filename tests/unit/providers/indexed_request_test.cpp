// Requests checked and translated from a top-level index of the body must come out as they do
// from a parsed body: same acceptance, same 400 messages, same request info, same upstream
// request. Compared on fixtures, the fuzz corpora, hand-written edge cases, every prefix and
// every single-byte mutation of a real chat request.
#include "golden_support.hpp"

#include "aiproxy/json/top_level_index.hpp"
#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/providers/request_validation.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <vector>

namespace aiproxy::providers {
namespace {

using config::provider_kind;
using config::route_type;

constexpr std::size_t max_depth = 64;

constexpr std::string_view chat_body =
    R"({"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},)"
    R"({"role":"user","content":"Write one sentence about load testing an HTTP gateway."}],)"
    R"("temperature":0.2,"max_tokens":64})";

std::optional<boost::json::value> parse(std::string_view text) {
  boost::json::parse_options o;
  o.max_depth = max_depth;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, {}, o);
  if (ec) {
    return std::nullopt;
  }
  return v;
}

std::optional<json::top_level_index> index(std::string_view text) {
  return json::index_top_level(text, request_probes(), max_depth);
}

std::string describe(const result<request_info>& r) {
  if (!r) {
    return "error " + std::to_string(r.error().status) + " " + r.error().message;
  }
  return "model=" + r->model + " stream=" + std::to_string(r->stream) +
         " include_usage=" + std::to_string(r->include_usage);
}

std::vector<config::ai_proxy_config> targets() {
  std::vector<config::ai_proxy_config> out;
  auto add = [&](provider_kind k, auto&& tweak) {
    config::ai_proxy_config c;
    c.model.provider = k;
    c.route_type = route_type::llm_v1_chat;
    c.model.options.mistral_format = "openai";
    c.model.options.llama2_format = "openai";
    c.model.options.upstream_url = "http://127.0.0.1:9/v1/chat/completions";
    tweak(c);
    out.push_back(std::move(c));
  };
  add(provider_kind::openai, [](auto& c) {
    c.auth.header_name = "Authorization";
    c.auth.header_value = "Bearer sk-test";
  });
  add(provider_kind::openai, [](auto& c) {
    c.model.options.max_tokens = 100;
    c.model.options.temperature = 0.5;
    c.model.options.top_k = 3;
  });
  add(provider_kind::mistral, [](auto& c) {
    c.precedence = config::options_precedence::config;
    c.model.options.max_tokens = 64;
    c.model.options.temperature = 0.2;
    c.model.options.top_p = 1.0;
    c.model.options.top_k = 2;
  });
  add(provider_kind::llama2, [](auto& c) {
    c.auth.param_name = "key";
    c.auth.param_value = "secret";
    c.auth.param_location = config::param_location::body;
    c.auth.allow_override = true;
  });
  add(provider_kind::openai, [](auto& c) {
    c.auth.param_name = "api_key";
    c.auth.param_value = "secret";
    c.auth.param_location = config::param_location::query;
  });
  return out;
}

/// Every way the two paths must agree on one body. Returns how many translations the index
/// path made itself (0 when it declined them all).
int expect_same(std::string_view text) {
  SCOPED_TRACE(std::string(text.substr(0, 300)));
  const auto dom = parse(text);
  const auto idx = index(text);
  EXPECT_EQ(dom.has_value(), idx.has_value());
  if (!dom || !idx) {
    return 0;
  }
  EXPECT_EQ(dom->is_object(), idx->is_object());
  if (dom->is_object() && !idx->has_duplicate_keys()) {
    EXPECT_EQ(dom->get_object().size(), idx->members().size());
  }
  for (const auto rt :
       {route_type::llm_v1_chat, route_type::llm_v1_completions, route_type::llm_v1_embeddings}) {
    const auto from_index = validate_indexed_request(rt, *idx);
    if (from_index) {
      EXPECT_EQ(describe(*from_index), describe(validate_request(rt, *dom)));
    } else {
      EXPECT_TRUE(rt != route_type::llm_v1_chat || idx->has_duplicate_keys() ||
                  idx->contains("prompt") || idx->contains("input"));
    }
  }
  const auto info = validate_indexed_request(route_type::llm_v1_chat, *idx);
  if (!info || !*info) {
    return 0;
  }
  int made = 0;
  const header_list headers = [] {
    header_list h;
    h.add("Authorization", "Bearer client");
    h.add("X-Custom", "kept");
    return h;
  }();
  for (const auto& conf : targets()) {
    for (const bool stream : {false, true}) {
      const target t{conf, conf.model.options, "gpt-4o", stream, (*info)->include_usage, 0, {}};
      const auto& p = provider_for(conf);
      const auto by_index = p.to_upstream_indexed(indexed_request{*idx, headers, "a=1", text}, t);
      if (!by_index) {
        continue;
      }
      ++made;
      const auto by_parse =
          p.to_upstream(client_request{dom->get_object(), headers, "a=1", text}, t);
      EXPECT_EQ(by_index->has_value(), by_parse.has_value());
      if (!by_parse || !*by_index) {
        if (!by_parse && !*by_index) {
          EXPECT_EQ((*by_index).error().message, by_parse.error().message);
        }
        continue;
      }
      const auto& a = **by_index;
      const auto& b = *by_parse;
      EXPECT_EQ(a.target, b.target);
      EXPECT_EQ(a.host, b.host);
      EXPECT_EQ(a.port, b.port);
      EXPECT_EQ(a.headers.fields(), b.headers.fields());
      EXPECT_EQ(a.framing, b.framing);
      const auto a_body = parse(a.body);
      EXPECT_TRUE(a_body.has_value()) << a.body;
      if (!a_body) {
        continue;
      }
      EXPECT_TRUE(testing::same_json(*a_body, *parse(b.body))) << a.body << "\n" << b.body;
      // The index path splices: the client's bytes stay as they came.
      const auto close = text.find_last_of('}');
      EXPECT_EQ(a.body.substr(0, close), text.substr(0, close));
    }
  }
  return made;
}

TEST(indexed_request, the_benchmark_body_is_translated_from_its_index) {
  EXPECT_GT(expect_same(chat_body), 0);
  const auto idx = index(chat_body);
  ASSERT_TRUE(idx);
  const auto info = validate_indexed_request(route_type::llm_v1_chat, *idx);
  ASSERT_TRUE(info && *info);
  EXPECT_EQ((*info)->model, "gpt-4o");
}

TEST(indexed_request, edge_cases_agree_with_the_parsed_body) {
  const std::vector<std::string> cases = {
      "{}",
      "[]",
      "null",
      "\"messages\"",
      R"({"messages":[]})",
      R"({"messages":{}})",
      R"({"messages":"hi"})",
      R"({"messages":[1]})",
      R"({"messages":[[]]})",
      R"({"messages":[{"role":"user"},[1,2],{"role":"user"}]})",
      R"({"messages":[{"role":"user"},{"content":"x"}]})",
      R"({"messages":[{"role":null}]})",
      R"({"messages":[{"role":{"a":"b"}}]})",
      R"({"messages":[{"role":["user"]}]})",
      R"({"messages":[{"role":"user","role":1}]})",
      R"({"messages":[{"role":1,"role":"user"}]})",
      R"({"messages":[{"r\u006fle":"user"}]})",
      R"({"messages":[{"role":"us\u0065r"}],"m\u006fdel":"gpt-4o"})",
      R"({"messages":[{"x":{"role":"user"}}]})",
      R"({"messages":[{"role":"user","x":{"role":1}}]})",
      R"({"messages":[{"role":"user"}],"model":null})",
      R"({"messages":[{"role":"user"}],"model":1})",
      R"({"messages":[{"role":"user"}],"model":"gpt\"4"})",
      R"({"messages":[{"role":"user"}],"model":"gpt-4o","model":"other"})",
      R"({"messages":[{"role":"user"}],"stream":true})",
      R"({"messages":[{"role":"user"}],"stream":"yes"})",
      R"({"messages":[{"role":"user"}],"stream":null})",
      R"({"messages":[{"role":"user"}],"stream":false,"stream_options":null})",
      R"({"messages":[{"role":"user"}],"stream":true,"stream_options":{}})",
      R"({"messages":[{"role":"user"}],"stream":true,"stream_options":{"include_usage":true}})",
      R"({"messages":[{"role":"user"}],"stream_options":{"include_usage":"yes"}})",
      R"({"messages":[{"role":"user"}],"stream_options":{"include_usage":null}})",
      R"({"messages":[{"role":"user"}],"stream_options":{"include_usage":{}}})",
      R"({"messages":[{"role":"user"}],"stream_options":{"x":{"include_usage":1}}})",
      R"({"messages":[{"role":"user"}],"stream_options":{"include_usage":1,"include_usage":false}})",
      R"({"messages":[{"role":"user"}],"stream_options":[]})",
      R"({"messages":[{"role":"user"}],"stream_options":true})",
      R"({"messages":[{"role":"user"}],"prompt":"x"})",
      R"({"messages":[{"role":"user"}],"prompt":null})",
      R"({"messages":[{"role":"user"}],"input":["a"]})",
      R"({"prompt":"x"})",
      R"({"input":"x"})",
      R"({"messages":[{"role":"user"}],"temperature":0.2,"top_k":5,"max_completion_tokens":9})",
      R"({"messages":[{"role":"user"}],"temperature":1e400})",
      R"({"messages":[{"role":"user"}],"max_tokens":18446744073709551615})",
      R"({"messages":[{"role":"user"}],"max_tokens":-0,"top_p":-0.0})",
      R"({"messages":[{"role":"user"}],"key":"client"})",
      R"({"messages":[{"role":"user"}],"model":"gpt-4o","stream":false})",
      R"(  {"messages" : [ {"role" : "user"} ] , "model" : "gpt-4o" }  )",
      R"({"messages":[{"role":"user"}]} x)",
      R"({"messages":[{"role":"user"}]}{})",
      R"({"messages":[{"role":"user"}],})",
      R"({"messages":[{"role":"user"}] /* c */})",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\xa9\"}]}",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"a\x01\"}]}",
      std::string("{\"messages\":[{\"role\":\"user\"}],\"x\":") + std::string(63, '[') +
          std::string(63, ']') + "}",
      std::string("{\"messages\":[{\"role\":\"user\"}],\"x\":") + std::string(64, '[') +
          std::string(64, ']') + "}",
      std::string(64, '[') + std::string(64, ']'),
      std::string(65, '[') + std::string(65, ']'),
  };
  for (const auto& c : cases) {
    expect_same(c);
  }
  EXPECT_GT(expect_same(R"({"messages":[{"role":"user"}],"model":"gpt-4o","stream":false})"), 0);
}

TEST(indexed_request, fixtures_and_corpora_agree_with_the_parsed_body) {
  const auto root = testing::source_dir();
  int files = 0;
  for (const auto* dir : {"tests/fixtures", "tests/golden", "fuzz/corpus"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(root / dir)) {
      if (e.is_regular_file() && e.file_size() < 1 << 20) {
        expect_same(testing::read_file(e.path()));
        ++files;
      }
    }
  }
  EXPECT_GT(files, 50);
}

TEST(indexed_request, every_prefix_and_single_byte_mutation_agrees) {
  for (std::size_t n = 0; n < chat_body.size(); ++n) {
    expect_same(chat_body.substr(0, n));
  }
  const std::string bytes = std::string("\"\\{}[],:1x \t-e.n") + '\0' + "\x80";
  std::string text(chat_body);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char saved = text[i];
    for (const char b : bytes) {
      text[i] = b;
      expect_same(text);
    }
    text[i] = saved;
  }
}

}  // namespace
}  // namespace aiproxy::providers
