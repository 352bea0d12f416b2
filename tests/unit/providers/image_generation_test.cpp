// OpenAI image generation translated for gemini (Imagen :predict, Gemini image models
// :generateContent, public API and Vertex AI URLs) and bedrock (Nova Canvas / Titan Image and
// Stability InvokeModel): which API a model takes, size → aspect ratio, every 400 naming its
// field, auth and SigV4 scope, and the provider's images (or their absence) back as OpenAI's
// data[].b64_json.
#include "golden_support.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/image_generation.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace aiproxy::providers {
namespace {

using config::provider_kind;
using testing::parse_json;

constexpr std::int64_t created = 1700000000;

bool has(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

struct fixture {
  config::ai_proxy_config conf;
  header_list headers;
  std::string query;

  explicit fixture(provider_kind p, std::string model = "") {
    conf.route_type = config::route_type::image_v1_images_generations;
    conf.model.provider = p;
    conf.model.name = std::move(model);
    if (p == provider_kind::bedrock) {
      conf.model.options.bedrock.aws_region = "us-west-2";
    }
  }

  result<image_call> call(std::string_view body_json) const {
    const auto body = parse_json(body_json);
    return images_to_upstream(body.as_object(), headers, query, conf, conf.model.options,
                              conf.model.name);
  }
  image_call ok(std::string_view body_json) const {
    auto r = call(body_json);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? std::move(*r) : image_call{};
  }
  boost::json::object body(std::string_view body_json) const {
    const auto c = ok(body_json);
    return c.request.body.empty() ? boost::json::object() : parse_json(c.request.body).as_object();
  }
  std::string bad(std::string_view body_json) const {
    auto r = call(body_json);
    EXPECT_FALSE(r) << body_json;
    if (r) {
      return {};
    }
    EXPECT_EQ(r.error().status, 400) << r.error().message;
    return r.error().message;
  }
};

boost::json::object answer_of(const image_call& c, std::string_view upstream) {
  auto r = images_from_upstream(c, upstream, created);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? parse_json(r->body).as_object() : boost::json::object();
}

// ---------------------------------------------------------------- which API, aspect ratios

TEST(image_generation, picks_the_api_from_provider_and_model) {
  EXPECT_EQ(*image_api_for(provider_kind::gemini, "imagen-4.0-generate-001"),
            image_api::imagen_predict);
  EXPECT_EQ(*image_api_for(provider_kind::gemini, "models/Imagen-3.0-generate-002"),
            image_api::imagen_predict);
  EXPECT_EQ(*image_api_for(provider_kind::gemini, "gemini-2.5-flash-image"),
            image_api::gemini_generate_content);
  EXPECT_EQ(*image_api_for(provider_kind::bedrock, "amazon.nova-canvas-v1:0"),
            image_api::bedrock_nova);
  EXPECT_EQ(*image_api_for(provider_kind::bedrock, "amazon.titan-image-generator-v2:0"),
            image_api::bedrock_nova);
  EXPECT_EQ(*image_api_for(provider_kind::bedrock, "us.stability.sd3-5-large-v1:0"),
            image_api::bedrock_stability);
  const auto other = image_api_for(provider_kind::bedrock, "anthropic.claude-3-haiku");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().status, 400);
  EXPECT_TRUE(has(other.error().message, "model 'anthropic.claude-3-haiku'"));
}

TEST(image_generation, maps_openai_sizes_to_aspect_ratios) {
  EXPECT_EQ(aspect_ratio_of("1024x1024"), "1:1");
  EXPECT_EQ(aspect_ratio_of("256x256"), "1:1");
  EXPECT_EQ(aspect_ratio_of("1792x1024"), "16:9");
  EXPECT_EQ(aspect_ratio_of("1024x1792"), "9:16");
  EXPECT_EQ(aspect_ratio_of("1536x1024"), "3:2");
  EXPECT_EQ(aspect_ratio_of("1024x1536"), "2:3");
  EXPECT_EQ(aspect_ratio_of("1024x768"), "4:3");
  EXPECT_EQ(aspect_ratio_of("1920x1080"), "16:9");
  for (const auto* bad : {"auto", "1024", "x1024", "1024x", "0x10", "10x-1", "1024X1024", ""}) {
    EXPECT_FALSE(aspect_ratio_of(bad)) << bad;
  }
}

// ---------------------------------------------------------------- gemini requests

TEST(image_generation, imagen_predict_on_the_public_api) {
  fixture f(provider_kind::gemini, "imagen-4.0-generate-001");
  f.conf.auth.header_name = "x-goog-api-key";
  f.conf.auth.header_value = "g-key";
  f.headers.add("Authorization", "Bearer client-key");
  const auto c = f.ok(
      R"({"prompt":"a red fox","n":3,"size":"1792x1024","output_format":"jpeg",
          "output_compression":80,"quality":"hd","style":"vivid"})");
  EXPECT_EQ(c.api, image_api::imagen_predict);
  EXPECT_EQ(c.n, 3);
  EXPECT_EQ(c.request.method, "POST");
  EXPECT_EQ(c.request.host, "generativelanguage.googleapis.com");
  EXPECT_EQ(c.request.target, "/v1beta/models/imagen-4.0-generate-001:predict");
  EXPECT_EQ(c.request.headers.get("x-goog-api-key"), "g-key");
  EXPECT_EQ(c.request.headers.get("content-type"), "application/json");
  EXPECT_FALSE(c.request.aws_sigv4);
  EXPECT_TRUE(testing::same_json(parse_json(c.request.body),
                                 parse_json(R"({"instances":[{"prompt":"a red fox"}],
                     "parameters":{"sampleCount":3,"aspectRatio":"16:9",
                     "outputOptions":{"mimeType":"image/jpeg","compressionQuality":80}}})")))
      << c.request.body;
}

TEST(image_generation, imagen_on_vertex_with_the_key_in_the_query) {
  fixture f(provider_kind::gemini, "imagen-3.0-generate-002");
  f.conf.model.options.gemini = {"us-central1-aiplatform.googleapis.com", "proj 1", "us-central1",
                                 ""};
  f.conf.auth.param_name = "key";
  f.conf.auth.param_value = "k1";
  f.conf.auth.param_location = config::param_location::query;
  const auto c = f.ok(R"({"prompt":"p"})");
  EXPECT_EQ(c.request.host, "us-central1-aiplatform.googleapis.com");
  EXPECT_EQ(c.request.target,
            "/v1/projects/proj%201/locations/us-central1/publishers/google/models/"
            "imagen-3.0-generate-002:predict?key=k1");
  const auto b = parse_json(c.request.body).as_object();
  EXPECT_EQ(b.at("parameters").as_object().at("sampleCount").as_int64(), 1);
  EXPECT_FALSE(b.at("parameters").as_object().contains("aspectRatio"));
}

TEST(image_generation, gemini_image_model_uses_generate_content) {
  fixture f(provider_kind::gemini);
  f.conf.model.options.upstream_url = "http://127.0.0.1:9";
  const auto c = f.ok(R"({"model":"gemini-2.5-flash-image","prompt":"a cat","size":"1024x1536",
                          "response_format":"b64_json","background":"opaque"})");
  EXPECT_EQ(c.api, image_api::gemini_generate_content);
  EXPECT_EQ(c.request.scheme, "http");
  EXPECT_EQ(c.request.port, 9);
  EXPECT_EQ(c.request.target, "/v1beta/models/gemini-2.5-flash-image:generateContent");
  EXPECT_TRUE(
      testing::same_json(parse_json(c.request.body),
                         parse_json(R"({"contents":[{"role":"user","parts":[{"text":"a cat"}]}],
                     "generationConfig":{"responseModalities":["IMAGE"],
                     "imageConfig":{"aspectRatio":"2:3"}}})")))
      << c.request.body;
}

TEST(image_generation, refusals_name_their_field) {
  fixture imagen(provider_kind::gemini, "imagen-4.0-generate-001");
  EXPECT_TRUE(has(imagen.bad(R"({})"), "'prompt' is required"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"  "})"), "'prompt' is required"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":7})"), "'prompt' must be a string"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","n":0})"), "'n' must be an integer from 1 to 10"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","n":11})"), "'n'"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","n":1.5})"), "'n'"));
  const auto url = imagen.bad(R"({"prompt":"p","response_format":"url"})");
  EXPECT_TRUE(has(url,
                  "'response_format' value 'url' is not offered by Imagen models on "
                  "provider gemini"))
      << url;
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","response_format":"png"})"), "'response_format'"));
  const auto ratio = imagen.bad(R"({"prompt":"p","size":"1536x1024"})");
  EXPECT_TRUE(has(ratio, "'size' value '1536x1024'")) << ratio;
  EXPECT_TRUE(has(ratio, "aspect ratio 3:2 is not one of 1:1, 3:4, 4:3, 9:16, 16:9")) << ratio;
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","size":"big"})"), "'size' must be 'auto' or "));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","output_format":"webp"})"), "'output_format'"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","output_format":"gif"})"), "'output_format'"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","background":"transparent"})"), "'background'"));
  EXPECT_TRUE(has(imagen.bad(R"({"prompt":"p","model":"imagen-3"})"), "cannot use own model"));

  fixture gem(provider_kind::gemini, "gemini-2.5-flash-image");
  EXPECT_TRUE(has(gem.bad(R"({"prompt":"p","n":2})"), "'n' must be 1 for Gemini image models"));
  EXPECT_TRUE(has(gem.bad(R"({"prompt":"p","output_format":"jpeg"})"), "'output_format'"));
  EXPECT_TRUE(has(gem.bad(R"({"prompt":"p","size":"1000x1000000"})"), "'size'"));

  fixture none(provider_kind::gemini);
  EXPECT_TRUE(has(none.bad(R"({"prompt":"p"})"), "model parameter not found"));
}

