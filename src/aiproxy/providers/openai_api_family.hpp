#pragma once
// The OpenAI API family beyond chat, completions and embeddings (responses, files, batches,
// assistants/threads/vector stores, audio, images, videos) for providers openai and azure: where
// a client's request goes upstream (path mapping, Azure's two URL surfaces, upstream_url), the
// model checks of JSON bodies, the multipart boundary and part-disposition readers the upload
// scanner (multipart_stream.hpp) uses, and the usage these APIs report (Responses API, images,
// transcriptions) in whole bodies and SSE events. Pure: no I/O, no Asio; bytes and JSON in, values
// out.

#include "aiproxy/config/config.hpp"
#include "aiproxy/core/error.hpp"
#include "aiproxy/json/usage.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/providers/upstream_url.hpp"
#include "aiproxy/stream/event.hpp"

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace aiproxy::providers {

// ---------------------------------------------------------------- paths

/// The resource a client path names for a route type, found by its first segment(s) wherever
/// the route put them: `resource` is the path from that segment on, without a leading slash
/// (`files/file-abc/content`), `root` the segment(s) that identify it (`files`, `audio/speech`).
struct api_resource {
  std::string resource;
  std::string_view root;
};

/// Finds the resource of `route_type` in `path` (percent-encoded, starting with '/'): the first
/// segment equal to one of the route type's roots (responses; files; batches; assistants,
/// threads or vector_stores; audio/speech; audio/transcriptions; audio/translations;
/// images/generations; images/edits; videos). nullopt when `path` holds none of them.
std::optional<api_resource> find_api_resource(config::route_type route_type, std::string_view path);

/// What the gateway knows of one client request when it maps it.
struct api_family_request {
  config::route_type route_type = config::route_type::llm_v1_responses;
  config::provider_kind provider = config::provider_kind::openai;
  const config::model_options* options = nullptr;  // resolved (templated) model.options
  std::string_view method;                         // the client's
  std::string_view upstream_path;  // config::route_match::upstream_path (the stripped path)
  std::string_view request_path;   // the client's path, searched when the route stripped it all
  std::string_view query;          // the client's raw query string, without '?'
};

/// Where the request goes: the client's method and the endpoint (scheme, host, port, path,
/// query with Azure's api-version and the client's parameters; auth not applied yet).
struct api_family_target {
  std::string method;
  endpoint ep;
  api_resource resource;
  /// True for a create call whose body carries the model: `model` in a JSON body (POST
  /// responses, audio/speech, images/generations, videos) or a `model` form field in a multipart
  /// one (audio transcriptions and translations, images/edits, videos with a reference).
  bool model_in_body = false;
};

/// Maps one client request. OpenAI: `https://api.openai.com/v1/<resource>`. Azure, with an
/// api-version of `preview`, `v1` or `latest`: `/openai/v1/<resource>`; with a dated one:
/// audio and images under `/openai/deployments/{azure_deployment_id}/<resource>`, the rest
/// under `/openai/<resource>`, videos always on the v1 surface (api-version `preview` when the
/// configured one is dated); `api-version` is a default the client's query may replace.
/// `model.options.upstream_url` without a path moves the mapped path to its host; with a path,
/// that path is the base the resource is appended to (a base already ending in the resource's
/// root, e.g. `.../v1/responses`, is not repeated). Errors: 404 for a path that is not the route
/// type's (or a one-shot endpoint with sub-resources), 405 for a method the endpoint does not
/// take, 400 for a path with characters that cannot go upstream or a bad Azure setting,
/// 500 for an unusable upstream_url.
result<api_family_target> map_api_family(const api_family_request& r);

// ---------------------------------------------------------------- multipart/form-data

/// The boundary of a `multipart/form-data` Content-Type (quoted or not); nullopt for any other
/// type or a boundary that RFC 2046 forbids (empty, over 70 characters).
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// The Content-Disposition of one part, read from its header block (CRLF-separated lines).
struct multipart_disposition {
  std::optional<std::string> name;  // the form field's name, when the part is form-data
  bool file = false;                // the part has a filename: a file, never a text field
};

/// Reads the first Content-Disposition line of a part's headers (`form-data; name="x"`,
/// quoted or not, `filename`/`filename*` making it a file). Empty for any other disposition.
multipart_disposition read_multipart_disposition(std::string_view headers);

// ---------------------------------------------------------------- usage

/// Reads a usage object of the Responses, Images or Audio APIs (`input_tokens`,
/// `output_tokens`, `total_tokens`, `input_tokens_details.cached_tokens`,
/// `output_tokens_details.reasoning_tokens`) into json::usage (prompt = input, completion =
/// output); a chat-shaped usage (`prompt_tokens`) is read as chat's. Duration-based usage
/// (`{"type":"duration","seconds":…}`) is not tokens: known stays false.
json::usage read_api_usage(const boost::json::value& usage) noexcept;

/// Model and usage from a whole JSON response body (a Responses API object, an image or
/// transcription result): top-level `model` and `usage`, or those of a `response` member.
/// Never fails: what cannot be read stays empty.
response_summary summary_from_api_body(std::string_view body);

/// Follows an SSE stream of the API family (Responses API events, streamed transcriptions and
/// images) and keeps the model and usage it reports; the bytes themselves are never changed.
/// Only events that can carry them are parsed: `response.created`/`in_progress` until the model
/// is known, `response.completed`, `response.incomplete`, `response.failed`, and any event whose
/// data holds `"usage"`.
class api_stream_scanner {
 public:
  void on_event(const stream::event& ev);
  const response_summary& summary() const noexcept { return summary_; }
  /// True once a terminal Responses API event (completed, incomplete, failed) was seen.
  bool finished() const noexcept { return finished_; }

 private:
  response_summary summary_;
  bool finished_ = false;
};

}  // namespace aiproxy::providers
