// openai_api_family: path mapping for every API-family route type on OpenAI and Azure (both
// Azure surfaces, sub-resources, upstream_url, rejected paths and methods), the multipart field
// reader (boundaries in odd places, missing fields, hostile input stays bounded) and usage from
// JSON bodies and SSE events.
#include "aiproxy/providers/openai_api_family.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace aiproxy::providers {
namespace {

using config::provider_kind;
using config::route_type;

struct mapped {
  int status = 0;  // 0 = mapped
  std::string message;
  std::string url;  // scheme://host:port/target
  bool model_in_body = false;
};

mapped map(route_type rt, provider_kind p, const config::model_options& o, std::string_view method,
           std::string_view upstream_path, std::string_view request_path = {},
           std::string_view query = {}) {
  api_family_request r;
  r.route_type = rt;
  r.provider = p;
  r.options = &o;
  r.method = method;
  r.upstream_path = upstream_path;
  r.request_path = request_path.empty() ? upstream_path : request_path;
  r.query = query;
  auto t = map_api_family(r);
  mapped out;
  if (!t) {
    out.status = t.error().status;
    out.message = t.error().message;
    return out;
  }
  out.url = t->ep.scheme + "://" + t->ep.host + ":" + std::to_string(t->ep.port) + t->ep.target();
  out.model_in_body = t->model_in_body;
  return out;
}

config::model_options azure(std::string version, std::string deployment = "dep1") {
  config::model_options o;
  o.azure_instance = "res1";
  o.azure_api_version = std::move(version);
  o.azure_deployment_id = std::move(deployment);
  return o;
}

const config::model_options none;

TEST(ApiFamilyPaths, OpenAiKeepsEverySubResource) {
  struct row {
    route_type rt;
    const char* method;
    const char* path;
    const char* want;
  };
  const row rows[] = {
      {route_type::llm_v1_responses, "POST", "/v1/responses", "/v1/responses"},
      {route_type::llm_v1_responses, "GET", "/v1/responses/resp_1", "/v1/responses/resp_1"},
      {route_type::llm_v1_responses, "GET", "/v1/responses/resp_1/input_items",
       "/v1/responses/resp_1/input_items"},
      {route_type::llm_v1_responses, "POST", "/v1/responses/resp_1/cancel",
       "/v1/responses/resp_1/cancel"},
      {route_type::llm_v1_responses, "DELETE", "/v1/responses/resp_1", "/v1/responses/resp_1"},
      {route_type::llm_v1_files, "POST", "/v1/files", "/v1/files"},
      {route_type::llm_v1_files, "GET", "/v1/files/file-1/content", "/v1/files/file-1/content"},
      {route_type::llm_v1_batches, "POST", "/v1/batches/batch_1/cancel",
       "/v1/batches/batch_1/cancel"},
      {route_type::llm_v1_assistants, "POST", "/v1/assistants", "/v1/assistants"},
      {route_type::llm_v1_assistants, "GET", "/v1/threads/t1/runs/r1/steps",
       "/v1/threads/t1/runs/r1/steps"},
      {route_type::llm_v1_assistants, "POST", "/v1/threads/t1/messages", "/v1/threads/t1/messages"},
      {route_type::llm_v1_assistants, "GET", "/v1/vector_stores", "/v1/vector_stores"},
      {route_type::audio_v1_audio_speech, "POST", "/v1/audio/speech", "/v1/audio/speech"},
      {route_type::audio_v1_audio_transcriptions, "POST", "/v1/audio/transcriptions",
       "/v1/audio/transcriptions"},
      {route_type::audio_v1_audio_translations, "POST", "/v1/audio/translations",
       "/v1/audio/translations"},
      {route_type::image_v1_images_generations, "POST", "/v1/images/generations",
       "/v1/images/generations"},
      {route_type::image_v1_images_edits, "POST", "/v1/images/edits", "/v1/images/edits"},
      {route_type::video_v1_videos_generations, "POST", "/v1/videos", "/v1/videos"},
      {route_type::video_v1_videos_generations, "POST", "/v1/videos/generations", "/v1/videos"},
      {route_type::video_v1_videos_generations, "GET", "/v1/videos/video_1/content",
       "/v1/videos/video_1/content"},
  };
  for (const auto& r : rows) {
    const auto m = map(r.rt, provider_kind::openai, none, r.method, r.path);
    EXPECT_EQ(m.status, 0) << r.path << ": " << m.message;
    EXPECT_EQ(m.url, std::string("https://api.openai.com:443") + r.want) << r.path;
  }
}

TEST(ApiFamilyPaths, FindsTheResourceWhereverTheRoutePutIt) {
  // Prefix kept by the route, no /v1, trailing slash, and a route that stripped it all (the
  // client's own path is searched then).
  EXPECT_EQ(
      map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/openai/v1/files/file-1")
          .url,
      "https://api.openai.com:443/v1/files/file-1");
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/files/").url,
            "https://api.openai.com:443/v1/files");
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/file-1/content",
                "/gw/files/file-1/content")
                .url,
            "https://api.openai.com:443/v1/files/file-1/content");
  // The upstream path wins over the client's: a route prefix that looks like a resource.
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/v1/files/f2",
                "/files/v1/files/f2")
                .url,
            "https://api.openai.com:443/v1/files/f2");
  // The client's query string is kept.
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/v1/files", {},
                "purpose=batch&limit=2")
                .url,
            "https://api.openai.com:443/v1/files?purpose=batch&limit=2");
}

