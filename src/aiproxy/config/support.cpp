// What aiproxy can serve (see support.hpp): the provider x route type table and the
// route type -> genai_category rule. Pure.

#include "aiproxy/config/support.hpp"

namespace aiproxy::config {

std::optional<std::string> not_yet_supported(const ai_proxy_config& c) {
  (void)c;
  return std::nullopt;
}

bool provider_offers(provider_kind p, route_type t) {
  if (is_translated(t)) {
    return true;
  }
  // Image generation is also translated for gemini (Imagen, Gemini image models) and bedrock
  // (Nova Canvas, Titan Image, Stability): plugins/ai_images.cpp.
  if (t == route_type::image_v1_images_generations &&
      (p == provider_kind::gemini || p == provider_kind::bedrock)) {
    return true;
  }
  return p == provider_kind::openai || p == provider_kind::azure;
}

std::vector<provider_kind> providers_offering(route_type t) {
  std::vector<provider_kind> out;
  for (int i = 0; i <= static_cast<int>(provider_kind::mock); ++i) {
    auto p = static_cast<provider_kind>(i);
    if (provider_offers(p, t)) {
      out.push_back(p);
    }
  }
  return out;
}

genai_category implied_category(route_type t) {
  switch (t) {
    case route_type::llm_v1_embeddings:
      return genai_category::text_embeddings;
    case route_type::audio_v1_audio_speech:
      return genai_category::audio_speech;
    case route_type::audio_v1_audio_transcriptions:
    case route_type::audio_v1_audio_translations:
      return genai_category::audio_transcription;
    case route_type::image_v1_images_generations:
    case route_type::image_v1_images_edits:
      return genai_category::image_generation;
    case route_type::video_v1_videos_generations:
      return genai_category::video_generation;
    case route_type::realtime_v1_realtime:
      return genai_category::realtime_generation;
    default:
      return genai_category::text_generation;
  }
}

bool category_fits(route_type t, genai_category c) {
  if (t == route_type::llm_v1_files || t == route_type::llm_v1_batches) {
    return true;
  }
  return c == implied_category(t);
}

}  // namespace aiproxy::config
