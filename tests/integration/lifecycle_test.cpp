// Process lifecycle of the gateway binary: `check` and `run` on invalid files, SIGHUP reload
// (valid and invalid) without dropping requests, SIGTERM drain that lets a stream finish.

#include "gateway_harness.hpp"
#include "testlib/fake_upstream.hpp"
#include "testlib/http_client.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace aiproxy::testlib {
namespace {

using namespace std::chrono_literals;

std::string mock_config(const std::string& reply) {
  return R"(_format_version: "3.0"
routes:
  - name: chat
    paths: [/v1/chat/completions]
    plugins:
      - name: ai-proxy
        config:
          route_type: llm/v1/chat
          model:
            provider: mock
            name: mock-1
            options:
              mock:
                reply: ")" +
         reply + "\"\n";
}

header_list json_content() {
  header_list h;
  h.add("Content-Type", "application/json");
  return h;
}

const std::string chat_body = R"({"messages":[{"role":"user","content":"hi"}]})";

std::string reply_of(http_client& c) {
  auto res = c.request("POST", "/v1/chat/completions", json_content(), chat_body);
  if (res.status != 200) {
    return "status " + std::to_string(res.status) + ": " + res.body;
  }
  auto v = boost::json::parse(res.body);
  return std::string(v.at("choices").at(0).at("message").at("content").as_string());
}

exit_status run_cli(const std::vector<std::string>& args, std::string* err = nullptr) {
  process_options opts;
  opts.program = AIPROXY_BIN;
  opts.args = args;
  process p(opts);
  auto st = p.wait_for(20s);
  if (err != nullptr) {
    *err = p.stderr_text();
  }
  return st ? *st : p.kill();
}

TEST(lifecycle, check_lists_every_problem_with_its_path_and_fails) {
  auto dir = make_temp_dir("check");
  const auto path = (dir / "bad.yaml").string();
  std::ofstream(path) << R"(_format_version: "3.0"
routes:
  - name: chat
    paths: [/v1/chat]
    plugins:
      - name: ai-proxy
        config:
          route_type: llm/v1/chat
          model:
            provider: azure
            options:
              temperature: 9
)";
  std::string err;
  auto st = run_cli({"check", "-c", path}, &err);
  EXPECT_TRUE(st.exited);
  EXPECT_NE(st.code, 0);
  EXPECT_NE(err.find("routes[0].plugins[0].config"), std::string::npos) << err;
  EXPECT_NE(err.find("azure_instance"), std::string::npos) << err;
  EXPECT_NE(err.find("azure_deployment_id"), std::string::npos) << err;
  EXPECT_NE(err.find("temperature"), std::string::npos) << err;

  // `run` refuses the same file.
  auto st2 = run_cli({"run", "-c", path, "--listen", "127.0.0.1:0", "--admin-listen", "off",
                      "--status-listen", "off"},
                     &err);
  EXPECT_TRUE(st2.exited);
  EXPECT_NE(st2.code, 0);
  EXPECT_NE(err.find("not starting"), std::string::npos) << err;

  const auto good = (dir / "good.yaml").string();
  std::ofstream(good) << mock_config("ok");
  EXPECT_TRUE(run_cli({"check", "-c", good}).success());
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST(lifecycle, sighup_reloads_and_keeps_the_old_config_when_the_new_one_is_invalid) {
  gateway gw(mock_config("first"));
  http_client c(gw.proxy_port());
  EXPECT_EQ(reply_of(c), "first");

  gw.write_config(mock_config("second"));
  gw.proc().signal(SIGHUP);
  ASSERT_TRUE(gw.proc().wait_for_output("configuration reloaded", 10s).has_value());
  EXPECT_EQ(reply_of(c), "second");  // same keep-alive connection, new snapshot

  gw.write_config("_format_version: \"3.0\"\nroutes: [ {paths: 7} ]\n");
  gw.proc().signal(SIGHUP);
  ASSERT_TRUE(gw.proc().wait_for_output("reload failed", 10s).has_value());
  EXPECT_EQ(reply_of(c), "second");
  EXPECT_TRUE(gw.proc().running());
}

TEST(lifecycle, sighup_under_load_drops_no_request) {
  gateway gw(mock_config("a"));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::thread load([&] {
    http_client c(gw.proxy_port());
    while (!stop) {
      auto r = reply_of(c);
      if (r != "a" && r != "b") {
        ++failures;
      }
      ++done;
    }
  });
  for (int i = 0; i < 5; ++i) {
    gw.write_config(mock_config(i % 2 == 0 ? "b" : "a"));
    gw.proc().signal(SIGHUP);
    std::this_thread::sleep_for(50ms);
  }
  stop = true;
  load.join();
  EXPECT_GT(done.load(), 0);
  EXPECT_EQ(failures.load(), 0);
}

TEST(lifecycle, sigterm_lets_an_inflight_stream_finish_then_exits_cleanly) {
  fake_upstream up;
  up.on([](const received_request&) {
    header_list h;
    h.add("Content-Type", "text/event-stream");
    return action::stream(
               200, h,
               {"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
                "\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"},\"finish_"
                "reason\":null}]}\n\n",
                "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
                "\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"last\"},\"finish_"
                "reason\":\"stop\"}]}\n\n",
                "data: [DONE]\n\n"})
        .gate();
  });
  gateway gw(R"(_format_version: "3.0"
routes:
  - name: chat
    paths: [/v1/chat/completions]
    plugins:
      - name: ai-proxy
        config:
          route_type: llm/v1/chat
          model:
            provider: openai
            name: m
            options:
              upstream_url: ")" +
             up.base_url() + "\"\n");
  http_client c(gw.proxy_port());
  c.send("POST", "/v1/chat/completions", json_content(),
         R"({"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(c.read_head().status, 200);
  std::string seen = c.read_until("first");
  gw.proc().signal(SIGTERM);
  ASSERT_TRUE(gw.proc().wait_for_output("draining", 10s).has_value());
  // New connections are refused while the stream is still served.
  up.release(10);
  seen += c.read_rest();
  EXPECT_NE(seen.find("last"), std::string::npos);
  EXPECT_NE(seen.find("data: [DONE]"), std::string::npos);
  auto st = gw.proc().wait_for(15s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->success()) << st->describe();
}

}  // namespace
}  // namespace aiproxy::testlib
