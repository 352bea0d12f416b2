// Multipart uploads on API-family routes are relayed upstream as they arrive: the upstream has the
// first half of an upload before the client sends the second; the configured model is added to a
// body without one; an upload over max_request_body_size mid-way is a 413 and the upstream never
// gets a whole body (a declared length over it never reaches the upstream at all); a wrong model
// is a 400 with the upstream request aborted; an upstream that answers early (401) is relayed.
// The real binary against testlib::upload_sink.

#include "gateway_harness.hpp"
#include "testlib/raw_conn.hpp"
#include "testlib/upload_sink.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

namespace aiproxy::testlib {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t limit = 1024 * 1024;
const std::string boundary = "----aiproxyUploadB0undary";

std::string config_for(const upload_sink& up, const std::string& log_path) {
  const auto route = [&](const std::string& name, const std::string& path,
                         const std::string& route_type, const std::string& model) {
    return "  - name: " + name + "\n    paths: [" + path +
           "]\n    plugins:\n      - name: ai-proxy\n        config:\n          route_type: " +
           route_type +
           "\n          auth: {header_name: Authorization, header_value: \"Bearer sk-up\"}\n"
           "          max_request_body_size: " +
           std::to_string(limit) +
           "\n          logging: {log_statistics: true}\n          model:\n"
           "            provider: openai\n" +
           (model.empty() ? std::string() : "            name: " + model + "\n") +
           "            options: {upstream_url: \"" + up.base_url() + "\"}\n";
  };
  return "_format_version: \"3.0\"\nroutes:\n" +
         route("transcriptions", "/v1/audio/transcriptions", "audio/v1/audio/transcriptions",
               "whisper-1") +
         route("files", "/v1/files", "llm/v1/files", "") +
         "plugins:\n  - name: file-log\n    config:\n      path: " + log_path + "\n";
}

std::string field(const std::string& name, const std::string& value) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
         value + "\r\n";
}

std::string file_part(std::size_t size) {
  std::string data(size, 'x');
  for (std::size_t i = 0; i < size; ++i) {
    data[i] = static_cast<char>('a' + i % 26);
  }
  return "--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
         "Content-Type: audio/wav\r\n\r\n" +
         data + "\r\n";
}

std::string closing() {
  return "--" + boundary + "--\r\n";
}

std::string head_for(const std::string& path, std::optional<std::size_t> length,
                     const std::string& extra = {}) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; "
         "boundary=" +
         boundary + "\r\n" +
         (length ? "Content-Length: " + std::to_string(*length) + "\r\n"
                 : std::string("Transfer-Encoding: chunked\r\n")) +
         extra + "\r\n";
}

std::string chunk(std::string_view data) {
  std::ostringstream size;
  size << std::hex << data.size();
  return size.str() + "\r\n" + std::string(data) + "\r\n";
}

/// The status code of a response head.
int status_of(const std::string& head) {
  return std::stoi(head.substr(head.find(' ') + 1, 3));
}

/// The body of a response with Content-Length (what the gateway's own error answers carry).
std::string body_of(raw_conn& c, const std::string& head) {
  std::string lower = head;
  for (auto& ch : lower) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  const auto at = lower.find("content-length: ");
  if (at == std::string::npos) {
    return c.read_to_eof();
  }
  const std::size_t n = std::stoul(lower.substr(at + 16));
  std::string body = c.read_to_eof();
  return body.substr(0, n);
}

std::vector<boost::json::object> wait_for_records(const std::string& path, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    std::vector<boost::json::object> out;
    try {
      std::istringstream in(read_file(path));
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
          out.push_back(boost::json::parse(line).as_object());
        }
      }
    } catch (const std::exception&) {
      // not written yet, or a line half written
    }
    if (out.size() >= n || std::chrono::steady_clock::now() > deadline) {
      return out;
    }
    std::this_thread::sleep_for(10ms);
  }
}

class upload_stream : public ::testing::Test {
 protected:
  upload_sink sink;
  std::filesystem::path dir = make_temp_dir("upload");
  std::string log_path = (dir / "records.log").string();
  gateway gw{config_for(sink, log_path)};