// ---------------------------------------------------------------- bedrock requests

TEST(image_generation, nova_canvas_invoke_model) {
  fixture f(provider_kind::bedrock, "amazon.nova-canvas-v1:0");
  const auto c = f.ok(R"({"prompt":"a lighthouse","n":2,"size":"1280x720","quality":"hd"})");
  EXPECT_EQ(c.api, image_api::bedrock_nova);
  EXPECT_EQ(c.request.host, "bedrock-runtime.us-west-2.amazonaws.com");
  EXPECT_EQ(c.request.target, "/model/amazon.nova-canvas-v1%3A0/invoke");
  ASSERT_TRUE(c.request.aws_sigv4);
  EXPECT_EQ(c.request.aws_sigv4->region, "us-west-2");
  EXPECT_EQ(c.request.aws_sigv4->service, "bedrock");
  EXPECT_EQ(c.request.headers.get("accept"), "application/json");
  EXPECT_TRUE(testing::same_json(
      parse_json(c.request.body),
      parse_json(R"({"taskType":"TEXT_IMAGE","textToImageParams":{"text":"a lighthouse"},
                     "imageGenerationConfig":{"numberOfImages":2,"width":1280,"height":720,
                     "quality":"premium"}})")))
      << c.request.body;
  const auto plain = f.body(R"({"prompt":"x","quality":"low"})");
  EXPECT_EQ(plain.at("imageGenerationConfig").as_object().at("quality"), "standard");
  EXPECT_FALSE(plain.at("imageGenerationConfig").as_object().contains("width"));
  EXPECT_TRUE(has(f.bad(R"({"prompt":"x","quality":"ultra"})"), "'quality'"));
  EXPECT_TRUE(has(f.bad(R"({"prompt":"x","output_format":"jpeg"})"), "'output_format'"));
  EXPECT_TRUE(has(f.bad(R"({"prompt":"x","size":"wide"})"), "'size'"));
}

TEST(image_generation, stability_invoke_model) {
  fixture f(provider_kind::bedrock, "stability.stable-image-ultra-v1:1");
  const auto c = f.ok(R"({"prompt":"a bridge","size":"1536x1024","output_format":"jpeg"})");
  EXPECT_EQ(c.api, image_api::bedrock_stability);
  EXPECT_EQ(c.output_format, "jpeg");
  EXPECT_TRUE(testing::same_json(
      parse_json(c.request.body),
      parse_json(R"({"prompt":"a bridge","aspect_ratio":"3:2","output_format":"jpeg"})")))
      << c.request.body;
  EXPECT_TRUE(has(f.bad(R"({"prompt":"x","n":2})"), "'n' must be 1 for Stability models"));
  EXPECT_TRUE(has(f.bad(R"({"prompt":"x","size":"1024x768"})"), "aspect ratio 4:3"));
}

TEST(image_generation, bedrock_needs_a_region_and_takes_upstream_url) {
  fixture f(provider_kind::bedrock, "amazon.titan-image-generator-v2:0");
  f.conf.model.options.upstream_url = "http://127.0.0.1:8080";
  const auto c = f.ok(R"({"prompt":"p"})");
  EXPECT_EQ(c.request.host, "127.0.0.1");
  EXPECT_EQ(c.request.target, "/model/amazon.titan-image-generator-v2%3A0/invoke");
  f.conf.model.options.bedrock.aws_region.clear();
  auto r = f.call(R"({"prompt":"p"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 500);
}

// ---------------------------------------------------------------- answers

TEST(image_generation, imagen_predictions_become_b64_json) {
  fixture f(provider_kind::gemini, "imagen-4.0-generate-001");
  const auto c = f.ok(R"({"prompt":"p","n":3})");
  const auto a = answer_of(c, R"({"predictions":[
      {"bytesBase64Encoded":"QUJD","mimeType":"image/png"},
      {"raiFilteredReason":"blocked for safety"},
      {"bytesBase64Encoded":"REVG","mimeType":"image/png"}]})");
  EXPECT_TRUE(testing::same_json(
      a, parse_json(R"({"created":1700000000,"data":[{"b64_json":"QUJD"},{"b64_json":"REVG"}],
                        "output_format":"png"})")))
      << json::to_json(a);
  auto full = images_from_upstream(c, R"({"predictions":[{"bytesBase64Encoded":"QQ=="}]})", 1);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->images, 1u);
  EXPECT_EQ(full->summary.response_model, "imagen-4.0-generate-001");
  EXPECT_FALSE(full->summary.usage.known);
}

