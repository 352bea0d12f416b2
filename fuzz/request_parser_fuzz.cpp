// Fuzz target: arbitrary bytes as a client body -> Boost.JSON parse (error_code overload, no
// exceptions) -> validate_request for every route type -> when valid, resolve the model and run
// the OpenAI translator's to_upstream (plain and streamed) and the mock. Any crash, sanitizer
// report or invalid upstream JSON aborts.
#include "aiproxy/providers/mock.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/providers/request_validation.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace aiproxy;

config::ai_proxy_config make_conf(config::provider_kind p, config::route_type rt) {
  config::ai_proxy_config c;
  c.route_type = rt;
  c.model.provider = p;
  c.model.options.max_tokens = 256;
  c.model.options.temperature = 0.5;
  c.model.options.top_k = 5;
  c.model.options.embeddings_dimensions = 4;
  c.auth.header_name = "Authorization";
  c.auth.header_value = "Bearer sk-fuzz";
  c.auth.param_name = "api_key";
  c.auth.param_value = "fuzz";
  c.auth.param_location = config::param_location::body;
  c.auth.allow_override = true;
  return c;
}

void check_json(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  if (ec) {
    std::abort();  // the translator wrote something that is not JSON
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  boost::json::monotonic_resource arena;
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(bytes, ec, &arena);
  if (ec) {
    return 0;
  }
  static const header_list headers = [] {
    header_list h;
    h.add("Authorization", "Bearer client");
    h.add("Connection", "keep-alive");
    return h;
  }();
  constexpr std::array route_types = {config::route_type::llm_v1_chat,
                                      config::route_type::llm_v1_completions,
                                      config::route_type::llm_v1_embeddings};
  for (const auto rt : route_types) {
    auto info = providers::validate_request(rt, body);
    if (!info) {
      if (info.error().status != 400 || info.error().message.empty()) {
        std::abort();
      }
      continue;
    }
    auto model = providers::resolve_model_name("", info->model);
    const std::string name = model ? *model : std::string("fuzz-model");
    for (const auto p : {config::provider_kind::openai, config::provider_kind::azure}) {
      auto conf = make_conf(p, rt);
      conf.model.options.azure_instance = "fuzz";
      conf.model.options.azure_deployment_id = "d";
      conf.model.options.azure_api_version = "2024-10-21";
      for (const bool stream : {false, true}) {
        if (stream && rt == config::route_type::llm_v1_embeddings) {
          continue;
        }
        const providers::target t{conf, conf.model.options, name, stream, info->include_usage, 0,
                                  {}};
        const providers::client_request req{body.get_object(), headers, "a=1&api-version=x"};
        auto up = providers::provider_for(conf).to_upstream(req, t);
        if (!up) {
          std::abort();  // a validated body must always translate
        }
        check_json(up->body);
        auto mock_conf = make_conf(config::provider_kind::mock, rt);
        const providers::target mt{mock_conf, mock_conf.model.options, name, stream, true, 0, {}};
        const auto reply = providers::make_mock_reply(req, mt, "fuzz-id", 1);
        if (stream && rt != config::route_type::llm_v1_embeddings) {
          if (reply.chunks.empty() || reply.chunks.back() != "data: [DONE]\n\n") {
            std::abort();
          }
        } else {
          check_json(reply.body);
        }
      }
    }
  }
  return 0;
}
