// Golden tests: every folder tests/golden/<provider>/<case>/ runs the whole translation path
// (validate -> resolve model -> to_upstream -> from_upstream or the stream translator, or the
// mock) and compares with its expected_* files. AIPROXY_UPDATE_GOLDEN=1 rewrites them.
// Layout of a case: see tests/golden/README.md.
#include "golden_support.hpp"

#include "aiproxy/providers/mock.hpp"
#include "aiproxy/providers/provider.hpp"
#include "aiproxy/providers/request_validation.hpp"
#include "aiproxy/stream/aws_eventstream.hpp"
#include "aiproxy/stream/decoder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

namespace aiproxy::providers {
namespace {

namespace fs = std::filesystem;
using testing::parse_json;
using testing::pretty;
using testing::read_file;

constexpr std::string_view mock_id = "chatcmpl-mock-golden";
constexpr std::int64_t mock_created = 1700000000;

bool updating() {
  const char* env = std::getenv("AIPROXY_UPDATE_GOLDEN");
  return env != nullptr && std::string_view(env) == "1";
}

std::vector<fs::path> golden_cases() {
  std::vector<fs::path> cases;
  const auto root = testing::source_dir() / "tests" / "golden";
  if (!fs::exists(root)) {
    return cases;
  }
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().filename() == "config.json") {
      cases.push_back(entry.path().parent_path());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

// Compares `actual` with the expected file (as JSON), or writes it when updating.
void check_json(const fs::path& file, const boost::json::value& actual) {
  if (updating()) {
    testing::write_file(file, pretty(actual));
    return;
  }
  ASSERT_TRUE(fs::exists(file)) << file << " is missing (run with AIPROXY_UPDATE_GOLDEN=1)";
  const auto expected = parse_json(read_file(file));
  EXPECT_TRUE(testing::same_json(expected, actual))
      << file << "\nexpected: " << json::to_json(expected)
      << "\nactual:   " << json::to_json(actual);
}

void check_sse(const fs::path& file, std::string_view actual) {
  if (updating()) {
    testing::write_file(file, actual);
    return;
  }
  ASSERT_TRUE(fs::exists(file)) << file << " is missing (run with AIPROXY_UPDATE_GOLDEN=1)";
  const auto diff = testing::compare_sse(read_file(file), actual);
  EXPECT_TRUE(diff.empty()) << file << ": " << diff;
}

boost::json::value error_json(const error& e) {
  boost::json::object o;
  o["status"] = e.status;
  o["message"] = e.message;
  return o;
}

boost::json::value summary_json(const response_summary& s, std::string_view text) {
  boost::json::object u;
  u["known"] = s.usage.known;
  u["prompt_tokens"] = s.usage.prompt_tokens;
  u["completion_tokens"] = s.usage.completion_tokens;
  u["total_tokens"] = s.usage.total_tokens;
  u["cached_tokens"] = s.usage.cached_tokens;
  u["reasoning_tokens"] = s.usage.reasoning_tokens;
  boost::json::object o;
  o["usage"] = std::move(u);
  o["response_model"] = s.response_model;
  o["finish_reason"] = s.finish_reason;
  if (!text.empty()) {
    o["text"] = text;
  }
  return o;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* framing_name(stream::framing f) {
  switch (f) {
    case stream::framing::sse:
      return "sse";
    case stream::framing::ndjson:
      return "ndjson";
    case stream::framing::json_array:
      return "json_array";
    case stream::framing::aws_eventstream:
      return "aws_eventstream";
    case stream::framing::none:
      break;
  }
  return "none";
}

boost::json::value upstream_json(const upstream_request& u) {
  boost::json::object headers;
  for (const auto& [name, value] : u.headers.fields()) {
    headers[lower(std::string(name))] = value;
  }
  boost::json::object o;
  o["method"] = u.method;
  o["url"] = u.scheme + "://" + u.host + ":" + std::to_string(u.port) + u.target;
  o["headers"] = std::move(headers);
  o["body"] = u.body.empty() ? boost::json::value() : parse_json(u.body);
  o["framing"] = framing_name(u.framing);
  if (u.json_array_stream_ok) {
    o["json_array_stream_ok"] = true;
  }
  if (u.aws_sigv4) {
    o["aws_sigv4"] = {{"region", u.aws_sigv4->region}, {"service", u.aws_sigv4->service}};
  }
  return o;
}

/// The recorded upstream stream of a case and its framing: upstream_stream.sse, .ndjson,
/// .json (a JSON array stream), .eventstream (binary AWS eventstream) or .eventstream.json
/// (`[{"event": type, "payload": {...}}]`, encoded here into AWS eventstream frames).
struct recorded_stream {
  std::string bytes;
  stream::framing framing = stream::framing::none;
};

std::optional<recorded_stream> upstream_stream_of(const fs::path& dir) {
  const std::pair<const char*, stream::framing> files[] = {
      {"upstream_stream.sse", stream::framing::sse},
      {"upstream_stream.ndjson", stream::framing::ndjson},
      {"upstream_stream.json", stream::framing::json_array},
      {"upstream_stream.eventstream", stream::framing::aws_eventstream},
  };
  for (const auto& [name, framing] : files) {
    if (fs::exists(dir / name)) {
      return recorded_stream{read_file(dir / name), framing};
    }
  }
  if (fs::exists(dir / "upstream_stream.eventstream.json")) {
    recorded_stream r{{}, stream::framing::aws_eventstream};
    const auto frames = parse_json(read_file(dir / "upstream_stream.eventstream.json"));
    for (const auto& f : frames.as_array()) {
      const auto& fo = f.as_object();
      const std::string payload = json::to_json(fo.at("payload"));
      const auto& type = fo.at("event").as_string();
      if (fo.contains("exception")) {
        stream::append_aws_eventstream_exception(r.bytes, type, payload);
      } else {
        stream::append_aws_eventstream_event(r.bytes, type, payload);
      }
    }
    return r;
  }
  return std::nullopt;
}

class golden : public ::testing::TestWithParam<fs::path> {};

TEST_P(golden, matches) {
  const fs::path dir = GetParam();
  const auto conf_json = parse_json(read_file(dir / "config.json"));
  const auto conf = testing::config_from_json(conf_json.as_object());
  const auto client = parse_json(read_file(dir / "client_request.json"));
  const auto& cobj = client.as_object();
  const auto headers = testing::headers_from_json(cobj.if_contains("headers"));
  const std::string query =
      cobj.contains("query") ? std::string(cobj.at("query").as_string()) : std::string();
  const boost::json::value& body = cobj.at("body");

  // The plugin's steps before translation.
  auto info = validate_request(conf.route_type, body);
  if (!info) {
    check_json(dir / "expected_error.json", error_json(info.error()));
    return;
  }
  auto model = resolve_model_name(conf.model.name, info->model);
  if (!model) {
    check_json(dir / "expected_error.json", error_json(model.error()));
    return;
  }
  const target t{conf,
                 conf.model.options,
                 *model,
                 info->stream || conf.response_streaming == config::streaming_policy::always,
                 info->include_usage,
                 mock_created,
                 mock_id};
  const client_request req{body.as_object(), headers, query};

  if (conf.model.provider == config::provider_kind::mock) {
    const auto reply = make_mock_reply(req, t, mock_id, mock_created);
    if (t.stream) {
      std::string all;
      for (const auto& c : reply.chunks) {
        all += c;
      }
      check_sse(dir / "expected_client_stream.sse", all);
    } else {
      check_json(dir / "expected_client_response.json", parse_json(reply.body));
    }
    check_json(dir / "expected_summary.json", summary_json(reply.summary, {}));
    return;
  }

  const provider& p = provider_for(conf);
  auto up = p.to_upstream(req, t);
  if (!up) {
    check_json(dir / "expected_error.json", error_json(up.error()));
    return;
  }
  check_json(dir / "expected_upstream_request.json", upstream_json(*up));

  if (fs::exists(dir / "upstream_response.json")) {
    const std::string upstream_body = read_file(dir / "upstream_response.json");
    auto res = p.from_upstream(upstream_body, t);
    if (!res) {
      check_json(dir / "expected_client_response.json", error_json(res.error()));
      return;
    }
    const std::string client_body = res->body ? *res->body : upstream_body;
    if (!res->body) {
      EXPECT_EQ(client_body, upstream_body);  // passthrough is byte for byte
    }
    check_json(dir / "expected_client_response.json", parse_json(client_body));
    check_json(dir / "expected_summary.json", summary_json(res->summary, {}));
  }

  if (auto recorded = upstream_stream_of(dir)) {
    ASSERT_TRUE(t.stream);
    auto decoder = stream::make_decoder(recorded->framing);
    ASSERT_NE(decoder, nullptr);
    std::vector<stream::event> events;
    boost::json::value stream_error;
    if (auto r = decoder->feed(recorded->bytes, events); !r) {
      stream_error = error_json(r.error());
    } else if (auto f = decoder->finish(events); !f) {
      stream_error = error_json(f.error());
    }
    auto translator = p.make_stream_translator(t);
    ASSERT_NE(translator, nullptr);
    std::string out;
    for (const auto& ev : events) {
      if (auto r = translator->on_event(ev, out); !r) {
        stream_error = error_json(r.error());
        break;
      }
    }
    if (stream_error.is_null()) {
      if (auto r = translator->finish(out); !r) {
        stream_error = error_json(r.error());
      }
    }
    check_sse(dir / "expected_client_stream.sse", out);
    auto summary = summary_json(translator->summary(), translator->text());
    if (!stream_error.is_null()) {
      summary.as_object()["stream_error"] = stream_error;
    }
    check_json(dir / "expected_summary.json", summary);
  }

  // upstream_error.json: {"status": N, "body": <the provider's error body, JSON or a string>}.
  // expected_client_error.json: what a route with normalize_errors sends (null = unchanged).
  if (fs::exists(dir / "upstream_error.json")) {
    const auto err = parse_json(read_file(dir / "upstream_error.json"));
    const auto& eo = err.as_object();
    const auto& b = eo.at("body");
    const std::string raw = b.is_string() ? std::string(b.get_string()) : json::to_json(b);
    const auto normalized =
        p.openai_error(static_cast<int>(eo.at("status").to_number<double>()), raw);
    check_json(dir / "expected_client_error.json",
               normalized ? parse_json(*normalized) : boost::json::value());
  }
}

std::string case_name(const ::testing::TestParamInfo<fs::path>& info) {
  const auto rel = fs::relative(info.param, testing::source_dir() / "tests" / "golden");
  std::string name;
  for (const char c : rel.string()) {
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(cases, golden, ::testing::ValuesIn(golden_cases()), case_name);

TEST(golden_suite, has_cases) {
  EXPECT_GE(golden_cases().size(), 30u);
}

}  // namespace
}  // namespace aiproxy::providers
