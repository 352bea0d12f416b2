// The OpenAI API family for openai and azure: path mapping, multipart field reading and usage
// (see openai_api_family.hpp). Pure: no I/O.
#include "aiproxy/providers/openai_api_family.hpp"

#include "aiproxy/json/usage_reader.hpp"
#include "aiproxy/providers/json_access.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <span>
#include <vector>

namespace aiproxy::providers {

namespace {

using config::provider_kind;
using config::route_type;

constexpr std::string_view responses_roots[] = {"responses"};
constexpr std::string_view files_roots[] = {"files"};
constexpr std::string_view batches_roots[] = {"batches"};
constexpr std::string_view assistants_roots[] = {"assistants", "threads", "vector_stores"};
constexpr std::string_view speech_roots[] = {"audio/speech"};
constexpr std::string_view transcriptions_roots[] = {"audio/transcriptions"};
constexpr std::string_view translations_roots[] = {"audio/translations"};
constexpr std::string_view generations_roots[] = {"images/generations"};
constexpr std::string_view edits_roots[] = {"images/edits"};
constexpr std::string_view videos_roots[] = {"videos"};

std::span<const std::string_view> roots_of(route_type t) {
  switch (t) {
    case route_type::llm_v1_responses:
      return responses_roots;
    case route_type::llm_v1_files:
      return files_roots;
    case route_type::llm_v1_batches:
      return batches_roots;
    case route_type::llm_v1_assistants:
      return assistants_roots;
    case route_type::audio_v1_audio_speech:
      return speech_roots;
    case route_type::audio_v1_audio_transcriptions:
      return transcriptions_roots;
    case route_type::audio_v1_audio_translations:
      return translations_roots;
    case route_type::image_v1_images_generations:
      return generations_roots;
    case route_type::image_v1_images_edits:
      return edits_roots;
    case route_type::video_v1_videos_generations:
      return videos_roots;
    default:
      return {};
  }
}

/// Endpoints that take one POST and have no sub-resources.
bool is_one_shot(route_type t) {
  switch (t) {
    case route_type::audio_v1_audio_speech:
    case route_type::audio_v1_audio_transcriptions:
    case route_type::audio_v1_audio_translations:
    case route_type::image_v1_images_generations:
    case route_type::image_v1_images_edits:
      return true;
    default:
      return false;
  }
}

/// Azure's classic (dated api-version) surface puts these under a deployment.
bool is_deployment_scoped(route_type t) {
  return is_one_shot(t);
}

bool is_v1_style_version(std::string_view v) {
  return v == "preview" || v == "v1" || v == "latest";
}

bool is_host_label(std::string_view s) noexcept {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (const char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

/// RFC 3986 pchar plus '/': what may go into the upstream path as it is.
bool is_path_char(char ch) noexcept {
  const auto c = static_cast<unsigned char>(ch);
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  constexpr std::string_view extra = "-._~!$&'()*+,;=:@%/";
  return extra.find(ch) != std::string_view::npos;
}

std::string clipped(std::string_view s) {
  constexpr std::size_t max = 200;
  std::string out(s.substr(0, max));
  if (s.size() > max) {
    out += "...";
  }
  return out;
}

/// Splits `path` into segments with their offsets (empty segments skipped).
struct segment {
  std::string_view text;
  std::size_t offset;
};
std::vector<segment> segments_of(std::string_view path) {
  std::vector<segment> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const auto end = path.find('/', i);
    const auto stop = end == std::string_view::npos ? path.size() : end;
    out.push_back({path.substr(i, stop - i), i});
    i = stop;
  }
  return out;
}

std::string_view trim_trailing_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

/// A parameter value as written: quoted (with backslash escapes) or a token.
std::string unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    v = v.substr(1, v.size() - 2);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) {
        ++i;
      }
      out.push_back(v[i]);
    }
    return out;
  }
  return std::string(v);
}

