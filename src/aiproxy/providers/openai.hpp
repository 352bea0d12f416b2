#pragma once
// The translator for OpenAI-compatible upstreams: openai, azure, mistral (mistral_format
// openai) and llama2 (llama2_format openai). The client's body passes through with only the
// fields that must change rewritten; responses and stream chunks pass through byte for byte and
// are parsed only to read usage, model and finish reason. Pure: no I/O.

#include "aiproxy/providers/provider.hpp"

#include <boost/json/fwd.hpp>

namespace aiproxy::providers {

class openai_compatible_provider final : public provider {
 public:
  /// `kind` is openai, azure, mistral or llama2; it selects the default endpoint and whether
  /// `top_k` is stripped (OpenAI and Azure reject it).
  explicit openai_compatible_provider(config::provider_kind kind) noexcept : kind_(kind) {}

  result<upstream_request> to_upstream(const client_request& req, const target& t) const override;
  /// Declines (nullopt) when an edit changes a field the client sent, or when a streamed
  /// request's stream_options has members to merge.
  std::optional<result<upstream_request>> to_upstream_indexed(const indexed_request& req,
                                                              const target& t) const override;
  result<translated_response> from_upstream(std::string_view body, const target& t) const override;
  std::unique_ptr<stream_translator> make_stream_translator(const target& t) const override;

 private:
  config::provider_kind kind_;
};

/// Reads model, finish reason and usage from one OpenAI-shaped response or chunk object into
/// `s` (fields absent from `obj` leave `s` unchanged). Shared with the mock provider's tests.
void read_openai_summary(const boost::json::object& obj, response_summary& s);

}  // namespace aiproxy::providers
