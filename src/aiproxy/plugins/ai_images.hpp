#pragma once
// Image generation (route type image/v1/images/generations) on providers that have no OpenAI
// images endpoint: Gemini / Vertex AI and Bedrock. The OpenAI request is translated
// (providers/image_generation.hpp), sent with the cloud identity applied, and the provider's
// images come back as OpenAI's `data[].b64_json`; non-2xx answers pass through unchanged.

#include "aiproxy/plugins/ai_proxy.hpp"

namespace aiproxy::plugins {

/// True when `conf` is served by run_translated_images rather than relayed as it is.
bool serves_translated_images(const config::ai_proxy_config& conf);

boost::asio::awaitable<void> run_translated_images(http::downstream& d, const ai_proxy_call& call,
                                                   worker_services& services,
                                                   observability::request_record& record);

}  // namespace aiproxy::plugins
