#pragma once
// OpenAI image generation (`POST /v1/images/generations`) translated for providers that return
// image bytes: Gemini / Vertex AI (Imagen `:predict`, Gemini image models `:generateContent`)
// and AWS Bedrock (InvokeModel for Amazon Nova Canvas / Titan Image Generator and Stability AI
// models). Pure: JSON and bytes in, an upstream request or an OpenAI images body out; no I/O,
// no clock. Auth is applied here (apply_auth); cloud identities (Vertex token, SigV4) are the
// flow's step, after translation.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"
#include "aiproxy/core/headers.hpp"
#include "aiproxy/providers/provider.hpp"

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::providers {

/// The upstream API an image generation call is translated to.
enum class image_api {
  imagen_predict,           // gemini: `models/{model}:predict` (model names containing "imagen")
  gemini_generate_content,  // gemini: `:generateContent`, responseModalities ["IMAGE"]
  bedrock_nova,             // bedrock: amazon.nova-canvas*, amazon.titan-image-generator*
  bedrock_stability,        // bedrock: stability.*
};

/// Which API serves `model` on `provider` (gemini or bedrock). Bedrock models that are neither
/// Nova Canvas / Titan Image nor Stability are a 400 naming `model`.
result<image_api> image_api_for(config::provider_kind provider, std::string_view model);

/// An OpenAI `size` ("WxH") as the aspect ratio ("16:9") an API takes: 1024x1024 → 1:1,
/// 1792x1024 → 16:9, 1024x1792 → 9:16, 1536x1024 → 3:2, 1024x1536 → 2:3, any other WxH reduced
/// (1024x768 → 4:3). nullopt when `size` is not "WxH" with positive integers.
std::optional<std::string> aspect_ratio_of(std::string_view size);

/// One translated image generation call.
struct image_call {
  image_api api = image_api::imagen_predict;
  std::string model;  // the model asked for (resolved against the configured one)
  std::int64_t n = 1;
  /// The format of the bytes when the provider does not name it (png unless asked otherwise).
  std::string output_format = "png";
  upstream_request request;  // auth applied; SigV4 / bearer token still to do
};

/// Builds the upstream call from the client's OpenAI body. `configured_model` is the route's
/// (templated) model name: when set the client may only repeat it. `query` is the client's raw
/// query string. Errors are 400s naming the field: `prompt` missing or not a non-empty string,
/// `n` not an integer in 1..10 (or above 1 where the API makes one image a call), a `size` with
/// no aspect ratio the API offers, `response_format` `url` (these providers return bytes),
/// `output_format` / `background` values the API cannot produce; a 500 for an unusable
/// endpoint setting.
result<image_call> images_to_upstream(const boost::json::object& body, const header_list& headers,
                                      std::string_view query, const config::ai_proxy_config& conf,
                                      const config::model_options& options,
                                      std::string_view configured_model);

/// The client's answer for a 2xx upstream body.
struct image_answer {
  std::string body;  // {"created", "data":[{"b64_json"}...], "output_format"?, "usage"?}
  response_summary summary;
  std::size_t images = 0;
};

/// Translates a 2xx upstream body. An answer holding no image (the provider filtered the prompt
/// or every output) is a 400 with code `content_policy_violation` and the provider's reason; a
/// body that is not the API's shape is a 502.
result<image_answer> images_from_upstream(const image_call& call, std::string_view body,
                                          std::int64_t created);

}  // namespace aiproxy::providers