  ~upload_stream() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

TEST_F(upload_stream, the_upstream_has_the_first_half_before_the_client_sends_the_rest) {
  sink.on([](const upload_record&) {
    upload_plan p;
    p.body = R"({"text":"heard","usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}})";
    return p;
  });
  const std::string body = field("model", "whisper-1") + file_part(512 * 1024) + closing();
  const std::size_t half = body.size() / 2;
  const std::string head = head_for("/v1/audio/transcriptions", body.size());
  raw_conn c(gw.proxy_port());
  c.send(head + body.substr(0, half));
  // The first half reaches the upstream while the second has not been sent.
  ASSERT_TRUE(sink.wait_for_body(0, half, 10s));
  EXPECT_FALSE(sink.requests()[0].complete);
  c.send(body.substr(half));
  const std::string answer = c.read_head();
  EXPECT_EQ(status_of(answer), 200) << answer;
  ASSERT_TRUE(sink.wait_for_end(0, 10s));
  const auto seen = sink.requests()[0];
  EXPECT_TRUE(seen.complete);
  EXPECT_EQ(seen.body, body);  // byte for byte
  EXPECT_EQ(seen.content_length, body.size());
  EXPECT_EQ(seen.headers.get("authorization").value_or(""), "Bearer sk-up");
  auto records = wait_for_records(log_path, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].at("request").at("size").to_number<std::uint64_t>(),
            head.size() + body.size());
  const auto& proxy = records[0].at("ai").at("proxy").as_object();
  EXPECT_EQ(proxy.at("meta").at("request_model").as_string(), "whisper-1");
  EXPECT_EQ(proxy.at("usage").at("total_tokens").to_number<int>(), 7);
}

TEST_F(upload_stream, a_model_sent_after_the_file_is_streamed_chunked_and_checked_at_the_end) {
  const std::string body = file_part(512 * 1024) + field("model", "whisper-1") + closing();
  const std::size_t half = body.size() / 2;
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/audio/transcriptions", body.size()) + body.substr(0, half));
  ASSERT_TRUE(sink.wait_for_body(0, half, 10s));
  EXPECT_TRUE(sink.requests()[0].chunked);  // the configured model might have had to be added
  c.send(body.substr(half));
  EXPECT_EQ(status_of(c.read_head()), 200);
  ASSERT_TRUE(sink.wait_for_end(0, 10s));
  EXPECT_TRUE(sink.requests()[0].complete);
  EXPECT_EQ(sink.requests()[0].body, body);
}

TEST_F(upload_stream, the_configured_model_is_added_when_the_client_sent_none) {
  const std::string body = file_part(1000) + field("language", "en") + closing();
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/audio/transcriptions", body.size()) + body);
  EXPECT_EQ(status_of(c.read_head()), 200);
  ASSERT_TRUE(sink.wait_for_end(0, 10s));
  const auto seen = sink.requests()[0];
  EXPECT_TRUE(seen.complete);
  const std::string with_model =
      file_part(1000) + field("language", "en") + field("model", "whisper-1") + closing();
  EXPECT_EQ(seen.body, with_model);
  EXPECT_EQ(seen.content_length, with_model.size());  // read ahead whole: its length is known
}

TEST_F(upload_stream, over_the_limit_mid_upload_is_413_and_the_upstream_never_gets_a_whole_body) {
  const std::string body = field("model", "whisper-1") + file_part(2 * limit) + closing();
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/audio/transcriptions", std::nullopt));
  try {
    for (std::size_t at = 0; at < body.size(); at += 64 * 1024) {
      c.send(chunk(std::string_view(body).substr(at, 64 * 1024)));
    }
    c.send("0\r\n\r\n");
  } catch (const std::runtime_error&) {
    // the gateway may stop reading once it answered
  }
  const std::string answer = c.read_head();
  EXPECT_EQ(status_of(answer), 413) << answer;
  EXPECT_NE(body_of(c, answer).find("request body is larger than the limit of 1048576 bytes for "
                                    "this route (max_request_body_size)"),
            std::string::npos);
  ASSERT_TRUE(sink.wait_for_end(0, 10s));
  const auto seen = sink.requests()[0];
  EXPECT_FALSE(seen.complete);
  EXPECT_GT(seen.body.size(), 0u);  // it was under way
  EXPECT_LE(seen.body.size(), limit);
}

