// The OpenAI API family beyond chat, completions and embeddings (responses, files, batches,
// assistants, audio, images, videos): requests proxied to OpenAI or Azure with auth injected and
// paths mapped, bodies streamed through within max_request_body_size, usage read where the API
// reports it.

#include "aiproxy/plugins/ai_passthrough.hpp"

namespace aiproxy::plugins {

boost::asio::awaitable<void> run_passthrough(http::downstream& d, const ai_proxy_call& call,
                                             worker_services& services,
                                             observability::request_record& record) {
  (void)call;
  (void)services;
  record.error_message = "route type not served yet";
  co_await http::send_error(d, error::internal("this route type is not served yet"));
}

}  // namespace aiproxy::plugins
