#pragma once
// One decoded upstream stream event, whatever the framing, and the framing kinds. Pure data.

#include <string>

namespace aiproxy::stream {

/// SSE: `name` is the `event:` field (empty = "message"), `data` the joined `data:` lines,
/// `id` the `id:` field. NDJSON and JSON-array framings: `data` is one JSON value, `name` empty.
/// AWS eventstream: `name` is the `:event-type` header, `data` the payload.
struct event {
  std::string name;
  std::string data;
  std::string id;
};

enum class framing { none, sse, ndjson, json_array, aws_eventstream };

}  // namespace aiproxy::stream
