// Names of the config enums, as written in a Kong declarative file. Pure.

#include "aiproxy/config/config.hpp"

namespace aiproxy::config {

std::string_view to_string(route_type t) {
  switch (t) {
    case route_type::llm_v1_chat:
      return "llm/v1/chat";
    case route_type::llm_v1_completions:
      return "llm/v1/completions";
    case route_type::llm_v1_embeddings:
      return "llm/v1/embeddings";
    case route_type::llm_v1_responses:
      return "llm/v1/responses";
    case route_type::llm_v1_files:
      return "llm/v1/files";
    case route_type::llm_v1_batches:
      return "llm/v1/batches";
    case route_type::llm_v1_assistants:
      return "llm/v1/assistants";
    case route_type::audio_v1_audio_speech:
      return "audio/v1/audio/speech";
    case route_type::audio_v1_audio_transcriptions:
      return "audio/v1/audio/transcriptions";
    case route_type::audio_v1_audio_translations:
      return "audio/v1/audio/translations";
    case route_type::image_v1_images_generations:
      return "image/v1/images/generations";
    case route_type::image_v1_images_edits:
      return "image/v1/images/edits";
    case route_type::video_v1_videos_generations:
      return "video/v1/videos/generations";
    case route_type::realtime_v1_realtime:
      return "realtime/v1/realtime";
  }
  return "unknown";
}

std::string_view to_string(provider_kind p) {
  switch (p) {
    case provider_kind::openai:
      return "openai";
    case provider_kind::azure:
      return "azure";
    case provider_kind::anthropic:
      return "anthropic";
    case provider_kind::cohere:
      return "cohere";
    case provider_kind::mistral:
      return "mistral";
    case provider_kind::llama2:
      return "llama2";
    case provider_kind::gemini:
      return "gemini";
    case provider_kind::bedrock:
      return "bedrock";
    case provider_kind::huggingface:
      return "huggingface";
    case provider_kind::mock:
      return "mock";
  }
  return "unknown";
}

std::string target_key(const ai_target& t) {
  const auto& m = t.conf.model;
  return std::string(to_string(m.provider)) + '|' + m.name + '|' + m.options.upstream_url + '|' +
         m.options.azure_instance + '/' + m.options.azure_deployment_id + '|' + t.description;
}

std::string balancer_fingerprint(const ai_proxy_advanced_config& c) {
  std::string f;
  for (const auto& t : c.targets) {
    f += target_key(t);
    f += '#' + std::to_string(t.weight) + '\n';
  }
  const auto& b = c.balancer;
  f += std::to_string(static_cast<int>(b.algorithm)) + ',' + std::to_string(b.slots) + ',' +
       std::to_string(b.max_fails) + ',' + std::to_string(b.fail_timeout_ms) + ',' +
       std::to_string(static_cast<int>(b.latency_strategy)) + ',' +
       std::to_string(static_cast<int>(b.tokens_count_strategy)) + ',' + b.hash_on_header;
  if (c.redis) {
    f += "|redis:" + c.redis->host + ':' + std::to_string(c.redis->port) + '/' +
         std::to_string(c.redis->database);
  }
  if (c.vectordb) {
    f += "|vectordb:" + c.vectordb->strategy + ',' + c.vectordb->distance_metric + ',' +
         std::to_string(c.vectordb->threshold);
  }
  if (c.embeddings) {
    f += "|embeddings:" + std::string(to_string(c.embeddings->model.provider)) + '/' +
         c.embeddings->model.name;
  }
  return f;
}

std::string_view to_string(genai_category c) {
  switch (c) {
    case genai_category::text_generation:
      return "text/generation";
    case genai_category::text_embeddings:
      return "text/embeddings";
    case genai_category::audio_speech:
      return "audio/speech";
    case genai_category::audio_transcription:
      return "audio/transcription";
    case genai_category::image_generation:
      return "image/generation";
    case genai_category::video_generation:
      return "video/generation";
    case genai_category::realtime_generation:
      return "realtime/generation";
  }
  return "unknown";
}

}  // namespace aiproxy::config
