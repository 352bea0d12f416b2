// realtime/v1/realtime: a client WebSocket relayed to the provider's realtime endpoint (wss),
// auth injected, frames relayed both ways unbuffered, usage read from response.done events.

#include "aiproxy/plugins/ai_realtime.hpp"

namespace aiproxy::plugins {

boost::asio::awaitable<void> run_realtime(http::downstream& d, const ai_proxy_call& call,
                                          worker_services& services,
                                          observability::request_record& record) {
  (void)call;
  (void)services;
  record.error_message = "route type not served yet";
  co_await http::send_error(d, error::internal("this route type is not served yet"));
}

}  // namespace aiproxy::plugins