TEST(ApiFamilyPaths, ModelInBodyOnlyForCreateCalls) {
  EXPECT_TRUE(
      map(route_type::llm_v1_responses, provider_kind::openai, none, "POST", "/v1/responses")
          .model_in_body);
  EXPECT_FALSE(map(route_type::llm_v1_responses, provider_kind::openai, none, "POST",
                   "/v1/responses/resp_1/cancel")
                   .model_in_body);
  EXPECT_FALSE(map(route_type::llm_v1_files, provider_kind::openai, none, "POST", "/v1/files")
                   .model_in_body);
  EXPECT_TRUE(map(route_type::audio_v1_audio_transcriptions, provider_kind::openai, none, "POST",
                  "/v1/audio/transcriptions")
                  .model_in_body);
  EXPECT_TRUE(map(route_type::video_v1_videos_generations, provider_kind::openai, none, "POST",
                  "/v1/videos")
                  .model_in_body);
  EXPECT_FALSE(
      map(route_type::video_v1_videos_generations, provider_kind::openai, none, "GET", "/v1/videos")
          .model_in_body);
}

TEST(ApiFamilyPaths, RejectsPathsAndMethodsThatAreNotTheRouteTypes) {
  auto m = map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/v1/batches/b1");
  EXPECT_EQ(m.status, 404);
  EXPECT_NE(m.message.find("llm/v1/files"), std::string::npos) << m.message;
  EXPECT_NE(m.message.find("/files[/...]"), std::string::npos) << m.message;
  // "filesystem" is not "files"; audio/speech needs both segments.
  EXPECT_EQ(
      map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/v1/filesystem").status,
      404);
  EXPECT_EQ(map(route_type::audio_v1_audio_speech, provider_kind::openai, none, "POST",
                "/v1/audio/transcriptions")
                .status,
            404);
  // One-shot endpoints: no sub-resources, POST only.
  EXPECT_EQ(map(route_type::audio_v1_audio_speech, provider_kind::openai, none, "POST",
                "/v1/audio/speech/extra")
                .status,
            404);
  m = map(route_type::image_v1_images_generations, provider_kind::openai, none, "GET",
          "/v1/images/generations");
  EXPECT_EQ(m.status, 405);
  EXPECT_NE(m.message.find("use POST"), std::string::npos) << m.message;
  // Dot segments and characters that cannot go upstream.
  EXPECT_EQ(
      map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/v1/files/../batches")
          .status,
      404);
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/v1/files/%2e%2e/x")
                .status,
            404);
  EXPECT_EQ(
      map(route_type::llm_v1_files, provider_kind::openai, none, "GET", "/v1/files/a b").status,
      400);
  // Other providers are not served here.
  EXPECT_EQ(
      map(route_type::llm_v1_files, provider_kind::anthropic, none, "GET", "/v1/files").status,
      500);
}

