// Native formats (llm_format anthropic, gemini, bedrock, cohere, huggingface): the client speaks
// the provider's own API; the body goes through untranslated with auth injected (SigV4 re-signed),
// and usage, cost and latency are read from the native response or stream.

#include "aiproxy/plugins/ai_native.hpp"

namespace aiproxy::plugins {

boost::asio::awaitable<void> run_native(http::downstream& d, const ai_proxy_call& call,
                                        worker_services& services,
                                        observability::request_record& record) {
  (void)call;
  (void)services;
  record.error_message = "route type not served yet";
  co_await http::send_error(d, error::internal("this route type is not served yet"));
}

}  // namespace aiproxy::plugins
