// OpenAI image generation translated for Gemini / Vertex AI and Bedrock (see
// image_generation.hpp): which API a model takes, size → aspect ratio, the upstream request
// (endpoint, auth, body) and the provider's image list → OpenAI's `data[].b64_json`. Pure: no
// I/O, no clock.
#include "aiproxy/providers/image_generation.hpp"

#include "aiproxy/json/writer.hpp"
#include "aiproxy/providers/auth.hpp"
#include "aiproxy/providers/json_access.hpp"
#include "aiproxy/providers/openai_shapes.hpp"
#include "aiproxy/providers/request_validation.hpp"
#include "aiproxy/providers/upstream_url.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <numeric>
#include <vector>

namespace aiproxy::providers {

namespace {

using config::provider_kind;

constexpr std::string_view gemini_public_host = "generativelanguage.googleapis.com";
constexpr std::int64_t max_images = 10;  // OpenAI's bound on `n`
constexpr std::size_t max_reason_chars = 300;

// Aspect ratios each API accepts.
constexpr std::array<std::string_view, 5> imagen_ratios = {"1:1", "3:4", "4:3", "9:16", "16:9"};
constexpr std::array<std::string_view, 10> gemini_ratios = {"1:1", "2:3", "3:2",  "3:4",  "4:3",
                                                            "4:5", "5:4", "9:16", "16:9", "21:9"};
constexpr std::array<std::string_view, 9> stability_ratios = {"16:9", "1:1", "21:9", "2:3", "3:2",
                                                              "4:5",  "5:4", "9:16", "9:21"};

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view provider_name(provider_kind p) {
  return config::to_string(p);
}

std::string_view api_name(image_api api) {
  switch (api) {
    case image_api::imagen_predict:
      return "Imagen models";
    case image_api::gemini_generate_content:
      return "Gemini image models";
    case image_api::bedrock_nova:
      return "Nova Canvas / Titan Image models";
    case image_api::bedrock_stability:
      return "Stability models";
  }
  return "this model";
}

template <std::size_t N>
std::string joined(const std::array<std::string_view, N>& items) {
  std::string out;
  for (const auto item : items) {
    out += (out.empty() ? "" : ", ") + std::string(item);
  }
  return out;
}

std::optional<std::pair<std::int64_t, std::int64_t>> dimensions_of(std::string_view size) {
  const auto x = size.find('x');
  if (x == std::string_view::npos || x == 0 || x + 1 >= size.size()) {
    return std::nullopt;
  }
  const auto number = [](std::string_view s) -> std::optional<std::int64_t> {
    std::int64_t v = 0;
    const auto* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc() || ptr != end || v <= 0 || v > 100000) {
      return std::nullopt;
    }
    return v;
  };
  const auto w = number(size.substr(0, x));
  const auto h = number(size.substr(x + 1));
  if (!w || !h) {
    return std::nullopt;
  }
  return std::pair{*w, *h};
}

// --------------------------------------------------------------- the client's fields

std::optional<std::int64_t> integer_of(const boost::json::value& v) {
  if (v.is_int64()) {
    return v.get_int64();
  }
  if (v.is_uint64()) {
    const auto u = v.get_uint64();
    return u > static_cast<std::uint64_t>(INT64_MAX) ? std::nullopt
                                                     : std::optional<std::int64_t>(u);
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (d >= -1e15 && d <= 1e15 && static_cast<double>(static_cast<std::int64_t>(d)) == d) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

// A string field, or nullopt when absent or null; a 400 naming it for any other type.
result<std::optional<std::string_view>> string_field(const boost::json::object& body,
                                                     std::string_view name) {
  const auto* v = present(body, name);
  if (v == nullptr) {
    return std::optional<std::string_view>();
  }
  if (!v->is_string()) {
    return error::bad_request("'" + std::string(name) + "' must be a string");
  }
  return std::optional<std::string_view>(std::string_view(v->get_string()));
}

error unsupported(std::string_view field, std::string_view value, const image_call& call,
                  provider_kind p, std::string_view hint) {
  std::string m = "'" + std::string(field) + "' value '" + std::string(value) +
                  "' is not offered by " + std::string(api_name(call.api)) + " on provider " +
                  std::string(provider_name(p));
  if (!hint.empty()) {
    m += ": ";
    m += hint;
  }
  return error::bad_request(std::move(m));
}

// --------------------------------------------------------------- endpoints

bool is_host_port(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == ':';
  });
}

bool is_region(std::string_view s) {
  return !s.empty() && s.size() <= 63 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// A model id as one path segment; '@' (Vertex model versions) stays as it is.
std::string model_segment(std::string_view id) {
  std::string enc = percent_encode(id);
  for (auto pos = enc.find("%40"); pos != std::string::npos; pos = enc.find("%40", pos + 1)) {
    enc.replace(pos, 3, "@");
  }
  return enc;
}

std::string gemini_model_path(std::string_view model, bool vertex) {
  if (model.starts_with("models/")) {
    model.remove_prefix(7);
  }
  if (vertex) {
    if (model.starts_with("publishers/")) {
      const auto rest = model.substr(11);
      const auto slash = rest.find("/models/");
      if (slash != std::string_view::npos && slash > 0) {
        return "publishers/" + percent_encode(rest.substr(0, slash)) + "/models/" +
               model_segment(rest.substr(slash + 8));
      }
    }
    return "publishers/google/models/" + model_segment(model);
  }
  return "models/" + model_segment(model);
}

result<endpoint> gemini_endpoint(const config::model_options& o, std::string_view model,
                                 image_api api, std::string_view query) {
  const auto& g = o.gemini;
  const bool vertex = !g.api_endpoint.empty() && !g.project_id.empty() && !g.location_id.empty();
  endpoint ep;
  if (vertex) {
    if (!is_host_port(g.api_endpoint)) {
      return error::internal("model.options.gemini.api_endpoint must be a host name");
    }
    if (auto r = apply_upstream_url(ep, "https://" + g.api_endpoint); !r) {
      return r.error();
    }
    ep.path = "/v1/projects/" + percent_encode(g.project_id) + "/locations/" +
              percent_encode(g.location_id) + "/";
    ep.path += g.endpoint_id.empty() ? gemini_model_path(model, true)
                                     : "endpoints/" + percent_encode(g.endpoint_id);
  } else {
    ep.host = gemini_public_host;
    ep.path = "/v1beta/" + gemini_model_path(model, false);
  }
  ep.path += api == image_api::imagen_predict ? ":predict" : ":generateContent";
  if (!o.upstream_url.empty()) {
    if (auto r = apply_upstream_url(ep, o.upstream_url); !r) {
      return r.error();
    }
  }
  if (auto r = ep.query.add_client_query(query); !r) {
    return r.error();
  }
  return ep;
}

result<endpoint> bedrock_endpoint(const config::model_options& o, std::string_view model,
                                  std::string_view query) {
  const auto& region = o.bedrock.aws_region;
  if (region.empty()) {
    return error::internal(
        "bedrock needs a region: set model.options.bedrock.aws_region (or AWS_REGION / "
        "AWS_DEFAULT_REGION)");
  }
  if (!is_region(region)) {
    return error::internal(
        "model.options.bedrock.aws_region must be a region name such as "
        "us-east-1");
  }
  endpoint ep;
  ep.host = "bedrock-runtime." + region + ".amazonaws.com";
  ep.path = "/model/" + percent_encode(model) + "/invoke";
  if (!o.upstream_url.empty()) {
    if (auto r = apply_upstream_url(ep, o.upstream_url); !r) {
      return r.error();
    }
  }
  if (auto r = ep.query.add_client_query(query); !r) {
    return r.error();
  }
  return ep;
}

// --------------------------------------------------------------- answers

struct image_out {
  std::string_view b64;
  std::string_view mime;  // may be empty
};

std::string format_of_mime(std::string_view mime, std::string_view fallback) {
  const auto m = lower(mime);
  if (m == "image/png") {
    return "png";
  }
  if (m == "image/jpeg" || m == "image/jpg") {
    return "jpeg";
  }
  if (m == "image/webp") {
    return "webp";
  }
  return std::string(fallback);
}

std::string write_answer(const std::vector<image_out>& images, std::string_view output_format,
                         std::int64_t created, const json::usage* usage) {
  std::size_t bytes = 128;
  for (const auto& i : images) {
    bytes += i.b64.size() + 20;
  }
  std::string out;
  out.reserve(bytes);
  out += R"({"created":)";
  json::write_int(out, created);
  out += R"(,"data":[)";
  for (std::size_t i = 0; i < images.size(); ++i) {
    out += i == 0 ? R"({"b64_json":)" : R"(,{"b64_json":)";
    json::write_string(out, images[i].b64);
    out += '}';
  }
  out += ']';
  if (!output_format.empty()) {
    out += R"(,"output_format":)";
    json::write_string(out, output_format);
  }
  if (usage != nullptr && usage->known) {
    out += R"(,"usage":{"input_tokens":)";
    json::write_int(out, usage->prompt_tokens);
    out += R"(,"output_tokens":)";
    json::write_int(out, usage->completion_tokens);
    out += R"(,"total_tokens":)";
    json::write_int(out, usage->total_tokens);
    out += '}';
  }
  out += '}';
  return out;
}

error no_image(std::string_view provider, std::string reasons) {
  std::string m = std::string(provider) + " returned no image";
  if (reasons.size() > max_reason_chars) {
    reasons.resize(max_reason_chars);
    reasons += "...";
  }
  m += reasons.empty() ? " (its safety filters may have blocked the prompt or every output)"
                       : ": " + reasons;
  return error::bad_request(std::move(m), "content_policy_violation");
}

void add_reason(std::string& reasons, std::string_view r) {
  if (r.empty() || contains(reasons, r)) {
    return;
  }
  reasons += (reasons.empty() ? "" : "; ") + std::string(r);
}

std::int64_t int_or_zero(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  const auto n = v != nullptr ? integer_of(*v) : std::nullopt;
  return n.value_or(0);
}

}  // namespace

// ----------------------------------------------------------------- public

result<image_api> image_api_for(provider_kind provider, std::string_view model) {
  const auto m = lower(model);
  if (provider == provider_kind::gemini) {
    return contains(m, "imagen") ? image_api::imagen_predict : image_api::gemini_generate_content;
  }
  if (provider == provider_kind::bedrock) {
    if (contains(m, "stability.")) {
      return image_api::bedrock_stability;
    }
    if (contains(m, "nova-canvas") || contains(m, "titan-image")) {
      return image_api::bedrock_nova;
    }
    return error::bad_request("model '" + std::string(model) +
                              "' has no image generation on provider bedrock in aiproxy (use an "
                              "amazon.nova-canvas*, amazon.titan-image-generator* or stability.* "
                              "model)");
  }
  return error::bad_request("provider " + std::string(provider_name(provider)) +
                            " has no translated image generation");
}

std::optional<std::string> aspect_ratio_of(std::string_view size) {
  const auto d = dimensions_of(size);
  if (!d) {
    return std::nullopt;
  }
  const auto [w, h] = *d;
  // OpenAI's sizes whose exact ratio is not the one they stand for.
  if (w == 1792 && h == 1024) {
    return "16:9";
  }
  if (w == 1024 && h == 1792) {
    return "9:16";
  }
  const auto g = std::gcd(w, h);
  return std::to_string(w / g) + ":" + std::to_string(h / g);
}

result<image_call> images_to_upstream(const boost::json::object& body, const header_list& headers,
                                      std::string_view query, const config::ai_proxy_config& conf,
                                      const config::model_options& options,
                                      std::string_view configured_model) {
  const auto p = conf.model.provider;
  image_call call;

  // Model and API.
  auto client_model = string_field(body, "model");
  if (!client_model) {
    return client_model.error();
  }
  auto model = resolve_model_name(configured_model, client_model->value_or(""));
  if (!model) {
    return model.error();
  }
  call.model = std::move(*model);
  auto api = image_api_for(p, call.model);
  if (!api) {
    return api.error();
  }
  call.api = *api;

  // The client's fields.
  auto prompt = string_field(body, "prompt");
  if (!prompt) {
    return prompt.error();
  }
  if (!*prompt || trim(**prompt).empty()) {
    return error::bad_request("'prompt' is required: the text description of the image");
  }
  if (const auto* n = present(body, "n")) {
    const auto v = integer_of(*n);
    if (!v || *v < 1 || *v > max_images) {
      return error::bad_request("'n' must be an integer from 1 to 10");
    }
    call.n = *v;
  }
  if (call.n > 1 && (call.api == image_api::gemini_generate_content ||
                     call.api == image_api::bedrock_stability)) {
    return error::bad_request("'n' must be 1 for " + std::string(api_name(call.api)) +
                              " on provider " + std::string(provider_name(p)) +
                              " (they make one image a call)");
  }
  auto response_format = string_field(body, "response_format");
  if (!response_format) {
    return response_format.error();
  }
  if (*response_format && **response_format != "b64_json") {
    if (**response_format == "url") {
      return unsupported("response_format", "url", call, p,
                         "the provider returns image bytes, not URLs; leave response_format out "
                         "or set it to b64_json");
    }
    return error::bad_request("'response_format' must be 'url' or 'b64_json'");
  }
  auto size = string_field(body, "size");
  auto quality = string_field(body, "quality");
  auto background = string_field(body, "background");
  auto output_format = string_field(body, "output_format");
  for (const auto* f : {&size, &quality, &background, &output_format}) {
    if (!*f) {
      return f->error();
    }
  }
  const std::string_view size_v = size->value_or("auto");
  const std::string_view quality_v = quality->value_or("auto");
  const std::string_view format_v = output_format->value_or("");
  if (background->value_or("") == "transparent") {
    return unsupported("background", "transparent", call, p, "leave it out or use 'opaque'");
  }
  if (!format_v.empty() && format_v != "png" && format_v != "jpeg" && format_v != "webp") {
    return error::bad_request("'output_format' must be one of png, jpeg, webp");
  }

  // The aspect ratio APIs that take one ask for.
  std::optional<std::string> ratio;
  const auto check_ratio = [&](const auto& offered) -> result<void> {
    if (size_v == "auto") {
      return {};
    }
    ratio = aspect_ratio_of(size_v);
    if (!ratio) {
      return error::bad_request("'size' must be 'auto' or WIDTHxHEIGHT (e.g. 1024x1024), not '" +
                                std::string(size_v) + "'");
    }
    if (std::find(offered.begin(), offered.end(), *ratio) == offered.end()) {
      return unsupported("size", size_v, call, p,
                         "its aspect ratio " + *ratio + " is not one of " + joined(offered));
    }
    return {};
  };

  boost::json::object up;
  switch (call.api) {
    case image_api::imagen_predict: {
      if (auto r = check_ratio(imagen_ratios); !r) {
        return r.error();
      }
      if (format_v == "webp") {
        return unsupported("output_format", format_v, call, p, "use png or jpeg");
      }
      boost::json::object params;
      params["sampleCount"] = call.n;
      if (ratio) {
        params["aspectRatio"] = *ratio;
      }
      if (!format_v.empty()) {
        call.output_format = format_v;
        boost::json::object out_opts;
        out_opts["mimeType"] = format_v == "jpeg" ? "image/jpeg" : "image/png";
        if (const auto* c = present(body, "output_compression");
            c != nullptr && format_v == "jpeg") {
          const auto v = integer_of(*c);
          if (!v || *v < 0 || *v > 100) {
            return error::bad_request("'output_compression' must be an integer from 0 to 100");
          }
          out_opts["compressionQuality"] = *v;
        }
        params["outputOptions"] = std::move(out_opts);
      }
      boost::json::object instance;
      instance["prompt"] = **prompt;
      up["instances"] = boost::json::array{std::move(instance)};
      up["parameters"] = std::move(params);
      break;
    }
    case image_api::gemini_generate_content: {
      if (auto r = check_ratio(gemini_ratios); !r) {
        return r.error();
      }
      if (!format_v.empty() && format_v != "png") {
        return unsupported("output_format", format_v, call, p, "they answer PNG");
      }
      boost::json::object part;
      part["text"] = **prompt;
      boost::json::object content;
      content["role"] = "user";
      content["parts"] = boost::json::array{std::move(part)};
      boost::json::object gen;
      gen["responseModalities"] = boost::json::array{"IMAGE"};
      if (ratio) {
        gen["imageConfig"] = boost::json::object{{"aspectRatio", *ratio}};
      }
      up["contents"] = boost::json::array{std::move(content)};
      up["generationConfig"] = std::move(gen);
      break;
    }
    case image_api::bedrock_nova: {
      if (!format_v.empty() && format_v != "png") {
        return unsupported("output_format", format_v, call, p, "they answer PNG");
      }
      boost::json::object cfg;
      cfg["numberOfImages"] = call.n;
      if (size_v != "auto") {
        const auto d = dimensions_of(size_v);
        if (!d) {
          return error::bad_request(
              "'size' must be 'auto' or WIDTHxHEIGHT (e.g. 1024x1024), not '" +
              std::string(size_v) + "'");
        }
        cfg["width"] = d->first;
        cfg["height"] = d->second;
      }
      if (quality_v == "hd" || quality_v == "high") {
        cfg["quality"] = "premium";
      } else if (quality_v == "standard" || quality_v == "medium" || quality_v == "low") {
        cfg["quality"] = "standard";
      } else if (quality_v != "auto") {
        return error::bad_request("'quality' must be one of auto, standard, hd, low, medium, high");
      }
      up["taskType"] = "TEXT_IMAGE";
      up["textToImageParams"] = boost::json::object{{"text", **prompt}};
      up["imageGenerationConfig"] = std::move(cfg);
      break;
    }
    case image_api::bedrock_stability: {
      if (auto r = check_ratio(stability_ratios); !r) {
        return r.error();
      }
      if (format_v == "webp") {
        return unsupported("output_format", format_v, call, p, "use png or jpeg");
      }
      up["prompt"] = **prompt;
      if (ratio) {
        up["aspect_ratio"] = *ratio;
      }
      call.output_format = format_v.empty() ? "png" : format_v;
      up["output_format"] = call.output_format;
      break;
    }
  }

  // Endpoint, headers, auth.
  const bool bedrock = p == provider_kind::bedrock;
  auto ep = bedrock ? bedrock_endpoint(options, call.model, query)
                    : gemini_endpoint(options, call.model, call.api, query);
  if (!ep) {
    return ep.error();
  }
  auto& out = call.request;
  out.headers.reserve(headers.size() + 4);
  forward_client_headers(headers, out.headers);
  out.headers.set("Content-Type", "application/json");
  out.headers.set("Accept", "application/json");
  out.headers.set("Accept-Encoding", "identity");
  if (const auto field = apply_auth(conf.auth, out.headers, ep->query, body)) {
    up[field->name] = field->value;
  }
  out.body = json::to_json(up);
  out.method = "POST";
  out.scheme = ep->scheme;
  out.host = std::move(ep->host);
  out.port = ep->port;
  out.target = ep->target();
  if (bedrock) {
    out.aws_sigv4 = aws_signing{options.bedrock.aws_region, "bedrock"};
  }
  return call;
}

result<image_answer> images_from_upstream(const image_call& call, std::string_view body,
                                          std::int64_t created) {
  const bool bedrock =
      call.api == image_api::bedrock_nova || call.api == image_api::bedrock_stability;
  const std::string_view provider = bedrock ? "bedrock" : "gemini";
  boost::system::error_code ec;
  boost::json::parse_options popts;
  popts.max_depth = 64;
  const auto v = boost::json::parse(body, ec, {}, popts);
  const auto* obj = ec ? nullptr : v.if_object();
  if (obj == nullptr) {
    return error::bad_gateway(std::string(provider) + " image response is not a JSON object");
  }
  const auto bad_shape = [&](std::string_view what) {
    return error::bad_gateway(std::string(provider) + " image response: " + std::string(what));
  };

  image_answer answer;
  answer.summary.response_model = call.model;
  std::vector<image_out> images;
  std::string reasons;
  const std::string_view fallback_format = call.output_format;
  const json::usage* usage = nullptr;

  switch (call.api) {
    case image_api::imagen_predict: {
      // Imagen leaves blocked images out (all of them: an empty object).
      const auto* preds = obj->if_contains("predictions");
      if (preds != nullptr && !preds->is_array()) {
        return bad_shape("'predictions' is not an array");
      }
      if (preds != nullptr) {
        for (const auto& p : preds->get_array()) {
          const auto* po = p.if_object();
          if (po == nullptr) {
            continue;
          }
          const auto b64 = string_at(*po, "bytesBase64Encoded");
          if (!b64.empty()) {
            images.push_back({b64, string_at(*po, "mimeType")});
          } else {
            add_reason(reasons, string_at(*po, "raiFilteredReason"));
          }
        }
      }
      break;
    }
    case image_api::gemini_generate_content: {
      const auto* cands = obj->if_contains("candidates");
      const auto* feedback = object_at(*obj, "promptFeedback");
      if ((cands == nullptr || !cands->is_array()) && feedback == nullptr) {
        return bad_shape("'candidates' not in gemini response");
      }
      if (feedback != nullptr) {
        add_reason(reasons, string_at(*feedback, "blockReason"));
        add_reason(reasons, string_at(*feedback, "blockReasonMessage"));
      }
      std::string text;
      if (cands != nullptr && cands->is_array()) {
        for (const auto& c : cands->get_array()) {
          const auto* co = c.if_object();
          if (co == nullptr) {
            continue;
          }
          const auto finish = string_at(*co, "finishReason");
          const auto* content = object_at(*co, "content");
          const auto* parts = content != nullptr ? content->if_contains("parts") : nullptr;
          bool any = false;
          if (parts != nullptr && parts->is_array()) {
            for (const auto& part : parts->get_array()) {
              const auto* pobj = part.if_object();
              if (pobj == nullptr) {
                continue;
              }
              const auto* inline_data = object_at(*pobj, "inlineData");
              if (inline_data == nullptr) {
                inline_data = object_at(*pobj, "inline_data");
              }
              if (inline_data != nullptr && !string_at(*inline_data, "data").empty()) {
                images.push_back(
                    {string_at(*inline_data, "data"), string_at(*inline_data, "mimeType")});
                any = true;
              } else if (const auto t = string_at(*pobj, "text"); !t.empty() && text.empty()) {
                text = std::string(trim(t));
              }
            }
          }
          if (!any && finish != "STOP") {
            add_reason(reasons, finish);
          }
        }
      }
      add_reason(reasons, text);
      if (const auto mv = string_at(*obj, "modelVersion"); !mv.empty()) {
        answer.summary.response_model = std::string(mv);
      }
      if (const auto* um = object_at(*obj, "usageMetadata")) {
        auto& u = answer.summary.usage;
        u.prompt_tokens = int_or_zero(*um, "promptTokenCount");
        u.completion_tokens = int_or_zero(*um, "candidatesTokenCount");
        u.total_tokens = int_or_zero(*um, "totalTokenCount");
        if (u.total_tokens == 0) {
          u.total_tokens = u.prompt_tokens + u.completion_tokens;
        }
        u.known = true;
        usage = &u;
      }
      break;
    }
    case image_api::bedrock_nova: {
      const auto* list = obj->if_contains("images");
      if (list != nullptr && !list->is_array()) {
        return bad_shape("'images' is not an array");
      }
      add_reason(reasons, string_at(*obj, "error"));
      if (list == nullptr && reasons.empty()) {
        return bad_shape("'images' not in bedrock response");
      }
      if (list != nullptr) {
        for (const auto& i : list->get_array()) {
          if (i.is_string() && !i.get_string().empty()) {
            images.push_back({i.get_string(), {}});
          }
        }
      }
      break;
    }
    case image_api::bedrock_stability: {
      const auto* list = obj->if_contains("images");
      const auto* finish = obj->if_contains("finish_reasons");
      if ((list != nullptr && !list->is_array()) || (finish != nullptr && !finish->is_array())) {
        return bad_shape("'images' or 'finish_reasons' is not an array");
      }
      if (list == nullptr && finish == nullptr) {
        return bad_shape("'images' not in bedrock response");
      }
      const auto* reasons_array = finish != nullptr ? &finish->get_array() : nullptr;
      if (list != nullptr) {
        const auto& arr = list->get_array();
        for (std::size_t i = 0; i < arr.size(); ++i) {
          const auto* why = reasons_array != nullptr && i < reasons_array->size()
                                ? &(*reasons_array)[i]
                                : nullptr;
          if (why != nullptr && why->is_string()) {
            add_reason(reasons, why->get_string());
            continue;  // filtered
          }
          if (arr[i].is_string() && !arr[i].get_string().empty()) {
            images.push_back({arr[i].get_string(), {}});
          }
        }
      }
      if (reasons_array != nullptr) {
        for (const auto& why : *reasons_array) {
          if (why.is_string()) {
            add_reason(reasons, why.get_string());
          }
        }
      }
      break;
    }
  }

  if (images.empty()) {
    return no_image(provider, std::move(reasons));
  }
  const auto format = format_of_mime(images.front().mime, fallback_format);
  answer.body = write_answer(images, format, created, usage);
  answer.images = images.size();
  return answer;
}

}  // namespace aiproxy::providers