TEST(ApiFamilyPaths, AzureClassicSurface) {
  const auto o = azure("2024-10-21");
  const std::string base = "https://res1.openai.azure.com:443";
  EXPECT_EQ(
      map(route_type::llm_v1_files, provider_kind::azure, o, "GET", "/v1/files/file-1/content").url,
      base + "/openai/files/file-1/content?api-version=2024-10-21");
  EXPECT_EQ(
      map(route_type::llm_v1_batches, provider_kind::azure, o, "POST", "/v1/batches/b1/cancel").url,
      base + "/openai/batches/b1/cancel?api-version=2024-10-21");
  EXPECT_EQ(
      map(route_type::llm_v1_assistants, provider_kind::azure, o, "POST", "/v1/threads/t1/runs")
          .url,
      base + "/openai/threads/t1/runs?api-version=2024-10-21");
  EXPECT_EQ(map(route_type::llm_v1_responses, provider_kind::azure, azure("2025-03-01-preview"),
                "POST", "/v1/responses")
                .url,
            base + "/openai/responses?api-version=2025-03-01-preview");
  EXPECT_EQ(
      map(route_type::audio_v1_audio_speech, provider_kind::azure, o, "POST", "/v1/audio/speech")
          .url,
      base + "/openai/deployments/dep1/audio/speech?api-version=2024-10-21");
  EXPECT_EQ(map(route_type::audio_v1_audio_transcriptions, provider_kind::azure, o, "POST",
                "/v1/audio/transcriptions")
                .url,
            base + "/openai/deployments/dep1/audio/transcriptions?api-version=2024-10-21");
  EXPECT_EQ(
      map(route_type::image_v1_images_edits, provider_kind::azure, o, "POST", "/v1/images/edits")
          .url,
      base + "/openai/deployments/dep1/images/edits?api-version=2024-10-21");
  // Videos (Sora 2) live on the v1 surface only.
  EXPECT_EQ(
      map(route_type::video_v1_videos_generations, provider_kind::azure, o, "POST", "/v1/videos")
          .url,
      base + "/openai/v1/videos?api-version=preview");
  // The client's api-version replaces the configured one.
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::azure, o, "GET", "/v1/files", {},
                "api-version=2025-01-01")
                .url,
            base + "/openai/files?api-version=2025-01-01");
  // Deployment-scoped endpoints need a deployment; the instance must be a host label.
  EXPECT_EQ(map(route_type::audio_v1_audio_speech, provider_kind::azure, azure("2024-10-21", ""),
                "POST", "/v1/audio/speech")
                .status,
            400);
  auto bad = azure("2024-10-21");
  bad.azure_instance = "evil.com/x";
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::azure, bad, "GET", "/v1/files").status,
            400);
}

TEST(ApiFamilyPaths, AzureV1Surface) {
  const std::string base = "https://res1.openai.azure.com:443";
  EXPECT_EQ(map(route_type::llm_v1_responses, provider_kind::azure, azure("preview"), "GET",
                "/v1/responses/resp_1/input_items")
                .url,
            base + "/openai/v1/responses/resp_1/input_items?api-version=preview");
  EXPECT_EQ(
      map(route_type::llm_v1_files, provider_kind::azure, azure("v1"), "GET", "/v1/files").url,
      base + "/openai/v1/files?api-version=v1");
  EXPECT_EQ(map(route_type::audio_v1_audio_speech, provider_kind::azure, azure("preview", ""),
                "POST", "/v1/audio/speech")
                .url,
            base + "/openai/v1/audio/speech?api-version=preview");
}

TEST(ApiFamilyPaths, UpstreamUrl) {
  config::model_options o;
  o.upstream_url = "http://127.0.0.1:9000";
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, o, "GET", "/v1/files/f1").url,
            "http://127.0.0.1:9000/v1/files/f1");
  o.upstream_url = "http://proxy:8080/base/v1/";
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, o, "GET", "/v1/files/f1").url,
            "http://proxy:8080/base/v1/files/f1");
  // A URL already naming the resource's root is not repeated; its query is pinned.
  o.upstream_url = "http://proxy:8080/v1/audio/speech?tier=x";
  EXPECT_EQ(map(route_type::audio_v1_audio_speech, provider_kind::openai, o, "POST",
                "/v1/audio/speech", {}, "tier=y")
                .url,
            "http://proxy:8080/v1/audio/speech?tier=x");
  auto az = azure("preview");
  az.upstream_url = "http://127.0.0.1:9001";
  EXPECT_EQ(
      map(route_type::llm_v1_responses, provider_kind::azure, az, "POST", "/v1/responses").url,
      "http://127.0.0.1:9001/openai/v1/responses?api-version=preview");
  o.upstream_url = "ftp://x";
  EXPECT_EQ(map(route_type::llm_v1_files, provider_kind::openai, o, "GET", "/v1/files").status,
            500);
}

// ---------------------------------------------------------------- multipart

TEST(ApiFamilyMultipart, Boundary) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc").value_or(""), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;charset=x; BOUNDARY=\"a;b c\"").value_or(""),
            "a;b c");
  EXPECT_FALSE(multipart_boundary("application/json"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')));
}

// ---------------------------------------------------------------- usage

TEST(ApiFamilyUsage, ResponsesApiBody) {
  const auto s = summary_from_api_body(
      R"({"id":"resp_1","object":"response","model":"gpt-4.1-2025-04-14","status":"completed",
          "usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":4},
                   "output_tokens":87,"output_tokens_details":{"reasoning_tokens":12},
                   "total_tokens":123}})");
  EXPECT_EQ(s.response_model, "gpt-4.1-2025-04-14");
  EXPECT_TRUE(s.usage.known);
  EXPECT_EQ(s.usage.prompt_tokens, 36);
  EXPECT_EQ(s.usage.completion_tokens, 87);
  EXPECT_EQ(s.usage.total_tokens, 123);
  EXPECT_EQ(s.usage.cached_tokens, 4);
  EXPECT_EQ(s.usage.reasoning_tokens, 12);
}