/// Splits `a; b=c; d="e;f"` on semicolons outside quotes.
std::vector<std::string_view> split_params(std::string_view s) {
  std::vector<std::string_view> out;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ';' && !quoted) {
      out.push_back(trim_ws(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim_ws(s.substr(std::min(start, s.size()))));
  return out;
}

struct parse_arena {
  alignas(std::max_align_t) std::array<unsigned char, 4096> buffer;
  boost::json::monotonic_resource resource{buffer.data(), buffer.size()};
};

/// The object usage and model are read from: `response` when the body wraps one, else itself.
const boost::json::object* summary_source(const boost::json::object& obj) {
  if (const auto* r = obj.if_contains("response"); r != nullptr && r->is_object()) {
    return &r->get_object();
  }
  return &obj;
}

void read_summary(const boost::json::object& obj, response_summary& s) {
  const auto* src = summary_source(obj);
  if (const auto model = string_at(*src, "model"); !model.empty()) {
    s.response_model.assign(model.data(), model.size());
  }
  const auto* u = src->if_contains("usage");
  if (u == nullptr && src != &obj) {
    u = obj.if_contains("usage");
  }
  if (u != nullptr && u->is_object()) {
    auto usage = read_api_usage(*u);
    if (usage.known) {
      s.usage = usage;
    }
  }
  if (const auto status = string_at(*src, "status"); !status.empty()) {
    s.finish_reason.assign(status.data(), status.size());
  }
}

}  // namespace

// ---------------------------------------------------------------- paths

std::optional<api_resource> find_api_resource(route_type route_type, std::string_view path) {
  const auto roots = roots_of(route_type);
  if (roots.empty()) {
    return std::nullopt;
  }
  const auto segs = segments_of(path);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    for (const std::string_view root : roots) {
      // A root has one or two segments ("files", "audio/speech").
      const auto slash = root.find('/');
      const std::string_view first = root.substr(0, slash);
      if (segs[i].text != first) {
        continue;
      }
      if (slash != std::string_view::npos &&
          (i + 1 >= segs.size() || segs[i + 1].text != root.substr(slash + 1))) {
        continue;
      }
      api_resource out;
      out.resource = std::string(trim_trailing_slashes(path.substr(segs[i].offset)));
      out.root = root;
      return out;
    }
  }
  return std::nullopt;
}