TEST(image_generation, no_image_is_a_content_policy_400_with_the_reason) {
  fixture imagen(provider_kind::gemini, "imagen-4.0-generate-001");
  const auto c = imagen.ok(R"({"prompt":"p"})");
  for (const auto* body : {R"({})", R"({"predictions":[{"raiFilteredReason":"r1"}]})"}) {
    auto r = images_from_upstream(c, body, created);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().code, "content_policy_violation");
  }
  EXPECT_TRUE(has(
      images_from_upstream(c, R"({"predictions":[{"raiFilteredReason":"r1"}]})", 1).error().message,
      "gemini returned no image: r1"));

  fixture nova(provider_kind::bedrock, "amazon.nova-canvas-v1:0");
  const auto nc = nova.ok(R"({"prompt":"p"})");
  auto r = images_from_upstream(nc, R"({"images":[],"error":"blocked by content filters"})", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "bedrock returned no image: blocked by content filters");

  fixture st(provider_kind::bedrock, "stability.sd3-5-large-v1:0");
  const auto sc = st.ok(R"({"prompt":"p"})");
  r = images_from_upstream(sc, R"({"finish_reasons":["Filter reason: prompt"]})", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "bedrock returned no image: Filter reason: prompt");

  fixture gem(provider_kind::gemini, "gemini-2.5-flash-image");
  const auto gc = gem.ok(R"({"prompt":"p"})");
  r = images_from_upstream(gc, R"({"promptFeedback":{"blockReason":"SAFETY"}})", 1);
  ASSERT_FALSE(r);
  EXPECT_TRUE(has(r.error().message, "SAFETY"));
  r = images_from_upstream(gc, R"({"candidates":[{"content":{"parts":[{"text":"I cannot."}]},
                                   "finishReason":"IMAGE_SAFETY"}]})",
                           1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "gemini returned no image: IMAGE_SAFETY; I cannot.");
}