TEST(ApiFamilyUsage, ImagesTranscriptionsAndWhatIsNotTokens) {
  // gpt-image-1: no total in some answers -> the sum.
  auto s = summary_from_api_body(
      R"({"created":1,"data":[{"b64_json":"AA=="}],
          "usage":{"input_tokens":50,"output_tokens":4160,
                   "input_tokens_details":{"text_tokens":50,"image_tokens":0}}})");
  EXPECT_TRUE(s.usage.known);
  EXPECT_EQ(s.usage.total_tokens, 4210);
  s = summary_from_api_body(
      R"({"text":"hi","usage":{"type":"tokens","input_tokens":14,"output_tokens":45,
          "total_tokens":59,"input_token_details":{"audio_tokens":14}}})");
  EXPECT_EQ(s.usage.prompt_tokens, 14);
  EXPECT_EQ(s.usage.total_tokens, 59);
  s = summary_from_api_body(R"({"text":"hi","usage":{"type":"duration","seconds":3}})");
  EXPECT_FALSE(s.usage.known);
  s = summary_from_api_body(R"({"object":"list","data":[]})");
  EXPECT_FALSE(s.usage.known);
  s = summary_from_api_body("not json");
  EXPECT_FALSE(s.usage.known);
  // A chat-shaped usage is read as chat's.
  EXPECT_EQ(read_api_usage(boost::json::parse(R"({"prompt_tokens":3,"completion_tokens":2})"))
                .total_tokens,
            5);
  EXPECT_FALSE(read_api_usage(boost::json::parse(R"({"input_tokens":"x"})")).known);
}

TEST(ApiFamilyUsage, ResponsesStreamEvents) {
  api_stream_scanner sc;
  sc.on_event({"response.created",
               R"({"type":"response.created","response":{"id":"resp_1","model":"gpt-4o-x",)"
               R"("status":"in_progress","usage":null}})",
               ""});
  EXPECT_EQ(sc.summary().response_model, "gpt-4o-x");
  EXPECT_FALSE(sc.summary().usage.known);
  sc.on_event(
      {"response.output_text.delta", R"({"type":"response.output_text.delta","delta":"Hel"})", ""});
  EXPECT_FALSE(sc.finished());
  sc.on_event({"response.completed",
               R"({"type":"response.completed","response":{"id":"resp_1","model":"gpt-4o-x",)"
               R"("status":"completed","usage":{"input_tokens":5,"output_tokens":7,)"
               R"("total_tokens":12,"output_tokens_details":{"reasoning_tokens":2}}}})",
               ""});
  EXPECT_TRUE(sc.finished());
  EXPECT_EQ(sc.summary().usage.prompt_tokens, 5);
  EXPECT_EQ(sc.summary().usage.completion_tokens, 7);
  EXPECT_EQ(sc.summary().usage.reasoning_tokens, 2);
  EXPECT_EQ(sc.summary().finish_reason, "completed");
}

TEST(ApiFamilyUsage, IncompleteFailedAndUnnamedEvents) {
  api_stream_scanner a;
  a.on_event({"",
              R"({"type":"response.incomplete","response":{"model":"m",)"
              R"("usage":{"input_tokens":1,"output_tokens":9,"total_tokens":10}}})",
              ""});
  EXPECT_TRUE(a.finished());
  EXPECT_EQ(a.summary().usage.completion_tokens, 9);
  api_stream_scanner b;
  b.on_event({"response.failed", R"({"type":"response.failed","response":{"usage":null}})", ""});
  EXPECT_TRUE(b.finished());
  EXPECT_FALSE(b.summary().usage.known);
  // Streamed transcription: usage on transcript.text.done.
  api_stream_scanner c;
  c.on_event({"", R"({"type":"transcript.text.delta","delta":"hi"})", ""});
  c.on_event({"",
              R"({"type":"transcript.text.done","text":"hi",)"
              R"("usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}})",
              ""});
  EXPECT_EQ(c.summary().usage.total_tokens, 4);
  EXPECT_FALSE(c.finished());
  // Garbage never throws or counts.
  api_stream_scanner d;
  d.on_event({"response.completed", "{not json \"usage\"", ""});
  d.on_event({"", "[DONE]", ""});
  EXPECT_FALSE(d.summary().usage.known);
}

}  // namespace
}  // namespace aiproxy::providers