result<api_family_target> map_api_family(const api_family_request& r) {
  const std::string_view rt_name = config::to_string(r.route_type);
  auto found = find_api_resource(r.route_type, r.upstream_path);
  if (!found) {
    found = find_api_resource(r.route_type, r.request_path);
  }
  if (!found) {
    std::string expected;
    for (const auto root : roots_of(r.route_type)) {
      expected += expected.empty() ? "" : " or ";
      expected += "/" + std::string(root) + (is_one_shot(r.route_type) ? "" : "[/...]");
    }
    return error::not_found("path '" + clipped(r.request_path) + "' is not a " +
                            std::string(rt_name) + " endpoint (expected " + expected + ")");
  }
  api_family_target out;
  out.method = std::string(r.method);
  out.resource = std::move(*found);
  std::string& resource = out.resource.resource;

  for (const char c : resource) {
    if (!is_path_char(c)) {
      return error::bad_request("path '" + clipped(r.request_path) +
                                "' holds characters that cannot be sent upstream");
    }
  }
  for (const auto& seg : segments_of(resource)) {
    if (seg.text == "." || seg.text == ".." || iequals(seg.text, "%2e") ||
        iequals(seg.text, "%2e%2e") || iequals(seg.text, ".%2e") || iequals(seg.text, "%2e.")) {
      return error::not_found("path '" + clipped(r.request_path) + "' is not a " +
                              std::string(rt_name) + " endpoint (dot segments)");
    }
  }

  const bool post = r.method == "POST";
  if (is_one_shot(r.route_type)) {
    if (resource != out.resource.root) {
      return error::not_found("path '" + clipped(r.request_path) + "' is not a " +
                              std::string(rt_name) + " endpoint: /" +
                              std::string(out.resource.root) + " has no sub-resources");
    }
    if (!post) {
      return error::method_not_allowed("method " + clipped(r.method) + " is not allowed for /" +
                                       std::string(out.resource.root) + "; use POST");
    }
    out.model_in_body = true;
  } else if (r.route_type == route_type::video_v1_videos_generations) {
    // Kong's route type name: POST /videos/generations creates a video, as POST /videos does.
    if (resource == "videos/generations" && post) {
      resource = "videos";
    }
    out.model_in_body = post && resource == "videos";
  } else if (r.route_type == route_type::llm_v1_responses) {
    out.model_in_body = post && resource == "responses";
  }

  const config::model_options empty_options;
  const config::model_options& opt = r.options != nullptr ? *r.options : empty_options;
  endpoint& ep = out.ep;
  switch (r.provider) {
    case provider_kind::openai:
      ep.host = "api.openai.com";
      ep.path = "/v1/" + resource;
      break;
    case provider_kind::azure: {
      if (opt.upstream_url.empty() && !is_host_label(opt.azure_instance)) {
        return error::bad_request("model.options.azure_instance must be a host name label");
      }
      ep.host = opt.azure_instance + ".openai.azure.com";
      const std::string& version = opt.azure_api_version;
      std::string api_version = version;
      if (r.route_type == route_type::video_v1_videos_generations) {
        ep.path = "/openai/v1/" + resource;
        if (!is_v1_style_version(version)) {
          api_version = "preview";
        }
      } else if (is_v1_style_version(version)) {
        ep.path = "/openai/v1/" + resource;
      } else if (is_deployment_scoped(r.route_type)) {
        if (opt.azure_deployment_id.empty()) {
          return error::bad_request("model.options.azure_deployment_id is empty");
        }
        ep.path = "/openai/deployments/" + percent_encode(opt.azure_deployment_id) + "/" + resource;
      } else {
        ep.path = "/openai/" + resource;
      }
      if (!api_version.empty()) {
        ep.query.set("api-version", api_version, query_builder::origin::provider_default);
      }
      break;
    }
    default:
      return error::internal("route type " + std::string(rt_name) + " is served for providers " +
                             "openai and azure only");
  }

  if (!opt.upstream_url.empty()) {
    std::string mapped = std::move(ep.path);
    ep.path.clear();
    if (auto a = apply_upstream_url(ep, opt.upstream_url); !a) {
      return a.error();
    }
    if (ep.path.empty()) {
      ep.path = std::move(mapped);
    } else {
      std::string_view base = trim_trailing_slashes(ep.path);
      const std::string root_suffix = "/" + std::string(out.resource.root);
      if (base.size() >= root_suffix.size() &&
          base.substr(base.size() - root_suffix.size()) == root_suffix) {
        base.remove_suffix(root_suffix.size());
      }
      ep.path = std::string(base) + "/" + resource;
    }
  }
  if (auto q = ep.query.add_client_query(r.query); !q) {
    return q.error();
  }
  return out;
}

// ---------------------------------------------------------------- multipart/form-data

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const auto params = split_params(content_type);
  if (params.empty() || !iequals(params.front(), "multipart/form-data")) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < params.size(); ++i) {
    const auto eq = params[i].find('=');
    if (eq == std::string_view::npos || !iequals(trim_ws(params[i].substr(0, eq)), "boundary")) {
      continue;
    }
    std::string b = unquote(trim_ws(params[i].substr(eq + 1)));
    if (b.empty() || b.size() > 70 || b.find_first_of("\r\n") != std::string::npos) {
      return std::nullopt;
    }
    return b;
  }
  return std::nullopt;
}

