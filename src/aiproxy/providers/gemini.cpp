// Skeleton of the gemini translator: fails every call until its author replaces this file.
#include "aiproxy/providers/gemini.hpp"

namespace aiproxy::providers {
namespace {

class skeleton final : public provider {
  result<upstream_request> to_upstream(const client_request&, const target&) const override {
    return error::internal("the gemini translator is not built");
  }
  result<translated_response> from_upstream(std::string_view, const target&) const override {
    return error::internal("the gemini translator is not built");
  }
  std::unique_ptr<stream_translator> make_stream_translator(const target&) const override {
    return nullptr;
  }
};

}  // namespace

const provider& gemini_provider() {
  static const skeleton instance;
  return instance;
}

}  // namespace aiproxy::providers
