// provider_for: the one switch from a plugin config to its translator. Providers without a
// translator yet get one that fails every call with a clear 500 (the config loader rejects
// them first; this is the safety net, never a silent fallback to OpenAI). Pure: no I/O.
#include "aiproxy/providers/openai.hpp"
#include "aiproxy/providers/provider.hpp"

#include <string>

namespace aiproxy::providers {

namespace {

class unavailable_provider final : public provider {
 public:
  explicit unavailable_provider(std::string_view message) : message_(message) {}

  result<upstream_request> to_upstream(const client_request&, const target&) const override {
    return error::internal(message_);
  }
  result<translated_response> from_upstream(std::string_view, const target&) const override {
    return error::internal(message_);
  }
  std::unique_ptr<stream_translator> make_stream_translator(const target&) const override {
    return std::make_unique<failing_stream>(message_);
  }

 private:
  class failing_stream final : public stream_translator {
   public:
    explicit failing_stream(std::string_view message) : message_(message) {}
    result<void> on_event(const stream::event&, std::string&) override {
      return error::internal(message_);
    }
    result<void> finish(std::string&) override { return error::internal(message_); }
    const response_summary& summary() const override { return summary_; }

   private:
    std::string message_;
    response_summary summary_;
  };

  std::string message_;
};

const provider& unavailable(config::provider_kind kind) {
  using config::provider_kind;
  static const unavailable_provider anthropic("provider anthropic is not available");
  static const unavailable_provider cohere("provider cohere is not available");
  static const unavailable_provider gemini("provider gemini is not available");
  static const unavailable_provider bedrock("provider bedrock is not available");
  static const unavailable_provider huggingface("provider huggingface is not available");
  static const unavailable_provider mistral(
      "provider mistral is not available with this mistral_format");
  static const unavailable_provider llama2(
      "provider llama2 is not available with this llama2_format");
  static const unavailable_provider mock(
      "provider mock has no upstream: it answers through make_mock_reply");
  switch (kind) {
    case provider_kind::anthropic:
      return anthropic;
    case provider_kind::cohere:
      return cohere;
    case provider_kind::gemini:
      return gemini;
    case provider_kind::bedrock:
      return bedrock;
    case provider_kind::huggingface:
      return huggingface;
    case provider_kind::mistral:
      return mistral;
    case provider_kind::llama2:
      return llama2;
    default:
      return mock;
  }
}

}  // namespace

const provider& provider_for(const config::ai_proxy_config& conf) {
  using config::provider_kind;
  static const openai_compatible_provider openai(provider_kind::openai);
  static const openai_compatible_provider azure(provider_kind::azure);
  static const openai_compatible_provider mistral(provider_kind::mistral);
  static const openai_compatible_provider llama2(provider_kind::llama2);
  switch (conf.model.provider) {
    case provider_kind::openai:
      return openai;
    case provider_kind::azure:
      return azure;
    case provider_kind::mistral:
      return conf.model.options.mistral_format == "openai" ? mistral
                                                           : unavailable(provider_kind::mistral);
    case provider_kind::llama2:
      return conf.model.options.llama2_format == "openai" ? llama2
                                                          : unavailable(provider_kind::llama2);
    case provider_kind::anthropic:
    case provider_kind::cohere:
    case provider_kind::gemini:
    case provider_kind::bedrock:
    case provider_kind::huggingface:
    case provider_kind::mock:
      return unavailable(conf.model.provider);
  }
  return unavailable(conf.model.provider);
}

}  // namespace aiproxy::providers