multipart_disposition read_multipart_disposition(std::string_view headers) {
  multipart_disposition out;
  std::size_t pos = 0;
  while (pos <= headers.size()) {
    auto end = headers.find("\r\n", pos);
    if (end == std::string_view::npos) {
      end = headers.size();
    }
    const std::string_view line = headers.substr(pos, end - pos);
    pos = end + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos ||
        !iequals(trim_ws(line.substr(0, colon)), "content-disposition")) {
      continue;
    }
    const auto params = split_params(line.substr(colon + 1));
    if (params.empty() || !iequals(params.front(), "form-data")) {
      return out;
    }
    for (std::size_t i = 1; i < params.size(); ++i) {
      const auto eq = params[i].find('=');
      if (eq == std::string_view::npos) {
        continue;
      }
      const auto key = trim_ws(params[i].substr(0, eq));
      const auto value = trim_ws(params[i].substr(eq + 1));
      if (iequals(key, "filename") || iequals(key, "filename*")) {
        out.file = true;
      } else if (iequals(key, "name")) {
        out.name = unquote(value);
      }
    }
    return out;
  }
  return out;
}

// ---------------------------------------------------------------- usage

json::usage read_api_usage(const boost::json::value& v) noexcept {
  json::usage u;
  const auto* o = v.if_object();
  if (o == nullptr) {
    return u;
  }
  const auto* in = o->if_contains("input_tokens");
  const auto* out = o->if_contains("output_tokens");
  if (in == nullptr && out == nullptr) {
    if (o->contains("prompt_tokens") || o->contains("completion_tokens")) {
      return json::read_openai_usage(v);
    }
    return u;  // duration-based or unknown
  }
  bool any = false;
  if (in != nullptr) {
    any = json::read_count(*in, u.prompt_tokens) || any;
  }
  if (out != nullptr) {
    any = json::read_count(*out, u.completion_tokens) || any;
  }
  if (!any) {
    return json::usage{};
  }
  u.known = true;
  const auto* total = o->if_contains("total_tokens");
  if (total == nullptr || !json::read_count(*total, u.total_tokens)) {
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
  }
  if (const auto* d = o->if_contains("input_tokens_details"); d != nullptr && d->is_object()) {
    if (const auto* c = d->get_object().if_contains("cached_tokens")) {
      (void)json::read_count(*c, u.cached_tokens);
    }
  }
  if (const auto* d = o->if_contains("output_tokens_details"); d != nullptr && d->is_object()) {
    if (const auto* c = d->get_object().if_contains("reasoning_tokens")) {
      (void)json::read_count(*c, u.reasoning_tokens);
    }
  }
  return u;
}

response_summary summary_from_api_body(std::string_view body) {
  response_summary s;
  boost::json::monotonic_resource mr;
  boost::json::parse_options popts;
  popts.max_depth = 64;
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec, &mr, popts);
  if (ec || !v.is_object()) {
    return s;
  }
  read_summary(v.get_object(), s);
  return s;
}

void api_stream_scanner::on_event(const stream::event& ev) {
  const std::string_view data = trim(ev.data);
  if (data.empty() || data.front() != '{') {
    return;
  }
  static constexpr std::array<std::string_view, 3> terminal = {
      "response.completed", "response.incomplete", "response.failed"};
  bool is_terminal = false;
  for (const auto t : terminal) {
    if (ev.name == t) {
      is_terminal = true;
    }
  }
  const bool interesting =
      is_terminal || data.find("\"usage\"") != std::string_view::npos ||
      (summary_.response_model.empty() && data.find("\"model\"") != std::string_view::npos);
  if (!interesting) {
    return;
  }
  parse_arena arena;
  boost::json::parse_options popts;
  popts.max_depth = 64;
  boost::system::error_code ec;
  const auto v = boost::json::parse(data, ec, &arena.resource, popts);
  if (ec || !v.is_object()) {
    return;
  }
  const auto& obj = v.get_object();
  const auto type = string_at(obj, "type");
  for (const auto t : terminal) {
    if (type == t) {
      is_terminal = true;
    }
  }
  if (is_terminal) {
    finished_ = true;
  }
  read_summary(obj, summary_);
}

}  // namespace aiproxy::providers