TEST_F(upload_stream, a_declared_length_over_the_limit_never_reaches_the_upstream) {
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/audio/transcriptions", 2 * limit, "Expect: 100-continue\r\n"));
  const std::string answer = c.read_head();
  EXPECT_EQ(status_of(answer), 413) << answer;
  EXPECT_EQ(sink.connections_accepted(), 0u);
}

TEST_F(upload_stream, a_wrong_model_after_the_file_is_400_and_the_upstream_request_aborted) {
  const std::string body = file_part(256 * 1024) + field("model", "gpt-4o-transcribe") + closing();
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/audio/transcriptions", body.size()) + body);
  const std::string answer = c.read_head();
  EXPECT_EQ(status_of(answer), 400) << answer;
  EXPECT_NE(body_of(c, answer).find("cannot use own model - must be: whisper-1"),
            std::string::npos);
  ASSERT_TRUE(sink.wait_for_end(0, 10s));
  EXPECT_FALSE(sink.requests()[0].complete);
  EXPECT_GT(sink.requests()[0].body.size(), 200u * 1024);  // it was under way
}

TEST_F(upload_stream, a_wrong_model_sent_first_costs_no_upstream_request) {
  const std::string body = field("model", "gpt-4o-transcribe") + file_part(1000) + closing();
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/audio/transcriptions", body.size()) + body);
  const std::string answer = c.read_head();
  EXPECT_EQ(status_of(answer), 400) << answer;
  EXPECT_NE(body_of(c, answer).find("cannot use own model - must be: whisper-1"),
            std::string::npos);
  EXPECT_EQ(sink.connections_accepted(), 0u);
}

TEST_F(upload_stream, malformed_multipart_is_400_and_never_complete_upstream) {
  const std::string body = file_part(100 * 1024) + "--" + boundary + "junk\r\n";
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/audio/transcriptions", body.size()) + body);
  const std::string answer = c.read_head();
  EXPECT_EQ(status_of(answer), 400) << answer;
  EXPECT_NE(body_of(c, answer).find("not valid multipart/form-data"), std::string::npos);
  if (!sink.requests().empty()) {
    ASSERT_TRUE(sink.wait_for_end(0, 10s));
    EXPECT_FALSE(sink.requests()[0].complete);
  }
}

TEST_F(upload_stream, a_file_upload_without_model_checks_is_relayed_with_its_length) {
  const std::string body = field("purpose", "batch") + file_part(300 * 1024) + closing();
  const std::size_t half = body.size() / 2;
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/files", body.size()) + body.substr(0, half));
  ASSERT_TRUE(sink.wait_for_body(0, half, 10s));
  c.send(body.substr(half));
  EXPECT_EQ(status_of(c.read_head()), 200);
  ASSERT_TRUE(sink.wait_for_end(0, 10s));
  EXPECT_EQ(sink.requests()[0].body, body);
  EXPECT_EQ(sink.requests()[0].content_length, body.size());
}

TEST_F(upload_stream, an_early_upstream_answer_reaches_the_client_while_it_uploads) {
  sink.on([](const upload_record&) {
    upload_plan p;
    p.what = upload_plan::kind::answer_early;
    p.status = 401;
    p.body = R"({"error":{"message":"Incorrect API key provided"}})";
    return p;
  });
  const std::string body = field("purpose", "batch") + file_part(512 * 1024) + closing();
  raw_conn c(gw.proxy_port());
  c.send(head_for("/v1/files", body.size()) + body.substr(0, 1024));
  ASSERT_TRUE(sink.wait_for_body(0, 1024, 10s));
  try {
    c.send(body.substr(1024));
  } catch (const std::runtime_error&) {
    // the gateway may close once it answered
  }
  const std::string answer = c.read_head();
  EXPECT_EQ(status_of(answer), 401) << answer;
  EXPECT_NE(body_of(c, answer).find("Incorrect API key provided"), std::string::npos);
}

}  // namespace
}  // namespace aiproxy::testlib