TEST(image_generation, gemini_inline_data_and_usage) {
  fixture f(provider_kind::gemini, "gemini-2.5-flash-image");
  const auto c = f.ok(R"({"prompt":"p"})");
  auto r = images_from_upstream(c, R"({"candidates":[{"content":{"role":"model","parts":[
      {"text":"Here it is"},{"inlineData":{"mimeType":"image/png","data":"iVBO"}}]},
      "finishReason":"STOP"}],
      "usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":1290,"totalTokenCount":1297},
      "modelVersion":"gemini-2.5-flash-image-001"})",
                                created);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(testing::same_json(
      parse_json(r->body),
      parse_json(R"({"created":1700000000,"data":[{"b64_json":"iVBO"}],"output_format":"png",
                     "usage":{"input_tokens":7,"output_tokens":1290,"total_tokens":1297}})")))
      << r->body;
  EXPECT_EQ(r->summary.response_model, "gemini-2.5-flash-image-001");
  EXPECT_TRUE(r->summary.usage.known);
  EXPECT_EQ(r->summary.usage.prompt_tokens, 7);
  EXPECT_EQ(r->summary.usage.completion_tokens, 1290);
}

TEST(image_generation, bedrock_images_and_bad_shapes) {
  fixture nova(provider_kind::bedrock, "amazon.nova-canvas-v1:0");
  const auto nc = nova.ok(R"({"prompt":"p","n":2})");
  EXPECT_TRUE(testing::same_json(
      answer_of(nc, R"({"images":["AAA","BBB"]})"),
      parse_json(R"({"created":1700000000,"data":[{"b64_json":"AAA"},{"b64_json":"BBB"}],
                     "output_format":"png"})")));
  fixture st(provider_kind::bedrock, "stability.stable-image-core-v1:1");
  const auto sc = st.ok(R"({"prompt":"p","output_format":"jpeg"})");
  EXPECT_TRUE(testing::same_json(
      answer_of(sc, R"({"seeds":[1],"finish_reasons":[null],"images":["/9j/"]})"),
      parse_json(R"({"created":1700000000,"data":[{"b64_json":"/9j/"}],
                     "output_format":"jpeg"})")));
  for (const auto* body : {"not json", "[]", R"({"images":"x"})", R"({"other":1})"}) {
    auto r = images_from_upstream(nc, body, 1);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().status, 502) << body;
  }
  fixture gem(provider_kind::gemini, "gemini-2.5-flash-image");
  auto r = images_from_upstream(gem.ok(R"({"prompt":"p"})"), R"({"x":1})", 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 502);
}

}  // namespace
}  // namespace aiproxy::providers
